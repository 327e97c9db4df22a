/**
 * The runtime of active objects on the current thread: `newActive`, the request life, the
 * per-object drain, wait-by-necessity, termination.
 *
 * A call on an active reference (a stub) does, synchronously: copy the arguments, create a
 * request and its future, submit it to the object's scheduler, return the future. The
 * scheduler decides when the request starts; the object's drain (one microtask per object,
 * scheduled once, at most DRAIN_BUDGET starts per turn) calls `start`, which runs the method
 * on the object. The request holds its slot until the returned value or promise settles;
 * then the result is copied, the future resolved, and the scheduler told.
 *
 * A method that returns a future (e.g. a self-call) finishes at once and its caller's future
 * adopts that future: returning a future is not waiting on it (ProActive's automatic
 * continuation), so it holds no slot.
 *
 * Ownership: only `ActiveObject` touches its scheduler; requests are linked into their
 * object's in-flight list (intrusive, no allocation) so that immediate termination can find
 * them.
 */
import { checkpointConfig, compilePolicy } from '../decorators/compile.js';
import {
  type OrderNode,
  type Policy,
  RequestState,
  type Schedulable,
  Scheduler,
  type SchedulerHost,
} from '../scheduler/index.js';
import { type CheckpointInfo, type CheckpointMeta, Checkpoints } from './checkpoint/checkpoints.js';
import { checkpointKeyOf } from './checkpoint/keys.js';
import { applyState, captureState, decodeState, encodeState, type StateCodec } from './checkpoint/state.js';
import { type CheckpointStore, FileStore, resolveStore } from './checkpoint/store.js';
import { currentWaiter, enableAsyncContext, runAs, type Waiter } from './context.js';
import { copyArguments, copyFutureArgument, copyResult } from './copy.js';
import { ArgumentError, CheckpointError, ConstructionError, describe, TerminatedError } from './errors.js';
import {
  emit,
  type MultiactiveEvent,
  now,
  observed,
  observeRequests,
  type RequestRef,
  sampleRequest,
  sampleSize,
} from './events.js';
import { FULFILLED, FutureCore, futureCore, NamedFutureCore, REJECTED } from './future.js';
import { policySummary } from './policy-summary.js';
import { ACTIVE_OBJECT, FUTURE_CORE } from './symbols.js';
import type { Active } from './types.js';

/**
 * Starts per drain turn before yielding to the event loop (setImmediate), so one flooded
 * object cannot starve I/O. 1024 keeps the per-turn overhead (one microtask) below 1% of
 * the turn at ~100 ns per request while bounding a turn to ~0.1-1 ms.
 */
const DRAIN_BUDGET = 1024;

/**
 * Calls journaled since the last durable checkpoint, at most, by default: at about 270 bytes
 * an entry (a few small arguments) about 27 MB per object, and 50 ms of replay at 2 M
 * requests/s; a healthy object checkpoints long before (at half of it, at the latest).
 */
const DEFAULT_JOURNAL_LIMIT = 100_000;

/** This isolate's node id (0: the main thread) and its object counter (ids are global). */
let localNode = 0;
let nextObjectId = 1;

/** Called once, before any object exists, by a worker node's main module. */
export function setLocalNode(node: number, idBase: number): void {
  localNode = node;
  nextObjectId = idBase + 1;
  // Request ids are global too: the main thread's event stream merges every node's.
  nextRequestId = idBase + 1;
}

export function getLocalNode(): number {
  return localNode;
}

/** A fresh global object id (for objects this node creates, here or on another node). */
export function allocateObjectId(): number {
  return nextObjectId++;
}
let nextRequestId = 1;
/**
 * On a worker node: requests in flight that the main thread does not wait for (`external`),
 * and who is told when their count becomes or stops being zero (the node runtime, which
 * tells the main thread whether this node is busy: an idle runtime never keeps the process
 * alive, a busy one does).
 */
export const nodeWork: { external: number; changed: (() => void) | undefined } = {
  external: 0,
  changed: undefined,
};
/** Bumped by `shutdown()`: objects of an older epoch refuse calls. */
let epoch = 0;

const LIVE = 0;
const TERMINATING = 1;
const TERMINATED = 2;

/**
 * Requests the runtime itself submits through `Scheduler.submitCheckpoint` (docs/fault-tolerance.md): take a
 * checkpoint, or restore the state from the last one before anything else runs. Their group
 * id is SPECIAL_GROUP; they are named by these methods, their group by CHECKPOINT_GROUP.
 */
const SPECIAL_GROUP = -1;
export const CHECKPOINT_METHOD = '__checkpoint__';
export const RESTORE_METHOD = '__restore__';
const CHECKPOINT_GROUP = '__checkpoint__';

/**
 * What the main thread is told of a replayed request (recoverable objects, see
 * src/node/recovery.ts): it runs (`active`: its code, or a wait on anything but a future),
 * it waits by necessity (`waiting`: it cannot be what kills its node now), it ended (`done`).
 */
export type ReplayPhase = 'active' | 'waiting' | 'done';

/**
 * One call: the scheduler's view of it (`Schedulable`), the future its caller holds (it *is*
 * the future's core: one allocation per call), and its wait-by-necessity bookkeeping.
 */
export class Request extends FutureCore implements Schedulable, Waiter, RequestRef {
  // Schedulable
  readonly groupId: number;
  readonly method: string;
  args: unknown[];
  seq = 0;
  state: RequestState = RequestState.New;
  held = false;
  waitSeq = 0;
  label = 0;
  oPrev: OrderNode | null = null;
  oNext: OrderNode | null = null;

  readonly requestId: number;
  readonly obj: ActiveObject;
  readonly callerRequestId: number | undefined;
  /** Arguments that are futures not yet resolved. */
  pendingArgs = 0;
  /** Gated subscriptions not yet delivered (WBN). */
  waits = 0;
  /** Flat pairs (settle, value) waiting for the request to get its slot back. */
  deliveries: unknown[] | null = null;
  /**
   * Futures it awaits (or, before it starts, its unresolved future arguments), for the
   * wait-for graph; settled ones are pruned lazily. Dropped when the request ends.
   */
  awaited: FutureCore[] | null = null;
  /** Abandoned by immediate termination: whatever it does later is ignored. */
  abandoned = false;
  /** The result leaves through the wire (structured clone copies it there): no copy here. */
  fromWire = false;
  /**
   * On a worker node, a request the main thread does not wait for (made on this node or by
   * another worker): while one is in flight, the node tells the main thread it is busy, so
   * that the process stays alive (see `nodeWork`).
   */
  external = false;
  /** Its events are observed (docs/deadlocks.md: every request, or a sample; decided at creation). */
  sampled = false;
  /** Calls it made to other nodes (recoverable objects: numbers their deterministic keys). */
  keyedCalls = 0;
  /** Delivery number of a recoverable object's request (its place in the main thread's journal); 0 otherwise. */
  dseq = 0;
  /** A journaled delivery replayed after a recovery: its start and end are reported. */
  replaying = false;
  // In-flight list of the object (intrusive).
  fPrev: Request | null = null;
  fNext: Request | null = null;

  constructor(
    obj: ActiveObject,
    groupId: number,
    method: string,
    args: unknown[],
    callerRequestId: number | undefined,
  ) {
    super();
    this.groupId = groupId;
    this.method = method;
    this.args = args;
    this.requestId = nextRequestId++;
    this.obj = obj;
    this.callerRequestId = callerRequestId;
  }

  /** The group name, `undefined` when ungrouped. */
  get group(): string | undefined {
    return this.groupId === SPECIAL_GROUP ? CHECKPOINT_GROUP : this.obj.policy.groupNames[this.groupId];
  }

  get description(): string {
    return `${this.obj.name}.${this.method}`;
  }

  get objectId(): number {
    return this.obj.id;
  }

