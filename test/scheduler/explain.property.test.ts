/**
 * Property tests: `explainWait` against the real Scheduler's behaviour, over random policies
 * (groups, symmetric, one-way and conditional compatibility, soft/hard limits, maxThreads,
 * minThreads, super priority) and random event histories (the generators of the scheduler's
 * own property tests, including re-entrant reactions from inside `start`/`resume`).
 *
 * What is checked, after every event:
 * - Admission (AND waits): a queued request's blockers are exactly the requests it is not
 *   compatible with (per the policy, conditions evaluated) among those dispatched or queued
 *   ahead of it; each has the right rule; and the list is never empty (the scheduler did not
 *   admit it, so something blocks it).
 * - Slots (OR waits): the explanation of a ready or woken request names the rule an
 *   independent oracle computes from the requests' states, with exactly the holders that
 *   rule names; every other state explains nothing.
 * - Drain: `explainWait` predicts the scheduler's next move exactly: the first thing a drain
 *   does is resume the oldest-waiting woken request if woken requests have no blockers, else
 *   start the first request in ready order with no blockers, else nothing. So a ready or
 *   woken request with blockers is never the next to start, and after an unbounded drain
 *   every ready or woken request has blockers.
 * And, at the end of each history, on replayed copies of the scheduler:
 * - a queued request is admitted once all its blockers are gone, and stays queued while any
 *   one of them remains (each blocker is necessary, all together sufficient);
 * - a slot wait's rule is lifted once all its listed holders are gone; for `limit` (all
 *   slots exactly taken) and `max-threads` (group exactly at its cap) any single holder
 *   leaving lifts that rule.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainWait, type WaitExplanation } from '../../scheduler/explain.js';
import { groupsCompatible, type Policy } from '../../scheduler/policy.js';
import {
  RequestState,
  requestStateNames,
  SchedRequest,
  Scheduler,
  type SchedulerHost,
} from '../../scheduler/scheduler.js';
import {
  appliesTo,
  childOf,
  fcParams,
  type Op,
  opArb,
  policyOf,
  policySpec,
  type StartReaction,
  type SubmitOp,
} from './arbitraries.js';
import { compatible } from './reference-model.js';

const { Queued, Held, Ready, Active, Waiting, Woken } = RequestState;
const TARGET = { name: 'the active object' };

class TestRequest extends SchedRequest {
  readonly id: number;
  constructor(id: number, groupId: number, group: string | undefined, args: unknown[]) {
    super(groupId, group, group ?? 'solo', args);
    this.id = id;
  }
}

const isDispatched = (r: TestRequest) =>
  r.state === Held || r.state === Ready || r.state === Active || r.state === Waiting || r.state === Woken;
const isInService = (r: TestRequest) => r.state === Active || r.state === Waiting || r.state === Woken;
const isLive = (r: TestRequest) => r.state === Queued || isDispatched(r);
/** True when the explanation makes it wait (an OR wait may have no holder to name). */
const waits = (e: WaitExplanation<TestRequest>) => e.any || e.blockers.length > 0;

/**
 * One object: the scheduler, its requests, and a host that plays the runtime as the
 * scheduler's own property tests do (reactions from inside start/resume). `first` records
 * the first start/resume of the current drain, for the drain prediction.
 */
class World {
  readonly requests: TestRequest[] = [];
  readonly specs: SubmitOp[] = [];
  readonly scheduler: Scheduler<TestRequest>;
  drainRequested = false;
  log: string[] = [];

  constructor(
    readonly policy: Policy,
    readonly autoDrain: boolean,
  ) {
    const host: SchedulerHost<TestRequest> = {
      start: (r) => {
        this.log.push(`start ${r.id}`);
        this.react(r, this.specs[r.id]!.onStart);
      },
      resume: (r) => {
        this.log.push(`resume ${r.id}`);
        this.react(r, this.specs[r.id]!.onResume);
      },
      requestDrain: () => {
        this.drainRequested = true;
      },
      conditionFailed() {},
    };
    this.scheduler = new Scheduler<TestRequest>(policy, host, TARGET);
  }

  private react(r: TestRequest, kind: StartReaction): void {
    if (kind === 'finish') this.scheduler.finish(r);
    else if (kind === 'wait') this.scheduler.enterWait(r);
    else if (kind === 'spawn') this.submit(childOf(this.specs[r.id]!));
    else if (kind === 'wakeOldest') {
      const waiting = this.requests.find((x) => x.state === Waiting);
      if (waiting !== undefined) this.scheduler.wake(waiting);
    }
  }

