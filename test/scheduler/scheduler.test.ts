/**
 * Unit tests for the scheduler, one rule of SPEC §3–§5 at a time. Time is driven by hand: the
 * test plays the runtime (submit, drain, enterWait, wake, finish) and reads what the
 * scheduler asked the host to do. No timers, no sleeps.
 */
import { describe, expect, it } from 'vitest';
import { OrderList, type OrderNode } from '../../scheduler/order-list.js';
import { type Condition, classicPolicy, type Policy } from '../../scheduler/policy.js';
import { SchedRequest, Scheduler, type SchedulerHost } from '../../scheduler/scheduler.js';
import { buildPolicy, type PolicyDecl } from './policy-builder.js';

class Req extends SchedRequest {
  readonly name: string;
  constructor(name: string, groupId: number, group: string | undefined, args: unknown[]) {
    super(groupId, group, group ?? 'solo', args);
    this.name = name;
  }
}

/** A scheduler with a host that records starts and resumes as `start x` / `resume x`. */
function harness(policyOrDecl: Policy | PolicyDecl, target?: unknown) {
  const policy = 'groupCount' in policyOrDecl ? policyOrDecl : buildPolicy(policyOrDecl);
  const log: string[] = [];
  const failures: { error: unknown; admitted: string; other: string }[] = [];
  const host = {
    drainRequests: 0,
    start: (r: Req) => log.push(`start ${r.name}`),
    resume: (r: Req) => log.push(`resume ${r.name}`),
    requestDrain() {
      host.drainRequests++;
    },
    conditionFailed: (error: unknown, admitted: Req, other: Req) =>
      failures.push({ error, admitted: admitted.name, other: other.name }),
  } satisfies SchedulerHost<Req> & { drainRequests: number };
  const scheduler = new Scheduler<Req>(policy, host, target);
  const requests = new Map<string, Req>();

  /** Submit request `name` of `group` (undefined: an ungrouped method). */
  function submit(name: string, group: string | undefined, args: unknown[] = [], held = false): Req {
    const g = group === undefined ? policy.groupCount : policy.groupNames.indexOf(group);
    if (g < 0) throw new Error(`no group ${group}`);
    const r = new Req(name, g, group, args);
    r.held = held;
    requests.set(name, r);
    scheduler.submit(r);
    return r;
  }
  const get = (name: string) => requests.get(name)!;
  /** Drain, and return what it started or resumed. */
  function drain(budget?: number): string[] {
    const from = log.length;
    scheduler.drain(budget);
    return log.slice(from);
  }
  const ready = () => scheduler.readyRequests().map((r) => r.name);
  const queued = () => scheduler.queuedRequests().map((r) => r.name);
  return { policy, scheduler, host, log, failures, submit, get, drain, ready, queued };
}

const readWrite: PolicyDecl = {
  groups: [{ name: 'read', selfCompatible: true }, { name: 'write' }],
};

