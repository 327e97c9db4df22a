/**
 * Unit tests for `explainWait` (scheduler/explain.ts, SPEC §10): why one request of an object
 * waits, as the scheduler decides it. One rule at a time, with the exact text and the exact
 * blockers, driven by hand like scheduler.test.ts (the test plays the runtime; no timers).
 *
 * The wait-for graph relies on three things checked here: a queued request lists every
 * request that blocks its admission and nothing it is compatible with (an AND wait,
 * `any: false`); a ready or woken request lists the holders of the slots it needs (an OR wait,
 * `any: true`); a request that is about to start lists nothing.
 */
import { describe, expect, it } from 'vitest';
import { explainWait, MAX_BLOCKERS } from '../../scheduler/explain.js';
import type { Condition, Policy } from '../../scheduler/policy.js';
import { RequestState, SchedRequest, Scheduler, type SchedulerHost } from '../../scheduler/scheduler.js';
import { buildPolicy, type PolicyDecl } from './policy-builder.js';

class Req extends SchedRequest {
  readonly name: string;
  constructor(name: string, groupId: number, group: string | undefined, args: unknown[]) {
    super(groupId, group, group ?? 'solo', args);
    this.name = name;
  }
}

const TARGET = { name: 'the active object' };
const LIVE: readonly RequestState[] = [
  RequestState.Queued,
  RequestState.Held,
  RequestState.Ready,
  RequestState.Active,
  RequestState.Waiting,
  RequestState.Woken,
];

/** A scheduler with a recording host, plus `explain(name)` in a readable shape. */
function harness(decl: PolicyDecl | Policy) {
  const policy = 'groupCount' in decl ? decl : buildPolicy(decl);
  const log: string[] = [];
  const host: SchedulerHost<Req> = {
    start: (r) => log.push(`start ${r.name}`),
    resume: (r) => log.push(`resume ${r.name}`),
    requestDrain() {},
  };
  const scheduler = new Scheduler<Req>(policy, host, TARGET);
  const all: Req[] = [];
  const byName = new Map<string, Req>();

  function submit(name: string, group: string | undefined, args: unknown[] = [], held = false): Req {
    const g = group === undefined ? policy.groupCount : policy.groupNames.indexOf(group);
    if (g < 0) throw new Error(`no group ${group}`);
    const r = new Req(name, g, group, args);
    r.held = held;
    all.push(r);
    byName.set(name, r);
    scheduler.submit(r);
    return r;
  }
  const get = (name: string): Req => {
    const r = byName.get(name);
    if (r === undefined) throw new Error(`no request ${name}`);
    return r;
  };
  /** The requests in flight, newest first (the order `ActiveObject.inFlightRequests` gives). */
  const inFlight = (): Req[] => all.filter((r) => LIVE.includes(r.state)).reverse();

  function explainRaw(name: string) {
    return explainWait(scheduler, get(name), inFlight(), TARGET);
  }
  /** `{ any, truncated, blockers: ['name rule: why', ...] }` */
  function explain(name: string) {
    const e = explainRaw(name);
    return {
      any: e.any,
      truncated: e.truncated,
      blockers: e.blockers.map((b) => `${b.request.name} ${b.rule}: ${b.why}`),
    };
  }
  /** Just the blockers' names and rules: `['w1 incompatible', ...]`. */
  const blockers = (name: string): string[] =>
    explainRaw(name).blockers.map((b) => `${b.request.name} ${b.rule}`);
  /** Submit and start at once (drain, and check it did start). */
  function run(name: string, group: string | undefined, args: unknown[] = []): Req {
    const r = submit(name, group, args);
    scheduler.drain();
    expect(r.state, `${name} should have started`).toBe(RequestState.Active);
    return r;
  }
  const state = (name: string) => get(name).state;
  return { policy, scheduler, log, submit, run, get, explain, explainRaw, blockers, state, inFlight };
}

const NOTHING = { any: false, truncated: false, blockers: [] };

const readWrite: PolicyDecl = {
  groups: [{ name: 'read', selfCompatible: true }, { name: 'write' }],
};

