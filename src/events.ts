/**
 * The typed event stream (SPEC §10): everything that happens to active objects and their
 * requests. Tests, users and the debugger subscribe to the same stream; nothing in the
 * runtime depends on who listens. Emitting costs one branch when nobody listens: callers
 * check `observed` before building an event.
 */

import type { Deadlock, PolicySummary } from './waits-types.js';

/** Where an object lives: 0 is the main thread, 1, 2, ... are worker nodes. */
export type NodeId = number;

export interface RequestRef {
  /** Unique in the process. */
  readonly requestId: number;
  readonly objectId: number;
  readonly className: string;
  readonly method: string;
  /** Group name, `undefined` when the method is ungrouped. */
  readonly group: string | undefined;
}

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
    }
  | {
      /** A checkpoint is durable in its store (SPEC §9). */
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
      /** A recoverable object of a dead node was created again on node `node` (SPEC §9). */
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
      /** A wait-for cycle (SPEC §10): found by deadlock detection or `findDeadlocks()`. */
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

const listeners: EventListener[] = [];

/** True while at least one listener is subscribed. Checked before building any event. */
export let observed = false;

/**
 * Subscribe to every event of every active object in this process. Returns the
 * unsubscribe function. A listener that throws is reported as a process warning and stays
 * subscribed; it never disturbs the objects.
 */
export function onEvent(listener: EventListener): () => void {
  listeners.push(listener);
  setObserved(true);
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
    setObserved(listeners.length > 0);
  };
}

const observerHooks: ((observed: boolean) => void)[] = [];

/** Called whenever `observed` changes (worker nodes start or stop sending their events). */
export function onObservedChange(hook: (observed: boolean) => void): void {
  observerHooks.push(hook);
}

function setObserved(value: boolean): void {
  if (observed === value) return;
  observed = value;
  for (const hook of observerHooks) hook(value);
}

export function emit(event: MultiactiveEvent): void {
  for (const listener of listeners.slice()) {
    try {
      listener(event);
    } catch (error) {
      process.emitWarning(`multiactive: an event listener threw on '${event.type}': ${String(error)}`, {
        code: 'MULTIACTIVE_LISTENER',
      });
    }
  }
}

export function now(): number {
  return performance.now();
}