describe('admission: the FIFO filter (SPEC §4.1)', () => {
  it('a reader behind a queued writer waits although it is compatible with the running reader', () => {
    const t = harness(readWrite);
    t.submit('r1', 'read');
    expect(t.drain()).toEqual(['start r1']);
    t.submit('w', 'write');
    t.submit('r2', 'read');
    expect(t.queued()).toEqual(['w', 'r2']);
    expect(t.ready()).toEqual([]);

    t.scheduler.finish(t.get('r1'));
    expect(t.queued()).toEqual(['r2']);
    expect(t.drain()).toEqual(['start w']);
    t.scheduler.finish(t.get('w'));
    expect(t.drain()).toEqual(['start r2']);
  });

  it('two readers are admitted together and overlap', () => {
    const t = harness(readWrite);
    t.submit('r1', 'read');
    t.submit('r2', 'read');
    expect(t.ready()).toEqual(['r1', 'r2']);
    expect(t.drain()).toEqual(['start r1', 'start r2']);
  });

  it('a request overtakes a blocked one only when it is compatible with it', () => {
    const t = harness({
      groups: [{ name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }],
      compatible: [
        { groups: ['a', 'c'] },
        { groups: ['a', 'd'] },
        { groups: ['b', 'd'] },
        { groups: ['c', 'd'] },
      ],
    });
    t.submit('a1', 'a');
    expect(t.drain()).toEqual(['start a1']);
    t.submit('b1', 'b'); // incompatible with the running a1
    t.submit('c1', 'c'); // compatible with a1, not with b1 queued ahead
    t.submit('d1', 'd'); // compatible with a1, b1 and c1: overtakes them
    expect(t.queued()).toEqual(['b1', 'c1']);
    expect(t.ready()).toEqual(['d1']);

    t.scheduler.finish(t.get('a1'));
    expect(t.ready()).toEqual(['d1', 'b1']);
    expect(t.queued()).toEqual(['c1']);
  });

  it('a request in wait-by-necessity keeps blocking incompatible requests', () => {
    const t = harness(readWrite);
    t.submit('w1', 'write');
    t.drain();
    t.scheduler.enterWait(t.get('w1'));
    t.submit('r1', 'read');
    expect(t.queued()).toEqual(['r1']);
    expect(t.drain()).toEqual([]);
  });

  it('an ungrouped request waits for everything dispatched, then runs alone', () => {
    const t = harness({ groups: [{ name: 'g', selfCompatible: true }] });
    t.submit('g1', 'g');
    t.drain();
    t.submit('u', undefined);
    t.submit('g2', 'g');
    expect(t.queued()).toEqual(['u', 'g2']);

    t.scheduler.finish(t.get('g1'));
    expect(t.ready()).toEqual(['u']);
    expect(t.queued()).toEqual(['g2']);
    expect(t.drain()).toEqual(['start u']);
    t.scheduler.finish(t.get('u'));
    expect(t.drain()).toEqual(['start g2']);
  });

  it('an undecorated class serves one request at a time, in arrival order', () => {
    const t = harness(classicPolicy('Plain'));
    for (const name of ['m1', 'm2', 'm3']) t.submit(name, undefined);
    expect(t.drain()).toEqual(['start m1']);
    t.scheduler.enterWait(t.get('m1')); // not re-entrant: waiting still blocks the others
    expect(t.drain()).toEqual([]);
    t.scheduler.finish(t.get('m1'));
    expect(t.drain()).toEqual(['start m2']);
    t.scheduler.finish(t.get('m2'));
    expect(t.drain()).toEqual(['start m3']);
  });

  it('a self condition lets different keys overlap and serializes the same key', () => {
    const seen: [string, string, unknown][] = [];
    const differentKey: Condition = (a, b, target) => {
      seen.push([String(a.args[0]), String(b.args[0]), target]);
      return a.args[0] !== b.args[0];
    };
    const target = { id: 'peer' };
    const t = harness(
      { groups: [{ name: 'lookup', selfCompatible: true, condition: differentKey }] },
      target,
    );
    t.submit('x1', 'lookup', ['x']);
    t.submit('y1', 'lookup', ['y']);
    t.submit('x2', 'lookup', ['x']);
    expect(t.ready()).toEqual(['x1', 'y1']);
    expect(t.queued()).toEqual(['x2']);
    // `a` is the request being admitted, `target` the object.
    expect(seen).toContainEqual(['y', 'x', target]);
    expect(seen).toContainEqual(['x', 'x', target]);

    t.drain();
    t.scheduler.finish(t.get('x1'));
    expect(t.ready()).toEqual(['x2']);
  });

  it('requests unblocked together become ready in arrival order', () => {
    const t = harness({
      groups: [{ name: 'a', selfCompatible: true }, { name: 'b', selfCompatible: true }, { name: 'w' }],
      compatible: [{ groups: ['a', 'b'] }],
    });
    t.submit('w1', 'w');
    t.drain();
    t.submit('b1', 'b');
    t.submit('a1', 'a');
    t.submit('b2', 'b');
    t.scheduler.finish(t.get('w1'));
    expect(t.ready()).toEqual(['b1', 'a1', 'b2']);
  });

  it('a request blocked by a condition does not hold back a later request of its group', () => {
    const t = harness({
      groups: [{ name: 'lookup', selfCompatible: true, condition: (a, b) => a.args[0] !== b.args[0] }],
    });
    t.submit('x1', 'lookup', ['x']);
    t.submit('y1', 'lookup', ['y']);
    t.drain();
    t.submit('x2', 'lookup', ['x']); // blocked by x1
    t.submit('y2', 'lookup', ['y']); // blocked by y1
    expect(t.queued()).toEqual(['x2', 'y2']);
    t.scheduler.finish(t.get('y1'));
    expect(t.queued()).toEqual(['x2']);
    expect(t.ready()).toEqual(['y2']);
  });

  it('a conditional rule between two groups is checked against queued requests ahead too', () => {
    const t = harness({
      groups: [{ name: 'get' }, { name: 'put' }],
      compatible: [{ groups: ['get', 'put'], condition: (a, b) => a.args[0] !== b.args[0] }],
    });
    t.submit('get1', 'get', ['k']);
    t.drain();
    t.submit('get2', 'get', ['j']); // self-incompatible: queued behind nothing but get1
    t.submit('put-k', 'put', ['k']); // same key as get1 (dispatched)
    t.submit('put-j', 'put', ['j']); // other key than get1, same as get2 queued ahead
    expect(t.queued()).toEqual(['get2', 'put-k', 'put-j']);
  });

  it('a condition that throws counts as incompatible and is reported through host.conditionFailed', () => {
    const boom = new Error('cannot compare');
    const t = harness({
      groups: [
        {
          name: 'g',
          selfCompatible: true,
          condition: (a, b) => {
            if (a.args[0] === 'bad' || b.args[0] === 'bad') throw boom;
            return true;
          },
        },
      ],
    });
    t.submit('ok', 'g', ['fine']);
    t.submit('bad', 'g', ['bad']);
    expect(t.queued()).toEqual(['bad']);
    expect(t.failures).toEqual([{ error: boom, admitted: 'bad', other: 'ok' }]);

    t.drain();
    t.scheduler.finish(t.get('ok'));
    expect(t.ready()).toEqual(['bad']);
  });

  it('a condition that returns a truthy non-boolean does not make requests compatible', () => {
    const truthy = (() => 'yes') as unknown as Condition;
    const t = harness({ groups: [{ name: 'g', selfCompatible: true, condition: truthy }] });
    t.submit('a', 'g');
    t.submit('b', 'g');
    expect(t.queued()).toEqual(['b']);
  });
});

