/**
 * A deliberately naive model of SPEC §3–§5, written from the text with plain arrays and O(n)
 * scans, to check the fast `Scheduler` against (test/scheduler/scheduler-model.test.ts). Each
 * method says which sentence of the SPEC it implements; nothing here is clever on purpose.
 *
 * State: `queue` (arrival order), `dispatched` (held, ready or in service), `ready` (start
 * order). A request's `state` says where it is. The admission pass runs after every event,
 * not only after submit/finish/cancel: admission is a rule about the current state ("a queued
 * request becomes ready iff ..."), so the fast scheduler must agree at every moment.
 */
import type { Policy, RequestView } from '../../scheduler/policy.js';

export type ModelState =
  | 'new'
  | 'queued'
  | 'held'
  | 'ready'
  | 'active'
  | 'waiting'
  | 'woken'
  | 'done'
  | 'cancelled';

export class ModelRequest implements RequestView {
  state: ModelState = 'new';
  /** Set before submit while some argument is unresolved; cleared by `release`. */
  held: boolean;
  /** When the request last began waiting by necessity (1, 2, ...). */
  waitOrder = 0;

  constructor(
    readonly id: number,
    readonly groupId: number,
    readonly group: string | undefined,
    readonly method: string,
    readonly args: unknown[],
    held = false,
  ) {
    this.held = held;
  }
}

/**
 * SPEC §3: compatible(r1, r2), r1 being the request admitted. No group -> false. Otherwise the
 * tables: `incompatible[g]` -> false; a conditional rule -> the condition (a throw or a
 * non-`true` result means incompatible); else true. `onThrow` sees the errors.
 */
export function compatible(
  policy: Policy,
  r1: RequestView & { readonly groupId: number },
  r2: RequestView & { readonly groupId: number },
  target?: unknown,
  onThrow?: (error: unknown) => void,
): boolean {
  const g = r1.groupId;
  const h = r2.groupId;
  if (g >= policy.groupCount || h >= policy.groupCount) return false;
  if (policy.incompatible[g]!.includes(h)) return false;
  for (const rule of policy.conditional[g]!) {
    if (rule.group !== h) continue;
    try {
      if (rule.condition(r1, r2, target) !== true) return false;
    } catch (error) {
      onThrow?.(error);
      return false;
    }
  }
  return true;
}

const inService = (r: ModelRequest): boolean =>
  r.state === 'active' || r.state === 'waiting' || r.state === 'woken';

export class ReferenceModel {
  readonly queue: ModelRequest[] = [];
  readonly dispatched: ModelRequest[] = [];
  readonly ready: ModelRequest[] = [];
  /** `start <id>` / `resume <id>`, in the order drain did them. */
  readonly log: string[] = [];
  /** Called after a request starts or resumes; may call back into the model, as a runtime does. */
  onStart: (r: ModelRequest) => void = () => {};
  onResume: (r: ModelRequest) => void = () => {};
  limit: number;
  hard: boolean;
  private waitCounter = 0;

  constructor(
    readonly policy: Policy,
    readonly target?: unknown,
  ) {
    this.limit = policy.poolSize;
    this.hard = policy.hardLimit;
  }

  // ------------------------------------------------------------------ events

  submit(r: ModelRequest): void {
    r.state = 'queued';
    this.queue.push(r);
    this.admissionPass();
  }

  release(r: ModelRequest): void {
    r.held = false;
    if (r.state === 'held') this.insertReady(r);
    this.admissionPass();
  }

  enterWait(r: ModelRequest): void {
    if (r.state === 'active') {
      r.state = 'waiting';
      r.waitOrder = ++this.waitCounter;
    }
    this.admissionPass();
  }

  wake(r: ModelRequest): void {
    if (r.state === 'waiting') r.state = 'woken';
    this.admissionPass();
  }

  finish(r: ModelRequest): void {
    if (inService(r)) {
      r.state = 'done';
      remove(this.dispatched, r);
    }
    this.admissionPass();
  }

  /** Withdraw a request that has not started; false if it had started or ended. */
  cancel(r: ModelRequest): boolean {
    let done = true;
    if (r.state === 'queued') remove(this.queue, r);
    else if (r.state === 'held') remove(this.dispatched, r);
    else if (r.state === 'ready') {
      remove(this.ready, r);
      remove(this.dispatched, r);
    } else done = false;
    if (done) r.state = 'cancelled';
    this.admissionPass();
    return done;
  }

  setLimit(limit: number): void {
    this.limit = limit;
    this.admissionPass();
  }

  setHardLimit(hard: boolean): void {
    this.hard = hard;
    this.admissionPass();
  }

