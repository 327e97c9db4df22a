/**
 * The typed event stream (docs/deadlocks.md): everything that happens to active objects and their
 * requests. Tests, users and the debugger subscribe to the same stream; nothing in the
 * runtime depends on who listens. Emitting costs one branch when nobody listens: callers
 * check `observed` before building an event.
 */

import { ArgumentError, describe } from './errors.js';
import type { Deadlock, NodeId, PolicySummary, RequestRef } from './shapes.js';

export type { NodeId, RequestRef } from './shapes.js';

export type MultiactiveEvent =
  | {
      readonly type: 'object.created';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly node: NodeId;
      /** Its groups, compatibility, priorities and initial limits (for viewers). */
      readonly policy: PolicySummary;
    }
  | {
      readonly type: 'object.terminated';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
    }
  | {
      readonly type: 'object.limits';
      readonly time: number;
      readonly objectId: number;
      readonly limit: number;
      readonly hardLimit: boolean;
    }
  | {
      readonly type: 'request.sent';
      readonly time: number;
      readonly request: RequestRef;
      /** The request that made the call, if the call was made inside one (and it is known). */
      readonly callerRequestId: number | undefined;
      /**
       * For a call that came from another node: that node and its call number, which match a
       * `call.remote` event of the sender (where the caller is known).
       */
      readonly via: { readonly node: NodeId; readonly rid: number } | undefined;
      /** The object whose request made the call, when known. */
      readonly callerObjectId: number | undefined;
      /**
       * Requests this one stands for (`onEvent(l, { requests: 'sampled' })`): 1 when every
       * request of its node is observed; scale counts by it.
       */
      readonly sample: number;
    }
  | {
      /** A call sent to an object of another node (emitted by the sending node). */
      readonly type: 'call.remote';
      readonly time: number;
      /** The sending node and its call number (see `request.sent`'s `via`). */
      readonly node: NodeId;
      readonly rid: number;
      /** The node that hosts the object. */
      readonly to: NodeId;
      readonly objectId: number;
      readonly method: string;
      readonly callerRequestId: number | undefined;
      /** The object whose request made the call, when known. */
      readonly callerObjectId: number | undefined;
      /** Calls this one stands for, when sampled (see `request.sent.sample`). */
      readonly sample: number;
    }
  | {
      /** A checkpoint is durable in its store (docs/fault-tolerance.md). */
      readonly type: 'checkpoint.taken';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly key: string;
      readonly seq: number;
      readonly bytes: number;
    }
  | {
      /** A checkpoint could not be captured or written; the next one tries again. */
      readonly type: 'checkpoint.failed';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly key: string;
      readonly seq: number;
      readonly error: unknown;
    }
  | {
      /** An object's state was restored from checkpoint `seq` before it served anything. */
      readonly type: 'object.restored';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly key: string;
      readonly seq: number;
    }
  | {
      /** A worker node died (not ended on purpose); `recovered`: the objects recovered elsewhere. */
      readonly type: 'node.lost';
      readonly time: number;
      readonly node: NodeId;
      readonly reason: string;
      readonly recovered: readonly number[];
    }
  | {
      /** A recoverable object of a dead node was created again on node `node` (docs/fault-tolerance.md). */
      readonly type: 'object.recovered';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly from: NodeId;
      readonly node: NodeId;
      /** Journal entries handed over (the new host replays those its checkpoint lacks). */
      readonly journaled: number;
    }
  | {
      /**
       * A call to a recoverable object was quarantined: its node died while it was being
       * replayed, twice; its caller's future rejects with `QuarantineError`, the object goes on.
       */
      readonly type: 'call.quarantined';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly method: string;
      /** Its delivery number at the object. */
      readonly delivery: number;
      readonly reason: string;
    }
  | {
      /** A recoverable object is not recovered again (see `reason`); calls to it fail with `NodeLostError`. */
      readonly type: 'object.unrecoverable';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly reason: string;
    }
  | {
      /**
       * A recoverable object's journal is full (`journalLimit` calls since its last durable
       * checkpoint): new calls are refused with `JournalFullError` until a checkpoint is durable.
       */
      readonly type: 'journal.full';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly limit: number;
    }
  | {
      /** The new host of a recovered object queued the deliveries its checkpoint lacks. */
      readonly type: 'requests.replayed';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      /** The checkpoint's delivery number (0: no checkpoint, replayed from the start). */
      readonly fromDseq: number;
      readonly count: number;
    }
  | {
      /**
       * Node `node` dropped a message from node `from` that was malformed or not one that node
       * may send (e.g. something a worker's own code posted on its port); it goes on serving.
       */
      readonly type: 'message.dropped';
      readonly time: number;
      readonly node: NodeId;
      readonly from: NodeId;
      readonly reason: string;
      /** Messages dropped from that node so far. */
      readonly count: number;
    }
  | {
      /** A wait-for cycle (docs/deadlocks.md): found by deadlock detection or `findDeadlocks()`. */
      readonly type: 'deadlock.found';
      readonly time: number;
      readonly deadlock: Deadlock;
    }
  | {
      readonly type: 'request.admitted';
      readonly time: number;
      readonly request: RequestRef;
      readonly held: boolean;
    }
  | { readonly type: 'request.started'; readonly time: number; readonly request: RequestRef }
  | { readonly type: 'request.waiting'; readonly time: number; readonly request: RequestRef }
  | { readonly type: 'request.resumed'; readonly time: number; readonly request: RequestRef }
  | {
      readonly type: 'request.finished';
      readonly time: number;
      readonly request: RequestRef;
      readonly ok: boolean;
      readonly error: unknown;
    }
  | {
      readonly type: 'request.cancelled';
      readonly time: number;
      readonly request: RequestRef;
      readonly reason: string;
    }
  | {
      readonly type: 'condition.failed';
      readonly time: number;
      readonly objectId: number;
      readonly className: string;
      readonly error: unknown;
      readonly admitted: RequestRef;
      readonly other: RequestRef;
    };

