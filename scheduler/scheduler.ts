/**
 * The per-object request scheduler (docs/semantics.md): pure and synchronous. No timers, no
 * `node:` imports, no promises: the runtime tells it what happened (`submit`, `enterWait`,
 * `wake`, `finish`, ...) and calls `drain()` when asked through `host.requestDrain()`;
 * `drain()` calls back `host.start` / `host.resume` for the requests that may run.
 *
 * Request life: NEW -> QUEUED -> (HELD ->) READY -> ACTIVE <-> WAITING -> WOKEN -> ACTIVE -> DONE.
 * "Dispatched" = HELD, READY or in service (ACTIVE, WAITING, WOKEN): the set every newly
 * admitted request must be compatible with.
 *
 * Stage 1, admission. A queued request r becomes dispatched iff it is compatible with every
 * dispatched request and with every request queued ahead of it. Without conditions this is
 * decided per group: r (group g, arrival seq s) is admissible iff for every group h in
 * `incompatible[g]` nothing of h is dispatched and the oldest queued request of h arrived
 * after s. Per-group counters and per-group FIFO queues make that O(|incompatible[g]|),
 * independent of queue length. Conditions are then checked pairwise against the dispatched
 * and queued-ahead requests of the groups they concern (the only place that costs O(n)).
 *
 *   Why per group is the same as the reference's single FIFO pass: in that pass, the
 *   requests dispatched before r in the same pass are exactly ones queued ahead of r, and r
 *   must be compatible with those either way. So admissible(r) depends only on the state at
 *   the start of the pass: dispatched ∪ queued-ahead. We collect every admissible request
 *   with that state, then admit them in arrival order (which fixes the ready order).
 *
 *   When to re-run it: a new request can only be admitted itself (it is behind everyone).
 *   Admitting a request unblocks nobody (it still blocks the same groups as dispatched). So
 *   only a request leaving (finish, cancel) can unblock others: then we re-check the groups
 *   it concerns, and only if its group's dispatched count fell to zero or it had queued
 *   company or conditions apply.
 *
 * Stage 2, ready order. A newly ready request is inserted just before the first ready
 * request it can overtake (a path in the priority graph; super priority), else at the end.
 * All ready requests of one group keep their arrival order, and no request of g sits after a
 * request g can overtake (the list is a linear extension of the priority order), so the
 * first overtakable request is the oldest ready request of some lower group: the one with
 * the smallest label among those O(groups) candidates (labels from an order-maintenance
 * list). Without priorities the ready order is plain FIFO and labels are a counter.
 *
 * Stage 3, slots. Woken requests resume first, in the order they began waiting; then ready
 * requests start from the head while a slot is free. A request refused only because of its
 * own group (at `maxThreads`) or of other groups' reservations is skipped, not blocking the
 * requests behind it [an improvement: the reference stops at the first refusal]. Picking
 * the next request is the smallest-label head among eligible groups: O(groups).
 */
import { Fifo } from './fifo.js';
import { OrderList, type OrderNode } from './order-list.js';
import type { Condition, Policy, RequestView } from './policy.js';

export const RequestState = {
  New: 0,
  Queued: 1,
  Held: 2,
  Ready: 3,
  Active: 4,
  Waiting: 5,
  Woken: 6,
  Done: 7,
  Cancelled: 8,
} as const;
export type RequestState = (typeof RequestState)[keyof typeof RequestState];

const { New, Queued, Held, Ready, Active, Waiting, Woken, Done, Cancelled } = RequestState;

/** Names for messages and stats, indexed by `RequestState`. */
export const requestStateNames = [
  'new',
  'queued',
  'held',
  'ready',
  'active',
  'waiting',
  'woken',
  'done',
  'cancelled',
] as const;

/**
 * What the scheduler needs of a request: its group, its arrival and wait order, its state,
 * and the links of the ready list. The runtime's request implements it directly (one
 * allocation per request, all links inside). It is also the `RequestView` passed to
 * conditions.
 */