  submit(op: SubmitOp): void {
    const g = op.group < 0 ? this.policy.groupCount : op.group % this.policy.groupCount;
    const r = new TestRequest(this.requests.length, g, this.policy.groupNames[g], [op.key]);
    r.held = op.held;
    this.requests.push(r);
    this.specs.push(op);
    this.scheduler.submit(r);
  }

  /** In flight, newest first (as `ActiveObject.inFlightRequests`). */
  inFlight(): TestRequest[] {
    return this.requests.filter(isLive).reverse();
  }

  explain(r: TestRequest): WaitExplanation<TestRequest> {
    return explainWait(this.scheduler, r, this.inFlight(), TARGET);
  }

  /** Drain, checking first that explainWait predicted its first move. */
  drain(budget: number | undefined, where: string): void {
    const predicted = this.predictNextMove();
    this.log = [];
    this.scheduler.drain(budget);
    expect(this.log[0], `${where}: the drain's first move`).toBe(predicted);
    // Quiescence: after an unbounded drain nothing left is startable, so everything still
    // ready or woken has a reason to wait.
    if (budget === undefined) {
      for (const r of this.requests) {
        if (r.state === Ready || r.state === Woken)
          expect(waits(this.explain(r)), `${where}: ${r.id} left ready with nothing to wait for`).toBe(true);
      }
    }
  }

  /** What `drain()` will do first, from the explanations alone. */
  predictNextMove(): string | undefined {
    const woken = this.requests.filter((r) => r.state === Woken).sort((a, b) => a.waitSeq - b.waitSeq);
    if (woken.length > 0 && !waits(this.explain(woken[0]!))) return `resume ${woken[0]!.id}`;
    for (const r of this.scheduler.readyRequests()) if (!waits(this.explain(r))) return `start ${r.id}`;
    return undefined;
  }

  apply(op: Op, where: string): void {
    switch (op.op) {
      case 'submit':
        this.submit(op);
        break;
      case 'drain':
        this.drainRequested = false;
        this.drain(op.budget, where);
        if (op.budget !== undefined) this.drainRequested = true;
        break;
      case 'setLimit':
        this.scheduler.setLimit(op.limit);
        break;
      case 'setHardLimit':
        this.scheduler.setHardLimit(op.hard);
        break;
      default: {
        const eligible = op.any
          ? this.requests
          : this.requests.filter(
              (r) => appliesTo[op.op].includes(requestStateNames[r.state]) && (op.op !== 'release' || r.held),
            );
        const r = eligible.length === 0 ? undefined : eligible[op.pick % eligible.length];
        if (r !== undefined) this.scheduler[op.op](r);
      }
    }
    if (this.autoDrain && this.drainRequested) {
      this.drainRequested = false;
      this.drain(undefined, `${where} (auto drain)`);
    }
  }

  /** Take `r` out: finish it if in service, else withdraw it. No drain (no reactions). */
  remove(r: TestRequest): void {
    if (isInService(r)) this.scheduler.finish(r);
    else expect(this.scheduler.cancel(r)).toBe(true);
  }
}

function replay(policy: Policy, ops: readonly Op[], autoDrain: boolean): World {
  const world = new World(policy, autoDrain);
  for (const [step, op] of ops.entries()) world.apply(op, `replay step ${step}`);
  return world;
}

const names = (rs: readonly TestRequest[]) => rs.map((r) => r.id);
const bySeq = (a: TestRequest, b: TestRequest) => a.seq - b.seq;

/** The admission oracle: every dispatched or queued-ahead request it is not compatible with. */
function expectedAdmissionBlockers(world: World, r: TestRequest): { id: number; rule: string }[] {
  const policy = world.policy;
  return world.requests
    .filter((x) => x !== r && (isDispatched(x) || (x.state === Queued && x.seq < r.seq)))
    .filter((x) => !compatible(policy, r, x, TARGET))
    .sort(bySeq)
    .map((x) => ({
      id: x.id,
      rule:
        x.state === Queued
          ? 'queued-ahead'
          : groupsCompatible(policy, r.groupId, x.groupId) === false
            ? 'incompatible'
            : 'condition',
    }));
}

/**
 * The slot oracle (SPEC §5, from the requests' states, not from the scheduler's counters):
 * the rules refusing a slot, each with the holders whose leaving would lift it; the request
 * needs one holder of every clause. `undefined`: a slot is free for it.
 *
 * - slots: a free slot beyond those reserved for other groups' minThreads (`limit` when
 *   every slot is in use, else `reservation`); a holder of another group still within its
 *   minThreads does not help (its slot is reserved again as it leaves);
 * - `max-threads`: its group in service at its cap.
 * A woken request needs only a free slot; a super-priority one ignores reservations and caps.
 */
