/**
 * `control(active)`: read and change an object's limits at run time, and read live usage
 * (docs/semantics.md). Every change wakes the object's scheduler at once.
 */
import type { GroupStats, SchedulerStats } from '../scheduler/index.js';
import { objectOf } from './active.js';
import type { CheckpointInfo } from './checkpoint/checkpoints.js';
import { ArgumentError, describe } from './errors.js';
import { NamedFutureCore } from './future.js';
import type { Future } from './types.js';

export interface Control {
  /** The current limit (`Infinity` when none). */
  readonly limit: number;
  /** `true`: requests in wait-by-necessity count against the limit. */
  readonly hardLimit: boolean;
  /** Set the limit: an integer >= 1, or `Infinity`. Returns the previous limit. */
  setLimit(limit: number): number;
  /** Raise the limit by `by` (an integer >= 1). Returns the new limit. */
  increment(by?: number): number;
  /** Lower the limit by `by` (an integer >= 1), never below 1. Returns the new limit. */
  decrement(by?: number): number;
  /** Switch between hard (`true`) and soft limit. Returns the previous mode. */
  setHardLimit(hard: boolean): boolean;
  /** A snapshot of the queue and slot usage, overall and per group. */
  stats(): ObjectStats;
  /**
   * Take a checkpoint now (classes with `@Checkpoint`, docs/fault-tolerance.md): it is a request of the
   * object, served as soon as no request is in service; joins one already pending. Resolves
   * when it is durable in the store.
   */
  checkpoint(): Promise<CheckpointInfo>;
}

export interface ObjectStats extends SchedulerStats {
  readonly objectId: number;
  readonly className: string;
  readonly terminated: boolean;
  readonly groups: readonly GroupStats[];
}

function checkCount(value: unknown, what: string, allowInfinity: boolean): number {
  if (
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= 1) || (allowInfinity && value === Infinity))
  ) {
    return value;
  }
  throw new ArgumentError(
    `Expected \`${what}\` to be an integer >= 1${allowInfinity ? ' or Infinity' : ''}, got ${describe(value)}`,
  );
}

/** The run-time control of an active object. Throws `ArgumentError` for a non-active value. */
export function control(active: object): Control {
  const obj = objectOf(active, 'control');
  const scheduler = obj.scheduler;
  return {
    get limit() {
      return scheduler.limit;
    },
    get hardLimit() {
      return scheduler.hardLimit;
    },
    setLimit(limit) {
      const previous = scheduler.limit;
      obj.setLimit(checkCount(limit, 'limit', true));
      return previous;
    },
    increment(by = 1) {
      obj.setLimit(scheduler.limit + checkCount(by, 'by', false));
      return scheduler.limit;
    },
    decrement(by = 1) {
      const step = checkCount(by, 'by', false);
      if (scheduler.limit !== Infinity) obj.setLimit(Math.max(1, scheduler.limit - step));
      return scheduler.limit;
    },
    setHardLimit(hard) {
      if (typeof hard !== 'boolean')
        throw new ArgumentError(`Expected \`hard\` to be a boolean, got ${describe(hard)}`);
      const previous = scheduler.hardLimit;
      obj.setHardLimit(hard);
      return previous;
    },
    checkpoint() {
      return obj.requestCheckpoint();
    },
    stats() {
      return {
        ...scheduler.stats(),
        objectId: obj.id,
        className: obj.className,
        terminated: obj.isTerminated,
      };
    },
  };
}

/**
 * Await any promise as a wait-by-necessity: inside a request, `await waitFor(p)` releases the
 * request's slot while `p` is pending (under a soft limit), like awaiting a future. Outside a
 * request it is just `p`. Without it, awaiting I/O keeps the slot (a thread blocked in I/O).
 */
export function waitFor<T>(promise: PromiseLike<T>): Future<T> {
  const core = new NamedFutureCore('waitFor');
  core.resolve(promise);
  return core.proxy as Future<T>;
}
