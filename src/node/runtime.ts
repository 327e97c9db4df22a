/**
 * This node's side of the system: the objects it hosts for others, the calls it has in
 * flight to other nodes, the futures that travel, and the handling of every wire message.
 * One instance per isolate (`node`).
 *
 * Futures across nodes (docs/semantics.md, first-class): every future that leaves a node has a *home*
 * (the node where its value is computed) and a key. The receiver registers with the home, so
 * the value flows home -> receiver directly, never through the node that passed it on:
 *
 *   1. Node S sends future F (home H, key K) to node D: if H is S itself, S records D as a
 *      destination of K; otherwise S sends `forward(K, D)` to H.
 *   2. H, on `forward`: if K is still pending there, D becomes a destination; if its value is
 *      already gone, H answers `late(K, D)` to S, and S delivers the value to D itself when it
 *      has it (S holds F, so it gets the value: from H, or by the same rule from its sender).
 *   3. When K settles at H, H sends `value(K)` to every destination and forgets K.
 *   4. D resolves its local future for K once (a duplicate is ignored) and forgets K.
 *   Memory: every table entry is removed when its value has been delivered; a lost node
 *   rejects what waited on it.
 *
 * Why nothing is delivered twice or lost: H sends a key's value once per registered
 * destination and then forgets the key; a `forward` that arrives after that is answered with
 * `late`, so the sender (which will receive the value in any case) delivers it; a receiver
 * settles a future once.
 */
import {
  type ActiveObject,
  allocateObjectId,
  callerId,
  callerObjectId,
  getLocalNode,
  keyOfCall,
  nodeWork,
} from '../active.js';
import type { CheckpointMeta } from '../checkpoint/checkpoints.js';
import { toCopyError } from '../copy.js';
import * as errorClasses from '../errors.js';
import {
  ArgumentError,
  ConstructionError,
  JournalFullError,
  MultiactiveError,
  NodeLostError,
  QuarantineError,
  RemoteError,
  TerminatedError,
} from '../errors.js';
import {
  emit,
  type MultiactiveEvent,
  now,
  type ObserveMode,
  observed,
  observeRequests,
  sampleRequest,
  sampleSize,
} from '../events.js';
import { FULFILLED, FutureCore, type FutureObserver, NamedFutureCore, REJECTED } from '../future.js';
import { ACTIVE_OBJECT } from '../symbols.js';
import { decodeValue, encodeArgs, encodeValue, unsendable, type WirePort } from './codec.js';
import { Link, type Unsendable } from './link.js';
import {
  CALL,
  type Encoded,
  type EncodedFuture,
  type EncodedRef,
  FROM_MAIN_ONLY,
  FTCALL,
  FTLOG,
  type FutureKey,
  ID_STRIDE,
  isJournalEntry,
  type JournalEntry,
  kindOf,
  MAIN_NODE,
  type NodeId,
  numericKey,
  OTHER,
  TO_MAIN_ONLY,
  VALUE,
  type Wire,
  type WireOf,
  wireProblem,
} from './protocol.js';
import { LoopbackPort } from './transport.js';

/** How long a worker waits for the main thread's reason when a peer's channel closes. */
const PEER_REASON_MS = 1000;
/** The reasons of lost nodes a worker keeps (for channels that close after the word came). */
const LOST_REASONS = 64;

/** The library's errors by name (every `MultiactiveError` of errors.ts): rebuilt as their own classes when they cross nodes. */
const libraryErrors = new Map<string, new (...args: never[]) => Error>(
  (Object.values(errorClasses) as unknown[])
    .filter(
      (c): c is new (...args: never[]) => Error =>
        typeof c === 'function' && (c === MultiactiveError || c.prototype instanceof MultiactiveError),
    )
    .map((c) => [c.name, c] as const),
);

/** A future of a call this node sent to another node. */
class CallFuture extends FutureCore {
  /** The node that runs it (changes if its object is recovered elsewhere). */
  target: NodeId;
  readonly rid: number;
  private readonly label: string;
  private readonly method: string;
  constructor(label: string, method: string, target: NodeId, rid: number) {
    super();
    this.label = label;
    this.method = method;
    this.target = target;
    this.rid = rid;
  }
  /** Built only when a message needs it (not on every call). */
  get description(): string {
    return `${this.label}.${this.method}`;
  }
  override remoteKey(): { home: NodeId; key: number } {
    return { home: this.target, key: numericKey(getLocalNode(), this.rid) };
  }
}

/** A future received from another node: its value will arrive in a `value` message. */
class ReceivedFuture extends NamedFutureCore {
  readonly home: NodeId;
  readonly key: FutureKey;
  /**
   * Other nodes that sent this future here: besides its home, each may deliver its value (the
   * `late` path of the protocol above), and no other node may.
   */
  senders: NodeId[] | null = null;
  /** Node `from` may deliver this future's value (see `senders`). */
  mayDeliver(from: NodeId): boolean {
    return from === this.home || from === MAIN_NODE || this.senders?.includes(from) === true;
  }
  addSender(from: NodeId): void {
    if (from === this.home || this.senders?.includes(from) === true) return;
    (this.senders ??= []).push(from);
  }
  constructor(home: NodeId, key: FutureKey) {
    super(`future ${key[0]}:${key[1]} (computed on node ${home})`);
    this.home = home;
    this.key = key;
  }
  override remoteKey(): { home: NodeId; key: number } {
    return { home: this.home, key: numericKey(this.key[0], this.key[1]) };
  }
}

/** An object hosted here that is still being located (module import) or failed to be. */
/** A `terminate` of an object not created yet: who asked, under which call id. */
interface PendingTermination {
  readonly key: FutureKey;
  readonly from: NodeId;
  readonly immediate: boolean;
}

interface PendingObject {
  /** Calls that arrived meanwhile, with their sender, replayed in order. */
  readonly pending: BufferedCall[];
  failure: Error | undefined;
}

/**
 * A future whose value is computed here and awaited elsewhere: its key, its core, and where
 * to send the value. It observes the core (one object per call: no closures, no arrays for
 * the usual single destination).
 */
class Home implements FutureObserver {
  readonly key: FutureKey;
  readonly core: FutureCore;
  readonly to: NodeId;
  more: NodeId[] | null = null;
  constructor(key: FutureKey, core: FutureCore, to: NodeId) {
    this.key = key;
    this.core = core;
    this.to = to;
  }
  add(to: NodeId): void {
    (this.more ??= []).push(to);
  }
  futureSettled(ok: boolean, value: unknown): void {
    node.settleHome(this, ok, value);
  }
}

/** A call waiting for its object (decoded already). */
interface BufferedCall {
  readonly from: NodeId;
  readonly rid: number;
  /** A name, or an index in `methodsOf(class)`. */
  readonly method: string | number;
  readonly args: unknown[];
  /** The arguments as they came on the wire, when not encoded (decoding works in place). */
  readonly raw: unknown[];
  readonly enc: boolean;
  /** A journaled delivery being replayed after a recovery: its delivery number. */
  readonly replayed?: number;
  /** The deterministic key of a call made by a recoverable object's request (FTCALL). */
  readonly key?: string | undefined;
}

/** A call to a recoverable object, kept until its value arrives so that it can be resent. */
interface Resendable {
  readonly id: number;
  readonly method: string | number;
  readonly args: unknown[] | null;
  readonly enc: boolean;
  readonly key: string | undefined;
}

/** Shared by every call without arguments (nothing writes to an empty argument list). */
const NO_ARGS: { value: unknown[]; enc: boolean } = Object.freeze({
  value: Object.freeze([]) as unknown as unknown[],
  enc: false,
});