  // ------------------------------------------------------------------ stage 1: admission

  /**
   * SPEC §4.1, as the reference DefaultServingPolicy: one pass over the queue in FIFO order;
   * r moves to dispatched iff compatible(r, x) for every dispatched x (those admitted earlier
   * in this pass included) and every x still queued before r.
   */
  admissionPass(): void {
    for (const r of [...this.queue]) {
      const ahead = this.queue.slice(0, this.queue.indexOf(r));
      const ok =
        this.dispatched.every((x) => compatible(this.policy, r, x, this.target)) &&
        ahead.every((x) => compatible(this.policy, r, x, this.target));
      if (!ok) continue;
      remove(this.queue, r);
      this.dispatched.push(r);
      if (r.held) r.state = 'held';
      else this.insertReady(r);
    }
  }

  // ------------------------------------------------------------------ stage 2: ready order

  /**
   * SPEC §4.2: just before the first ready request whose group r's group can overtake, else
   * at the end; ungrouped requests at the end.
   */
  private insertReady(r: ModelRequest): void {
    r.state = 'ready';
    const lower = r.groupId < this.policy.groupCount ? this.policy.overtakes[r.groupId]! : [];
    const i = this.ready.findIndex((x) => lower.includes(x.groupId));
    if (i < 0) this.ready.push(r);
    else this.ready.splice(i, 0, r);
  }

  // ------------------------------------------------------------------ stage 3: slots

  /**
   * SPEC §4.3 and §5: resume woken requests in the order they began waiting (soft limit:
   * while a slot is free; hard limit: always, they already hold one); then, while a slot is
   * free, start the first ready request that `mayStart`, and look again from the head. The
   * state is read afresh at every step: `onStart`/`onResume` may have changed it.
   */
  drain(budget = Number.POSITIVE_INFINITY): number {
    // SPEC §4 stage 3: before every start, woken requests resume first (also those woken by
    // what the previous start did).
    let count = 0;
    while (count < budget) {
      const woken = this.dispatched.filter((r) => r.state === 'woken');
      const w = woken.sort((a, b) => a.waitOrder - b.waitOrder)[0];
      if (w !== undefined && (this.hard || this.active() < this.limit)) {
        w.state = 'active';
        this.log.push(`resume ${w.id}`);
        count++;
        this.onResume(w);
        continue;
      }
      if (this.used() >= this.limit) break;
      const r = this.ready.find((x) => this.mayStart(x));
      if (r === undefined) break;
      remove(this.ready, r);
      r.state = 'active';
      this.log.push(`start ${r.id}`);
      count++;
      this.onStart(r);
    }
    return count;
  }

  /** Would `drain()` start or resume anything now? */
  canProgress(): boolean {
    if (this.dispatched.some((r) => r.state === 'woken') && (this.hard || this.active() < this.limit))
      return true;
    return this.used() < this.limit && this.ready.some((x) => this.mayStart(x));
  }

  /**
   * SPEC §5 per group: a non-super group at maxThreads may not start; a start must leave at
   * least as many free slots as the unused reservations of the other groups (all groups for
   * an ungrouped request); super priority ignores both.
   */
  mayStart(r: ModelRequest): boolean {
    const g = r.groupId;
    const grouped = g < this.policy.groupCount;
    if (grouped && this.policy.superPriority[g]) return true;
    if (grouped && this.inService(g) >= this.policy.maxThreads[g]!) return false;
    let othersUnused = 0;
    for (let h = 0; h < this.policy.groupCount; h++) {
      if (h !== g) othersUnused += Math.max(0, this.policy.minThreads[h]! - this.inService(h));
    }
    const free = this.limit - this.used();
    return free > othersUnused;
  }

  // ------------------------------------------------------------------ observation

  /** Slots in use: active requests (soft limit) or every request in service (hard limit). */
  used(): number {
    return this.hard ? this.active() + this.waiting() : this.active();
  }

  active(): number {
    return this.dispatched.filter((r) => r.state === 'active').length;
  }

  /** Waiting by necessity, woken ones included. */
  waiting(): number {
    return this.dispatched.filter((r) => r.state === 'waiting' || r.state === 'woken').length;
  }

  /** Requests of group g (groupCount = ungrouped) in service, waiting included. */
  inService(g: number): number {
    return this.dispatched.filter((r) => r.groupId === g && inService(r)).length;
  }

  held(g: number): number {
    return this.dispatched.filter((r) => r.groupId === g && r.state === 'held').length;
  }
}

function remove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i >= 0) list.splice(i, 1);
}