function expectedSlotWait(world: World, r: TestRequest): { rule: string; holders: number[] }[] | undefined {
  const { policy, scheduler } = world;
  const n = policy.groupCount;
  const hard = scheduler.hardLimit;
  const holdsSlot = (x: TestRequest) => (hard ? isInService(x) : x.state === Active);
  const holders = world.requests.filter(holdsSlot).sort(bySeq);
  const used = holders.length;
  const inService = (g: number) => world.requests.filter((x) => x.groupId === g && isInService(x));
  if (r.state === Woken)
    return used >= scheduler.limit ? [{ rule: 'limit', holders: names(holders) }] : undefined;
  const g = r.groupId;
  const superPriority = g < n && policy.superPriority[g] === true;
  let reservedForOthers = 0;
  if (!superPriority)
    for (let h = 0; h < n; h++)
      if (h !== g) reservedForOthers += Math.max(0, policy.minThreads[h]! - inService(h).length);
  const slotsOk = scheduler.limit - used > reservedForOthers;
  const capOk = g >= n || superPriority || inService(g).length < policy.maxThreads[g]!;
  if (slotsOk && capOk) return undefined;
  const clauses: { rule: string; holders: number[] }[] = [];
  if (!slotsOk) {
    const helps = (x: TestRequest) =>
      reservedForOthers === 0 ||
      x.groupId === g ||
      x.groupId >= n ||
      inService(x.groupId).length > policy.minThreads[x.groupId]!;
    clauses.push({
      rule: used >= scheduler.limit ? 'limit' : 'reservation',
      holders: names(holders.filter(helps)),
    });
  }
  if (!capOk) clauses.push({ rule: 'max-threads', holders: names(inService(g).sort(bySeq)) });
  return clauses;
}

/** Every live request's explanation against the oracles. */
function checkExplanations(world: World, where: string): void {
  for (const r of world.requests) {
    if (!isLive(r)) continue;
    const e = world.explain(r);
    const at = `${where}: request ${r.id} (${requestStateNames[r.state]}, group ${r.groupId})`;
    expect(e.truncated, at).toBe(false); // histories here stay far below MAX_BLOCKERS
    const got = e.blockers.map((b) => ({ id: b.request.id, rule: b.rule as string }));
    if (r.state === Queued) {
      expect(e.any, at).toBe(false);
      expect(got, at).toEqual(expectedAdmissionBlockers(world, r));
      expect(got.length, `${at}: queued, so something must block it`).toBeGreaterThan(0);
    } else if (r.state === Ready || (r.state === Woken && !world.scheduler.hardLimit)) {
      const expected = expectedSlotWait(world, r);
      if (expected === undefined) {
        expect(e, at).toEqual({ any: false, blockers: [], truncated: false });
      } else {
        expect(e.any, at).toBe(true);
        const [first, second] = expected;
        expect(got, at).toEqual(first!.holders.map((id) => ({ id, rule: first!.rule })));
        const also = (e.also?.blockers ?? []).map((b) => ({ id: b.request.id, rule: b.rule as string }));
        expect(e.also === undefined ? undefined : also, `${at} (second clause)`).toEqual(
          second === undefined ? undefined : second.holders.map((id) => ({ id, rule: second.rule })),
        );
        // Also the scheduler's own view: `limit` only when the slots in use reach the limit.
        if (first!.rule === 'limit') {
          const s = world.scheduler.stats();
          expect(s.hardLimit ? s.active + s.waiting : s.active, at).toBeGreaterThanOrEqual(s.limit);
        }
      }
    } else {
      expect(e, at).toEqual({ any: false, blockers: [], truncated: false });
    }
  }
}