/** Values kept for futures not decoded yet, at most. */
const EARLY_VALUES = 10_000;

const keyText = (key: FutureKey): number => numericKey(key[0], key[1]);

export class NodeRuntime implements WirePort {
  readonly links = new Map<NodeId, Link>();
  /** Objects other nodes may call: hosted here for another node, or exported by reference. */
  readonly hosted = new Map<number, ActiveObject | PendingObject>();
  /** This node's calls in flight to other nodes, by rid. */
  private readonly calls = new Map<number, CallFuture>();
  /** Futures whose value is computed here and is awaited elsewhere: key -> destinations. */
  private readonly homes = new Map<number, Home>();
  /** The key under which a local future was exported. */
  private readonly exportedKeys = new WeakMap<FutureCore, FutureKey>();
  /** Futures received from other homes, waiting for their value. */
  private readonly received = new Map<number, ReceivedFuture>();
  /** Keys this node must deliver to other nodes itself (their `forward` came too late). */
  private readonly lateTargets = new Map<number, NodeId[]>();
  private nextRid = 1;
  /** Per creating node, the highest object id it asked this node to create (creates arrive in order). */
  private readonly highestCreated = new Map<NodeId, number>();
  /** Calls for objects whose `create` has not arrived yet (sent by another node than the creator). */
  private readonly parked = new Map<number, BufferedCall[]>();
  /**
   * `terminate`s of objects not created yet here (their `create` is on its way, or their class
   * is being imported): run once the object exists, after the calls that came before them.
   */
  private readonly pendingTerminations = new Map<number, PendingTermination[]>();
  /** Creations in progress (class imports): a graceful node shutdown waits for them. */
  private readonly creating = new Set<Promise<unknown>>();
  /**
   * Values that arrived before their future (the value travels home -> receiver, the future
   * sender -> receiver: two channels, no order between them). Bounded: the oldest go first.
   */
  private readonly early = new Map<number, { from: NodeId; ok: boolean; value: unknown; enc: boolean }>();
  /**
   * Values of calls to recoverable objects that came from another node than the call's target
   * (its new host, before `ft.moved` arrived): by rid, checked when the object moves. Bounded.
   */
  private readonly unverified = new Map<
    number,
    { from: NodeId; ok: boolean; value: unknown; enc: boolean }
  >();
  /** Remote stubs by object id (one stub per remote object, so identity is kept). */
  readonly remoteStubs = new Map<number, object>();
  /** Set by the placement module: makes a stub for a remote object we know nothing about. */
  makeRemoteStub: ((node: NodeId, id: number, className: string) => object) | undefined;
  /** Set by the worker main module: shut down every object of this node. */
  shutdownLocal: ((immediate: boolean) => Promise<void>) | undefined;
  /** Set by the worker main module: the main thread (stops) observing events. */
  onObserve: ((mode: ObserveMode) => void) | undefined;
  /** Set by the worker main module: a direct channel to another worker arrived. */
  onPeer: ((node: NodeId, port: import('node:worker_threads').MessagePort) => void) | undefined;
  /** Calls in flight to recoverable objects, by rid: resent if their node is recovered. */
  private readonly resendable = new Map<number, Resendable>();
  /**
   * Recovered objects and where they live now (`ft.moved`; new workers get the whole map):
   * a reference that names an object's old node, e.g. in a journaled call or a checkpoint,
   * is redirected.
   */
  readonly movedTo = new Map<number, NodeId>();
  /** Lost nodes whose recovery the main thread has not settled yet (`ft.lost` not seen). */
  private readonly lostNodes = new Set<NodeId>();
  /** Per recovered object hosted here: the keys of the deliveries it got before the crash. */
  private readonly recoveredKeys = new Map<number, { replayed: Set<number>; included: Set<number> }>();
  /**
   * Keyed calls served here (FTCALL), per calling object: `dseq:n` -> the result's future.
   * A replayed call gets that result instead of running again. Trimmed by `ft.trim`.
   */
  private readonly keyedCalls = new Map<
    number,
    Map<string, { readonly dseq: number; readonly core: FutureCore; readonly target: number }>
  >();
  /** This node hosts recoverable objects: their calls carry deterministic keys. */
  hostsRecoverable = false;
  /** Set by src/node/recovery.ts on the main thread: the journal's messages, from node `from`. */
  onJournal:
    | ((from: NodeId, message: WireOf<'ft.checkpointed' | 'ft.replay' | 'ft.dying'>) => void)
    | undefined;
  /** Set by src/node/recovery.ts on the main thread: a journal entry (FTLOG) for object `id`, from node `from`. */
  onJournalEntry: ((from: NodeId, id: number, entry: JournalEntry) => void) | undefined;
  /** Set by src/waits.ts: the wait-for graph's messages. */
  onWaits:
    | ((from: Link, message: WireOf<'waits' | 'waits.facts' | 'waits.break' | 'waits.track'>) => void)
    | undefined;
  /** Set by the worker main module: locate and construct a hosted object. */
  construct: ((msg: WireOf<'create'>, args: unknown[]) => Promise<ActiveObject>) | undefined;

  get self(): NodeId {
    return getLocalNode();
  }

  addLink(link: Link): void {
    this.links.set(link.node, link);
  }

  /** This node's link to itself (see `LoopbackPort`), made when first needed. */
  private selfLink: Link | undefined;

  linkTo(node: NodeId): Link {
    if (node === this.self)
      return (this.selfLink ??= new Link(
        node,
        new LoopbackPort(),
        (from, batch) => this.onBatch(from, batch),
        {
          onUnsendable: this.onUnsendable,
        },
      ));
    const link = this.links.get(node);
    if (link === undefined || link.isClosed) {
      const reason = this.lostReasons.get(node);
      throw new NodeLostError(
        node,
        reason === undefined
          ? `Node ${node} is not reachable from node ${this.self} (it ended, or never existed).`
          : `Node ${node} is not reachable from node ${this.self}: it ${reason}.`,
      );
    }
    return link;
  }

  // ------------------------------------------------------------ outgoing calls

  /** Send a call to object `id` on `node`; returns the future (core) of its result. */
  /** `index`: the method's position in `methodsOf(class)`, sent instead of its name when known. */
  call(
    node: NodeId,
    id: number,
    label: string,
    method: string,
    args: unknown[],
    index?: number,
    recoverable = false,
  ): CallFuture {
    const rid = this.nextRid++;
    const future = new CallFuture(label, method, node, rid);
    let link: Link | undefined;
    try {
      link = this.linkTo(node);
    } catch (error) {
      // A recoverable object's node died and its recovery is under way: send it afterwards.
      if (!(recoverable && this.lostNodes.has(node))) {
        future.reject(error);
        return future;
      }
    }
    let encoded: { value: unknown[]; enc: boolean };
    try {
      encoded = this.encodeArgs(args, node, label, method);
    } catch (error) {
      future.reject(error);
      return future;
    }
    this.calls.set(rid, future);
    if (this.calls.size === 1) this.workChanged();
    const wireArgs = encoded.value.length === 0 ? null : encoded.value;
    const key = this.hostsRecoverable ? keyOfCall() : undefined;
    if (recoverable)
      this.resendable.set(rid, { id, method: index ?? method, args: wireArgs, enc: encoded.enc, key });
    if (link === undefined) return future; // sent when the object's new node is known
    link.hold();
    // No array for a call without arguments (the common case of getters): cheaper to clone.
    if (key === undefined) link.sendCall(rid, id, index ?? method, wireArgs, encoded.enc);
    else link.sendKeyedCall(rid, id, index ?? method, wireArgs, encoded.enc, key);
    if (observeRequests && sampleRequest()) {
      emit({
        type: 'call.remote',
        time: now(),
        node: this.self,
        rid,
        to: node,
        objectId: id,
        method,
        callerRequestId: callerId(),
        callerObjectId: callerObjectId(),
        sample: sampleSize(),
      });
    }
    return future;
  }