  get className(): string {
    return this.obj.className;
  }

  // Waiter ---------------------------------------------------------------

  gates(): boolean {
    const s = this.state;
    return (
      this.obj.tracksWaits &&
      (s === RequestState.Active || s === RequestState.Waiting || s === RequestState.Woken)
    );
  }

  waitStarted(): void {
    if (this.waits++ === 0 && this.state === RequestState.Active) this.obj.enterWait(this);
  }

  deliver(settle: (value: unknown) => void, value: unknown): void {
    if (this.state === RequestState.Active || this.state === RequestState.Done || this.abandoned) {
      // It holds a slot (or no longer needs one): hand the value over now.
      this.waits--;
      settle(value);
      return;
    }
    (this.deliveries ??= []).push(settle, value);
    if (this.state === RequestState.Waiting) this.obj.scheduler.wake(this);
  }

  awaits(core: object): void {
    const s = this.state;
    if (s === RequestState.Done || s === RequestState.Cancelled) return;
    let list = this.awaited;
    if (list === null) {
      this.awaited = [core as FutureCore];
      return;
    }
    // Bounded: a long request awaiting many futures in turn keeps only the pending ones.
    if (list.length >= 8) list = this.awaited = list.filter((c) => !c.settled);
    list.push(core as FutureCore);
  }

  /** Hand over every value that arrived while waiting. */
  flushDeliveries(): void {
    const list = this.deliveries;
    if (list === null) return;
    this.deliveries = null;
    this.waits -= list.length / 2;
    for (let i = 0; i < list.length; i += 2) (list[i] as (value: unknown) => void)(list[i + 1]);
  }
}

/** The engine behind one active object. Users see it only through its stub. */
export class ActiveObject implements SchedulerHost<Request> {
  readonly id: number;
  readonly className: string;
  /** `Counter#3`. */
  readonly name: string;
  readonly policy: Policy;
  readonly scheduler: Scheduler<Request>;
  readonly stub: object;
  readonly copies: boolean;
  /** `methodsOf(class)`: calls from other nodes may name a method by its index in it. */
  readonly methods: readonly string[];
  /** True while WBN is accounted: a finite soft limit. */
  tracksWaits = false;
  /** Checkpointing, when the class declares `@Checkpoint` (docs/fault-tolerance.md). */
  readonly checkpoints: Checkpoints | undefined;
  private warnedCheckpoints = false;
  /**
   * Hosted on a worker for the main thread, with checkpoints: its deliveries are journaled on
   * the main thread and it is recovered if its node dies (src/node/recovery.ts).
   */
  recoverable = false;
  /** The last delivery number given (recoverable objects). */
  delivered = 0;
  /**
   * Recoverable objects: deliveries before this one are not in the main thread's journal any
   * more (its last durable checkpoint holds them), so `delivered - journalBase` is the
   * journal's length; at most `journalLimit` (`@Checkpoint({ journalLimit })`).
   */
  journalBase = 0;
  readonly journalLimit: number;
  /** Its journal is full and this was reported (until a checkpoint empties it). */
  journalFull = false;
  /** The delivery number from which a full-ish journal asks for a checkpoint again. */
  journalCheckpointAt = 0;
  /** When (performance.now()) a full journal may ask for a checkpoint again. */
  journalRetryAt = 0;
  /** Requests finished since it was created (viewers compute rates from it). */
  served = 0;
  /** Its entry in `liveObjects`. */
  private readonly ref = new WeakRef(this);
  /** Told when a checkpoint is durable (recoverable objects: the journal can be trimmed). */
  onCheckpointDurable: ((info: CheckpointInfo, meta: CheckpointMeta) => void) | undefined;
  /** The results of keyed calls this object served (recoverable objects), for its checkpoints. */
  keyedResults: (() => [string, boolean, unknown][]) | undefined;
  /**
   * Recoverable objects: told before a journaled request starts (its journal entry must have
   * left this node: a request may end the node synchronously), and when a replayed one starts
   * (`true`) and ends (`false`), so the main thread knows which were in service if the node dies.
   */
  beforeJournaledStart: (() => void) | undefined;
  replayProgress: ((dseq: number, phase: ReplayPhase) => void) | undefined;
  /** Told when the state was restored, before anything else is admitted (replay goes here). */
  afterRestore: ((meta: CheckpointMeta) => void) | undefined;
  /** Settles when a restore asked at creation has ended (either way). */
  readonly restored: Promise<void> | undefined;
  private restoredDone: (() => void) | undefined;
  /** The instance; `undefined` if its constructor threw. Only this object's requests touch it. */
  target: object | undefined;
  private failure: Error | undefined;
  private status = LIVE;
  private readonly epoch = epoch;
  private inFlight = 0;
  private firstInFlight: Request | null = null;
  private drainScheduled = false;
  private draining = false;
  private readonly drainNow = (): void => this.drain();
  private terminationWaiters: (() => void)[] = [];
  /** Links in the list of busy objects. */
  busyPrev: ActiveObject | null = null;
  busyNext: ActiveObject | null = null;
  private warnedConditions = false;

  constructor(
    ctor: new (...args: never[]) => object,
    args: unknown[],
    options: NewActiveOptions,
    /** Given when another node created the object (its global id). */
    id = nextObjectId++,
    /** The arguments are fresh copies already (they came through the wire). */
    argsCopied = false,
  ) {
    this.id = id;
    this.className = ctor.name || 'anonymous';
    this.name = `${this.className}#${this.id}`;
    this.policy = compilePolicy(ctor);
    this.copies = options.copy !== false;
    this.methods = methodsOf(ctor);
    this.stub = new (stubClass(ctor, this.policy))(this);
    if (this.copies && !argsCopied) copyArguments(args, this.className, 'constructor');
    // Before the constructor runs: a key another live object writes under fails newActive.
    const config = checkpointConfig(ctor);
    const checkpointing =
      config === undefined
        ? undefined
        : this.claimCheckpointKey(resolveStore(config.store), options.checkpointKey);
    try {
      this.target = new ctor(...(args as never[]));
      selfRefs.set(this.target, this.stub);
    } catch (error) {
      this.failure = new ConstructionError(
        `The constructor of ${this.name} threw: ${error instanceof Error ? error.message : String(error)}. ` +
          'Every call on this object is refused.',
        { cause: error },
      );
    }
    // Conditions receive the instance as their third argument.
    this.scheduler = new Scheduler<Request>(this.policy, this, this.target);
    this.updateWaitTracking();
    liveObjects.add(this.ref);
    forgetLive.register(this, this.ref);
    this.journalLimit = config?.journalLimit ?? DEFAULT_JOURNAL_LIMIT;
    if (config !== undefined && checkpointing !== undefined && this.target !== undefined) {
      this.checkpoints = new Checkpoints(checkpointing.key, checkpointing.store, {
        everyRequests: config.everyRequests,
        everyMs: config.everyMs,
        storeTimeoutMs: config.storeTimeoutMs,
        removeAtEnd: checkpointing.chosen,
        removeFailed: (error) => this.removalFailed(error),
      });
      // A key the runtime chose names this object alone: only the others can be contended.
      if (!checkpointing.chosen) keysInUse.claim(checkpointing.store, checkpointing.key, this);
      this.checkpoints.startTimer(() => this.checkpointDue());
      this.updateWaitTracking();
      // Before anything else runs: calls queue behind it.
      if (options.restore === true) {
        this.restored = new Promise((resolve) => {
          this.restoredDone = resolve;
        });
        this.submitSpecial(RESTORE_METHOD);
      }
    }
    if (observed) {
      emit({
        type: 'object.created',
        time: now(),
        objectId: this.id,
        className: this.className,
        node: localNode,
        policy: policySummary(this.policy, this.methods),
      });
    }
  }

  // ---------------------------------------------------------------- calls

