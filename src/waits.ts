/**
 * The wait-for graph and deadlock detection (SPEC §10). Work in progress: the functions
 * below are the public contract; their implementation lands next.
 */
import type { Deadlock, WaitGraph } from './waits-types.js';

export interface DeadlockOptions {
  /** Look for deadlocks every `intervalMs` and report each one once (`deadlock.found`). @default false */
  detect?: boolean;
  /** Also reject the futures of a found cycle with `DeadlockError` (implies `detect`). @default false */
  reject?: boolean;
  /** How often to look, in milliseconds. @default 500 */
  intervalMs?: number;
}

export function configureDeadlocks(_options: DeadlockOptions): void {
  throw new Error('not implemented yet');
}

export function waitGraph(): Promise<WaitGraph> {
  return Promise.reject(new Error('not implemented yet'));
}

export function findDeadlocks(): Promise<Deadlock[]> {
  return Promise.reject(new Error('not implemented yet'));
}