export interface Schedulable extends OrderNode, RequestView {
  /** Group id: 0..groupCount-1, or groupCount for an ungrouped method. */
  readonly groupId: number;
  args: unknown[];
  /** Arrival order in this scheduler (1, 2, ...). Set by `submit`. */
  seq: number;
  state: RequestState;
  /** See `SchedRequest.held`. */
  held: boolean;
  /** Order in which the request last began waiting by necessity. Set by `enterWait`. */
  waitSeq: number;
}

/** A plain `Schedulable` (tests, benchmarks, other runtimes). */
export class SchedRequest implements Schedulable {
  /** Group id: 0..groupCount-1, or groupCount for an ungrouped method. */
  readonly groupId: number;
  /** Group name, `undefined` when ungrouped. */
  readonly group: string | undefined;
  readonly method: string;
  args: unknown[];
  /** Arrival order in this scheduler (1, 2, ...). */
  seq = 0;
  state: RequestState = New;
  /**
   * Set by the runtime before `submit` while some argument is an unresolved future: the
   * request is admitted (keeps its place) but becomes ready only after `release`.
   */
  held = false;
  /** Order in which the request last began waiting by necessity. */
  waitSeq = 0;
  label = 0;
  oPrev: OrderNode | null = null;
  oNext: OrderNode | null = null;

  constructor(groupId: number, group: string | undefined, method: string, args: unknown[]) {
    this.groupId = groupId;
    this.group = group;
    this.method = method;
    this.args = args;
  }
}

export interface SchedulerHost<R extends Schedulable> {
  /** Begin serving `request` (it now holds a slot). Called from `drain()`. */
  start(request: R): void;
  /** Give a woken request its slot back: deliver its awaited values. Called from `drain()`. */
  resume(request: R): void;
  /** Something changed that may let requests start: call `drain()` soon (once is enough). */
  requestDrain(): void;
  /** A condition threw; it counted as "incompatible". */
  conditionFailed?(error: unknown, admitted: R, other: R): void;
  /** A request was admitted (moved to ready or held). For observers. */
  admitted?(request: R): void;
}

export interface GroupStats {
  readonly name: string;
  readonly queued: number;
  readonly ready: number;
  readonly held: number;
  /** Requests in service, wait-by-necessity included (what `maxThreads` caps). */
  readonly inService: number;
  readonly minThreads: number;
  readonly maxThreads: number;
}

export interface SchedulerStats {
  readonly limit: number;
  readonly hardLimit: boolean;
  readonly queued: number;
  readonly held: number;
  readonly ready: number;
  /** In service and not waiting by necessity. */
  readonly active: number;
  /** In wait-by-necessity, woken ones included. */
  readonly waiting: number;
  /** Per group; the last entry is the ungrouped methods ('(ungrouped)'). */
  readonly groups: readonly GroupStats[];
}

/** Why a queued request was not admitted: no hope for later requests of its group, or maybe. */
const Admit = 0;
const BlockedGroup = 1;
const BlockedCondition = 2;

export class Scheduler<R extends Schedulable = SchedRequest> {
  readonly policy: Policy;
  private readonly host: SchedulerHost<R>;
  private readonly target: unknown;
  /** Number of groups; index `ungrouped` (= groupCount) holds the ungrouped methods. */
  private readonly ungrouped: number;

  private limitValue: number;
  private hardValue: boolean;

  private seqCounter = 0;
  private waitCounter = 0;
  private labelCounter = 0;

  // Stage 1 state, per group (length groupCount + 1).
  private readonly queues: Fifo<R>[];
  private readonly queuedCount: Int32Array;
  private readonly dispatchedCount: Int32Array;
  private dispatchedTotal = 0;
  private queuedTotal = 0;
  /** Dispatched requests of groups that some condition must be checked against. */
  private readonly dispatchedSets: (Set<R> | undefined)[];
  /** `affects[h]`: groups whose admission can depend on requests of h. */
  private readonly affects: readonly (readonly number[])[];
  private readonly hasConditions: boolean;

  // Stage 2 state.
  private readonly readyQueues: Fifo<R>[];
  /**
   * Without priorities, group caps or reservations every group may always take a free slot,
   * so the next request to start is simply the oldest ready one: one FIFO, O(1) per start.
   * Otherwise `readyQueues` holds one FIFO per group and the next start is found in O(groups).
   */
  private readonly simpleReady: Fifo<R> | null;
  /** Scratch list of one admission pass (reused: no allocation per pass). */
  private readonly found: R[] = [];
  private readonly readyCount: Int32Array;
  private readyTotal = 0;
  private heldTotal = 0;
  private readonly order: OrderList | null;