describe('ready order: priorities (SPEC §4.2)', () => {
  /** The PriorityGraph.main self-test of the reference: g0→g1→g2→{g3→g4, g5→g4}. */
  const referenceGraph: PolicyDecl = {
    groups: ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'].map((name) => ({ name, selfCompatible: true })),
    compatible: [{ groups: ['g0', 'g1', 'g2', 'g3', 'g4', 'g5'] }],
    priorities: [
      ['g0', 'g1', 'g2', 'g3', 'g4'],
      ['g2', 'g5', 'g4'],
    ],
  };
  const canOvertake = (p: Policy, a: string, b: string) =>
    p.overtakes[p.groupNames.indexOf(a)]!.includes(p.groupNames.indexOf(b));

  it('the reference graph gives the reference answers to canOvertake', () => {
    const p = buildPolicy(referenceGraph);
    expect(canOvertake(p, 'g4', 'g3')).toBe(false);
    expect(canOvertake(p, 'g3', 'g4')).toBe(true);
    expect(canOvertake(p, 'g2', 'g1')).toBe(false);
    expect(canOvertake(p, 'g1', 'g2')).toBe(true);
    expect(canOvertake(p, 'g3', 'g5')).toBe(false);
    expect(canOvertake(p, 'g5', 'g3')).toBe(false);
    expect(() =>
      buildPolicy({ ...referenceGraph, priorities: [...referenceGraph.priorities!, ['g4', 'g1']] }),
    ).toThrow(/cycle/);
  });

  it('requests arriving lowest first are served highest first in the reference graph', () => {
    const t = harness(referenceGraph);
    for (const g of ['g4', 'g3', 'g5', 'g2', 'g1', 'g0']) t.submit(g, g);
    expect(t.ready()).toEqual(['g0', 'g1', 'g2', 'g3', 'g5', 'g4']);
  });

  it('unrelated groups of the reference graph stay in arrival order', () => {
    const t = harness(referenceGraph);
    t.submit('g5a', 'g5');
    t.submit('g3a', 'g3'); // unrelated to g5: behind it
    t.submit('g4a', 'g4');
    t.submit('g3b', 'g3'); // overtakes g4a only
    t.submit('g5b', 'g5'); // overtakes g4a only
    expect(t.ready()).toEqual(['g5a', 'g3a', 'g3b', 'g5b', 'g4a']);
  });

  /** [RPT] G1 > {G2, G3} > G4, plus U in no hierarchy. */
  const rpt = (priorities: PolicyDecl['priorities']): PolicyDecl => ({
    groups: ['G1', 'G2', 'G3', 'G4', 'U'].map((name) => ({ name, selfCompatible: true })),
    compatible: [{ groups: ['G1', 'G2', 'G3', 'G4', 'U'] }],
    ...(priorities === undefined ? {} : { priorities }),
  });
  const oneHierarchy = rpt([['G1', ['G2', 'G3'], 'G4']]);
  const twoChains = rpt([
    ['G1', 'G2', 'G4'],
    ['G1', 'G3', 'G4'],
  ]);

  it('[RPT] one hierarchy with a set and two chains build the same priority order', () => {
    expect(buildPolicy(oneHierarchy).overtakes).toEqual(buildPolicy(twoChains).overtakes);
  });

  it('[RPT] equal-priority requests stay FIFO and a request never jumps an unrelated one without cause', () => {
    const t = harness(twoChains);
    t.submit('G3a', 'G3');
    t.submit('G2a', 'G2'); // same level as G3: stays behind it
    t.submit('Ua', 'U');
    t.submit('G1a', 'G1'); // overtakes G3a and G2a; U is unrelated and behind them anyway
    t.submit('G4a', 'G4');
    t.submit('G3b', 'G3'); // before G4a, but not before the unrelated Ua
    expect(t.ready()).toEqual(['G1a', 'G3a', 'G2a', 'Ua', 'G3b', 'G4a']);
  });

  it('[RPT] a request passes an unrelated one only when that puts it before a lower one', () => {
    const t = harness(oneHierarchy);
    t.submit('U1', 'U');
    t.submit('G4a', 'G4');
    t.submit('G2a', 'G2'); // after the unrelated U1, before the lower G4a
    expect(t.ready()).toEqual(['U1', 'G2a', 'G4a']);

    const u = harness(oneHierarchy);
    u.submit('G4a', 'G4');
    u.submit('U1', 'U');
    u.submit('G2a', 'G2'); // overtakes G4a, and so lands before U1 which arrived earlier
    expect(u.ready()).toEqual(['G2a', 'G4a', 'U1']);

    const v = harness(oneHierarchy);
    v.submit('U1', 'U');
    v.submit('G2a', 'G2'); // nothing lower: plain FIFO
    expect(v.ready()).toEqual(['U1', 'G2a']);
  });

  it('super-priority requests go before every non-super one, FIFO among themselves', () => {
    const t = harness({
      groups: [
        { name: 'hi', selfCompatible: true },
        { name: 'lo', selfCompatible: true },
        { name: 'su', selfCompatible: true, superPriority: true },
      ],
      compatible: [{ groups: ['hi', 'lo', 'su'] }],
      priorities: [['hi', 'lo']],
    });
    t.submit('lo1', 'lo');
    t.submit('hi1', 'hi');
    t.submit('su1', 'su');
    t.submit('su2', 'su');
    t.submit('hi2', 'hi');
    expect(t.ready()).toEqual(['su1', 'su2', 'hi1', 'hi2', 'lo1']);
  });

  it('without priorities the ready list is plain FIFO', () => {
    const t = harness({
      groups: [
        { name: 'a', selfCompatible: true },
        { name: 'b', selfCompatible: true },
      ],
      compatible: [{ groups: ['a', 'b'] }],
    });
    for (const [name, g] of [
      ['b1', 'b'],
      ['a1', 'a'],
      ['b2', 'b'],
    ] as const)
      t.submit(name, g);
    expect(t.ready()).toEqual(['b1', 'a1', 'b2']);
  });

  it('a released held request is placed by priority at release time', () => {
    const t = harness({
      groups: [
        { name: 'hi', selfCompatible: true },
        { name: 'lo', selfCompatible: true },
      ],
      compatible: [{ groups: ['hi', 'lo'] }],
      priorities: [['hi', 'lo']],
    });
    t.submit('hi1', 'hi', [], true);
    t.submit('lo1', 'lo');
    t.submit('lo2', 'lo');
    expect(t.ready()).toEqual(['lo1', 'lo2']);
    t.scheduler.release(t.get('hi1'));
    expect(t.ready()).toEqual(['hi1', 'lo1', 'lo2']);
  });

  it('thousands of high-priority requests queue up in order before one low-priority request', () => {
    const t = harness({
      groups: [
        { name: 'hi', selfCompatible: true },
        { name: 'lo', selfCompatible: true },
      ],
      compatible: [{ groups: ['hi', 'lo'] }],
      priorities: [['hi', 'lo']],
      poolSize: 1,
    });
    t.submit('busy', 'lo');
    t.drain();
    t.submit('low', 'lo');
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) {
      t.submit(`h${i}`, 'hi');
      expected.push(`h${i}`);
    }
    expect(t.ready()).toEqual([...expected, 'low']);
  });
});