  call(method: string, groupId: number, args: unknown[]): object {
    const sampled = observeRequests && sampleRequest();
    const request = new Request(this, groupId, method, args, sampled ? callerId() : undefined);
    request.sampled = sampled;
    return this.submit(request, this.copies).proxy;
  }

  /**
   * A call that arrived from another node: its arguments are fresh copies already (the wire
   * cloned them) and so will be its result. Returns the request (its future's core).
   */
  callFromWire(
    wireMethod: string | number,
    args: unknown[],
    from: number,
    rid: number,
    dseq = 0,
    replaying = false,
  ): FutureCore {
    const method =
      typeof wireMethod === 'number' ? (this.methods[wireMethod] ?? `#${wireMethod}`) : wireMethod;
    const groupId = this.policy.methodGroup.get(method) ?? this.policy.groupCount;
    const request = new Request(this, groupId, method, args, undefined);
    request.fromWire = true;
    request.dseq = dseq;
    request.replaying = replaying;
    request.sampled = observeRequests && sampleRequest();
    if (
      this.failure === undefined &&
      typeof (this.target as Record<string, unknown>)[method] !== 'function'
    ) {
      request.reject(new TypeError(`${this.className} has no method \`${method}\``));
      return request;
    }
    return this.submit(request, false, from, rid);
  }

  /** `viaNode`, `viaRid`: the sender's node and call number, for a call from another node. */
  private submit(request: Request, copy: boolean, viaNode = -1, viaRid = 0): Request {
    const { args, method } = request;
    const refusal = this.refusal();
    if (refusal !== undefined) {
      request.reject(refusal);
      return request;
    }
    if (copy) {
      try {
        copyArguments(args, this.className, method);
      } catch (error) {
        request.reject(error);
        return request;
      }
    }
    // Futures given as top-level arguments are resolved before the request starts.
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (arg === null || (typeof arg !== 'object' && typeof arg !== 'function')) continue;
      const argCore = futureCore(arg);
      if (argCore === undefined) continue;
      if (argCore.outcome === FULFILLED) args[i] = this.copyArgValue(argCore.value, i, method);
      else if (argCore.outcome === REJECTED) {
        request.reject(argCore.value);
        return request;
      } else this.awaitArgument(request, argCore, i);
    }
    request.held = request.pendingArgs > 0;
    request.external = localNode !== 0 && viaNode !== 0;
    this.link(request);
    if (request.sampled) this.emitSent(request, viaNode, viaRid);

