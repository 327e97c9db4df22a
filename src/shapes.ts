/**
 * The public plain data that several parts of the runtime share: node ids and request
 * references (events, the wait-for graph, errors), and the shapes of the wait-for graph and of
 * deadlocks (docs/deadlocks.md). A leaf: it imports nothing. Plain data: these cross threads
 * (structured clone) and go to the debugger's page as JSON, so no `Infinity` (an unlimited
 * count is `null`), no functions, no class instances.
 */

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

/**
 * Why one request waits for another:
 * - `checkpoint`: a checkpoint (docs/fault-tolerance.md) is pending and nothing else is admitted or started
 *   until it has run; or the checkpoint itself, waiting for the requests in service;
 * - `incompatible`: the other is dispatched (admitted, in service) and the two are not compatible;
 * - `queued-ahead`: the other arrived earlier, is still queued, and the two are not compatible
 *   (a request never overtakes an incompatible one);
 * - `condition`: a compatibility condition between the two is false;
 * - `limit`: every slot is taken (the other holds one); any one slot freed would do;
 * - `max-threads`: the request's group is at its `maxThreads` (the other is of that group);
 * - `reservation`: the free slots are reserved for other groups (the other holds a slot);
 * - `awaits`: the request awaits the other's result (wait-by-necessity);
 * - `argument`: one of the request's arguments is the other's future, not yet resolved.
 */
export type WaitRule =
  | 'checkpoint'
  | 'incompatible'
  | 'queued-ahead'
  | 'condition'
  | 'limit'
  | 'max-threads'
  | 'reservation'
  | 'awaits'
  | 'argument';

/** Where a request stands, as the wait-for graph sees it. */
export type WaitState = 'queued' | 'held' | 'ready' | 'woken' | 'waiting' | 'active';

/** A request as the wait-for graph names it. */
export interface WaitNode extends RequestRef {
  readonly node: NodeId;
  /** `Pinger#1` */
  readonly objectName: string;
}

/** One edge: the waiting request waits for `to` (`undefined`: a future whose computation is not known). */
export interface WaitEdge {
  readonly rule: WaitRule;
  /**
   * In an `any` wait, edges of the same clause are alternatives and every clause is needed:
   * e.g. "one of the slot holders" (clause 0) and "one of its group's requests in service"
   * (clause 1, its group at maxThreads). Always 0 in an all-of wait.
   */
  readonly clause: number;
  readonly to: WaitNode | undefined;
  /** For people: "`Pinger#1.startWithPong` (ungrouped) blocks `Pinger#1.ping`: an ungrouped request is compatible with nothing". */
  readonly text: string;
}

export interface WaitingRequest {
  readonly request: WaitNode;
  readonly state: WaitState;
  /**
   * `false`: it needs every request of `edges` to move on (admission, awaits). `true`: any
   * one of them will do (a slot freed by any holder).
   */
  readonly any: boolean;
  /** What it waits for; empty when it is not blocked (running, or about to start). */
  readonly edges: readonly WaitEdge[];
  /** One line for people: the first edge's text, or what it is doing. */
  readonly reason: string;
}

export interface GroupUsage {
  readonly name: string;
  readonly queued: number;
  readonly ready: number;
  readonly held: number;
  readonly inService: number;
  readonly minThreads: number;
  /** `null`: no cap. */
  readonly maxThreads: number | null;
}

export interface ObjectSnapshot {
  readonly objectId: number;
  readonly className: string;
  /** `Pinger#1` */
  readonly name: string;
  readonly node: NodeId;
  /** `null`: unlimited. */
  readonly limit: number | null;
  readonly hardLimit: boolean;
  /** In service and not in wait-by-necessity. */
  readonly active: number;
  /** In wait-by-necessity. */
  readonly waiting: number;
  /** Requests finished since it was created (exact; rates are deltas between two graphs). */
  readonly served: number;
  /** Per group; the last entry is the ungrouped methods (`(ungrouped)`). */
  readonly groups: readonly GroupUsage[];
}

/** The wait-for graph of the whole system at one moment (per node; see `waitGraph`). */
export interface WaitGraph {
  readonly time: number;
  /** The nodes that answered. */
  readonly nodes: readonly NodeId[];
  /** Every live object (not terminated), busy or idle. */
  readonly objects: readonly ObjectSnapshot[];
  /** Every request in flight, with what it waits for. */
  readonly requests: readonly WaitingRequest[];
}

/** One step of a deadlock cycle: `request` waits for the next step's request, by `rule`. */
export interface DeadlockStep {
  readonly request: WaitNode;
  readonly state: WaitState;
  readonly rule: WaitRule;
  /** The edge in words (see `WaitEdge.text`). */
  readonly text: string;
}

export interface Deadlock {
  /** The cycle, each step waiting for the next, the last for the first. */
  readonly cycle: readonly DeadlockStep[];
  /** Other requests that cannot move because they wait (directly or not) on the cycle. */
  readonly stuck: readonly WaitNode[];
  /** The whole report, one line per step. */
  readonly message: string;
}

/** Compact description of an object's policy, for the debugger's object view. */
export interface PolicySummary {
  readonly groups: readonly {
    readonly name: string;
    /** Groups it is always compatible with (itself included when self-compatible). */
    readonly compatible: readonly string[];
    /** Groups it is compatible with under a condition. */
    readonly conditional: readonly string[];
    readonly minThreads: number;
    /** `null`: no cap. */
    readonly maxThreads: number | null;
    readonly superPriority: boolean;
    readonly methods: readonly string[];
  }[];
  readonly ungroupedMethods: readonly string[];
  /** Direct priority edges `[higher, lower]` (the transitive reduction of the priority order). */
  readonly priorities: readonly (readonly [string, string])[];
  /** `null`: unlimited. */
  readonly limit: number | null;
  readonly hardLimit: boolean;
}