describe('slots: soft and hard limits (SPEC §4.3, §5)', () => {
  const one = (poolSize: number, hardLimit = false): PolicyDecl => ({
    groups: [{ name: 'g', selfCompatible: true }],
    poolSize,
    hardLimit,
  });

  it('under a soft limit a request in wait-by-necessity frees its slot and a woken one waits for a free slot', () => {
    const t = harness(one(1));
    t.submit('r1', 'g');
    t.submit('r2', 'g');
    expect(t.drain()).toEqual(['start r1']);
    const before = t.host.drainRequests;
    t.scheduler.enterWait(t.get('r1'));
    expect(t.host.drainRequests).toBeGreaterThan(before);
    expect(t.drain()).toEqual(['start r2']);
    const beforeWake = t.host.drainRequests;
    t.scheduler.wake(t.get('r1'));
    expect(t.host.drainRequests).toBeGreaterThan(beforeWake);
    expect(t.drain()).toEqual([]);
    expect(t.scheduler.hasRunnable).toBe(true);
    t.scheduler.finish(t.get('r2'));
    expect(t.drain()).toEqual(['resume r1']);
  });

  it('woken requests resume in the order they began waiting, not the order they woke', () => {
    const t = harness(one(2));
    for (const name of ['r1', 'r2', 'r3', 'r4']) t.submit(name, 'g');
    expect(t.drain()).toEqual(['start r1', 'start r2']);
    t.scheduler.enterWait(t.get('r2'));
    t.scheduler.enterWait(t.get('r1'));
    expect(t.drain()).toEqual(['start r3', 'start r4']);
    t.scheduler.wake(t.get('r1'));
    t.scheduler.wake(t.get('r2'));
    t.scheduler.finish(t.get('r3'));
    t.scheduler.finish(t.get('r4'));
    expect(t.drain()).toEqual(['resume r2', 'resume r1']);
  });

  it('woken requests resume before ready requests start', () => {
    const t = harness(one(1));
    for (const name of ['r1', 'r2', 'r3']) t.submit(name, 'g');
    t.drain();
    t.scheduler.enterWait(t.get('r1'));
    expect(t.drain()).toEqual(['start r2']);
    t.scheduler.wake(t.get('r1'));
    t.scheduler.finish(t.get('r2'));
    expect(t.drain()).toEqual(['resume r1']);
    t.scheduler.finish(t.get('r1'));
    expect(t.drain()).toEqual(['start r3']);
  });

  it('a hard limit counts requests in wait-by-necessity, and a woken one resumes at once', () => {
    const t = harness(one(1, true));
    t.submit('r1', 'g');
    t.submit('r2', 'g');
    expect(t.drain()).toEqual(['start r1']);
    t.scheduler.enterWait(t.get('r1'));
    expect(t.drain()).toEqual([]);
    t.scheduler.wake(t.get('r1'));
    expect(t.drain()).toEqual(['resume r1']);
    t.scheduler.finish(t.get('r1'));
    expect(t.drain()).toEqual(['start r2']);
  });

  it('a soft limit of 1 with a self-compatible group interleaves requests at their awaits', () => {
    const t = harness(one(1));
    for (const name of ['a', 'b']) t.submit(name, 'g');
    expect(t.drain()).toEqual(['start a']);
    t.scheduler.enterWait(t.get('a'));
    expect(t.drain()).toEqual(['start b']);
    t.scheduler.wake(t.get('a'));
    t.scheduler.enterWait(t.get('b'));
    expect(t.drain()).toEqual(['resume a']);
    expect(t.scheduler.stats()).toMatchObject({ active: 1, waiting: 1 });
  });

  it('drain(budget) starts at most budget requests per call', () => {
    const t = harness(one(Number.POSITIVE_INFINITY));
    for (const name of ['r1', 'r2', 'r3']) t.submit(name, 'g');
    expect(t.drain(2)).toEqual(['start r1', 'start r2']);
    expect(t.drain(2)).toEqual(['start r3']);
  });

  const cappedA: PolicyDecl = {
    groups: [
      { name: 'a', selfCompatible: true, maxThreads: 1 },
      { name: 'b', selfCompatible: true },
    ],
    compatible: [{ groups: ['a', 'b'] }],
    poolSize: 3,
  };

  it('a request behind a group at maxThreads still starts (the capped head is skipped, not blocking)', () => {
    const t = harness(cappedA);
    t.submit('a1', 'a');
    t.submit('a2', 'a');
    t.submit('b1', 'b');
    expect(t.drain()).toEqual(['start a1', 'start b1']);
    expect(t.ready()).toEqual(['a2']);
    t.scheduler.finish(t.get('a1'));
    expect(t.drain()).toEqual(['start a2']);
  });

  it('maxThreads counts requests of the group in wait-by-necessity', () => {
    const t = harness(cappedA);
    t.submit('a1', 'a');
    t.submit('a2', 'a');
    t.drain();
    t.scheduler.enterWait(t.get('a1'));
    expect(t.drain()).toEqual([]);
  });

  it('a super-priority group ignores maxThreads and reservations', () => {
    const t = harness({
      groups: [
        { name: 's', selfCompatible: true, superPriority: true, maxThreads: 1 },
        { name: 'r', selfCompatible: true, minThreads: 1 },
      ],
      compatible: [{ groups: ['s', 'r'] }],
      poolSize: 2,
    });
    for (const name of ['s1', 's2', 's3']) t.submit(name, 's');
    expect(t.drain()).toEqual(['start s1', 'start s2']);
  });

  const reserved: PolicyDecl = {
    groups: [
      { name: 'a', selfCompatible: true, minThreads: 1 },
      { name: 'b', selfCompatible: true },
    ],
    compatible: [{ groups: ['a', 'b'] }],
    poolSize: 2,
  };

  it('minThreads keeps a slot for its group', () => {
    const t = harness(reserved);
    t.submit('b1', 'b');
    t.submit('b2', 'b');
    expect(t.drain()).toEqual(['start b1']);
    t.submit('a1', 'a');
    expect(t.drain()).toEqual(['start a1']);
    t.scheduler.finish(t.get('a1'));
    expect(t.drain()).toEqual([]); // the slot a1 freed is a's again
  });

  it('a request refused by another group reservation is skipped, not blocking the requests behind it', () => {
    const t = harness(reserved);
    t.submit('b1', 'b');
    t.drain();
    t.submit('b2', 'b');
    t.submit('a1', 'a');
    expect(t.ready()).toEqual(['b2', 'a1']);
    expect(t.drain()).toEqual(['start a1']);
  });

  it('an ungrouped request respects every reservation', () => {
    const t = harness({ ...reserved, poolSize: 1 }); // raised to 2: the reservation + 1
    expect(t.policy.poolSize).toBe(2);
    t.submit('u', undefined);
    expect(t.drain()).toEqual(['start u']); // 2 free > 1 reserved
    t.scheduler.finish(t.get('u'));
    t.scheduler.setLimit(1);
    t.submit('u2', undefined);
    expect(t.drain()).toEqual([]); // 1 free, 1 reserved for a
  });
});

