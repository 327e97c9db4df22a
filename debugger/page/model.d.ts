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
  /** Requests it finished since it was created (`ObjectSnapshot.served` of the last wait-for graph that listed it). */
  served: number | undefined;
  /** The time of that graph. */
  servedAt: number | undefined;
  /** Requests per second between the last two graphs that listed it (exact). */
  servedRate: number | undefined;
}

export interface Edge {
  from: number | 'main';
  to: number;
  /** Calls, each send counted as the requests it stands for (`request.sent.sample`). */
  count: number;
  /** Some send stood for more than one call: `count` is an estimate. */
  approx: boolean;
  /** Send times, oldest first, from `head` on within the rate window. */
  recent: number[];
  /** The calls each of `recent` stands for. */
  weights: number[];
  head: number;
  /** Calls in the rate window (the sum of `weights` from `head`). */
  inWindow: number;
  /** Sends in the rate window that stood for more than one call. */
  approxInWindow: number;
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
  dropped: number;
  /** Times whose request steps this page never got (it showed another view; the ring had moved on). */
  gaps: { from: number; to: number }[];
  requestMode: 'all' | 'sampled' | 'none' | undefined;
  readonly samples: Map<number | string, { sample: number; time: number }>;
  allSince: number | undefined;
  graphTime: number | undefined;
  version: number;
  sampleNow(): number;
  servedRate(object: ObjectInfo): number | undefined;
  rateApprox(edge: Edge): boolean;
  add(event: unknown): void;
  addDeadlock(deadlock: Deadlock, time: number, source: string): boolean;
  addGap(from: number, to: number): void;
  setWaits(waits: { graph?: WaitGraph; error?: string }): void;
  object(objectId: number, className: string | undefined): ObjectInfo;
  snapshot(objectId: number): ObjectSnapshot | undefined;
  queue(objectId: number): WaitingRequest[];
  rate(edge: Edge): number;
  countCall(record: RequestRecord, time: number): void;
}

export declare function modelFromTrace(text: string): Model;