export type MultiactiveEventType = MultiactiveEvent['type'];
export type EventListener = (event: MultiactiveEvent) => void;

/**
 * Which request events a listener wants (`request.*`, `call.remote`):
 * - `'all'`: every request's (the default);
 * - `'sampled'`: a sample of requests, each with all its events: every request while this
 *   node serves few, fewer when it serves many (at most about `SAMPLE_BUDGET` sampled
 *   requests per second per node; `request.sent.sample` says how many requests each stands
 *   for). What a debugger needs to stay cheap while attached;
 * - `'none'`: none (objects, deadlocks, checkpoints and nodes only).
 */
export type RequestEvents = 'all' | 'sampled' | 'none';

export interface EventOptions {
  /** @default 'all' */
  readonly requests?: RequestEvents;
}

interface Subscription {
  readonly listener: EventListener;
  readonly requests: RequestEvents;
}

let subscriptions: Subscription[] = [];

/** True while at least one listener is subscribed. Checked before building any event. */
export let observed = false;
/** Some listener wants request events (all or sampled): checked when a request is created. */
export let observeRequests = false;
/** Some listener wants every request's events. */
let sampleEverything = false;

/**
 * Subscribe to the events of every active object in this process (and of worker nodes, on
 * the main thread). Returns the unsubscribe function. A listener that throws is reported as a
 * process warning and stays subscribed; it never disturbs the objects.
 */
export function onEvent(listener: EventListener, options?: EventOptions): () => void {
  const requests = options?.requests ?? 'all';
  if (requests !== 'all' && requests !== 'sampled' && requests !== 'none') {
    throw new ArgumentError(
      `onEvent: expected \`requests\` to be 'all', 'sampled' or 'none', got ${describe(requests)}`,
    );
  }
  const subscription: Subscription = { listener, requests };
  subscriptions = [...subscriptions, subscription];
  update();
  return () => {
    subscriptions = subscriptions.filter((s) => s !== subscription);
    update();
  };
}

/** What this node must produce: the most demanding subscription (or the main thread's wish). */
export interface ObserveMode {
  readonly on: boolean;
  readonly requests: RequestEvents;
}