describe('woken requests go first, even within one drain', () => {
  it('a request woken by a start resumes before the next ready request starts', () => {
    const t = harness({ groups: [{ name: 'w', selfCompatible: true }], poolSize: 1 });
    t.submit('a', 'w');
    expect(t.drain()).toEqual(['start a']);
    t.scheduler.enterWait(t.get('a')); // a waits by necessity: its slot is free
    t.submit('b', 'w');
    t.submit('c', 'w');
    // b's service wakes a (the value a waits for arrives) and ends at once.
    t.host.start = (r: Req) => {
      const n = t.log.push(`start ${r.name}`);
      if (r.name === 'b') {
        t.scheduler.wake(t.get('a'));
        t.scheduler.finish(r);
      }
      return n;
    };
    expect(t.drain()).toEqual(['start b', 'resume a']);
    t.scheduler.finish(t.get('a'));
    expect(t.drain()).toEqual(['start c']);
  });
});

describe('limits changed at run time (SPEC §5)', () => {
  const pool = (poolSize: number, hardLimit = false): PolicyDecl => ({
    groups: [{ name: 'g', selfCompatible: true }],
    poolSize,
    hardLimit,
  });

  it('setLimit wakes the scheduler and takes effect, without stopping requests in service', () => {
    const t = harness(pool(1));
    for (const name of ['r1', 'r2', 'r3', 'r4']) t.submit(name, 'g');
    expect(t.drain()).toEqual(['start r1']);
    const before = t.host.drainRequests;
    t.scheduler.setLimit(3);
    expect(t.host.drainRequests).toBe(before + 1);
    expect(t.scheduler.limit).toBe(3);
    expect(t.drain()).toEqual(['start r2', 'start r3']);
    t.scheduler.setLimit(1);
    t.scheduler.finish(t.get('r1'));
    expect(t.drain()).toEqual([]); // two still active, limit 1
    t.scheduler.finish(t.get('r2'));
    t.scheduler.finish(t.get('r3'));
    expect(t.drain()).toEqual(['start r4']);
  });

  it('setHardLimit wakes the scheduler and switches what counts against the limit', () => {
    const t = harness(pool(1, true));
    t.submit('r1', 'g');
    t.submit('r2', 'g');
    t.drain();
    t.scheduler.enterWait(t.get('r1'));
    expect(t.drain()).toEqual([]);
    const before = t.host.drainRequests;
    t.scheduler.setHardLimit(false);
    expect(t.host.drainRequests).toBe(before + 1);
    expect(t.scheduler.hardLimit).toBe(false);
    expect(t.drain()).toEqual(['start r2']);
    t.scheduler.setHardLimit(true);
    t.scheduler.wake(t.get('r1'));
    expect(t.drain()).toEqual(['resume r1']); // hard: it holds its slot already
    expect(t.scheduler.stats()).toMatchObject({ active: 2, waiting: 0, hardLimit: true });
  });
});

