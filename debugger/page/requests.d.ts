/** Types of requests.js (plain JavaScript shared by the page and the Chrome-trace export). */

/** A stretch of a request's service: in service (`waiting: false`) or in wait-by-necessity. */
export interface Segment {
  start: number;
  /** `undefined`: still going on. */
  end: number | undefined;
  waiting: boolean;
}

export interface RequestRecord {
  requestId: number;
  objectId: number;
  className: string;
  method: string;
  group: string | undefined;
  sentAt: number | undefined;
  callerRequestId: number | undefined;
  /** The object whose request made the call (`request.sent.callerObjectId`), when known. */
  callerObjectId: number | undefined;
  /** Requests of its node this one stands for (`request.sent.sample`; 1: all are observed). */
  sample: number;
  /** `${node}:${rid}` of the sender's `call.remote`, for a call from another node. */
  via: string | undefined;
  start: number | undefined;
  end: number | undefined;
  ok: boolean | undefined;
  /**
   * Ended by the debugger going back to sampling, not by the request ('debugger.mode'): `end`
   * is when its events stopped, not when it finished.
   */
  cut: boolean;
  /** Its row in its object's timeline, from its start. */
  lane: number | undefined;
  segments: Segment[];
}

export declare const MAIN_SCRIPT: 'main';

export declare class RequestTracker {
  readonly requests: Map<number, RequestRecord>;
  readonly remoteCalls: Map<string, number | undefined>;
  readonly lanes: Map<number, (number | undefined)[]>;
  add(event: unknown): RequestRecord | undefined;
  callerOf(record: RequestRecord): number | undefined;
  cutOpen(time: number): void;
  prune(keep: number): void;
}