  // Stage 3 state.
  private readonly usage: Int32Array;
  private active = 0;
  private waiting = 0;
  private reservedUnused = 0;
  private readonly hasReservations: boolean;
  private readonly woken: R[] = [];

  // Checkpoint (docs/fault-tolerance.md): at most one, outside the groups (see `submitCheckpoint`).
  private checkpointRequest: R | null = null;

  constructor(policy: Policy, host: SchedulerHost<R>, target?: unknown) {
    this.policy = policy;
    this.host = host;
    this.target = target;
    const n = policy.groupCount + 1;
    this.ungrouped = policy.groupCount;
    this.limitValue = policy.poolSize;
    this.hardValue = policy.hardLimit;
    this.queues = Array.from({ length: n }, () => new Fifo<R>());
    this.readyQueues = Array.from({ length: n }, () => new Fifo<R>());
    let capped = false;
    for (let g = 0; g < policy.groupCount; g++) {
      if (
        (policy.minThreads[g] ?? 0) > 0 ||
        Number.isFinite(policy.maxThreads[g]) ||
        policy.superPriority[g]
      ) {
        capped = true;
      }
    }
    this.simpleReady = policy.hasPriorities || capped ? null : new Fifo<R>();
    this.queuedCount = new Int32Array(n);
    this.dispatchedCount = new Int32Array(n);
    this.readyCount = new Int32Array(n);
    this.usage = new Int32Array(n);
    this.order = policy.hasPriorities ? new OrderList() : null;
    for (let g = 0; g < policy.groupCount; g++) this.reservedUnused += policy.minThreads[g] ?? 0;
    this.hasReservations = this.reservedUnused > 0;

    const affects: number[][] = Array.from({ length: n }, () => []);
    const tracked: boolean[] = new Array(n).fill(false);
    let hasConditions = false;
    for (let g = 0; g < policy.groupCount; g++) {
      for (const h of policy.incompatible[g] ?? []) affects[h]?.push(g);
      for (const rule of policy.conditional[g] ?? []) {
        affects[rule.group]?.push(g);
        tracked[rule.group] = true;
        hasConditions = true;
      }
    }
    // Everything depends on the ungrouped requests (they are compatible with nothing).
    affects[this.ungrouped] = Array.from({ length: n }, (_, g) => g);
    this.affects = affects.map((list) => [...new Set(list)]);
    this.dispatchedSets = tracked.map((t) => (t ? new Set<R>() : undefined));
    this.hasConditions = hasConditions;
  }

  // ---------------------------------------------------------------- limits

  get limit(): number {
    return this.limitValue;
  }

  get hardLimit(): boolean {
    return this.hardValue;
  }

  /** Set the limit (an integer >= 1, or Infinity). The caller validates. */
  setLimit(limit: number): void {
    this.limitValue = limit;
    this.host.requestDrain();
  }

  setHardLimit(hard: boolean): void {
    this.hardValue = hard;
    this.host.requestDrain();
  }

  // ---------------------------------------------------------------- events from the runtime

  /** A new request arrives. Time: O(groups) without conditions. */
  submit(request: R): void {
    request.seq = ++this.seqCounter;
    if (this.admissible(request) === Admit) {
      this.admit(request);
      return;
    }
    request.state = Queued;
    this.queues[request.groupId]!.push(request);
    this.queuedCount[request.groupId]!++;
    this.queuedTotal++;
  }