const observerHooks: ((mode: ObserveMode) => void)[] = [];

/** Called whenever the mode changes (worker nodes start or stop sending their events). */
export function onObservedChange(hook: (mode: ObserveMode) => void): void {
  observerHooks.push(hook);
}

/** The union of the local subscriptions (what the main thread tells workers). */
export function localMode(): ObserveMode {
  let requests: RequestEvents = 'none';
  for (const s of subscriptions) {
    if (s.requests === 'all') requests = 'all';
    else if (s.requests === 'sampled' && requests === 'none') requests = 'sampled';
  }
  return { on: subscriptions.length > 0, requests };
}

let lastMode = '';

function update(): void {
  const local = localMode();
  const { on, requests } = local;
  observed = on;
  observeRequests = on && requests !== 'none';
  sampleEverything = requests === 'all';
  if (observeRequests && !sampleEverything) startSampling();
  else stopSampling();
  const key = `${on}/${requests}`;
  if (key === lastMode) return;
  lastMode = key;
  for (const hook of observerHooks) hook(local);
}

export function emit(event: MultiactiveEvent): void {
  const isRequestEvent = event.type.startsWith('request.') || event.type === 'call.remote';
  for (const s of subscriptions) {
    if (isRequestEvent && s.requests === 'none') continue;
    try {
      s.listener(event);
    } catch (error) {
      process.emitWarning(`multiactive: an event listener threw on '${event.type}': ${String(error)}`, {
        code: 'MULTIACTIVE_LISTENER',
      });
    }
  }
}

// ------------------------------------------------------------------ sampling

/**
 * Sampled requests per second and node, at most (about): 2000 requests' events cost a few
 * milliseconds per second to build and ship, whatever the request rate.
 */
export const SAMPLE_BUDGET = 2000;
/** Sample 1 request in `sampleMask + 1` (a power of two). */
let sampleMask = 0;
let sampleCounter = 0;
let sampledInWindow = 0;
let sampleTimer: NodeJS.Timeout | undefined;
/** `sampleCounter` when the current second began. */
let windowStart = 0;

/**
 * Whether the request being created is observed (call only when `observeRequests`). Time:
 * O(1), one counter. Past the budget within a second, the rate halves at once. Each second
 * (the timer) the rate is set from the number of requests the node served in it, not from
 * the samples: a node that works in bursts keeps the rate its bursts need (an idle second
 * changes nothing); it doubles back only after a second with some, but fewer requests than
 * the budget.
 */
export function sampleRequest(): boolean {
  if (sampleEverything) return true;
  if ((++sampleCounter & sampleMask) !== 0) return false;
  if (++sampledInWindow > SAMPLE_BUDGET && sampleMask < 0xfffff) {
    sampleMask = sampleMask * 2 + 1;
    sampledInWindow = 0;
  }
  return true;
}

/** How many requests each sampled one stands for right now (1: all of them). */
export function sampleSize(): number {
  return sampleEverything ? 1 : sampleMask + 1;
}

function startSampling(): void {
  if (sampleTimer !== undefined) return;
  windowStart = sampleCounter;
  sampleTimer = setInterval(() => {
    const requests = sampleCounter - windowStart;
    windowStart = sampleCounter;
    sampledInWindow = 0;
    // An idle second says nothing about the next burst: keep the rate.
    if (requests === 0) return;
    if (requests < SAMPLE_BUDGET) {
      if (sampleMask > 0) sampleMask >>>= 1;
      return;
    }
    // The smallest power of two that keeps that second's requests within the budget.
    let mask = 0;
    while ((mask + 1) * SAMPLE_BUDGET < requests && mask < 0xfffff) mask = mask * 2 + 1;
    if (mask > sampleMask) sampleMask = mask;
  }, 1000);
  sampleTimer.unref();
}

function stopSampling(): void {
  if (sampleTimer !== undefined) clearInterval(sampleTimer);
  sampleTimer = undefined;
  sampleMask = 0;
  sampledInWindow = 0;
}

export function now(): number {
  return performance.now();
}