  /** Ask `node` to construct an object; calls sent afterwards queue behind it. */
  create(
    node: NodeId,
    ctorName: string,
    module: string,
    exportName: string,
    args: unknown[],
    checkpoint?: {
      readonly checkpointKey?: string | undefined;
      readonly restore?: boolean | undefined;
      readonly replay?: readonly JournalEntry[] | undefined;
    },
    /** Given for a recovered object: it keeps its id. */
    givenId?: number,
  ): { id: number; error: Error | undefined } {
    const id = givenId ?? allocateObjectId();
    try {
      const link = this.linkTo(node);
      const encoded = this.encodeArgs(args, node, ctorName, 'constructor');
      link.send({
        t: 'create',
        id,
        module,
        exportName,
        className: ctorName,
        args: encoded.value,
        enc: encoded.enc,
        ...(checkpoint?.checkpointKey === undefined ? {} : { checkpointKey: checkpoint.checkpointKey }),
        ...(checkpoint?.restore === undefined ? {} : { restore: checkpoint.restore }),
        ...(checkpoint?.replay === undefined ? {} : { replay: checkpoint.replay }),
      });
      return { id, error: undefined };
    } catch (error) {
      return { id, error: error as Error };
    }
  }

  /** Terminate a remote object; resolves when done. */
  terminateRemote(node: NodeId, id: number, label: string, immediate: boolean): Promise<void> {
    const rid = this.nextRid++;
    const future = new CallFuture(label, 'terminate', node, rid);
    try {
      const link = this.linkTo(node);
      this.calls.set(rid, future);
      link.hold();
      link.send({ t: 'terminate', rid, id, immediate });
    } catch (error) {
      future.reject(error);
    }
    return future.toPromise() as Promise<void>;
  }

  private encodeArgs(
    args: unknown[],
    to: NodeId,
    label: string,
    method: string,
  ): { value: unknown[]; enc: boolean } {
    return encodeArgs(this, args, to, label, method);
  }

  // ------------------------------------------------------------ codec (src/node/codec.ts)

  /** WirePort: an active reference leaving this node (a local object becomes callable by others). */
  refRecord(target: object): EncodedRef {
    const t = target as
      | (ActiveObject & { remote?: undefined })
      | { remote: true; node: NodeId; id: number; className: string; recoverable: boolean };
    if (t.remote === true) {
      const ref = { $ma: 'ref' as const, node: t.node, id: t.id, className: t.className };
      return t.recoverable ? { ...ref, recoverable: true } : ref;
    }
    this.hosted.set(t.id, t);
    const ref = { $ma: 'ref' as const, node: this.self, id: t.id, className: t.className };
    return t.recoverable ? { ...ref, recoverable: true } : ref;
  }

  /** WirePort: a future leaving for node `to`. */
  futureRecord(core: FutureCore, to: NodeId): EncodedFuture {
    return this.exportFuture(core, to) as EncodedFuture;
  }

  /**
   * WirePort: an error rebuilt from the wire. The library's own errors are rebuilt as
   * instances of their classes (`instanceof DeadlockError` holds wherever it was thrown);
   * any other error (the application's, or a built-in) is a `RemoteError` with its name.
   */
  remoteError(name: string | undefined, message: string, from: NodeId): Error {
    const own = name === undefined ? undefined : libraryErrors.get(name);
    if (own === undefined) return new RemoteError(message, from);
    // Error's construction with the class's prototype (an error with a stack), without the
    // class's constructor: its fields come from the record.
    return Reflect.construct(Error, [message], own) as Error;
  }

  /** Send future `core` to node `to`: see the protocol in the module comment. */
  private exportFuture(core: FutureCore, to: NodeId): Encoded {
    if (core instanceof ReceivedFuture || core instanceof CallFuture) {
      const home = core instanceof ReceivedFuture ? core.home : core.target;
      const key: FutureKey = core instanceof ReceivedFuture ? core.key : [this.self, core.rid];
      if (core.settled) this.sendValueLater(key, to, core);
      else if (home === to) this.addLateTarget(key, to, core);
      else this.linkTo(home).send({ t: 'forward', key, to });
      return { $ma: 'future', home, key };
    }
    // A local future: this node is its home.
    const current = core.observer instanceof Home ? core.observer : undefined;
    if (current !== undefined) {
      current.add(to);
      return { $ma: 'future', home: this.self, key: current.key };
    }
    let key = this.exportedKeys.get(core);
    if (key === undefined) {
      key = [this.self, this.nextRid++];
      this.exportedKeys.set(core, key);
      if (!core.settled) {
        const home = new Home(key, core, to);
        this.homes.set(keyText(key), home);
        core.observer = home;
        return { $ma: 'future', home: this.self, key };
      }
    }
    this.sendValueLater(key, to, core); // settled (and maybe delivered already): send it
    return { $ma: 'future', home: this.self, key };
  }

  /** After the current batch entry: the receiver must decode the future before its value. */
  private sendValueLater(key: FutureKey, to: NodeId, core: FutureCore): void {
    queueMicrotask(() => {
      if (core.outcome === FULFILLED) this.sendValue(key, to, true, core.value);
      else if (core.outcome === REJECTED) this.sendValue(key, to, false, core.value);
      else this.addLateTarget(key, to, core);
    });
  }

  private addLateTarget(key: FutureKey, to: NodeId, core: FutureCore): void {
    const text = keyText(key);
    const list = this.lateTargets.get(text);
    if (list !== undefined) {
      list.push(to);
      return;
    }
    this.lateTargets.set(text, [to]);
    core.subscribe(
      (v) => this.flushLate(key, true, v),
      (e) => this.flushLate(key, false, e),
    );
  }

  private flushLate(key: FutureKey, ok: boolean, value: unknown): void {
    const text = keyText(key);
    const list = this.lateTargets.get(text);
    if (list === undefined) return;
    this.lateTargets.delete(text);
    for (const to of list) this.sendValue(key, to, ok, value);
  }

  /** A home's future settled: send the value to every destination, forget the home. */
  settleHome(home: Home, ok: boolean, value: unknown): void {
    this.homes.delete(keyText(home.key));
    this.sendValue(home.key, home.to, ok, value, home.core);
    if (home.more !== null) for (const to of home.more) this.sendValue(home.key, to, ok, value, home.core);
  }