    this.scheduler.submit(request);
    return request;
  }

  /** `request.sent` (the request is sampled); `viaNode` < 0: not from another node. */
  private emitSent(request: Request, viaNode: number, viaRid: number): void {
    emit({
      type: 'request.sent',
      time: now(),
      request: refOf(request),
      callerRequestId: request.callerRequestId,
      via: viaNode < 0 ? undefined : { node: viaNode, rid: viaRid },
      callerObjectId: request.groupId === SPECIAL_GROUP ? undefined : callerObjectId(),
      sample: sampleSize(),
    });
  }

  private copyArgValue(value: unknown, index: number, method: string): unknown {
    return this.copies ? copyFutureArgument(value, this.className, method, index) : value;
  }

  private awaitArgument(request: Request, argCore: FutureCore, index: number): void {
    request.pendingArgs++;
    (request.awaited ??= []).push(argCore);
    argCore.subscribe(
      (value) => {
        if (request.settled) return;
        try {
          request.args[index] = this.copyArgValue(value, index, request.method);
        } catch (error) {
          this.failUnstarted(request, error);
          return;
        }
        if (--request.pendingArgs === 0) this.scheduler.release(request);
      },
      (error) => this.failUnstarted(request, error),
    );
  }

  /** A request that has not started fails (its future argument rejected, or termination). */
  private failUnstarted(request: Request, error: unknown): void {
    if (request.settled) return;
    if (!this.scheduler.cancel(request)) return; // already started: it will settle itself
    request.reject(error);
    if (request.sampled) this.event('request.cancelled', request, error);
    this.unlink(request);
  }

  private refusal(): Error | undefined {
    if (this.failure !== undefined) return this.failure;
    if (this.status !== LIVE || this.epoch !== epoch) {
      return new TerminatedError(`${this.name} was terminated; calls to it are refused.`);
    }
    return undefined;
  }

  // ---------------------------------------------------------------- SchedulerHost

  start(request: Request): void {
    if (request.sampled) this.event('request.started', request);
    if (request.groupId === SPECIAL_GROUP) {
      this.runSpecial(request);
      return;
    }
    if (request.dseq > 0) {
      if (request.replaying) this.replayProgress?.(request.dseq, 'active');
      this.beforeJournaledStart?.();
    }
    let result: unknown;
    try {
      result = runAs(request, invoke, request);
    } catch (error) {
      this.complete(request, false, error);
      return;
    }
    if (result === null || (typeof result !== 'object' && typeof result !== 'function')) {
      this.complete(request, true, result);
      return;
    }
    if ((result as Record<symbol, unknown>)[FUTURE_CORE] !== undefined) {
      // Returning a future is not waiting on it: finish now, the caller's future adopts it.
      request.resolve(result);
      this.finishRequest(request, true, undefined);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.complete(request, true, value),
        (error) => this.complete(request, false, error),
      );
      return;
    }
    // Some other thenable: follow it like a promise would (its `then` may even throw).
    let then: unknown;
    try {
      then = (result as { then?: unknown }).then;
      if (typeof then === 'function') {
        then.call(
          result,
          (value: unknown) => this.complete(request, true, value),
          (error: unknown) => this.complete(request, false, error),
        );
        return;
      }
    } catch (error) {
      this.complete(request, false, error);
      return;
    }
    this.complete(request, true, result);
  }

  resume(request: Request): void {
    if (request.sampled) this.event('request.resumed', request);
    request.flushDeliveries();
    // Still awaiting another future (e.g. Promise.all): back to waiting.
    if (request.waits > 0 && request.state === RequestState.Active) this.enterWait(request);
    else if (request.replaying) this.replayProgress?.(request.dseq, 'active');
  }

  requestDrain(): void {
    // While draining, the drain loop itself picks up whatever became runnable.
    if (this.drainScheduled || this.draining) return;
    this.drainScheduled = true;
    // A reaction on a settled promise: cheaper than Node's queueMicrotask, which wraps
    // every callback in an AsyncResource.
    RESOLVED.then(this.drainNow);
  }

  conditionFailed(error: unknown, admitted: Request, other: Request): void {
    if (observed) {
      emit({
        type: 'condition.failed',
        time: now(),
        objectId: this.id,
        className: this.className,
        error,
        admitted: refOf(admitted),
        other: refOf(other),
      });
    } else if (!this.warnedConditions) {
      this.warnedConditions = true;
      process.emitWarning(
        `multiactive: a compatibility condition of ${this.className} threw while comparing ` +
          `${admitted.method} with ${other.method} (treated as incompatible): ${String(error)}. ` +
          'Subscribe with onEvent() to see every occurrence.',
        { code: 'MULTIACTIVE_CONDITION' },
      );
    }
  }

  admitted(request: Request): void {
    if (request.sampled) {
      emit({
        type: 'request.admitted',
        time: now(),
        request: refOf(request),
        held: request.state === RequestState.Held,
      });
    }
  }

  // ---------------------------------------------------------------- request end

  enterWait(request: Request): void {
    this.scheduler.enterWait(request);
    if (request.replaying && request.state === RequestState.Waiting)
      this.replayProgress?.(request.dseq, 'waiting');
    if (request.sampled) this.event('request.waiting', request);
  }

  private complete(request: Request, ok: boolean, value: unknown): void {
    // Abandoned (immediate termination) or already completed (a thenable calling back twice).
    if (request.abandoned || request.state === RequestState.Done) return;
    if (ok && this.copies && !request.fromWire) {
      try {
        value = copyResult(value, this.className, request.method);
      } catch (error) {
        ok = false;
        value = error;
      }
    }
    if (ok) request.resolve(value);
    else request.reject(value);
    this.finishRequest(request, ok, ok ? undefined : value);
  }

  private finishRequest(request: Request, ok: boolean, error: unknown): void {
    this.scheduler.finish(request);
    if (request.replaying) this.replayProgress?.(request.dseq, 'done');
    request.flushDeliveries();
    if (request.sampled) {
      emit({ type: 'request.finished', time: now(), request: refOf(request), ok, error });
    }
    this.unlink(request);
    this.served++;
    const checkpoints = this.checkpoints;
    if (checkpoints !== undefined && request.groupId !== SPECIAL_GROUP) {
      checkpoints.served++;
      if (checkpoints.dueByCount) this.checkpointDue();
    }
  }

  // ---------------------------------------------------------------- checkpoints (docs/fault-tolerance.md)

  /**
   * The key this object's checkpoints go under (src/checkpoint/keys.ts), checked against the
   * live objects of this thread that write to the same store: two writers under one key would
   * interleave their checkpoints, and a restore would take whichever is newest. Throws an
   * `ArgumentError` naming the other object. Time: O(1).
   */
  private claimCheckpointKey(
    store: CheckpointStore,
    given: string | undefined,
  ): { key: string; chosen: boolean; store: CheckpointStore } {
    const { key, chosen } = checkpointKeyOf(this.className, this.id, given);
    const other = keysInUse.holder(store, key);
    if (other !== undefined) {
      throw new ArgumentError(
        `${other.name} already writes its checkpoints under the key ${JSON.stringify(key)} in this store, and is ` +
          `still live: ${this.name} cannot use it too (their checkpoints would mix). Give ${this.name} another ` +
          `\`checkpointKey\`, or terminate ${other.name} first.`,
      );
    }
    return { key, chosen, store };
  }

  /** It may keep its checkpoint key: live, and not failed (a failed restore gives it up). */
  get holdsCheckpointKey(): boolean {
    return !this.isTerminated && this.failure === undefined;
  }

  private warnedRemoval = false;

  /** Its checkpoints could not be removed at its end: they stay in the store (harmless, unused). */
  private removalFailed(error: unknown): void {
    if (this.warnedRemoval) return;
    this.warnedRemoval = true;
    process.emitWarning(
      `multiactive: the checkpoints of ${this.name} could not be removed after it ended; they stay in the ` +
        `store, where nothing reads them: ${String(error)}`,
      { code: 'MULTIACTIVE_CHECKPOINT' },
    );
  }

  /**
   * A periodic checkpoint fell due (requests served, or the timer). None for an object that
   * refuses calls (ending, or failed): it would be refused too, and nobody would handle that
   * rejection (a graceful shutdown used to crash the process so when a request finished).
   */
  private checkpointDue(): void {
    if (this.refusal() === undefined) void this.requestCheckpoint();
  }

  /**
   * Take a checkpoint as soon as the scheduler allows (see `Scheduler.submitCheckpoint`);
   * joins the one pending, if any. Resolves when it is durable in the store.
   */
  requestCheckpoint(): Promise<CheckpointInfo> {
    const checkpoints = this.checkpoints;
    if (checkpoints === undefined) {
      return Promise.reject(new ArgumentError(`${this.name} has no @Checkpoint: declare it on its class.`));
    }
    const refusal = this.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    const promise = checkpoints.waitNext();
    // A pending checkpoint is joined; a pending restore submits it when it ends.
    if (this.scheduler.checkpoint === null) this.submitSpecial(CHECKPOINT_METHOD);
    return promise;
  }

  private submitSpecial(method: string): void {
    const request = new Request(this, SPECIAL_GROUP, method, [], undefined);
    request.sampled = observeRequests && sampleRequest();
    this.link(request);
    if (request.sampled) this.emitSent(request, -1, 0);

    this.scheduler.submitCheckpoint(request);
  }

  /** Steps 2-3 of the protocol in checkpoint/checkpoints.ts: nothing else is in service now. */
  private runSpecial(request: Request): void {
    if (request.method === RESTORE_METHOD) {
      void this.runRestore(request);
      return;
    }
    const checkpoints = this.checkpoints!;
    // Which journaled deliveries the state holds: all up to `dseq` but those not started.
    const meta: CheckpointMeta = { dseq: this.delivered, pending: [] };
    if (this.recoverable) {
      const keyed = this.keyedResults?.();
      if (keyed !== undefined && keyed.length > 0) meta.keyed = keyed;
      for (const r of this.inFlightRequests()) {
        const s = r.state;
        if (
          r.dseq > 0 &&
          (s === RequestState.Queued || s === RequestState.Held || s === RequestState.Ready)
        ) {
          meta.pending.push(r.dseq);
        }
      }
    }
    let data: Uint8Array;
    try {
      data = encodeState(checkpoints.key, meta, captureState(this.target!), stateCodec);
    } catch (error) {
      checkpoints.failed(error);
      this.checkpointFailed(checkpoints.seq + 1, error);
      this.finishSpecial(request, false, error);
      return;
    }
    checkpoints.write(data, (written, error) => {
      if (error !== undefined) {
        this.checkpointFailed(written.seq, error);
        return;
      }
      this.onCheckpointDurable?.(written, meta);
      if (observed) {
        emit({
          type: 'checkpoint.taken',
          time: now(),
          objectId: this.id,
          className: this.className,
          key: written.key,
          seq: written.seq,
          bytes: written.bytes,
        });
      }
    });
    // Its number is given when its write starts (after the store was read, the first time).
    this.finishSpecial(request, true, undefined);
  }

  /** Restore the state from the newest checkpoint; on failure the object refuses every call. */
  private async runRestore(request: Request): Promise<void> {
    const checkpoints = this.checkpoints!;
    try {
      const stored = await checkpoints.latest();
      if (stored === undefined) {
        throw new CheckpointError(
          checkpoints.key,
          `There is no checkpoint of ${checkpoints.key} to restore ${this.name} from` +
            `${'dir' in checkpoints.store ? ` (in ${String(checkpoints.store.dir)})` : ''}. ` +
            'Create it without `restore: true` the first time, or check the store and the checkpoint key.',
        );
      }
      const saved = decodeState(stored.data, stateCodec) as { meta?: CheckpointMeta; state?: unknown } | null;
      if (saved === null || typeof saved !== 'object' || saved.meta === undefined) {
        throw new CheckpointError(
          checkpoints.key,
          `Checkpoint ${stored.seq} of ${checkpoints.key} is not in the format this version writes.`,
        );
      }
      applyState(this.target!, saved.state);
      checkpoints.restoredFrom(stored.seq);
      this.delivered = saved.meta.dseq;
      // Replayed requests queue here, behind the restore and before anything else.
      this.afterRestore?.(saved.meta);
      if (observed) {
        emit({
          type: 'object.restored',
          time: now(),
          objectId: this.id,
          className: this.className,
          key: checkpoints.key,
          seq: stored.seq,
        });
      }
      this.finishSpecial(request, true, {
        key: checkpoints.key,
        seq: stored.seq,
        bytes: stored.data.byteLength,
      });
    } catch (error) {
      const failure =
        error instanceof CheckpointError
          ? error
          : new CheckpointError(checkpoints.key, `${this.name} could not be restored: ${String(error)}`, {
              cause: error,
            });
      // Nothing may run on a state that was not restored.
      this.failure = failure;
      checkpoints.failed(failure);
      this.finishSpecial(request, false, failure);
      for (const r of this.inFlightRequests()) this.failUnstarted(r, failure);
      this.restoredDone?.();
      return;
    }
    this.restoredDone?.();
    // A checkpoint asked for meanwhile.
    if (checkpoints.next !== undefined && this.scheduler.checkpoint === null)
      this.submitSpecial(CHECKPOINT_METHOD);
  }

  private finishSpecial(request: Request, ok: boolean, value: unknown): void {
    if (request.abandoned || request.state === RequestState.Done) return;
    if (ok) request.resolve(value);
    else request.reject(value);
    this.finishRequest(request, ok, ok ? undefined : value);
  }

  private checkpointFailed(seq: number, error: unknown): void {
    if (observed) {
      emit({
        type: 'checkpoint.failed',
        time: now(),
        objectId: this.id,
        className: this.className,
        key: this.checkpoints!.key,
        seq,
        error,
      });
    } else if (!this.warnedCheckpoints) {
      this.warnedCheckpoints = true;
      process.emitWarning(
        `multiactive: checkpoint ${seq} of ${this.name} failed: ${String(error)}. ` +
          'Subscribe with onEvent() to see every occurrence.',
        { code: 'MULTIACTIVE_CHECKPOINT' },
      );
    }
  }

  /**
   * One drain turn: start/resume what the scheduler allows, again while that made more
   * runnable (a finishing request can wake a waiting one), at most DRAIN_BUDGET in all;
   * past the budget, continue after the event loop's I/O (setImmediate).
   */
  private drain(): void {
    this.drainScheduled = false;
    this.draining = true;
    let budget = DRAIN_BUDGET;
    try {
      while (budget > 0) {
        const started = this.scheduler.drain(budget);
        budget -= started;
        if (started === 0 || !this.scheduler.hasRunnable) break;
      }
    } finally {
      this.draining = false;
    }
    if (budget === 0 && this.scheduler.hasRunnable) {
      this.drainScheduled = true;
      setImmediate(this.drainNow);
    }
  }

  // ---------------------------------------------------------------- in-flight bookkeeping

  private link(request: Request): void {
    request.fNext = this.firstInFlight;
    if (this.firstInFlight !== null) this.firstInFlight.fPrev = request;
    this.firstInFlight = request;
    if (this.inFlight++ === 0) busyObjects.add(this);
    if (request.external && nodeWork.external++ === 0) nodeWork.changed?.();
  }

  private unlink(request: Request): void {
    request.awaited = null;
    if (request.fPrev !== null) request.fPrev.fNext = request.fNext;
    else if (this.firstInFlight === request) this.firstInFlight = request.fNext;
    else return; // not linked
    if (request.fNext !== null) request.fNext.fPrev = request.fPrev;
    request.fPrev = request.fNext = null;
    if (request.external && --nodeWork.external === 0) nodeWork.changed?.();
    if (--this.inFlight === 0) {
      busyObjects.delete(this);
      if (this.status === TERMINATING) this.markTerminated();
    }
  }

  // ---------------------------------------------------------------- observation

  /** Requests in flight, newest first. Time: O(in flight); for the wait-for graph. */
  inFlightRequests(): Request[] {
    const out: Request[] = [];
    for (let r = this.firstInFlight; r !== null; r = r.fNext) out.push(r);
    return out;
  }

  /**
   * Break a deadlock at `request` (docs/deadlocks.md): a request that has not started is withdrawn and
   * its future rejected with `error`; one that has started keeps running, and only its future
   * is rejected now (what it computes later is dropped). Returns whether it was withdrawn.
   */
  breakDeadlock(request: Request, error: Error): boolean {
    if (request.settled) return false;
    // A withdrawn checkpoint is postponed: whoever asked for it learns why.
    if (request.method === CHECKPOINT_METHOD && request.groupId === SPECIAL_GROUP)
      this.checkpoints?.failed(error);
    if (this.scheduler.cancel(request)) {
      request.reject(error);
      if (request.sampled) this.event('request.cancelled', request, error);
      this.unlink(request);
      return true;
    }
    request.reject(error);
    return false;
  }

  // ---------------------------------------------------------------- control

  setLimit(limit: number): void {
    this.scheduler.setLimit(limit);
    this.updateWaitTracking();
    this.limitsChanged();
  }

  setHardLimit(hard: boolean): void {
    this.scheduler.setHardLimit(hard);
    this.updateWaitTracking();
    this.limitsChanged();
  }

  private limitsChanged(): void {
    if (observed) {
      emit({
        type: 'object.limits',
        time: now(),
        objectId: this.id,
        limit: this.scheduler.limit,
        hardLimit: this.scheduler.hardLimit,
      });
    }
  }

  /**
   * WBN is accounted under a finite soft limit (a waiting request gives its slot back), and
   * always for an object with checkpoints: a pending checkpoint lets requests in only while
   * every request in service waits by necessity, so it must know which do, whatever the
   * limits (else two objects calling each other back deadlock behind their checkpoints).
   * Accounting needs async context (see context.ts for its cost).
   */
  private updateWaitTracking(): void {
    this.tracksWaits =
      this.checkpoints !== undefined || (!this.scheduler.hardLimit && Number.isFinite(this.scheduler.limit));
    if (this.tracksWaits) enableAsyncContext();
  }

  get isTerminated(): boolean {
    return this.status === TERMINATED || this.epoch !== epoch;
  }

  /**
   * Graceful: refuse new calls, serve what is queued, resolve when nothing is in flight.
   * Immediate: also reject what has not started and abandon what is in service (its
   * future rejects now; its code cannot be stopped on this thread, but whatever it does
   * later is ignored and its calls are refused). `reason`: why, for the `TerminatedError`
   * (an immediate termination by default). An immediate call ends a graceful one under way.
   */
  terminate(immediate: boolean, reason?: string): Promise<void> {
    if (this.status === TERMINATED) return Promise.resolve();
    this.status = TERMINATING;
    if (immediate) {
      const error = new TerminatedError(
        reason === undefined
          ? `${this.name} was terminated immediately; this request was dropped.`
          : `${this.name} was terminated: ${reason}; this request was dropped.`,
      );
      for (let r = this.firstInFlight; r !== null; ) {
        const next = r.fNext;
        if (!this.scheduler.cancel(r)) {
          r.abandoned = true;
          this.scheduler.finish(r);
        } else if (r.sampled) this.event('request.cancelled', r, error);
        r.reject(error);
        this.unlink(r);
        r = next;
      }
    }
    if (this.inFlight === 0) {
      this.markTerminated();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.terminationWaiters.push(resolve));
  }

  private markTerminated(): void {
    if (this.status === TERMINATED) return;
    this.status = TERMINATED;
    liveObjects.delete(this.ref);
    this.endCheckpoints();
    busyObjects.delete(this);
    if (observed)
      emit({ type: 'object.terminated', time: now(), objectId: this.id, className: this.className });
    for (const resolve of this.terminationWaiters.splice(0)) resolve();
  }

  /**
   * No checkpoint any more: waiters of a pending one are told, its key is free for another
   * object, and checkpoints under a key the runtime chose are removed once written
   * (checkpoints.ts, step 7). Also for idle objects ended by `shutdown()`. Idempotent.
   */
  endCheckpoints(): void {
    const checkpoints = this.checkpoints;
    if (checkpoints === undefined) return;
    checkpoints.failed(new TerminatedError(`${this.name} was terminated before its checkpoint was taken.`));
    keysInUse.release(checkpoints.store, checkpoints.key, this);
    checkpoints.end();
  }

  private event(
    type: 'request.started' | 'request.waiting' | 'request.resumed' | 'request.cancelled',
    request: Request,
    reason?: unknown,
  ): void {
    const time = now();
    const ref = refOf(request);
    let event: MultiactiveEvent;
    if (type === 'request.cancelled') event = { type, time, request: ref, reason: String(reason) };
    else event = { type, time, request: ref };
    emit(event);
  }
}