// ------------------------------------------------------------------------ admission

describe('a queued request waits for every incompatible dispatched request (AND wait)', () => {
  it('group level: a writer waits for the running readers, and names each one', () => {
    const t = harness(readWrite);
    t.run('r1', 'read');
    t.run('r2', 'read');
    t.submit('w', 'write');
    expect(t.state('w')).toBe(RequestState.Queued);
    expect(t.explain('w')).toEqual({
      any: false,
      truncated: false,
      blockers: [
        'r1 incompatible: group `write` is not compatible with group `read`',
        'r2 incompatible: group `write` is not compatible with group `read`',
      ],
    });
  });

  it('a self-incompatible group: the second writer waits for the first', () => {
    const t = harness(readWrite);
    t.run('w1', 'write');
    t.submit('w2', 'write');
    expect(t.explain('w2')).toEqual({
      any: false,
      truncated: false,
      blockers: ['w1 incompatible: group `write` is not compatible with itself'],
    });
  });

  it('an ungrouped request blocks a grouped one, and a grouped one blocks an ungrouped one', () => {
    const t = harness(readWrite);
    t.run('u1', undefined);
    t.submit('r', 'read');
    expect(t.explain('r').blockers).toEqual([
      'u1 incompatible: an ungrouped request is compatible with nothing',
    ]);

    const s = harness(readWrite);
    s.run('r1', 'read');
    s.submit('u', undefined);
    expect(s.explain('u').blockers).toEqual([
      'r1 incompatible: an ungrouped request is compatible with nothing',
    ]);

    // Two ungrouped requests: also the group-less branch, not "not compatible with itself".
    const c = harness({ groups: [] });
    c.run('a', undefined);
    c.submit('b', undefined);
    expect(c.explain('b').blockers).toEqual([
      'a incompatible: an ungrouped request is compatible with nothing',
    ]);
  });

  it('dispatched includes held, ready and waiting requests, not only running ones', () => {
    const t = harness({ ...readWrite, poolSize: 1 });
    t.run('r1', 'read');
    t.scheduler.enterWait(t.get('r1')); // in WBN: still dispatched
    t.run('r2', 'read');
    t.submit('r3', 'read'); // ready: the only slot is taken
    t.submit('r4', 'read', [], true); // held: admitted, waiting for a future argument
    expect([t.state('r3'), t.state('r4')]).toEqual([RequestState.Ready, RequestState.Held]);
    t.submit('w', 'write');
    expect(t.blockers('w')).toEqual([
      'r1 incompatible',
      'r2 incompatible',
      'r3 incompatible',
      'r4 incompatible',
    ]);
  });

  it('compatible requests are not listed, in either state', () => {
    const t = harness(readWrite);
    t.run('r1', 'read');
    t.run('r2', 'read');
    t.submit('w', 'write');
    t.submit('r3', 'read'); // behind the writer: blocked by it only
    expect(t.explain('r3')).toEqual({
      any: false,
      truncated: false,
      blockers: [
        'w queued-ahead: it is queued ahead, and group `read` is not compatible with group `write` (a request never overtakes an incompatible one)',
      ],
    });
  });

  it('requests queued behind it never block it, even incompatible ones', () => {
    const t = harness(readWrite);
    t.run('w1', 'write');
    t.submit('w2', 'write');
    t.submit('w3', 'write');
    expect(t.blockers('w2')).toEqual(['w1 incompatible']);
    expect(t.blockers('w3')).toEqual(['w1 incompatible', 'w2 queued-ahead']);
  });

  it('asymmetric compatibility is read from the waiting request’s side', () => {
    // `check` may be admitted beside `work`, not the reverse (the checkpoint kind of rule).
    const t = harness({
      groups: [{ name: 'work', selfCompatible: true }, { name: 'check' }],
      oneWay: [['check', 'work']],
    });
    t.run('k1', 'work');
    t.run('c', 'check'); // compatible with the running k1 from its own side
    t.submit('k2', 'work');
    expect(t.explain('k2').blockers).toEqual([
      'c incompatible: group `work` is not compatible with group `check`',
    ]);
    // k1 (work) is compatible with k2 (work): not listed.
    expect(t.blockers('k2')).toEqual(['c incompatible']);

    // The other way round nothing blocks `check`: it is admitted at once, no explanation.
    const s = harness({
      groups: [{ name: 'work', selfCompatible: true }, { name: 'check' }],
      oneWay: [['check', 'work']],
    });
    s.run('k1', 'work');
    s.submit('c', 'check');
    expect(s.state('c')).toBe(RequestState.Ready);
  });

  it('a request admitted after it (it overtook it) still blocks it', () => {
    const t = harness({
      groups: [
        { name: 'work', selfCompatible: true },
        { name: 'check', selfCompatible: true },
      ],
      oneWay: [['check', 'work']],
    });
    t.run('c1', 'check');
    t.submit('k1', 'work'); // queued: work is not compatible with check
    t.submit('c2', 'check'); // compatible with c1 and with the queued k1: overtakes it
    expect(t.state('c2')).toBe(RequestState.Ready);
    expect(t.blockers('k1')).toEqual(['c1 incompatible', 'c2 incompatible']);
  });

  it('a false compatibility condition is named as such, a true one is not listed', () => {
    const differentKey: Condition = (a, b) => a.args[0] !== b.args[0];
    const t = harness({ groups: [{ name: 'acct', selfCompatible: true, condition: differentKey }] });
    t.run('a1', 'acct', [1]);
    t.run('a2', 'acct', [2]);
    t.submit('a3', 'acct', [1]);
    expect(t.explain('a3')).toEqual({
      any: false,
      truncated: false,
      blockers: [
        'a1 condition: the compatibility condition of group `acct` with group `acct` is false for these two requests',
      ],
    });
  });

  it('a condition between two groups, and one that throws (counted as false)', () => {
    const sameParity: Condition = (a, b) => {
      if (a.args[0] === 99) throw new Error('boom');
      return (Number(a.args[0]) + Number(b.args[0])) % 2 === 0;
    };
    const t = harness({
      groups: [{ name: 'x' }, { name: 'y' }],
      compatible: [{ groups: ['x', 'y'], condition: sameParity }],
    });
    t.run('x1', 'x', [1]);
    t.submit('y1', 'y', [2]);
    expect(t.explain('y1').blockers).toEqual([
      'x1 condition: the compatibility condition of group `y` with group `x` is false for these two requests',
    ]);
    const s = harness({
      groups: [{ name: 'x' }, { name: 'y' }],
      compatible: [{ groups: ['x', 'y'], condition: sameParity }],
    });
    s.run('x1', 'x', [1]);
    s.submit('y1', 'y', [99]);
    expect(s.blockers('y1')).toEqual(['x1 condition']);
  });

  it('a false condition with a request queued ahead is a queued-ahead wait, in words', () => {
    const differentKey: Condition = (a, b) => a.args[0] !== b.args[0];
    const t = harness({ groups: [{ name: 'acct', selfCompatible: true, condition: differentKey }] });
    t.run('a1', 'acct', [1]);
    t.submit('a2', 'acct', [1]); // queued: same key as a1
    t.submit('a3', 'acct', [1]); // same key as a1 and as a2, which is ahead of it
    expect(t.explain('a3').blockers).toEqual([
      'a1 condition: the compatibility condition of group `acct` with group `acct` is false for these two requests',
      'a2 queued-ahead: it is queued ahead, and the compatibility condition of group `acct` with group `acct` is false for these two requests (a request never overtakes an incompatible one)',
    ]);
    t.submit('a4', 'acct', [2]); // a different key: compatible with all, admitted
    expect(t.state('a4')).toBe(RequestState.Ready);
  });

  it('blockers come oldest first whatever the order of the in-flight list', () => {
    const t = harness(readWrite);
    t.run('r1', 'read');
    t.run('r2', 'read');
    t.submit('w1', 'write');
    t.submit('w2', 'write');
    const w2 = t.get('w2');
    const forward = explainWait(t.scheduler, w2, [...t.inFlight()].reverse(), TARGET);
    const backward = explainWait(t.scheduler, w2, t.inFlight(), TARGET);
    expect(forward.blockers.map((b) => b.request.name)).toEqual(['r1', 'r2', 'w1']);
    expect(backward.blockers.map((b) => b.request.name)).toEqual(['r1', 'r2', 'w1']);
  });

  it('finished and cancelled requests in the list are ignored', () => {
    const t = harness(readWrite);
    const r1 = t.run('r1', 'read');
    t.submit('w1', 'write');
    t.submit('w2', 'write');
    t.scheduler.cancel(t.get('w1'));
    t.scheduler.finish(r1);
    t.scheduler.drain(); // w2 runs
    t.submit('w3', 'write');
    const everything = [t.get('r1'), t.get('w1'), t.get('w2'), t.get('w3')];
    expect(
      explainWait(t.scheduler, t.get('w3'), everything, TARGET).blockers.map((b) => b.request.name),
    ).toEqual(['w2']);
  });
});