  /** `source`: the future whose value this is, when known (it names the value in a CopyError). */
  private sendValue(key: FutureKey, to: NodeId, ok: boolean, value: unknown, source?: FutureCore): void {
    const link = to === this.self ? this.linkTo(to) : this.links.get(to);
    if (link === undefined || link.isClosed) return;
    if (
      value === null ||
      (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
    ) {
      link.sendValue(key[0], key[1], ok, value, false); // the common case: nothing to encode
      return;
    }
    let encoded: { value: unknown; enc: boolean };
    try {
      encoded = encodeValue(this, value, to);
    } catch (error) {
      ok = false;
      const subject = source === undefined ? 'A result' : `The result of ${source.description}`;
      encoded = encodeValue(this, toCopyError(error, subject, undefined), to);
    }
    link.sendValue(key[0], key[1], ok, encoded.value, encoded.enc, source);
  }

  /** Replace `Encoded` records in a received value (mutated in place: it is a fresh clone). */
  decode(value: unknown, from: NodeId): unknown {
    return decodeValue(this, value, from);
  }

  /** WirePort: the stub for a received reference (one per object). */
  importRef(ref: EncodedRef): object {
    if (ref.node === this.self) {
      const local = this.hosted.get(ref.id);
      if (local !== undefined && 'stub' in local) return local.stub;
    }
    const known = this.remoteStubs.get(ref.id);
    if (known !== undefined) return known;
    if (this.makeRemoteStub === undefined) throw new Error('multiactive: remote references are not set up');
    const stub = this.makeRemoteStub(this.movedTo.get(ref.id) ?? ref.node, ref.id, ref.className);
    if (ref.recoverable === true)
      ((stub as Record<symbol, unknown>)[ACTIVE_OBJECT] as { recoverable: boolean }).recoverable = true;
    return stub;
  }

  /** WirePort: the future for a received future record. */
  importFuture(ref: EncodedFuture, from: NodeId): object {
    const text = keyText(ref.key);
    if (ref.key[0] === this.self) {
      const own = this.calls.get(ref.key[1]);
      if (own !== undefined) return own.proxy;
    }
    if (ref.home === this.self) {
      const core = this.homes.get(text)?.core;
      if (core !== undefined) return core.proxy;
    }
    let received = this.received.get(text);
    if (received !== undefined) received.addSender(from);
    else {
      received = new ReceivedFuture(ref.home, ref.key);
      received.addSender(from);
      let early = this.early.get(text);
      // A value that came first is believed only from a node that may deliver it.
      if (early !== undefined && !received.mayDeliver(early.from)) {
        this.early.delete(text);
        early = undefined;
      }
      const homeLink = this.links.get(ref.home);
      if (early !== undefined) {
        this.early.delete(text);
        const value = early.enc ? this.decode(early.value, ref.home) : early.value;
        if (early.ok) received.resolve(value);
        else received.reject(value);
      } else if (ref.home !== this.self && (homeLink === undefined || homeLink.isClosed)) {
        received.reject(
          new NodeLostError(
            ref.home,
            `A future computed on node ${ref.home} cannot settle: node ${ref.home} is gone.`,
          ),
        );
      } else {
        this.received.set(text, received);
      }
    }
    return received.proxy;
  }

  /**
   * Given to every link (`Link` option `onUnsendable`): an entry structured clone refused at
   * the link's flush fails that one call. A call rejects its caller's future with a
   * `CopyError` naming the argument; a value is replaced by that error; anything else is
   * dropped with a warning. The other entries of the batch are sent as they were.
   */
  readonly onUnsendable: Unsendable = (link, entry, error, source) => {
    const tag = entry[0];
    if (tag === CALL || tag === FTCALL) {
      const rid = entry[1] as number;
      const call = this.calls.get(rid);
      if (call === undefined) return undefined;
      this.calls.delete(rid);
      this.resendable.delete(rid);
      this.unverified.delete(rid);
      if (this.calls.size === 0) this.workChanged();
      link.release();
      const args = (entry[4] as unknown[] | null) ?? [];
      call.reject(unsendable(args, error, (i) => `Argument ${i} of ${call.description}`, true));
      return undefined;
    }
    if (tag === VALUE) {
      const subject =
        source === undefined
          ? `The result of call ${String(entry[2])} of node ${String(entry[1])}`
          : `The result of ${source.description}`;
      const copyError = unsendable([entry[4]], error, () => subject, false);
      const encoded = encodeValue(this, copyError, link.node);
      return [VALUE, entry[1], entry[2], false, encoded.value, encoded.enc];
    }
    process.emitWarning(
      `multiactive: node ${this.self} dropped a message to node ${link.node} that cannot be copied: ${String(error)}`,
      { code: 'MULTIACTIVE_WIRE' },
    );
    return undefined;
  };

  // ------------------------------------------------------------ incoming messages

  /**
   * One batch from `from`: flat entries (see protocol.ts), handled in order. Nothing that
   * arrives is trusted (a worker's code can post anything on its port): an entry whose fields
   * are not of their kinds is dropped with the rest of the batch (its boundaries are lost);
   * an entry whose handler fails is reported and the next one is handled.
   */
  onBatch(from: Link, batch: unknown): void {
    if (!Array.isArray(batch)) {
      this.dropped(from, `a message that is not a batch (${kindOf(batch)})`);
      return;
    }
    const length = batch.length;
    let i = 0;
    while (i < length) {
      const tag = batch[i];
      let problem: string | undefined;
      try {
        if (tag === CALL || tag === FTCALL) {
          // CALL and FTCALL (a call with a deterministic key) share their first fields.
          const rid = batch[i + 1];
          const id = batch[i + 2];
          const method = batch[i + 3];
          const args = batch[i + 4];
          const enc = batch[i + 5];
          const key = tag === FTCALL ? batch[i + 6] : undefined;
          i += tag === FTCALL ? 7 : 6;
          if (
            i > length ||
            typeof rid !== 'number' ||
            typeof id !== 'number' ||
            (typeof method !== 'string' && typeof method !== 'number') ||
            (args !== null && !Array.isArray(args)) ||
            typeof enc !== 'boolean' ||
            (tag === FTCALL && typeof key !== 'string')
          ) {
            problem = tag === CALL ? 'a malformed call entry' : 'a malformed keyed call entry';
          } else {
            this.onCall(
              from.node,
              rid,
              id,
              method,
              (args as unknown[] | null) ?? NO_ARGS.value,
              enc,
              key as string | undefined,
            );
          }
        } else if (tag === VALUE) {
          const origin = batch[i + 1];
          const rid = batch[i + 2];
          const ok = batch[i + 3];
          const enc = batch[i + 5];
          i += 6;
          if (
            i > length ||
            typeof origin !== 'number' ||
            typeof rid !== 'number' ||
            typeof ok !== 'boolean' ||
            typeof enc !== 'boolean'
          ) {
            problem = 'a malformed value entry';
          } else this.onValue(from, origin, rid, ok, batch[i - 2], enc);
        } else if (tag === FTLOG) {
          i += 9;
          const id = batch[i - 8];
          const entry = {
            dseq: batch[i - 7],
            from: batch[i - 6],
            rid: batch[i - 5],
            method: batch[i - 4],
            args: batch[i - 3] ?? NO_ARGS.value,
            enc: batch[i - 2],
            ...(batch[i - 1] === undefined ? {} : { key: batch[i - 1] }),
          };
          if (i > length || typeof id !== 'number' || !isJournalEntry(entry))
            problem = 'a malformed journal entry';
          else if (this.self !== MAIN_NODE || this.onJournalEntry === undefined) {
            this.dropped(from, `a journal entry for object ${id}, which only the main thread keeps`);
          } else this.onJournalEntry(from.node, id, entry as JournalEntry);
        } else if (tag === OTHER) {
          i += 2;
          if (i > length) problem = 'a message entry cut short';
          else this.onMessage(from, batch[i - 1]);
        } else {
          problem = `an entry with an unknown tag (${kindOf(tag)})`;
        }
      } catch (error) {
        this.dropped(from, `an entry that failed: ${String(error)}`);
      }
      if (problem !== undefined) {
        this.dropped(from, `${problem}; the rest of the batch is dropped`);
        return;
      }
    }
  }

  /** Messages dropped per sending node, and whether that node's first one was reported. */
  private readonly droppedFrom = new Map<NodeId, number>();

  /**
   * A message from `from` was dropped (malformed, or not one that node may send): a
   * `message.dropped` event, or a process warning for the first one from that node when
   * nobody listens. The node goes on serving.
   */
  private dropped(from: Link, reason: string): void {
    const count = (this.droppedFrom.get(from.node) ?? 0) + 1;
    this.droppedFrom.set(from.node, count);
    if (observed) {
      emit({ type: 'message.dropped', time: now(), node: this.self, from: from.node, reason, count });
    } else if (count === 1) {
      process.emitWarning(
        `multiactive: node ${this.self} dropped ${reason} from node ${from.node}. ` +
          'Further ones from that node are counted in message.dropped events (onEvent).',
        { code: 'MULTIACTIVE_WIRE' },
      );
    }
  }

  private onMessage(from: Link, received: unknown): void {
    const problem = wireProblem(received);
    if (problem !== undefined) {
      this.dropped(from, problem);
      return;
    }
    const message = received as Wire;
    if (FROM_MAIN_ONLY.has(message.t) && from.node !== MAIN_NODE) {
      this.dropped(from, `a '${message.t}' message, which only the main thread sends`);
      return;
    }
    if (TO_MAIN_ONLY.has(message.t) && this.self !== MAIN_NODE) {
      this.dropped(from, `a '${message.t}' message, which only the main thread receives`);
      return;
    }
    switch (message.t) {
      case 'create': {
        // Ids say who created an object; only that node asks for it (and the main thread,
        // which recreates recovered objects). An id hosted already is never replaced.
        const creator = Math.floor(message.id / ID_STRIDE);
        if (creator !== from.node && from.node !== MAIN_NODE) {
          this.dropped(from, `a 'create' of object ${message.id}, which node ${from.node} did not number`);
        } else if (this.hosted.has(message.id)) {
          this.dropped(from, `a second 'create' of object ${message.id}`);
        } else if (message.replay !== undefined && from.node !== MAIN_NODE) {
          this.dropped(from, `a 'create' with a journal to replay, which only the main thread sends`);
        } else this.onCreate(from.node, message);
        return;
      }
      case 'forward': {
        const home = this.homes.get(keyText(message.key));
        if (home !== undefined) home.add(message.to);
        else from.send({ t: 'late', key: message.key, to: message.to });
        return;
      }
      case 'late': {
        const core = this.coreForKey(message.key);
        if (core === undefined) return;
        if (core.settled) this.sendValue(message.key, message.to, core.outcome === FULFILLED, core.value);
        else this.addLateTarget(message.key, message.to, core);
        return;
      }
      case 'terminate':
        if (message.id === 0 && from.node !== MAIN_NODE) {
          this.dropped(from, "a 'terminate' of the whole node, which only the main thread sends");
        } else this.onTerminate(from.node, message);
        return;
      case 'peer':
        this.onPeer?.(message.node, message.port);
        return;
      case 'observe':
        this.onObserve?.({ on: message.on, requests: message.requests });
        return;
      case 'events':
        for (const event of message.events) emit(event as MultiactiveEvent);
        return;
      case 'waits':
      case 'waits.facts':
      case 'waits.break':
      case 'waits.track':
        this.onWaits?.(from, message);
        return;
      case 'ft.checkpointed':
      case 'ft.replay':
      case 'ft.dying':
        this.onJournal?.(from.node, message);
        return;
      case 'ft.moved':
        this.objectMoved(message.id, message.to);
        return;
      case 'ft.lost':
        if (message.reason !== undefined) this.lostReason(message.node, message.reason);
        this.lostSettled(message.node, message.recovered, message.reason);
        return;
      case 'node.busy':
        this.nodeBusy(from, message.on);
        return;
      case 'ft.trim':
        this.trimKeyedCalls(message.id, message.dseq, message.pending);
        return;
    }
  }

  private coreForKey(key: FutureKey): FutureCore | undefined {
    if (key[0] === this.self) {
      const own = this.calls.get(key[1]);
      if (own !== undefined) return own;
    }
    return this.received.get(keyText(key)) ?? this.homes.get(keyText(key))?.core;
  }

  private onCall(
    from: NodeId,
    rid: number,
    id: number,
    method: string | number,
    args: unknown[],
    enc: boolean,
    key?: string,
  ): void {
    // Decode now, even if the call must wait: a future among the arguments must exist before
    // its value arrives.
    const decoded = enc ? (this.decode(args, from) as unknown[]) : args;
    this.dispatchCall({ from, rid, method, args: decoded, raw: args, enc, key }, id);
  }

  /**
   * Object `id`, not hosted here, may still be created here: its `create` may be on the way
   * from its creator (another channel than the message that names it).
   */
  private mayBeCreated(id: number): boolean {
    const creator = Math.floor(id / ID_STRIDE);
    const creatorLink = this.links.get(creator);
    return (
      creator !== this.self &&
      id > (this.highestCreated.get(creator) ?? 0) &&
      creatorLink !== undefined &&
      !creatorLink.isClosed
    );
  }

  private dispatchCall(call: BufferedCall, id: number): void {
    const { from, rid } = call;
    const target = this.hosted.get(id);
    if (target === undefined) {
      if (this.mayBeCreated(id)) {
        const list = this.parked.get(id);
        if (list !== undefined) list.push(call);
        else this.parked.set(id, [call]);
        return;
      }
      const error = new TerminatedError(
        `No active object ${id} on node ${this.self} (terminated, or never created here).`,
      );
      this.sendValue([from, rid], from, false, error);
      return;
    }
    if (!('stub' in target)) {
      if (target.failure !== undefined) this.sendValue([from, rid], from, false, target.failure);
      else target.pending.push(call);
      return;
    }
    this.deliver(target, call, id);
  }

  /** Hand a call to its object: journaled first if the object is recoverable. */
  private deliver(target: ActiveObject, call: BufferedCall, id: number): void {
    const { from, rid } = call;
    // A call a replaying object makes again: answer with the first one's result.
    let keyed: { caller: number; dseq: number; rest: string } | undefined;
    if (call.key !== undefined) {
      const [caller, dseqText, n] = call.key.split(':');
      keyed = { caller: Number(caller), dseq: Number(dseqText), rest: `${dseqText}:${n}` };
      const first = this.keyedCalls.get(keyed.caller)?.get(keyed.rest);
      if (first !== undefined) {
        this.answerWith(first.core, [from, rid], from);
        return;
      }
    }
    let dseq = 0;
    if (target.recoverable) {
      if (call.replayed !== undefined) dseq = call.replayed;
      else {
        // A call resent after a recovery that was delivered before the crash: its replay answers.
        const before = this.recoveredKeys.get(id);
        if (before !== undefined) {
          const key = numericKey(from, rid);
          if (before.replayed.has(key)) return;
          if (before.included.has(key)) {
            const lost = new MultiactiveError(
              `${target.name} was recovered from a checkpoint that holds this call, but its result was lost with node that ran it.`,
            );
            this.sendValue([from, rid], from, false, lost);
            return;
          }
        }
        // The journal is bounded: a checkpoint is asked for at half of it, and a full one
        // refuses the call (a keyed call is refused for good: a replay of its caller gets the
        // same answer).
        const journaled = target.delivered - target.journalBase;
        if (journaled * 2 >= target.journalLimit && target.delivered >= target.journalCheckpointAt) {
          // Asked again only after another quarter of the limit: a slow store is not flooded.
          target.journalCheckpointAt = target.delivered + Math.ceil(target.journalLimit / 4);
          target.requestCheckpoint().catch(() => {}); // failures are reported as events
        }
        if (journaled >= target.journalLimit) {
          // Full: a refused call asks for a checkpoint too, at most every 20 ms (the state does
          // not change while calls are refused: more captures would only cost).
          const time = now();
          if (time >= target.journalRetryAt && target.scheduler.checkpoint === null) {
            target.journalRetryAt = time + 20;
            target.requestCheckpoint().catch(() => {});
          }
          const full = this.journalFull(target);
          if (keyed !== undefined) this.rememberKeyed(id, call.key!, false, full);
          this.sendValue([from, rid], from, false, full);
          return;
        }
        // Journaled on the main thread before it can run: the log entry leaves in an earlier
        // batch than anything the request causes (microtasks run in order).
        dseq = ++target.delivered;
        this.linkTo(MAIN_NODE).sendLog(
          id,
          dseq,
          from,
          rid,
          call.method,
          // Decoding worked in place: arguments with references are encoded again for the journal.
          call.enc
            ? this.encodeArgs(call.args, MAIN_NODE, target.name, String(call.method)).value
            : call.raw.length === 0
              ? null
              : call.raw,
          call.enc,
          call.key,
        );
      }
    }
    const core = target.callFromWire(call.method, call.args, from, rid, dseq, call.replayed !== undefined);
    if (keyed !== undefined) {
      let perCaller = this.keyedCalls.get(keyed.caller);
      if (perCaller === undefined) this.keyedCalls.set(keyed.caller, (perCaller = new Map()));
      perCaller.set(keyed.rest, { dseq: keyed.dseq, core, target: id });
    }
    this.awaitForHome([from, rid], core, from);
  }

  /** The error a call to `target` gets while its journal is full; reported once per episode. */
  private journalFull(target: ActiveObject): JournalFullError {
    const message =
      `${target.name} refused this call: ${target.journalLimit} calls are journaled since its last durable ` +
      'checkpoint (its checkpoints fail or cannot keep up; see checkpoint.failed events). Nothing of the call ' +
      'ran; calls are accepted again once a checkpoint is durable.';
    if (!target.journalFull) {
      target.journalFull = true;
      if (observed) {
        emit({
          type: 'journal.full',
          time: now(),
          objectId: target.id,
          className: target.className,
          limit: target.journalLimit,
        });
      } else process.emitWarning(`multiactive: ${message}`, { code: 'MULTIACTIVE_JOURNAL' });
    }
    return new JournalFullError(message);
  }

  /**
   * The settled results of keyed calls served by object `id` (for its checkpoint: the state
   * it captures holds them). Time: O(keyed calls remembered on this node).
   */
  keyedResultsOf(id: number): [string, boolean, unknown][] {
    const out: [string, boolean, unknown][] = [];
    for (const [caller, perCaller] of this.keyedCalls) {
      for (const [rest, entry] of perCaller) {
        if (entry.target !== id || !entry.core.settled) continue;
        out.push([`${caller}:${rest}`, entry.core.outcome === FULFILLED, entry.core.value]);
      }
    }
    return out;
  }

  /** After a restore: the keyed results the checkpoint holds answer replayed calls again. */
  private restoreKeyed(id: number, results: readonly [string, boolean, unknown][]): void {
    for (const [key, ok, value] of results) this.rememberKeyed(id, key, ok, value);
  }

  /** Answer the keyed call `key` (`caller:dseq:n`) to object `id` with this outcome from now on. */
  private rememberKeyed(id: number, key: string, ok: boolean, value: unknown): void {
    const [caller, dseqText, n] = key.split(':');
    const core = new NamedFutureCore(`keyed call ${key}`);
    if (ok) core.resolve(value);
    else core.reject(value);
    let perCaller = this.keyedCalls.get(Number(caller));
    if (perCaller === undefined) this.keyedCalls.set(Number(caller), (perCaller = new Map()));
    perCaller.set(`${dseqText}:${n}`, { dseq: Number(dseqText), core, target: id });
  }

  /** Reject the future `[origin, rid]` of node `origin` with `error` (the main thread's recovery). */
  failCall(origin: NodeId, rid: number, error: Error): void {
    if (origin !== this.self) {
      this.sendValue([origin, rid], origin, false, error);
      return;
    }
    // A call of this node: it gets the error itself (not a RemoteError copy of it).
    const call = this.calls.get(rid);
    if (call === undefined) return;
    this.calls.delete(rid);
    this.resendable.delete(rid);
    this.unverified.delete(rid);
    this.links.get(call.target)?.release();
    if (this.calls.size === 0) this.workChanged();
    call.reject(error);
  }

  /** Send `core`'s value (now or when it settles) to the future `key` of node `to`. */
  private answerWith(core: FutureCore, key: FutureKey, to: NodeId): void {
    if (core.settled) {
      this.sendValue(key, to, core.outcome === FULFILLED, core.value);
      return;
    }
    core.subscribe(
      (value) => this.sendValue(key, to, true, value),
      (error) => this.sendValue(key, to, false, error),
    );
  }

  /**
   * `ft.trim`: object `caller` checkpointed past `dseq`; the calls of its deliveries up to
   * there will not be replayed, but for those of `pending` (see the message in protocol.ts).
   * Time: O(keyed calls of the caller).
   */
  trimKeyedCalls(caller: number, dseq: number, pending: readonly number[]): void {
    const perCaller = this.keyedCalls.get(caller);
    if (perCaller === undefined) return;
    const kept = pending.length === 0 ? undefined : new Set(pending);
    for (const [rest, entry] of perCaller) {
      if (entry.dseq <= dseq && kept?.has(entry.dseq) !== true) perCaller.delete(rest);
    }
    if (perCaller.size === 0) this.keyedCalls.delete(caller);
  }

  /**
   * Recovery, on the new host: submit the journaled deliveries the restored state does not
   * hold (those after its checkpoint, and those it had not started), in delivery order,
   * behind the restore and before anything else. Resent calls among them are dropped later.
   */
  replayInto(obj: ActiveObject, entries: readonly JournalEntry[], meta: CheckpointMeta): void {
    if (meta.keyed !== undefined) this.restoreKeyed(obj.id, meta.keyed);
    const replayed = new Set<number>();
    const included = new Set<number>();
    const pending = new Set(meta.pending);
    let last = meta.dseq;
    for (const e of entries) {
      const key = numericKey(e.from, e.rid);
      last = Math.max(last, e.dseq);
      if (e.dseq <= meta.dseq && !pending.has(e.dseq)) {
        included.add(key);
        continue;
      }
      replayed.add(key);
      if (e.quarantined !== undefined) {
        // Not run again (the main thread answered its caller); a repeated key gets the error.
        if (e.key !== undefined) this.rememberKeyed(obj.id, e.key, false, quarantineError(obj, e));
        continue;
      }
      const args = e.args ?? NO_ARGS.value;
      const decoded = e.enc ? (this.decode(args, e.from) as unknown[]) : args;
      this.deliver(
        obj,
        {
          from: e.from,
          rid: e.rid,
          method: e.method,
          args: decoded,
          raw: args,
          enc: e.enc,
          replayed: e.dseq,
          key: e.key,
        },
        obj.id,
      );
    }
    obj.delivered = last;
    obj.journalBase = meta.dseq - meta.pending.length;
    this.recoveredKeys.set(obj.id, { replayed, included });
    if (observed) {
      emit({
        type: 'requests.replayed',
        time: now(),
        objectId: obj.id,
        className: obj.className,
        fromDseq: meta.dseq,
        count: replayed.size,
      });
    }
  }

  /** Register `core` (computed here) as the home of `key`, first destination `to`. */
  private awaitForHome(key: FutureKey, core: FutureCore, to: NodeId): void {
    if (core.settled) {
      this.sendValue(key, to, core.outcome === FULFILLED, core.value, core);
      return;
    }
    const home = new Home(key, core, to);
    this.homes.set(keyText(key), home);
    core.observer = home;
  }

  private onValue(
    sender: Link,
    origin: NodeId,
    rid: number,
    ok: boolean,
    value: unknown,
    enc: boolean,
  ): void {
    if (origin === this.self) {
      const call = this.calls.get(rid);
      if (call !== undefined) {
        // Only the node that runs the call settles it (and the main thread, which settles
        // calls of recovered objects it gave up on). A recovered object's new host may answer
        // before `ft.moved` said where it lives: that value waits for it.
        const from = sender.node;
        if (from !== call.target && from !== MAIN_NODE) {
          if (this.resendable.has(rid) && this.unverified.size < EARLY_VALUES) {
            this.unverified.set(rid, { from, ok, value, enc });
          } else this.dropped(sender, `a value for call ${rid}, which node ${from} was not asked to compute`);
          return;
        }
        this.settleCall(rid, call, ok, value, enc);
        return;
      }
    }
    const key = numericKey(origin, rid);
    const core = this.received.get(key);
    if (core === undefined) {
      // The future itself may not have arrived yet: keep the value for it (bounded), with who
      // sent it (believed when the future arrives only if that node may deliver it).
      if (!this.early.has(key)) {
        if (this.early.size >= EARLY_VALUES) this.early.delete(this.early.keys().next().value as number);
        this.early.set(key, { from: sender.node, ok, value, enc });
      }
      return;
    }
    if (!core.mayDeliver(sender.node)) {
      this.dropped(sender, `a value for future ${origin}:${rid}, which node ${sender.node} may not deliver`);
      return;
    }
    this.received.delete(key);
    if (core.settled) return; // a duplicate
    const decoded = enc ? this.decode(value, core.home) : value;
    if (ok) core.resolve(decoded);
    else core.reject(decoded);
  }

  /** The value of this node's call `rid` arrived from the node that ran it. */
  private settleCall(rid: number, call: CallFuture, ok: boolean, value: unknown, enc: boolean): void {
    this.calls.delete(rid);
    if (this.calls.size === 0) this.workChanged();
    this.resendable.delete(rid);
    this.unverified.delete(rid);
    this.links.get(call.target)?.release();
    if (call.settled) return;
    const decoded = enc ? this.decode(value, call.target) : value;
    if (ok) call.resolve(decoded);
    else call.reject(decoded);
  }

  private onCreate(from: NodeId, message: WireOf<'create'>): void {
    const pending: PendingObject = { pending: this.parked.get(message.id) ?? [], failure: undefined };
    this.parked.delete(message.id);
    this.hosted.set(message.id, pending);
    if (message.id > (this.highestCreated.get(from) ?? 0)) this.highestCreated.set(from, message.id);
    const construct = this.construct;
    if (construct === undefined) {
      pending.failure = new ArgumentError(`Node ${this.self} cannot host objects created by other nodes.`);
      return;
    }
    const args = message.enc ? (this.decode(message.args, from) as unknown[]) : message.args;
    const creation = construct(message, args);
    this.creating.add(creation);
    const created = (): void => {
      this.creating.delete(creation);
    };
    creation.then(created, created);
    creation.then(
      (obj) => {
        this.hosted.set(message.id, obj);
        this.replay(pending, message.id);
        this.runTerminations(message.id);
      },
      (error: unknown) => {
        pending.failure =
          error instanceof MultiactiveError
            ? error
            : new ConstructionError(
                `${message.className} could not be created on node ${this.self}: ${String(error)}`,
                {
                  cause: error,
                },
              );
        this.replay(pending, message.id);
        this.runTerminations(message.id);
      },
    );
  }

  private replay(pending: PendingObject, id: number): void {
    for (const call of pending.pending) this.dispatchCall(call, id);
    pending.pending.length = 0;
  }

  private onTerminate(from: NodeId, message: WireOf<'terminate'>): void {
    const key: FutureKey = [from, message.rid];
    if (message.id === 0) {
      // The whole node: every object here ends (served first, unless immediate).
      // Objects still being created are served too (their calls wait for them).
      const waitCreations = message.immediate ? Promise.resolve() : Promise.allSettled([...this.creating]);
      const done = waitCreations.then(() => this.shutdownLocal?.(message.immediate));
      done.then(
        () => this.sendValue(key, from, true, undefined),
        (error: unknown) => this.sendValue(key, from, false, error),
      );
      return;
    }
    const target = this.hosted.get(message.id);
    const creating = target !== undefined && !('stub' in target) && target.failure === undefined;
    if (creating || (target === undefined && this.mayBeCreated(message.id))) {
      // Being created here (its class is imported), or its `create` is still on the way: it
      // ends once it exists, after the calls sent before this terminate (a terminate that
      // overtook the creation acknowledged at once, and the object then served).
      const list = this.pendingTerminations.get(message.id);
      const termination = { key, from, immediate: message.immediate };
      if (list !== undefined) list.push(termination);
      else this.pendingTerminations.set(message.id, [termination]);
      return;
    }
    this.terminateHosted(message.id, key, from, message.immediate);
  }

  /** Runs the terminations that waited for object `id`'s creation (it exists, or it failed). */
  private runTerminations(id: number): void {
    const list = this.pendingTerminations.get(id);
    if (list === undefined) return;
    this.pendingTerminations.delete(id);
    for (const { key, from, immediate } of list) this.terminateHosted(id, key, from, immediate);
  }

  private terminateHosted(id: number, key: FutureKey, from: NodeId, immediate: boolean): void {
    const target = this.hosted.get(id);
    if (target === undefined || !('stub' in target)) {
      this.hosted.delete(id);
      this.sendValue(key, from, true, undefined);
      return;
    }
    target.terminate(immediate).then(
      () => {
        this.hosted.delete(id);
        this.sendValue(key, from, true, undefined);
      },
      (error: unknown) => this.sendValue(key, from, false, error),
    );
  }

  // ------------------------------------------------------------ failures

  /** What the main thread said happened to lost nodes, for `peerClosed` (bounded: FIFO). */
  private readonly lostReasons = new Map<NodeId, string>();
  /** Peers whose channel closed before the main thread said why: told when it does. */
  private readonly closedPeers = new Map<NodeId, ReturnType<typeof setTimeout>>();

  /** The main thread's word on why `lost` is gone (`ft.lost`). */
  private lostReason(lost: NodeId, reason: string): void {
    if (this.lostReasons.size >= LOST_REASONS) this.lostReasons.delete(this.lostReasons.keys().next().value!);
    this.lostReasons.set(lost, reason);
    const waiting = this.closedPeers.get(lost);
    if (waiting === undefined) return;
    clearTimeout(waiting);
    this.closedPeers.delete(lost);
    this.nodeLost(lost, reason);
  }

  /**
   * The channel to peer worker `peer` closed (it died or ended). Everything it sent on it has
   * arrived (a port is FIFO), so its calls in flight fail now, with what the main thread says
   * happened to it (`ft.lost`, which may come a little later on the main thread's channel;
   * at most `PEER_REASON_MS`, then in fewer words).
   */
  peerClosed(peer: NodeId): void {
    if (!this.links.has(peer) || this.closedPeers.has(peer)) return;
    const reason = this.lostReasons.get(peer);
    if (reason !== undefined) {
      this.nodeLost(peer, reason);
      return;
    }
    const timer = setTimeout(() => {
      this.closedPeers.delete(peer);
      this.nodeLost(peer, 'closed its channel');
    }, PEER_REASON_MS);
    timer.unref();
    this.closedPeers.set(peer, timer);
  }

  /** `node` is gone: reject everything that waited on it; calls to it fail from now on. */
  nodeLost(node: NodeId, reason: string, cause?: unknown): void {
    this.busyNodes.delete(node);
    const link = this.links.get(node);
    if (link !== undefined) {
      link.close();
      this.links.delete(node);
    }
    const error = (what: string) =>
      new NodeLostError(
        node,
        `${what}: node ${node} ${reason}.`,
        cause === undefined ? undefined : { cause },
      );
    for (const [rid, call] of this.calls) {
      if (call.target !== node) continue;
      // Calls to recoverable objects wait for the main thread's `ft.moved` / `ft.lost`.
      if (this.resendable.has(rid)) continue;
      this.calls.delete(rid);
      call.reject(error(`${call.description} did not complete`));
    }
    this.workChanged();
    this.lostNodes.add(node);
    for (const [id, calls] of this.parked) {
      if (Math.floor(id / ID_STRIDE) !== node) continue;
      this.parked.delete(id);
      for (const call of calls) {
        this.sendValue([call.from, call.rid], call.from, false, error(`Object ${id} will not be created`));
      }
    }
    // Terminations of objects its creator will not create now: they are ended already.
    for (const id of [...this.pendingTerminations.keys()]) {
      if (Math.floor(id / ID_STRIDE) === node && this.hosted.get(id) === undefined) this.runTerminations(id);
    }
    for (const [text, received] of this.received) {
      if (received.home !== node) continue;
      this.received.delete(text);
      received.reject(error(`A future computed on node ${node} cannot settle`));
    }
    for (const [id, stub] of this.remoteStubs) {
      const remote = (stub as Record<symbol, unknown>)[ACTIVE_OBJECT] as
        | { node: NodeId; lost?: Error }
        | undefined;
      if (
        remote !== undefined &&
        remote.node === node &&
        (remote as { recoverable?: boolean }).recoverable !== true
      ) {
        remote.lost = error(`Object ${id} is gone`);
        this.remoteStubs.delete(id);
      }
    }
  }

  // ------------------------------------------------------------ liveness

  /** This worker told the main thread it is busy (and not since that it is idle). */
  private saidBusy = false;
  private idleCheck: NodeJS.Immediate | undefined;
  /** Worker nodes that said they are busy (main thread): their links are held. */
  private readonly busyNodes = new Set<NodeId>();

  /**
   * A worker's work the main thread does not wait for started or stopped: its calls in flight
   * (to any node), and its requests in flight made here or by other workers (`nodeWork`).
   * Busy is said at once; idle only if still idle after the event loop's current phase, so a
   * worker that keeps working says nothing. The main thread holds the link of a busy worker:
   * an idle runtime never keeps the process alive, while work in flight between workers that
   * the main thread may await (a worker calling back a main-thread object) does.
   * Time: O(1); a message only when the state changes.
   */
  workChanged(): void {
    if (this.self === MAIN_NODE) return;
    const busy = this.calls.size > 0 || nodeWork.external > 0;
    if (busy) {
      if (this.idleCheck !== undefined) {
        clearImmediate(this.idleCheck);
        this.idleCheck = undefined;
      }
      if (!this.saidBusy) {
        this.saidBusy = true;
        this.links.get(MAIN_NODE)?.send({ t: 'node.busy', on: true });
      }
    } else if (this.saidBusy && this.idleCheck === undefined) {
      this.idleCheck = setImmediate(() => {
        this.idleCheck = undefined;
        if (this.calls.size > 0 || nodeWork.external > 0) return;
        this.saidBusy = false;
        this.links.get(MAIN_NODE)?.send({ t: 'node.busy', on: false });
      });
      // Not unref'd: an unref'd immediate lets the loop block in its poll phase until the
      // next message, and the idle report would wait for it (a worker's loop is kept alive by
      // its port anyway).
    }
  }

  /** Main thread: worker `from` is busy (`on`) or idle; hold its link meanwhile. */
  private nodeBusy(from: Link, on: boolean): void {
    if (on === this.busyNodes.has(from.node)) return;
    if (on) {
      this.busyNodes.add(from.node);
      from.hold();
    } else {
      this.busyNodes.delete(from.node);
      from.release();
    }
  }

  /** Futures computed here and awaited on other nodes: numeric key -> core (the wait-for graph). */
  homeEntries(): [number, FutureCore][] {
    return [...this.homes].map(([key, home]) => [key, home.core]);
  }

  /** Object `id` was recovered on node `to`: calls now go there; those in flight are resent. */
  objectMoved(id: number, to: NodeId): void {
    this.movedTo.set(id, to);
    const stub = this.remoteStubs.get(id);
    const remote =
      stub === undefined ? undefined : ((stub as Record<symbol, unknown>)[ACTIVE_OBJECT] as { node: NodeId });
    if (remote !== undefined) remote.node = to;
    const link = this.links.get(to);
    for (const [rid, entry] of this.resendable) {
      if (entry.id !== id) continue;
      const call = this.calls.get(rid);
      if (call === undefined) continue;
      call.target = to;
      const early = this.unverified.get(rid);
      if (early !== undefined) {
        this.unverified.delete(rid);
        if (early.from === to) {
          // Its new host answered already (the replay of its delivery): nothing to resend.
          this.settleCall(rid, call, early.ok, early.value, early.enc);
          continue;
        }
      }
      if (link === undefined || link.isClosed) continue; // settled by `ft.lost` of that node
      link.hold();
      if (entry.key === undefined) link.sendCall(rid, id, entry.method, entry.args, entry.enc);
      else link.sendKeyedCall(rid, id, entry.method, entry.args, entry.enc, entry.key);
    }
  }

  /** The main thread settled the loss of `lost`: what was not recovered fails now. */
  lostSettled(lost: NodeId, recovered: readonly number[], reason = 'died'): void {
    this.lostNodes.delete(lost);
    const kept = new Set(recovered);
    for (const [rid, call] of this.calls) {
      if (call.target !== lost) continue;
      // Only the calls kept for a recovery: the others are this node's own business, settled
      // by their value or when this node sees the lost one go (`nodeLost`). A value of the lost
      // node may still be on its way here on another channel (it ended gracefully).
      const entry = this.resendable.get(rid);
      if (entry === undefined || kept.has(entry.id)) continue;
      this.calls.delete(rid);
      this.resendable.delete(rid);
      this.unverified.delete(rid);
      call.reject(
        new NodeLostError(
          lost,
          `${call.description} did not complete: node ${lost} ${reason} and the object was not recovered.`,
        ),
      );
    }
    this.workChanged();
    for (const [id, stub] of this.remoteStubs) {
      const remote = (stub as Record<symbol, unknown>)[ACTIVE_OBJECT] as
        | { node: NodeId; lost?: Error }
        | undefined;
      if (remote !== undefined && remote.node === lost && !kept.has(id)) {
        remote.lost = new NodeLostError(
          lost,
          `Object ${id} is gone: node ${lost} ${reason} and it was not recovered.`,
        );
        this.remoteStubs.delete(id);
      }
    }
  }

  /** Futures and calls still tracked (tests check that memory is released). */
  get tableSizes(): { calls: number; homes: number; received: number; late: number; early: number } {
    return {
      calls: this.calls.size,
      homes: this.homes.size,
      received: this.received.size,
      late: this.lateTargets.size,
      early: this.early.size,
    };
  }
}

/** The method a journal entry names (by name, or by its index in `methodsOf(class)`). */
export function entryMethod(methods: readonly string[], e: JournalEntry): string {
  return typeof e.method === 'number' ? (methods[e.method] ?? `#${e.method}`) : e.method;
}

/** The error a quarantined call (see `JournalEntry.quarantined`) is answered with. */
export function quarantineError(
  obj: { readonly id: number; readonly methods: readonly string[] },
  e: JournalEntry,
): QuarantineError {
  return new QuarantineError(e.quarantined ?? 'quarantined', obj.id, entryMethod(obj.methods, e), e.dseq);
}

/** This isolate's node runtime. */
export const node = new NodeRuntime();
nodeWork.changed = () => node.workChanged();
