/** Types of model.js (the page's model, plain JavaScript), for tests. */
import type { Deadlock, ObjectSnapshot, PolicySummary, WaitGraph, WaitingRequest } from '../../src/index.js';
import type { RequestRecord, RequestTracker } from './requests.js';

export { MAIN_SCRIPT } from './requests.js';
export declare const RATE_WINDOW_MS: number;

export interface ObjectInfo {
  objectId: number;
  className: string;
  name: string;
  node: number | undefined;
  policy: PolicySummary | undefined;
  limit: number | null;
  hardLimit: boolean;
  terminated: boolean;
}

export interface Edge {
  from: number | 'main';
  to: number;
  count: number;
  recent: number[];
  head: number;
}

export interface FoundDeadlock {
  time: number;
  deadlock: Deadlock;
  source: string;
}

export declare class Model {
  readonly tracker: RequestTracker;
  readonly objects: Map<number, ObjectInfo>;
  readonly edges: Map<string, Edge>;
  readonly deadlocks: FoundDeadlock[];
  waits: { graph?: WaitGraph; error?: string } | undefined;
  now: number;
  first: number | undefined;
  eventCount: number;
  version: number;
  add(event: unknown): void;
  addDeadlock(deadlock: Deadlock, time: number, source: string): boolean;
  setWaits(waits: { graph?: WaitGraph; error?: string }): void;
  object(objectId: number, className: string | undefined): ObjectInfo;
  snapshot(objectId: number): ObjectSnapshot | undefined;
  queue(objectId: number): WaitingRequest[];
  rate(edge: Edge): number;
  countCall(record: RequestRecord, time: number): void;
}

export declare function modelFromTrace(text: string): Model;