  /**
   * A checkpoint (docs/fault-tolerance.md), as the reference runs it: a request of a hidden group that is
   * compatible with every group one way only, above every group in priority, and started
   * only when no request is in service (a hard limit of 1 while it runs).
   *
   *   1. It is admitted at once (it is compatible with everything from its side).
   *   2. From then on nothing else is admitted (no group is compatible with it from theirs)
   *      and nothing else starts: only woken requests resume, since they are in service.
   *      One exception [beyond the reference]: while every request in service waits by
   *      necessity (none active), admission and starts go on as usual, since one of those
   *      requests may be waiting for a callback to this object; otherwise the checkpoint
   *      would deadlock the object (it waits for them, they wait for the callback, the
   *      callback waits for it).
   *   3. It starts when no request is in service (active or in WBN), so the snapshot never
   *      sees a half-served request; while it runs nothing else starts.
   *   4. When it finishes, admission runs again for every group.
   *
   * Bounded: while any request is active, only requests already in service run before it.
   * Only a chain of waits by necessity (callbacks) can keep it waiting, and never forever
   * unless that chain is endless. Returns false if a checkpoint is already pending (the
   * caller joins it). Its `groupId` is not used.
   */
  submitCheckpoint(request: R): boolean {
    if (this.checkpointRequest !== null) return false;
    request.seq = ++this.seqCounter;
    request.state = Ready;
    this.checkpointRequest = request;
    this.host.admitted?.(request);
    this.host.requestDrain();
    return true;
  }

  /** The checkpoint admitted and not finished, if any. */
  get checkpoint(): R | null {
    return this.checkpointRequest;
  }

  /** A pending or running checkpoint holds admission and starts back (see `submitCheckpoint`). */
  get checkpointHolds(): boolean {
    return this.checkpointRequest !== null && (this.active > 0 || this.waiting === 0);
  }

  /** The request (in service) now awaits a future: it leaves the active set. */
  enterWait(request: R): void {
    if (request.state !== Active || request === this.checkpointRequest) return;
    request.state = Waiting;
    request.waitSeq = ++this.waitCounter;
    this.active--;
    this.waiting++;
    if (this.checkpointRequest !== null && this.active === 0) {
      // Everything in service waits by necessity: let requests in (a callback may be needed).
      this.admitPass(this.affects[this.ungrouped]!);
      this.host.requestDrain();
      return;
    }
    if (!this.hardValue) this.host.requestDrain();
  }

  /** A waiting request's future arrived: resume it when a slot allows. */
  wake(request: R): void {
    if (request.state !== Waiting) return;
    request.state = Woken;
    insertByWaitSeq(this.woken, request);
    this.host.requestDrain();
  }

  /** An admitted request's future arguments are all resolved. */
  release(request: R): void {
    request.held = false;
    if (request.state === Held) {
      this.heldTotal--;
      this.readyInsert(request);
    }
  }

  /** A request in service settled. Time: O(groups) typically; see the module comment. */
  finish(request: R): void {
    if (request === this.checkpointRequest) {
      this.finishCheckpoint(request);
      return;
    }
    const state = request.state;
    if (state === Active) this.active--;
    else if (state === Waiting || state === Woken) {
      this.waiting--;
      if (state === Woken) removeFrom(this.woken, request);
    } else return;
    request.state = Done;
    this.setUsage(request.groupId, -1);
    this.undispatch(request);
    // A pending checkpoint stops holding admission back once every request in service waits
    // by necessity (see `submitCheckpoint`, step 2): when this was the last active one, the
    // queue must be looked at again, even if its group still has requests in service.
    if (this.checkpointRequest !== null && state === Active && this.active === 0 && this.waiting > 0) {
      this.admitPass(this.affects[this.ungrouped]!); // every group
    }
    this.host.requestDrain();
  }

  /**
   * Withdraw a request that has not started (queued, held or ready); returns false if it
   * had started or ended already. Used for immediate termination and for requests whose
   * future argument rejected.
   */
  cancel(request: R): boolean {
    if (request === this.checkpointRequest) {
      if (request.state !== Ready) return false;
      request.state = Cancelled;
      this.checkpointRequest = null;
      this.admitPass(this.affects[this.ungrouped]!); // every group
      this.host.requestDrain();
      return true;
    }
    const g = request.groupId;
    switch (request.state) {
      case Queued:
        request.state = Cancelled;
        this.queuedCount[g]!--;
        this.queuedTotal--;
        // Its queue entry is skipped lazily. It blocked the requests behind it.
        this.admitPass(this.affects[g]!);
        this.host.requestDrain();
        return true;
      case Held:
        this.heldTotal--;
        request.state = Cancelled;
        this.undispatch(request);
        return true;
      case Ready:
        this.readyRemove(request);
        request.state = Cancelled;
        this.undispatch(request);
        return true;
      default:
        return false;
    }
  }