// ------------------------------------------------------------------------ slots

describe('a ready request waits for the holders of the slots it needs (OR wait)', () => {
  const soft2: PolicyDecl = { groups: [{ name: 'work', selfCompatible: true }], poolSize: 2 };

  it('soft limit: the active requests hold the slots; requests in WBN do not', () => {
    const t = harness(soft2);
    t.run('a', 'work');
    t.run('b', 'work');
    t.submit('c', 'work');
    expect(t.state('c')).toBe(RequestState.Ready);
    expect(t.explain('c')).toEqual({
      any: true,
      truncated: false,
      blockers: [
        'a limit: it holds one of the 2 slots, all taken (limit 2: requests awaiting a future give their slot back)',
        'b limit: it holds one of the 2 slots, all taken (limit 2: requests awaiting a future give their slot back)',
      ],
    });
    // `a` awaits a future: it gives its slot back; `c` has a free slot: about to start.
    t.scheduler.enterWait(t.get('a'));
    expect(t.explain('c')).toEqual(NOTHING);
    t.scheduler.drain();
    expect(t.state('c')).toBe(RequestState.Active);
    // Now b and c hold the slots; a (in WBN) does not.
    t.submit('d', 'work');
    expect(t.blockers('d')).toEqual(['b limit', 'c limit']);
  });

  it('soft limit: a woken request waits for a slot like a ready one', () => {
    const t = harness(soft2);
    t.run('a', 'work');
    t.scheduler.enterWait(t.get('a'));
    t.run('b', 'work');
    t.run('c', 'work');
    t.scheduler.wake(t.get('a')); // its value arrived, but both slots are taken
    expect(t.state('a')).toBe(RequestState.Woken);
    expect(t.explain('a')).toEqual({
      any: true,
      truncated: false,
      blockers: [
        'b limit: it holds one of the 2 slots, all taken (limit 2: requests awaiting a future give their slot back)',
        'c limit: it holds one of the 2 slots, all taken (limit 2: requests awaiting a future give their slot back)',
      ],
    });
    t.scheduler.finish(t.get('b'));
    expect(t.explain('a')).toEqual(NOTHING); // a slot is free: it resumes first
    t.scheduler.drain();
    expect(t.log.at(-1)).toBe('resume a');
  });

  it('hard limit: every request in service holds a slot, in WBN or woken too', () => {
    const t = harness({ ...soft2, hardLimit: true });
    t.run('a', 'work');
    t.scheduler.enterWait(t.get('a'));
    t.run('b', 'work');
    t.submit('c', 'work');
    const why =
      'it holds one of the 2 slots, all taken (hard limit 2: a request awaiting a future keeps its slot)';
    expect(t.explain('c')).toEqual({
      any: true,
      truncated: false,
      blockers: [`a limit: ${why}`, `b limit: ${why}`],
    });
    // A woken request under a hard limit kept its slot: it waits for nothing, and still holds.
    t.scheduler.wake(t.get('a'));
    expect(t.explain('a')).toEqual(NOTHING);
    expect(t.blockers('c')).toEqual(['a limit', 'b limit']);
    // Waiting (not woken) under a hard limit: also nothing to explain (the runtime's awaits).
    t.scheduler.drain();
    t.scheduler.enterWait(t.get('a'));
    expect(t.explain('a')).toEqual(NOTHING);
  });

  it('maxThreads: the requests of its group in service hold it back, WBN included', () => {
    const t = harness({
      groups: [
        { name: 'io', selfCompatible: true, maxThreads: 2 },
        { name: 'cpu', selfCompatible: true },
      ],
      compatible: [{ groups: ['io', 'cpu'] }],
    });
    t.run('i1', 'io');
    t.run('i2', 'io');
    t.run('c1', 'cpu'); // another group: never a max-threads blocker
    t.scheduler.enterWait(t.get('i1')); // WBN still counts against maxThreads
    t.submit('i3', 'io');
    expect(t.state('i3')).toBe(RequestState.Ready);
    const why = 'group `io` is capped at maxThreads 2, and it is one of them';
    expect(t.explain('i3')).toEqual({
      any: true,
      truncated: false,
      blockers: [`i1 max-threads: ${why}`, `i2 max-threads: ${why}`],
    });
    // A request of another group is not held back by io's cap.
    t.submit('c2', 'cpu');
    expect(t.explain('c2')).toEqual(NOTHING);
    t.scheduler.drain();
    expect(t.state('c2')).toBe(RequestState.Active);
    expect(t.state('i3')).toBe(RequestState.Ready);
  });

  it('reservations: the free slot is kept for another group; the slot holders are listed', () => {
    const t = harness({
      groups: [
        { name: 'urgent', selfCompatible: true, minThreads: 1 },
        { name: 'bulk', selfCompatible: true },
      ],
      compatible: [{ groups: ['urgent', 'bulk'] }],
      poolSize: 2,
    });
    t.run('b1', 'bulk');
    t.submit('b2', 'bulk');
    expect(t.state('b2')).toBe(RequestState.Ready);
    expect(t.explain('b2')).toEqual({
      any: true,
      truncated: false,
      blockers: [
        'b1 reservation: it holds a slot, and the free ones are reserved for group `urgent` (minThreads)',
      ],
    });
    // The reserved group itself may take its slot: nothing blocks it.
    t.submit('u1', 'urgent');
    expect(t.explain('u1')).toEqual(NOTHING);
    t.scheduler.drain();
    expect(t.state('u1')).toBe(RequestState.Active);
    // Now every slot is taken: b2 waits by `limit`, both holders listed.
    expect(t.blockers('b2')).toEqual(['b1 limit', 'u1 limit']);
  });

  it('reservations of several groups are named together; an ungrouped request honours them', () => {
    const t = harness({
      groups: [
        { name: 'a', selfCompatible: true, minThreads: 1 },
        { name: 'c', selfCompatible: true, minThreads: 1 },
        { name: 'b', selfCompatible: true },
      ],
      compatible: [{ groups: ['a', 'b', 'c'] }],
      poolSize: 3,
    });
    t.run('b1', 'b');
    t.submit('b2', 'b');
    expect(t.explain('b2').blockers).toEqual([
      'b1 reservation: it holds a slot, and the free ones are reserved for groups `a`, `c` (minThreads)',
    ]);

    const s = harness({ groups: [{ name: 'a', selfCompatible: true, minThreads: 1 }], poolSize: 2 });
    s.run('a1', 'a'); // uses a's reservation: the remaining slot is free for anyone
    s.submit('u', undefined, [], false); // ungrouped: queued behind a1 (compatible with nothing)
    expect(s.blockers('u')).toEqual(['a1 incompatible']);
    s.scheduler.finish(s.get('a1'));
    // u is ready now; a's reservation is unused again and takes one of the two free slots:
    // one slot is left for u, so it is about to start.
    expect(s.state('u')).toBe(RequestState.Ready);
    expect(s.explain('u')).toEqual(NOTHING);
  });

  it('an ungrouped ready request is held back by a reservation it cannot use', () => {
    const t = harness({
      groups: [
        { name: 'a', selfCompatible: true, minThreads: 1 },
        { name: 'b', selfCompatible: true },
      ],
      compatible: [{ groups: ['a', 'b'] }],
      poolSize: 2,
    });
    // Nothing runs, yet it may not start: the only slot (after lowering the limit) is
    // reserved for `a`. An OR wait with no holder to name: it waits for the limit or for
    // `a` requests, not for any request in flight (so it is no part of a deadlock).
    t.submit('u', undefined);
    expect(t.state('u')).toBe(RequestState.Ready);
    t.scheduler.setLimit(1); // the one slot is reserved for `a`
    expect(t.explain('u')).toEqual({ any: true, truncated: false, blockers: [] });
    t.scheduler.drain();
    expect(t.state('u')).toBe(RequestState.Ready);
  });

  it('a reserved group below its minThreads counts its own reservation as usable', () => {
    const t = harness({
      groups: [
        { name: 'a', selfCompatible: true, minThreads: 2 },
        { name: 'b', selfCompatible: true },
      ],
      compatible: [{ groups: ['a', 'b'] }],
      poolSize: 3,
    });
    t.run('b1', 'b');
    // 2 free slots, both reserved for a: a1 may take one of them (its own reservation).
    t.submit('a1', 'a');
    expect(t.explain('a1')).toEqual(NOTHING);
    t.submit('b2', 'b');
    expect(t.blockers('b2')).toEqual(['b1 reservation']);
  });

  it('super priority ignores maxThreads and borrows reservations: nothing to wait for', () => {
    const t = harness({
      groups: [
        { name: 'sup', selfCompatible: true, superPriority: true, maxThreads: 1 },
        { name: 'res', selfCompatible: true, minThreads: 1 },
      ],
      compatible: [{ groups: ['sup', 'res'] }],
      poolSize: 3,
    });
    t.run('s1', 'sup');
    t.submit('s2', 'sup'); // over maxThreads 1, and the one other free slot is reserved
    t.submit('s3', 'sup');
    expect(t.state('s2')).toBe(RequestState.Ready);
    expect(t.explain('s2')).toEqual(NOTHING);
    t.scheduler.drain(); // s2 takes the second slot, s3 borrows the reserved one
    expect([t.state('s2'), t.state('s3')]).toEqual([RequestState.Active, RequestState.Active]);
    // But not the limit: with all slots taken even a super-priority request waits.
    t.submit('s4', 'sup');
    expect(t.blockers('s4')).toEqual(['s1 limit', 's2 limit', 's3 limit']);
  });

  it('a free slot and no cap: a ready request is about to start, nothing to wait for', () => {
    const t = harness(soft2);
    t.submit('a', 'work');
    expect(t.state('a')).toBe(RequestState.Ready);
    expect(t.explain('a')).toEqual(NOTHING);
  });

  it('requests that wait on futures or run are not explained here (the runtime’s part)', () => {
    const t = harness(soft2);
    t.submit('h', 'work', [], true); // held for a future argument
    t.run('a', 'work');
    t.run('b', 'work');
    t.scheduler.enterWait(t.get('b'));
    expect(t.explain('h')).toEqual(NOTHING);
    expect(t.explain('a')).toEqual(NOTHING);
    expect(t.explain('b')).toEqual(NOTHING);
  });
});