/**
 * Objects with requests in flight, as an intrusive list (an object turns busy and idle at
 * every sequential call: no hashing there). `shutdown()` waits for them; idle objects are
 * not held, so they can be collected.
 */
const busyObjects = {
  first: null as ActiveObject | null,
  add(obj: ActiveObject): void {
    obj.busyNext = this.first;
    if (this.first !== null) this.first.busyPrev = obj;
    this.first = obj;
  },
  delete(obj: ActiveObject): void {
    if (obj.busyPrev !== null) obj.busyPrev.busyNext = obj.busyNext;
    else if (this.first === obj) this.first = obj.busyNext;
    else return;
    if (obj.busyNext !== null) obj.busyNext.busyPrev = obj.busyPrev;
    obj.busyPrev = obj.busyNext = null;
  },
  list(): ActiveObject[] {
    const out: ActiveObject[] = [];
    for (let o = this.first; o !== null; o = o.busyNext) out.push(o);
    return out;
  },
};

const RESOLVED = Promise.resolve();

/**
 * The checkpoint keys given to this thread's live objects, per store (a `FileStore` by its
 * directory: every `@Checkpoint({ store: 'path' })` object gets its own instance). Keys the
 * runtime chose are unique and not kept here. Weak: an object that was collected holds
 * nothing. Time: O(1) per operation.
 */