describe('held requests', () => {
  const writerFirst: PolicyDecl = {
    groups: [{ name: 'read', selfCompatible: true }, { name: 'write' }],
  };

  it('a held request keeps its admission position but starts only after release', () => {
    const t = harness(writerFirst);
    t.submit('w', 'write', [], true);
    t.submit('r', 'read');
    expect(t.scheduler.stats()).toMatchObject({ held: 1, ready: 0, queued: 1 });
    expect(t.queued()).toEqual(['r']); // blocked by the held writer
    expect(t.drain()).toEqual([]);
    t.scheduler.release(t.get('w'));
    expect(t.drain()).toEqual(['start w']);
    t.scheduler.finish(t.get('w'));
    expect(t.drain()).toEqual(['start r']);
  });

  it('a request released while still queued is ready as soon as it is admitted', () => {
    const t = harness(writerFirst);
    t.submit('r', 'read');
    t.drain();
    t.submit('w', 'write', [], true);
    t.scheduler.release(t.get('w'));
    expect(t.queued()).toEqual(['w']);
    t.scheduler.finish(t.get('r'));
    expect(t.ready()).toEqual(['w']);
  });
});

describe('cancel', () => {
  it('cancelling a queued request unblocks the requests behind it', () => {
    const t = harness(readWrite);
    t.submit('r1', 'read');
    t.drain();
    t.submit('w', 'write');
    t.submit('r2', 'read');
    expect(t.scheduler.cancel(t.get('w'))).toBe(true);
    expect(t.queued()).toEqual([]);
    expect(t.ready()).toEqual(['r2']);
  });

  it('cancelling a ready or held request lets incompatible requests in', () => {
    const t = harness(readWrite);
    t.submit('w1', 'write');
    t.submit('r1', 'read');
    expect(t.scheduler.cancel(t.get('w1'))).toBe(true);
    expect(t.ready()).toEqual(['r1']);

    const u = harness(readWrite);
    u.submit('w1', 'write', [], true);
    u.submit('r1', 'read');
    expect(u.scheduler.cancel(u.get('w1'))).toBe(true);
    expect(u.ready()).toEqual(['r1']);
    expect(u.scheduler.stats().held).toBe(0);
  });

  it('a request that has started or ended cannot be cancelled', () => {
    const t = harness(readWrite);
    t.submit('w1', 'write');
    t.drain();
    expect(t.scheduler.cancel(t.get('w1'))).toBe(false);
    t.scheduler.finish(t.get('w1'));
    expect(t.scheduler.cancel(t.get('w1'))).toBe(false);
  });
});