// ------------------------------------------------------------------------ the cap

describe('blocker lists are capped at MAX_BLOCKERS', () => {
  it(`an admission wait lists ${MAX_BLOCKERS} blockers, then sets truncated`, () => {
    for (const readers of [MAX_BLOCKERS, MAX_BLOCKERS + 1]) {
      const t = harness(readWrite);
      for (let i = 0; i < readers; i++) t.run(`r${i}`, 'read');
      t.submit('w', 'write');
      const e = t.explainRaw('w');
      expect(e.blockers).toHaveLength(MAX_BLOCKERS);
      expect(e.truncated, `${readers} readers`).toBe(readers > MAX_BLOCKERS);
      expect(e.any).toBe(false);
    }
  });

  it(`a slot wait lists ${MAX_BLOCKERS} holders, then sets truncated`, () => {
    for (const holders of [MAX_BLOCKERS, MAX_BLOCKERS + 1]) {
      const t = harness({ groups: [{ name: 'work', selfCompatible: true }], poolSize: holders });
      for (let i = 0; i < holders; i++) t.run(`a${i}`, 'work');
      t.submit('x', 'work');
      const e = t.explainRaw('x');
      expect(e.blockers).toHaveLength(MAX_BLOCKERS);
      expect(e.truncated, `${holders} holders`).toBe(holders > MAX_BLOCKERS);
      expect(e.any).toBe(true);
    }
  });
});