const keysInUse = {
  stores: new Map<unknown, Map<string, WeakRef<ActiveObject>>>(),
  identity(store: CheckpointStore): unknown {
    return store instanceof FileStore ? `file:${store.dir}` : store;
  },
  holder(store: CheckpointStore, key: string): ActiveObject | undefined {
    const obj = this.stores.get(this.identity(store))?.get(key)?.deref();
    return obj?.holdsCheckpointKey ? obj : undefined;
  },
  claim(store: CheckpointStore, key: string, obj: ActiveObject): void {
    const id = this.identity(store);
    let keys = this.stores.get(id);
    if (keys === undefined) this.stores.set(id, (keys = new Map()));
    keys.set(key, new WeakRef(obj));
  },
  release(store: CheckpointStore, key: string, obj: ActiveObject): void {
    const id = this.identity(store);
    const keys = this.stores.get(id);
    const held = keys?.get(key)?.deref();
    if (keys === undefined || (held !== undefined && held !== obj)) return;
    keys.delete(key);
    if (keys.size === 0) this.stores.delete(id);
  },
};

/** Local objects saved as references in checkpoints, by id (weakly: they may end). */
const savedRefs = new Map<number, WeakRef<ActiveObject>>();
const forgetSavedRef = new FinalizationRegistry<number>((id) => {
  if (savedRefs.get(id)?.deref() === undefined) savedRefs.delete(id);
});

/** Active references inside checkpoints: saved by address, restored as references. */
const stateCodec: StateCodec = {
  get localNode() {
    return localNode;
  },
  remember(target) {
    if (target instanceof ActiveObject && savedRefs.get(target.id)?.deref() !== target) {
      savedRefs.set(target.id, new WeakRef(target));
      forgetSavedRef.register(target, target.id);
    }
  },
  stubFor(nodeId, id, className) {
    if (nodeId === localNode) {
      const obj = savedRefs.get(id)?.deref();
      return obj !== undefined && !obj.isTerminated ? obj.stub : danglingStub(id, className);
    }
    return placement?.stubFor(nodeId, id, className) ?? danglingStub(id, className);
  },
};

/** A reference restored from a checkpoint whose object no longer exists: every call is refused. */
function danglingStub(id: number, className: string): object {
  const name = `${className}#${id}`;
  const target: CallTarget & { id: number; className: string; name: string } = {
    id,
    className,
    name,
    call(method) {
      const future = new NamedFutureCore(`${name}.${method}`);
      future.reject(
        new TerminatedError(
          `${name} (a reference restored from a checkpoint) no longer exists; calls to it are refused.`,
        ),
      );
      return future.proxy;
    },
  };
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === ACTIVE_OBJECT) return target;
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      return (...args: unknown[]) => target.call(prop, 0, args);
    },
  });
}

/** Objects of this node with requests in flight (for the wait-for graph). */
export function busyObjectList(): ActiveObject[] {
  return busyObjects.list();
}

/**
 * Every object of this node not terminated, weakly (an unreachable object is not kept
 * alive by it). For viewers' counts; creation costs one Set insert.
 */
const liveObjects = new Set<WeakRef<ActiveObject>>();
const forgetLive = new FinalizationRegistry<WeakRef<ActiveObject>>((ref) => liveObjects.delete(ref));

export function liveObjectList(): ActiveObject[] {
  const out: ActiveObject[] = [];
  for (const ref of liveObjects) {
    const obj = ref.deref();
    if (obj !== undefined && !obj.isTerminated) out.push(obj);
  }
  return out;
}

function invoke(request: Request): unknown {
  const target = request.obj.target as Record<string, (...args: unknown[]) => unknown>;
  return target[request.method]!.apply(target, request.args);
}

/** The request making the current call, if known (async context, or its synchronous code). */
export function callerId(): number | undefined {
  const waiter = currentWaiter();
  return waiter instanceof Request ? waiter.requestId : undefined;
}

/**
 * The deterministic key of the call being made, when a request of a recoverable object makes
 * it (`caller:dseq:n`, see protocol.ts FTCALL); undefined otherwise.
 */
export function keyOfCall(): string | undefined {
  const waiter = currentWaiter();
  if (!(waiter instanceof Request) || waiter.dseq === 0 || !waiter.obj.recoverable) return undefined;
  return `${waiter.obj.id}:${waiter.dseq}:${++waiter.keyedCalls}`;
}

/** The object whose request makes the current call, if known. */
export function callerObjectId(): number | undefined {
  const waiter = currentWaiter();
  return waiter instanceof Request ? waiter.obj.id : undefined;
}

export function refOf(request: Request): RequestRef {
  return {
    requestId: request.requestId,
    objectId: request.obj.id,
    className: request.obj.className,
    method: request.method,
    group: request.group,
  };
}

// ------------------------------------------------------------------ stubs

const stubClasses = new WeakMap<object, new (obj: CallTarget) => object>();
const selfRefs = new WeakMap<object, object>();

/**
 * One stub class per active class: a prototype method per method of the class chain, each
 * closing over its name and group id (no lookup per call). Plain methods, not a Proxy: a
 * call costs one property load and one call. `then` is never stubbed (it would make the
 * reference a thenable).
 */
export function stubClass(ctor: Function, policy: Policy): new (obj: CallTarget) => object {
  const known = stubClasses.get(ctor);
  if (known !== undefined) return known;
  const Stub = class {
    readonly [ACTIVE_OBJECT]: CallTarget;
    constructor(obj: CallTarget) {
      this[ACTIVE_OBJECT] = obj;
    }
  };
  Object.defineProperty(Stub, 'name', { value: `Active<${ctor.name}>` });
  const proto = Stub.prototype as unknown as Record<string, unknown>;
  methodsOf(ctor).forEach((name, index) => {
    const groupId = policy.methodGroup.get(name) ?? policy.groupCount;
    proto[name] = function (this: { [ACTIVE_OBJECT]: CallTarget }, ...args: unknown[]) {
      return this[ACTIVE_OBJECT].call(name, groupId, args, index);
    };
  });
  stubClasses.set(ctor, Stub);
  return Stub;
}

const methodLists = new WeakMap<Function, readonly string[]>();

/**
 * The methods of a class, in a fixed order (definition order, class before parents). Every
 * node computes the same list from the same class, so a call can name its method by index
 * on the wire.
 */
export function methodsOf(ctor: Function): readonly string[] {
  let list = methodLists.get(ctor);
  if (list === undefined) {
    list = methodNames(ctor);
    methodLists.set(ctor, list);
  }
  return list;
}

function methodNames(ctor: Function): string[] {
  const names = new Set<string>();
  for (
    let proto = ctor.prototype;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || key === 'then') continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor !== undefined && typeof descriptor.value === 'function') names.add(key);
    }
  }
  return [...names];
}