  // ---------------------------------------------------------------- stage 3: drain

  /**
   * Resume woken requests, then start ready requests, while slots allow. Returns the number
   * of requests started or resumed. `budget` bounds starts per call (the caller yields to
   * the event loop and calls again). Time: O(groups) per request started.
   */
  drain(budget = Number.POSITIVE_INFINITY): number {
    let count = 0;
    while (count < budget) {
      // Woken requests first, in the order they began waiting; checked before every start,
      // since a start (or the request it ran) may have woken one.
      if (this.woken.length > 0 && (this.hardValue || this.active < this.limitValue)) {
        const request = this.woken.shift()!;
        request.state = Active;
        this.waiting--;
        this.active++;
        count++;
        this.host.resume(request);
        continue;
      }
      const checkpoint = this.checkpointRequest;
      if (checkpoint !== null) {
        // It starts once no request is in service; until then nothing else starts, unless
        // every request in service waits by necessity (step 2's exception).
        if (checkpoint.state === Ready && this.active + this.waiting === 0) {
          checkpoint.state = Active;
          this.active++;
          count++;
          this.host.start(checkpoint);
          continue;
        }
        if (this.checkpointHolds) break;
      }
      if (this.readyTotal === 0 || !this.slotFree()) break;
      const request = this.nextStartable();
      if (request === undefined) break;
      this.readyRemove(request);
      request.state = Active;
      this.active++;
      this.setUsage(request.groupId, +1);
      count++;
      this.host.start(request);
    }
    return count;
  }

  /** True when requests wait for a slot (ready or woken) and `drain` could start some. */
  get hasRunnable(): boolean {
    const checkpoint = this.checkpointRequest;
    if (checkpoint !== null && this.checkpointHolds) {
      return this.woken.length > 0 || (checkpoint.state === Ready && this.active + this.waiting === 0);
    }
    // No checkpoint, or one that lets requests run (everything in service waits by necessity).
    return this.woken.length > 0 || this.readyTotal > 0;
  }

  private finishCheckpoint(request: R): void {
    if (request.state !== Active) return;
    this.active--;
    request.state = Done;
    this.checkpointRequest = null;
    // Everything queued behind it may be admissible now.
    this.admitPass(this.affects[this.ungrouped]!); // every group
    this.host.requestDrain();
  }

  // ---------------------------------------------------------------- observation

  stats(): SchedulerStats {
    const groups: GroupStats[] = [];
    for (let g = 0; g <= this.ungrouped; g++) {
      groups.push({
        name: g === this.ungrouped ? '(ungrouped)' : this.policy.groupNames[g]!,
        queued: this.queuedCount[g]!,
        ready: this.readyCount[g]!,
        held: this.dispatchedCount[g]! - this.readyCount[g]! - this.usage[g]!,
        inService: this.usage[g]!,
        minThreads: g === this.ungrouped ? 0 : this.policy.minThreads[g]!,
        maxThreads: g === this.ungrouped ? Number.POSITIVE_INFINITY : this.policy.maxThreads[g]!,
      });
    }
    return {
      limit: this.limitValue,
      hardLimit: this.hardValue,
      queued: this.queuedTotal,
      held: this.heldTotal,
      ready: this.readyTotal,
      active: this.active,
      waiting: this.waiting,
      groups,
    };
  }

  /** Queued requests in arrival order. Time: O(n log n); for tests and debugging. */
  queuedRequests(): R[] {
    const out: R[] = [];
    for (const q of this.queues)
      for (let i = 0, r = q.at(0); r !== undefined; r = q.at(++i)) if (r.state === Queued) out.push(r);
    return out.sort((a, b) => a.seq - b.seq);
  }

  /** Ready requests in start order. Time: O(n log n); for tests and debugging. */
  readyRequests(): R[] {
    const out: R[] = [];
    for (const q of this.simpleReady === null ? this.readyQueues : [this.simpleReady])
      for (let i = 0, r = q.at(0); r !== undefined; r = q.at(++i)) if (r.state === Ready) out.push(r);
    return out.sort((a, b) => a.label - b.label);
  }