// ------------------------------------------------------------------------ the OR contract

/**
 * An OR wait promises: any one listed holder leaving lets the request move on (the deadlock
 * reduction frees it as soon as one holder can move on). Checked by finishing each holder
 * alone on a fresh copy of the same history.
 */
function eachHolderAloneFreesIt(build: () => ReturnType<typeof harness>, waiter: string): void {
  const names = build()
    .blockers(waiter)
    .map((b) => b.split(' ')[0]!);
  expect(names.length).toBeGreaterThan(0);
  for (const holder of names) {
    const t = build();
    t.scheduler.finish(t.get(holder));
    expect(t.explain(waiter), `${holder} left`).toEqual(NOTHING);
  }
}

describe('an OR wait: any one holder leaving lets the request start', () => {
  it('all slots taken, nothing else refusing it: holds', () => {
    eachHolderAloneFreesIt(() => {
      const t = harness({ groups: [{ name: 'work', selfCompatible: true }], poolSize: 2 });
      t.run('a', 'work');
      t.run('b', 'work');
      t.submit('c', 'work');
      return t;
    }, 'c');
  });

  // A request refused by two slot rules at once (here `limit` and `max-threads`) needs one
  // holder of each: `other` leaving frees a slot, but `j1` (in WBN) keeps the group at its cap.
  it('limit and maxThreads at once: one holder from each clause', () => {
    const t = harness({
      groups: [
        { name: 'job', selfCompatible: true, maxThreads: 1 },
        { name: 'io', selfCompatible: true },
      ],
      compatible: [{ groups: ['job', 'io'] }],
      poolSize: 1,
    });
    t.run('j1', 'job');
    t.scheduler.enterWait(t.get('j1')); // soft limit: gives its slot back, still in service
    t.run('other', 'io');
    t.submit('j2', 'job');
    expect(t.blockers('j2')).toEqual(['other limit']);
    const also = t.explainRaw('j2').also;
    expect(also?.blockers.map((b) => `${b.request.name} ${b.rule}`)).toEqual(['j1 max-threads']);
    t.scheduler.finish(t.get('other'));
    expect(t.blockers('j2')).toEqual(['j1 max-threads']); // the slot is free now, the cap remains
  });

  // Under `reservation`, a holder of a group still within its minThreads does not help: its
  // leaving frees a slot and reserves it again at once. Only `b1` is listed.
  it('reservation: holders of a group within its minThreads are not listed', () => {
    eachHolderAloneFreesIt(() => {
      const t = harness({
        groups: [
          { name: 'urgent', selfCompatible: true, minThreads: 2 },
          { name: 'bulk', selfCompatible: true },
        ],
        compatible: [{ groups: ['urgent', 'bulk'] }],
        poolSize: 3,
      });
      t.run('u1', 'urgent'); // urgent: one of its 2 reserved slots used
      t.run('b1', 'bulk');
      t.submit('b2', 'bulk'); // the free slot is urgent's
      expect(t.blockers('b2')).toEqual(['b1 reservation']);
      return t;
    }, 'b2');
  });
});