// ------------------------------------------------------------------ public API

export interface NewActiveOptions {
  /**
   * Where the object lives: 'local' (this thread), 'auto' (the worker pool: one per core,
   * round-robin), a node from `createWorkerNode()`, or a node id.
   * @default 'local'
   */
  node?: 'local' | 'auto' | { readonly id: number } | number | undefined;
  /**
   * The module that exports the class, for placement on another node when it cannot be told
   * from the class (no multiactive class decorator, or bundled code): `import.meta.url`.
   */
  module?: string | URL | undefined;
  /** The name the class is exported under, if not its class name. */
  exportName?: string | undefined;
  /**
   * The key of the object's checkpoints in its store (classes with `@Checkpoint`). Give a
   * stable one to restore the object after a process restart.
   * @default `ClassName#id@<run>` (unique to this process run; see docs/fault-tolerance.md)
   */
  checkpointKey?: string | undefined;
  /**
   * Restore the object from the newest checkpoint under `checkpointKey` before it serves
   * anything (its constructor runs first; then `restore(state)` or its fields are assigned).
   * A missing or damaged checkpoint fails the object with `CheckpointError`.
   * @default false
   */
  restore?: boolean | undefined;
  /**
   * Copy arguments and results (structured-clone semantics) so that code behaves the same
   * on one thread or many. `false` skips the copies for this object: only for objects that
   * will always share a thread with their callers and whose callers never keep a reference
   * to what they pass.
   * @default true
   */
  copy?: boolean | undefined;
}

/**
 * `newActive`'s parameters after the class: `args` is required when the constructor requires
 * arguments, optional when it has none or only optional ones.
 */
export type NewActiveArgs<A extends unknown[]> = [] extends A
  ? [args?: A, options?: NewActiveOptions]
  : [args: A, options?: NewActiveOptions];

/**
 * Create an active object: `new Cls(...args)` served by its own request scheduler. Returns
 * at once. The constructor runs now; if it throws, every call on the object rejects with a
 * `ConstructionError` (the same on every node). Arguments are copied. `args` may be left out
 * only when the constructor takes no required argument.
 */
export function newActive<T extends object, A extends unknown[]>(
  Cls: new (...args: A) => T,
  ...rest: NewActiveArgs<A>
): Active<T> {
  const [args, options] = rest as [A | undefined, NewActiveOptions | undefined];
  if (typeof Cls !== 'function') {
    throw new ArgumentError(`newActive expects a class as first argument, got ${describe(Cls)}`);
  }
  if (typeof Cls.prototype !== 'object' || Cls.prototype === null) {
    throw new ArgumentError(
      `newActive expects a class as first argument, got a function without a prototype (an arrow function, a method or a bound function): ${Cls.name || 'anonymous'}`,
    );
  }
  if (args !== undefined && !Array.isArray(args)) {
    throw new ArgumentError(
      `newActive expects the constructor arguments as an array (newActive(${Cls.name}, [a, b])), got ${describe(args)}`,
    );
  }
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new ArgumentError(`newActive expects options to be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options ?? {})) {
    if (!NEW_ACTIVE_OPTIONS.includes(key)) {
      throw new ArgumentError(
        `Unknown newActive option \`${key}\`; known options: ${NEW_ACTIVE_OPTIONS.join(', ')}`,
      );
    }
  }
  const ctor = Cls as unknown as new (...a: never[]) => object;
  checkCheckpointOptions(ctor, options);
  if (options?.node !== undefined && placement !== undefined) {
    const remote = placement.place(ctor, [...(args ?? [])], options);
    if (remote !== undefined) return remote as Active<T>;
  }
  const obj = new ActiveObject(ctor, [...(args ?? [])], options ?? {});
  return obj.stub as Active<T>;
}

const NEW_ACTIVE_OPTIONS = ['copy', 'node', 'module', 'exportName', 'checkpointKey', 'restore'];

function checkCheckpointOptions(ctor: Function, options: NewActiveOptions | undefined): void {
  if (options === undefined) return;
  const { checkpointKey: key, restore, copy } = options;
  if (copy !== undefined && typeof copy !== 'boolean') {
    throw new ArgumentError(`Expected \`copy\` to be a boolean, got ${describe(copy)}`);
  }
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new ArgumentError(`Expected \`checkpointKey\` to be a non-empty string, got ${describe(key)}`);
  }
  if (restore !== undefined && typeof restore !== 'boolean') {
    throw new ArgumentError(`Expected \`restore\` to be a boolean, got ${describe(restore)}`);
  }
  if (restore === true && key === undefined) {
    throw new ArgumentError(
      `\`restore: true\` needs a \`checkpointKey\`: without one, ${ctor.name}'s checkpoints go under a key of this run ` +
        '(`ClassName#id@<run>`), which no earlier checkpoint can have. Give the key the checkpoints were written under.',
    );
  }
  if ((key !== undefined || restore === true) && checkpointConfig(ctor as new () => object) === undefined) {
    throw new ArgumentError(
      `${ctor.name} has no @Checkpoint, so \`checkpointKey\` and \`restore\` mean nothing for it: declare @Checkpoint() on the class.`,
    );
  }
}

/** What a stub calls: a local `ActiveObject` or a remote object's proxy. */
export interface CallTarget {
  /** `index`: the method's position in `methodsOf(class)`, when the caller's stub knows the class. */
  call(method: string, groupId: number, args: unknown[], index?: number): object;
}

/** Set by src/node/placement.ts: objects on other nodes. */
export interface PlacementHooks {
  /** A stub for an object placed on another node, or undefined to create it here. */
  place(
    ctor: new (...args: never[]) => object,
    args: unknown[],
    options: NewActiveOptions,
  ): object | undefined;
  /**
   * End every worker node: at once, or gracefully within `timeoutMs`, past which its thread is
   * terminated and calls to it fail with a NodeLostError saying `late`. Settles when every
   * worker thread has ended.
   */
  shutdownNodes(immediate: boolean, timeoutMs: number, late: string): Promise<void>;
  /** Terminate an object of another node; undefined if `target` is not remote. */
  terminateRemote(target: CallTarget, immediate: boolean): Promise<void> | undefined;
  /** A reference to object `id` of another node. */
  stubFor(node: number, id: number, className: string): object;
}

let placement: PlacementHooks | undefined;

export function setPlacementHooks(hooks: PlacementHooks): void {
  placement = hooks;
}

/** The target behind an active reference (local or remote), or an ArgumentError. */
function targetOf(active: unknown, caller: string): CallTarget {
  const target =
    active !== null && typeof active === 'object'
      ? ((active as Record<symbol, unknown>)[ACTIVE_OBJECT] as CallTarget | undefined)
      : undefined;
  if (target === undefined) {
    throw new ArgumentError(`${caller} expects an active object (from newActive), got ${describe(active)}`);
  }
  return target;
}

/** The engine behind an active reference of this node, or an ArgumentError naming the caller. */
export function objectOf(active: unknown, caller: string): ActiveObject {
  const target = targetOf(active, caller);
  if (!(target instanceof ActiveObject)) {
    throw new ArgumentError(
      `${caller} works on objects of this node; ${(target as { name?: string }).name ?? 'this object'} lives on ` +
        "another node (call it from inside one of that object's requests, or from its node).",
    );
  }
  return target;
}

/** True if `value` is an active reference. */
export function isActive(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as Record<symbol, unknown>)[ACTIVE_OBJECT] !== undefined
  );
}

/**
 * The active reference of the object whose request is running: calls through it are queued
 * like anyone else's (ProActive's `getStubOnThis()`), while `this.m()` stays a direct call.
 *
 * ```ts
 * @MemberOf('work') async step() { await selfRef(this).other(); }
 * ```
 */