describe('OrderList', () => {
  /** A node whose label writes are counted: the work of the relabelling. */
  function countingNode(counter: { writes: number }): OrderNode {
    let label = 0;
    const node = { oPrev: null, oNext: null } as unknown as OrderNode;
    Object.defineProperty(node, 'label', {
      get: () => label,
      set: (value: number) => {
        label = value;
        counter.writes++;
      },
    });
    return node;
  }

  function labelsIncrease(list: OrderList): { count: number; increasing: boolean } {
    let count = 0;
    let increasing = true;
    let prev: OrderNode | null = null;
    for (let n = list.first; n !== null; prev = n, n = n.oNext) {
      count++;
      if (n.oPrev !== prev || (prev !== null && !(prev.label < n.label))) increasing = false;
      if (!Number.isSafeInteger(n.label)) increasing = false;
    }
    if (list.last !== prev) increasing = false;
    return { count, increasing };
  }

  /** Insert n nodes, each before `spot(list, a, b)`, after two initial nodes a, b. */
  function adversary(n: number, spot: (list: OrderList, a: OrderNode, b: OrderNode) => OrderNode | null) {
    const counter = { writes: 0 };
    const list = new OrderList();
    const a = countingNode(counter);
    const b = countingNode(counter);
    list.insertBefore(null, a);
    list.insertBefore(null, b);
    for (let i = 0; i < n; i++) list.insertBefore(spot(list, a, b), countingNode(counter));
    return { list, writes: counter.writes, ...labelsIncrease(list) };
  }

  const nLogN = (n: number) => n * Math.log2(n);

  it('100 000 insertions at the same spot keep labels strictly increasing with O(n log n) relabelling', () => {
    const n = 100_000;
    // Each new node goes just before the last one (many high-priority requests before one low).
    const result = adversary(n, (_list, _a, b) => b);
    expect(result).toMatchObject({ count: n + 2, increasing: true });
    expect(result.list.relabels).toBeLessThan(n);
    expect(result.writes).toBeLessThan(2 * nLogN(n));
  });

  it('insertions at the front and right after the first node keep labels increasing with O(n log n) work', () => {
    const n = 50_000;
    for (const spot of [
      (list: OrderList) => list.first,
      (_list: OrderList, a: OrderNode) => a.oNext,
      (list: OrderList) => list.last,
    ]) {
      const result = adversary(n, spot);
      expect(result).toMatchObject({ count: n + 2, increasing: true });
      expect(result.writes).toBeLessThan(2 * nLogN(n));
    }
  });

  it('random insertions and removals keep the list linked and ordered', () => {
    const counter = { writes: 0 };
    const list = new OrderList();
    const live: OrderNode[] = [];
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 20_000; i++) {
      if (live.length > 0 && random() < 0.3) {
        const [node] = live.splice(Math.floor(random() * live.length), 1);
        list.remove(node!);
        expect(node!.oPrev).toBeNull();
      } else {
        const node = countingNode(counter);
        list.insertBefore(random() < 0.2 ? null : (live[Math.floor(random() * live.length)] ?? null), node);
        live.push(node);
      }
    }
    expect(labelsIncrease(list)).toEqual({ count: live.length, increasing: true });
  });
});