  // ---------------------------------------------------------------- stage 1: admission

  /** Time: O(|incompatible[g]|) plus, with conditions, the requests they are checked against. */
  private admissible(request: R): number {
    if (this.checkpointHolds) return BlockedGroup;
    const g = request.groupId;
    const s = request.seq;
    const u = this.ungrouped;
    if (g === u) {
      // Compatible with nothing: only when nothing is dispatched and nothing queued ahead.
      if (this.dispatchedTotal > 0) return BlockedGroup;
      for (let h = 0; h <= u; h++) if (this.headSeq(h) < s) return BlockedGroup;
      return Admit;
    }
    if (this.dispatchedCount[u]! > 0 || this.headSeq(u) < s) return BlockedGroup;
    for (const h of this.policy.incompatible[g]!) {
      if (this.dispatchedCount[h]! > 0 || this.headSeq(h) < s) return BlockedGroup;
    }
    if (!this.hasConditions) return Admit;
    for (const rule of this.policy.conditional[g]!) {
      const h = rule.group;
      for (const other of this.dispatchedSets[h]!) {
        if (!this.holds(rule.condition, request, other)) return BlockedCondition;
      }
      const queue = this.queues[h]!;
      for (let i = 0, other = queue.at(0); other !== undefined && other.seq < s; other = queue.at(++i)) {
        if (other.state === Queued && !this.holds(rule.condition, request, other)) return BlockedCondition;
      }
    }
    return Admit;
  }

  private holds(condition: Condition, a: R, b: R): boolean {
    try {
      return condition(a, b, this.target) === true;
    } catch (error) {
      this.host.conditionFailed?.(error, a, b);
      return false;
    }
  }

  /** Arrival seq of the oldest queued request of group h, Infinity if none. Amortized O(1). */
  private headSeq(h: number): number {
    const queue = this.queues[h]!;
    let head = queue.peek();
    while (head !== undefined && head.state !== Queued) {
      queue.shift();
      head = queue.peek();
    }
    return head === undefined ? Number.POSITIVE_INFINITY : head.seq;
  }

  /**
   * Admit every queued request of `groups` that has become admissible, in arrival order.
   * Time: O(groups · |incompatible|) plus the requests admitted.
   */
  private admitPass(groups: readonly number[]): void {
    if (this.queuedTotal === 0 || this.checkpointHolds) return;
    const found = this.found;
    for (const g of groups) this.scanQueue(g, found);
    // affects[] lists the ungrouped id only for the ungrouped group itself.
    if (groups !== this.affects[this.ungrouped] && this.dispatchedTotal === 0)
      this.scanQueue(this.ungrouped, found);
    if (found.length === 0) return;
    if (found.length > 1) found.sort((a, b) => a.seq - b.seq);
    for (let i = 0; i < found.length; i++) {
      const request = found[i]!;
      this.queuedCount[request.groupId]!--;
      this.queuedTotal--;
      this.admit(request);
    }
    found.length = 0;
  }

  /** Collect the admissible queued requests of group g, oldest first, into `found`. */
  private scanQueue(g: number, found: R[]): void {
    if (this.queuedCount[g] === 0) return;
    const queue = this.queues[g]!;
    this.headSeq(g); // drop dead entries at the head
    const selfIncompatible = g === this.ungrouped || this.policy.incompatible[g]!.includes(g);
    for (let i = 0, request = queue.at(0); request !== undefined; request = queue.at(++i)) {
      if (request.state !== Queued) continue;
      const verdict = this.admissible(request);
      if (verdict === Admit) found.push(request);
      else if (verdict === BlockedGroup) break;
      // Only the oldest request of a self-incompatible group can be admissible.
      if (selfIncompatible) break;
    }
  }

  private admit(request: R): void {
    const g = request.groupId;
    this.dispatchedCount[g]!++;
    this.dispatchedTotal++;
    this.dispatchedSets[g]?.add(request);
    if (request.held) {
      request.state = Held;
      this.heldTotal++;
    } else {
      this.readyInsert(request);
    }
    this.host.admitted?.(request);
  }