export function selfRef<T extends object>(self: T): Active<T> {
  const stub = selfRefs.get(self);
  if (stub === undefined) {
    throw new ArgumentError(
      `selfRef expects the instance behind an active object (call it as selfRef(this) inside a method), got ${describe(self)}`,
    );
  }
  return stub as Active<T>;
}

export interface TerminateOptions {
  /**
   * `false`: refuse new calls, serve what is queued, then resolve. `true`: also reject the
   * queued requests and abandon those in service, and resolve at once.
   * @default false
   */
  immediate?: boolean | undefined;
}

/** Terminate one active object. Calls made afterwards reject with `TerminatedError`. */
export function terminate(active: object, options?: TerminateOptions): Promise<void> {
  const target = targetOf(active, 'terminate');
  const remote = placement?.terminateRemote(target, options?.immediate === true);
  if (remote !== undefined) return remote;
  return objectOf(active, 'terminate').terminate(options?.immediate === true);
}

export interface ShutdownOptions extends TerminateOptions {
  /**
   * How long a graceful shutdown waits for the requests in flight, in milliseconds (a number
   * >= 0, or `Infinity` for no bound). Past it, it turns immediate: what is still queued or in
   * service is rejected with a `TerminatedError` that says the shutdown timed out, and worker
   * nodes are terminated. Ignored with `immediate`.
   * @default 30_000 (DEFAULT_SHUTDOWN_TIMEOUT_MS)
   */
  timeoutMs?: number | undefined;
}

/**
 * The bound of a graceful `shutdown()` and `WorkerNode.terminate()`. A shutdown serves what is
 * queued; 30 s lets ordinary work finish (requests of milliseconds to seconds, a checkpoint
 * write) and still ends a program whose requests never settle within a time an operator or a
 * process manager (systemd's stop timeout is 90 s) would wait.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;

/**
 * While a graceful shutdown waits, the system is searched for deadlocks this often (the first
 * search at once). A deadlock never ends by itself, so every search that finds one shortens
 * the shutdown; a search reads every node's requests in flight (O(requests), nothing on a
 * request's path), so a few per second cost little even with long queues.
 */
const SHUTDOWN_DEADLOCK_POLL_MS = 200;

/** `shutdown()`'s and `WorkerNode.terminate()`'s options, checked. Throws `ArgumentError`. */
export function checkShutdownOptions(
  options: ShutdownOptions | undefined,
  caller: string,
): { immediate: boolean; timeoutMs: number } {
  if (options === undefined) return { immediate: false, timeoutMs: DEFAULT_SHUTDOWN_TIMEOUT_MS };
  if (options === null || typeof options !== 'object') {
    throw new ArgumentError(`${caller} expects options to be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'immediate' && key !== 'timeoutMs') {
      throw new ArgumentError(`Unknown ${caller} option \`${key}\`; known options: immediate, timeoutMs`);
    }
  }
  const { immediate, timeoutMs } = options;
  if (immediate !== undefined && typeof immediate !== 'boolean') {
    throw new ArgumentError(`Expected \`immediate\` to be a boolean, got ${describe(immediate)}`);
  }
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs >= 0)) {
    throw new ArgumentError(
      `Expected \`timeoutMs\` to be a number >= 0 or Infinity, got ${describe(timeoutMs)}`,
    );
  }
  return { immediate: immediate === true, timeoutMs: timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS };
}

/** Set by src/waits.ts: find the system's deadlocks now and break them (`DeadlockError`). */
let breakDeadlocks: (() => Promise<unknown>) | undefined;

export function setDeadlockBreaker(fn: () => Promise<unknown>): void {
  breakDeadlocks = fn;
}

/** Graceful shutdowns under way: an immediate one makes each of them immediate (`reason`). */
const gracefulShutdowns = new Set<(reason: string) => void>();

/**
 * Terminate every active object of this runtime: each refuses new calls at once; requests
 * already queued are served (or, with `immediate`, rejected). Resolves when no request is in
 * flight, and (on the main thread) every worker node has ended. Objects created afterwards
 * work normally. Throws `ArgumentError` for bad options.
 *
 * A graceful shutdown, step by step:
 *   1. Every object refuses new calls (the epoch changes). Idle objects are done: their
 *      checkpointing ends. Busy ones serve what they have, then end.
 *   2. Meanwhile the system is searched for deadlocks (`findDeadlocks`, every node from the
 *      main thread) at once and every SHUTDOWN_DEADLOCK_POLL_MS; each one found is broken as
 *      `configureDeadlocks({ reject: true })` does (its requests that have not started, or
 *      its futures, reject with `DeadlockError`), so the requests waiting on it end too.
 *   3. On the main thread, once this thread's objects are done, every worker node ends
 *      gracefully (`WorkerNode.terminate`), within what is left of the bound.
 *   4. If `timeoutMs` passes first, or an immediate shutdown is asked for meanwhile, it turns
 *      immediate: this thread's objects still busy drop what they have (`TerminatedError`
 *      naming the reason) and the worker threads are terminated.
 * Each step ends, so the shutdown settles within `timeoutMs` (plus the time to terminate the
 * threads). Deadlocks the wait-for graph cannot see (docs/deadlocks.md) and requests that
 * never settle are ended by step 4.
 */
export function shutdown(options?: ShutdownOptions): Promise<void> {
  const { immediate, timeoutMs } = checkShutdownOptions(options, 'shutdown');
  const objects = liveObjectList(); // before the epoch changes: afterwards all of them are "terminated"
  epoch++;
  const busy = busyObjects.list();
  const idle = new Set(objects);
  for (const obj of busy) idle.delete(obj);
  for (const obj of idle) obj.endCheckpoints();
  if (immediate) {
    for (const cut of [...gracefulShutdowns]) cut('an immediate shutdown() was asked for meanwhile');
    for (const obj of busy) void obj.terminate(true);
    return placement !== undefined && getLocalNode() === 0
      ? placement.shutdownNodes(true, 0, '')
      : Promise.resolve();
  }
  return gracefulShutdown(busy, timeoutMs);
}

async function gracefulShutdown(busy: readonly ActiveObject[], timeoutMs: number): Promise<void> {
  const started = performance.now();
  let cut!: (reason: string) => void;
  const cutShort = new Promise<string>((resolve) => {
    cut = resolve;
  });
  gracefulShutdowns.add(cut);
  const late = `the shutdown did not end within ${timeoutMs} ms (\`timeoutMs\`), so it turned immediate`;
  const timer = Number.isFinite(timeoutMs) ? setTimeout(() => cut(late), timeoutMs) : undefined;
  let done = false;
  let poll: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  void (async () => {
    // Step 2. Ref'd timers: the program awaits this shutdown, which ends within its bound.
    while (!done && breakDeadlocks !== undefined) {
      try {
        await breakDeadlocks();
      } catch {
        // A search that failed (a node that vanished meanwhile) is tried again.
      }
      if (done) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        poll = setTimeout(resolve, SHUTDOWN_DEADLOCK_POLL_MS);
      });
    }
  })();
  try {
    const served = Promise.all(busy.map((obj) => obj.terminate(false))).then(() => undefined);
    const reason = await Promise.race([served, cutShort]);
    if (reason !== undefined) {
      // Step 4, here: what is left is dropped (objects done meanwhile are skipped).
      for (const obj of busy) void obj.terminate(true, reason);
    }
    if (placement !== undefined && getLocalNode() === 0) {
      // Step 3 (or 4 for the nodes), with what is left of the bound.
      // An immediate shutdown asked for meanwhile terminates the worker threads itself.
      const left = Math.max(0, timeoutMs - (performance.now() - started));
      await placement.shutdownNodes(reason !== undefined, left, late);
    }
  } finally {
    done = true;
    clearTimeout(timer);
    clearTimeout(poll);
    wake?.();
    gracefulShutdowns.delete(cut);
  }
}