/** At the end of a history: remove blockers on replayed copies and watch the outcome. */
function checkRemovals(policy: Policy, ops: readonly Op[], autoDrain: boolean): void {
  const world = replay(policy, ops, autoDrain);
  const noLimitChanges = !ops.some((op) => op.op === 'setLimit' || op.op === 'setHardLimit');
  for (const r of world.requests) {
    const e = world.explain(r);
    if (e.blockers.length === 0) continue;
    const ids = e.blockers.map((b) => b.request.id);
    const where = `request ${r.id} (${requestStateNames[r.state]}) blocked by ${ids.join(',')} (${e.blockers[0]!.rule})`;
    // All of them gone.
    const all = replay(policy, ops, autoDrain);
    const copy = all.requests[r.id]!;
    for (const id of ids) all.remove(all.requests[id]!);
    const after = all.explain(copy);
    if (r.state === Queued) {
      // Admitted, unless requests that arrived after it overtook it meanwhile: with one-way
      // compatibility a later request may be admitted ahead of it (compatible from its own
      // side), and then blocks it. Its old blockers leaving can let such requests in.
      if (copy.state === Queued) {
        const fresh = after.blockers.map((b) => b.request);
        expect(fresh.length, where).toBeGreaterThan(0);
        for (const x of fresh) {
          const why = `${where}: all blockers gone, still queued behind ${x.id}`;
          expect(x.seq, why).toBeGreaterThan(copy.seq);
          expect(isDispatched(x), why).toBe(true);
          expect(compatible(policy, x, copy, TARGET), why).toBe(true);
        }
      }
    } else {
      // The rule is lifted (another slot rule may now be the reason: a request can be
      // refused by several at once, and the explanation names the first).
      const rule = e.blockers[0]!.rule;
      const still = after.blockers.filter((b) => b.rule === rule);
      expect(names(still.map((b) => b.request)), `${where}: all holders gone, rule lifted`).toEqual([]);
    }
    // Any one of them left alone.
    for (const keep of ids) {
      const w = replay(policy, ops, autoDrain);
      const c = w.requests[r.id]!;
      if (r.state === Queued) {
        for (const id of ids) if (id !== keep) w.remove(w.requests[id]!);
        expect(requestStateNames[c.state], `${where}: ${keep} alone still blocks it`).toBe('queued');
        // It still names `keep`, plus only requests that overtook it meanwhile (as above).
        const left = w.explain(c).blockers.map((b) => b.request);
        expect(names(left), where).toContain(keep);
        for (const x of left) if (x.id !== keep) expect(x.seq, `${where}: ${x.id}`).toBeGreaterThan(c.seq);
      } else {
        // For slot waits: the single holder `keep` leaves, the others stay.
        const rule = e.blockers[0]!.rule;
        const s = world.scheduler.stats();
        const used = s.hardLimit ? s.active + s.waiting : s.active;
        const g = r.groupId;
        const exactlyFull =
          (rule === 'limit' && used === s.limit) ||
          (rule === 'max-threads' && s.groups[g]!.inService === policy.maxThreads[g]);
        if (!exactlyFull) continue;
        w.remove(w.requests[keep]!);
        const rules = w.explain(c).blockers.map((b) => b.rule);
        expect(rules, `${where}: ${keep} leaving frees a ${rule} slot`).not.toContain(rule);
      }
    }
    if (noLimitChanges && r.state !== Queued && e.blockers[0]!.rule === 'limit') {
      // Without limit changes the slots in use never exceed the limit.
      const s = world.scheduler.stats();
      expect(s.hardLimit ? s.active + s.waiting : s.active, where).toBe(s.limit);
    }
  }
}

describe('explainWait agrees with what the scheduler does', () => {
  it('names exactly the blockers, and predicts every drain, after every event', () => {
    fc.assert(
      fc.property(
        policySpec,
        fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }),
        fc.boolean(),
        (spec, ops, autoDrain) => {
          const policy = policyOf(spec);
          const world = new World(policy, autoDrain);
          for (const [step, op] of ops.entries()) {
            const where = `after step ${step}: ${JSON.stringify(op)}`;
            world.apply(op, where);
            checkExplanations(world, where);
          }
        },
      ),
      fcParams(400),
    );
  });

  it('each admission blocker is necessary and all are sufficient; slot holders lift their rule', () => {
    fc.assert(
      fc.property(
        policySpec,
        fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }),
        fc.boolean(),
        (spec, ops, autoDrain) => {
          checkRemovals(policyOf(spec), ops, autoDrain);
        },
      ),
      fcParams(400),
    );
  });

  it('the generated histories reach every rule (the properties above are not vacuous)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(
        policySpec,
        fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }),
        fc.boolean(),
        (spec, ops, autoDrain) => {
          const world = new World(policyOf(spec), autoDrain);
          for (const op of ops) {
            world.apply(op, '');
            for (const r of world.requests) {
              if (!isLive(r)) continue;
              for (const b of world.explain(r).blockers) seen.add(`${requestStateNames[r.state]} ${b.rule}`);
            }
          }
        },
      ),
      fcParams(200),
    );
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'queued incompatible',
        'queued queued-ahead',
        'queued condition',
        'ready limit',
        'ready max-threads',
        'ready reservation',
        'woken limit',
      ]),
    );
  });
});