  /** A dispatched request leaves (finished or cancelled): re-run admission where it matters. */
  private undispatch(request: R): void {
    const g = request.groupId;
    this.dispatchedCount[g]!--;
    this.dispatchedTotal--;
    this.dispatchedSets[g]?.delete(request);
    // Group-level blocks by g lift only when the last dispatched request of g leaves;
    // condition-level blocks may lift with any of them.
    if (this.dispatchedCount[g] === 0 || this.dispatchedSets[g] !== undefined) {
      this.admitPass(this.affects[g]!);
    }
  }

  // ---------------------------------------------------------------- stage 2: ready order

  private readyInsert(request: R): void {
    const g = request.groupId;
    request.state = Ready;
    if (this.order === null) {
      request.label = ++this.labelCounter;
    } else {
      // The first ready request g can overtake is the oldest ready request of some group
      // g overtakes: take the one earliest in the list. Time: O(|overtakes[g]|).
      let before: R | undefined;
      const lower = g === this.ungrouped ? EMPTY : this.policy.overtakes[g]!;
      for (const h of lower) {
        const head = this.readyHead(h);
        if (head !== undefined && (before === undefined || head.label < before.label)) before = head;
      }
      this.order.insertBefore(before ?? null, request);
    }
    (this.simpleReady ?? this.readyQueues[g]!).push(request);
    this.readyCount[g]!++;
    this.readyTotal++;
    this.host.requestDrain();
  }

  private readyRemove(request: R): void {
    // Its entry in readyQueues is dropped lazily (readyHead skips non-ready entries).
    this.order?.remove(request);
    this.readyCount[request.groupId]!--;
    this.readyTotal--;
  }

  private readyHead(h: number): R | undefined {
    const queue = this.readyQueues[h]!;
    let head = queue.peek();
    while (head !== undefined && head.state !== Ready) {
      queue.shift();
      head = queue.peek();
    }
    return head;
  }

  // ---------------------------------------------------------------- stage 3: slots

  private slotFree(): boolean {
    return (this.hardValue ? this.active + this.waiting : this.active) < this.limitValue;
  }

  /** The earliest ready request whose group may take a slot now. Time: O(groups), or O(1). */
  private nextStartable(): R | undefined {
    const simple = this.simpleReady;
    if (simple !== null) {
      let head = simple.peek();
      while (head !== undefined && head.state !== Ready) {
        simple.shift();
        head = simple.peek();
      }
      return head;
    }
    let best: R | undefined;
    const used = this.hardValue ? this.active + this.waiting : this.active;
    const free = this.limitValue - used;
    for (let g = 0; g <= this.ungrouped; g++) {
      if (this.readyCount[g] === 0) continue;
      const head = this.readyHead(g);
      if (head === undefined || (best !== undefined && head.label > best.label)) continue;
      if (!this.mayStart(g, free)) continue;
      best = head;
    }
    return best;
  }

  /** maxThreads and reservations (docs/semantics.md). */
  private mayStart(g: number, free: number): boolean {
    if (g === this.ungrouped) return free > this.reservedUnused;
    if (this.policy.superPriority[g]) return true;
    if (this.usage[g]! >= this.policy.maxThreads[g]!) return false;
    const own = Math.max(0, this.policy.minThreads[g]! - this.usage[g]!);
    return free > this.reservedUnused - own;
  }

  private setUsage(g: number, delta: number): void {
    if (!this.hasReservations) {
      this.usage[g]! += delta;
      return;
    }
    const min = g === this.ungrouped ? 0 : this.policy.minThreads[g]!;
    const before = Math.max(0, min - this.usage[g]!);
    this.usage[g]! += delta;
    this.reservedUnused += Math.max(0, min - this.usage[g]!) - before;
  }
}

const EMPTY: readonly number[] = [];

/** Keep `list` sorted by waitSeq; arrivals are nearly in order, so scan from the end. */
function insertByWaitSeq<R extends Schedulable>(list: R[], request: R): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.waitSeq > request.waitSeq) i--;
  list.splice(i, 0, request);
}

function removeFrom<R>(list: R[], item: R): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
