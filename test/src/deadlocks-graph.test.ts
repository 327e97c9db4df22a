/**
 * The wait-for graph's reduction and cycle search (src/waits.ts, SPEC §10) through the public
 * API, on one thread: OR waits (slots: any one holder leaving will do) against AND waits
 * (admission, awaits: every one must go), several deadlocks at once, the requests stuck on a
 * cycle, and the edges the runtime adds for futures (`awaits`, `argument`, pipelining).
 *
 * Each test builds a state with microtasks only and reaches it with `settle()`; requests
 * that "can finish" await a gate (a native promise: a computation the graph does not know,
 * assumed to end), so nothing here depends on time.
 */
import {
  type Active,
  Compatible,
  configureDeadlocks,
  type Deadlock,
  findDeadlocks,
  Group,
  MemberOf,
  newActive,
  selfRef,
  shutdown,
  ThreadConfig,
  type WaitingRequest,
  waitGraph,
} from 'multiactive';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { gate, settle } from '../support/trace.js';

beforeAll(() => {
  configureDeadlocks({ trackAwaits: true });
});

afterEach(async () => {
  await shutdown({ immediate: true });
});

/** Opened by a test to let the requests awaiting it finish (a fresh one per test). */
let released = gate();
beforeEach(() => {
  released = gate();
});

// ------------------------------------------------------------------------ classes

/** Hard limit 2: a request awaiting a future keeps its slot. */
@Group('work', { selfCompatible: true })
@ThreadConfig({ threadPoolSize: 2, hardLimit: true })
class TwoSlots {
  /** Awaits a call on itself: the call needs a slot of this object. */
  @MemberOf('work') async outer(): Promise<number> {
    return 1 + (await selfRef<TwoSlots>(this).inner());
  }
  @MemberOf('work') inner(): number {
    return 1;
  }
  /** Holds a slot until the test opens the gate (I/O, as far as the graph knows). */
  @MemberOf('work') async hold(): Promise<string> {
    await released.promise;
    return 'held';
  }
}

@Group('read', { selfCompatible: true })
@Group('write')
class Ledger {
  balance = 0;
  @MemberOf('read') async audit(): Promise<number> {
    await selfRef<Ledger>(this).deposit(0); // write is not compatible with read: never admitted
    return this.balance;
  }
  @MemberOf('read') async hold(): Promise<string> {
    await released.promise;
    return 'held';
  }
  @MemberOf('write') deposit(amount: number): number {
    this.balance += amount;
    return this.balance;
  }
}

/** Awaits another object's request (a request stuck on someone else's cycle). */
class Client {
  async audit(ledger: Active<Ledger>): Promise<number> {
    return await ledger.audit();
  }
  async both(a: Active<Never>, b: Active<Never>): Promise<number[]> {
    return await Promise.all([a.never(), b.never()]);
  }
  async auditBoth(a: Active<Ledger>, b: Active<Never>): Promise<unknown[]> {
    return await Promise.all([a.audit(), b.never()]);
  }
  async value(maker: Active<Maker>): Promise<number> {
    return await maker.make().value;
  }
  async twice(maker: Active<Maker>): Promise<number> {
    return await maker.make().twice();
  }
  /** Two futures of one computation: two edges to the same request. */
  async valueAndTwice(maker: Active<Maker>): Promise<number[]> {
    const made = maker.make();
    return await Promise.all([made.value, made.twice()]);
  }
  /** Awaits a future that settles once the gate opens, then one that never does. */
  async thenNever(ledger: Active<Ledger>, never: Active<Never>): Promise<number> {
    await ledger.hold();
    return await never.never();
  }
}

/** A request that never ends, on a native promise: it can move on as far as the graph knows. */
class Never {
  never(): Promise<number> {
    return new Promise(() => {});
  }
}

class Sink {
  use(x: number): number {
    return x;
  }
}

interface Made {
  value: number;
  twice(): number;
}
class Maker {
  make(): Promise<Made> {
    return new Promise(() => {});
  }
}

// ------------------------------------------------------------------------ helpers

const methodOf = (d: Deadlock) => d.cycle.map((s) => s.request.method).sort();

async function requestsByMethod(): Promise<Map<string, WaitingRequest[]>> {
  const graph = await waitGraph();
  const out = new Map<string, WaitingRequest[]>();
  for (const r of graph.requests) {
    const list = out.get(r.request.method) ?? [];
    list.push(r);
    out.set(r.request.method, list);
  }
  return out;
}

const edgesOf = (r: WaitingRequest) => r.edges.map((e) => [e.rule, e.to?.method]);

// ------------------------------------------------------------------------ OR and AND waits

describe('OR waits (slots): any one holder that can move on frees the request', () => {
  it('one of two slot holders can finish: not a deadlock, and it does complete', async () => {
    const pool = newActive(TwoSlots);
    const held = pool.hold(); // slot 1, until the gate opens
    const outer = pool.outer(); // slot 2; its `inner` finds both slots taken
    await settle();
    const byMethod = await requestsByMethod();
    const inner = byMethod.get('inner')![0]!;
    expect(inner.state).toBe('ready');
    expect(inner.any).toBe(true);
    expect(edgesOf(inner)).toEqual([
      ['limit', 'hold'],
      ['limit', 'outer'],
    ]);
    expect(await findDeadlocks()).toEqual([]);

    released.open();
    expect(await held).toBe('held');
    expect(await outer).toBe(2);
  });

  it('both slot holders stuck: a deadlock, the second pair stuck on the first', async () => {
    const pool = newActive(TwoSlots);
    void pool.outer();
    void pool.outer(); // both slots held by requests awaiting an `inner` that has no slot
    await settle();
    const found = await findDeadlocks();
    expect(found).toHaveLength(1);
    const d = found[0]!;
    expect(methodOf(d)).toEqual(['inner', 'outer']);
    expect(d.cycle.find((s) => s.request.method === 'inner')!.rule).toBe('limit');
    expect(d.cycle.find((s) => s.request.method === 'outer')!.rule).toBe('awaits');
    // The other pair waits on the cycle (its inner waits for a slot of the cycle's outer).
    expect(d.stuck.map((n) => n.method).sort()).toEqual(['inner', 'outer']);
    const inCycle = new Set(d.cycle.map((s) => s.request.requestId));
    expect(d.stuck.some((n) => inCycle.has(n.requestId))).toBe(false);
  });
});

/** Hard limit 33: one more slot holder than an explanation lists (MAX_BLOCKERS is 32). */
@Group('work', { selfCompatible: true })
@ThreadConfig({ threadPoolSize: 33, hardLimit: true })
class ManySlots {
  @MemberOf('work') async outer(): Promise<number> {
    return 1 + (await selfRef<ManySlots>(this).inner());
  }
  @MemberOf('work') inner(): number {
    return 1;
  }
  @MemberOf('work') async hold(): Promise<string> {
    await released.promise;
    return 'held';
  }
}

describe('an OR wait with more holders than listed', () => {
  it('an unlisted holder may be the one that can finish: never reported', async () => {
    const pool = newActive(ManySlots);
    const held = pool.hold(); // the oldest holder: left out of the (newest first) lists
    const outers = Array.from({ length: 32 }, () => pool.outer()); // 32 stuck holders
    await settle();
    const inners = (await requestsByMethod()).get('inner')!;
    expect(inners).toHaveLength(32);
    // 32 listed holders, all stuck outers, plus an edge to "more holders" (unknown).
    const edges = inners[0]!.edges;
    expect(edges).toHaveLength(33);
    expect(edges.filter((e) => e.to?.method === 'outer')).toHaveLength(32);
    expect(edges.at(-1)!.to).toBeUndefined();
    expect(edges.at(-1)!.text).toContain('waits for a slot held by more requests than listed');
    expect(await findDeadlocks()).toEqual([]);
    // And indeed: once `hold` ends, every outer gets its inner through in turn.
    released.open();
    expect(await held).toBe('held');
    expect(await Promise.all(outers)).toEqual(outers.map(() => 2));
  });
});

describe('AND waits (admission): every blocker must go', () => {
  it('one of two incompatible blockers can finish, the other is stuck: a deadlock', async () => {
    const ledger = newActive(Ledger);
    void ledger.hold(); // read, until the gate opens: can finish
    void ledger.audit(); // read, awaits deposit, which needs both reads gone
    await settle();
    const byMethod = await requestsByMethod();
    const deposit = byMethod.get('deposit')![0]!;
    expect(deposit.state).toBe('queued');
    expect(deposit.any).toBe(false);
    expect(edgesOf(deposit)).toEqual([
      ['incompatible', 'hold'],
      ['incompatible', 'audit'],
    ]);
    const found = await findDeadlocks();
    expect(found.map(methodOf)).toEqual([['audit', 'deposit']]);
    expect(found[0]!.stuck).toEqual([]);
  });

  it('every blocker can finish: not a deadlock', async () => {
    const ledger = newActive(Ledger);
    void ledger.hold();
    void ledger.hold();
    const deposit = ledger.deposit(5);
    await settle();
    expect(edgesOf((await requestsByMethod()).get('deposit')![0]!)).toEqual([
      ['incompatible', 'hold'],
      ['incompatible', 'hold'],
    ]);
    expect(await findDeadlocks()).toEqual([]);
    released.open();
    expect(await deposit).toBe(5);
  });
});

describe('several deadlocks, and the requests stuck on them', () => {
  it('two independent deadlocks are reported as two, each with its own stuck requests', async () => {
    const a = newActive(Ledger);
    const b = newActive(Ledger);
    void a.audit();
    void b.audit();
    void a.deposit(1); // queued behind a's cycle: stuck on it
    void newActive(Client).audit(b); // a second b.audit, queued behind b's deposit; the client awaits it
    await settle();
    const found = await findDeadlocks();
    expect(found).toHaveLength(2);
    const objectsOf = (d: Deadlock) => [...new Set(d.cycle.map((s) => s.request.objectId))];
    // Each cycle lies within one object, and the two objects differ.
    const [d1, d2] = found as [Deadlock, Deadlock];
    expect(objectsOf(d1)).toHaveLength(1);
    expect(objectsOf(d2)).toHaveLength(1);
    expect(objectsOf(d1)[0]).not.toBe(objectsOf(d2)[0]);
    expect(methodOf(d1)).toEqual(['audit', 'deposit']);
    expect(methodOf(d2)).toEqual(['audit', 'deposit']);
    // Each stuck request is listed under the cycle it waits on, once.
    const stuck = (d: Deadlock) => d.stuck.map((n) => `${n.className}.${n.method}`).sort();
    const bCycle = found.find((d) => d.stuck.some((n) => n.className === 'Client'))!;
    const aCycle = found.find((d) => d !== bCycle)!;
    expect(stuck(aCycle)).toEqual(['Ledger.deposit']);
    expect(aCycle.stuck[0]!.objectId).toBe(objectsOf(aCycle)[0]);
    expect(stuck(bCycle)).toEqual(['Client.audit', 'Ledger.audit']);
    const bLedger = bCycle.stuck.find((n) => n.className === 'Ledger')!;
    expect(bLedger.objectId).toBe(objectsOf(bCycle)[0]);
    expect(aCycle.message).toContain('1 more request waits on it');
    expect(bCycle.message).toContain('2 more requests wait on it');
  });

  it('a request awaiting two futures is stuck if one of them is (awaits is an AND wait)', async () => {
    const ledger = newActive(Ledger);
    const never = newActive(Never);
    void newActive(Client).auditBoth(ledger, never); // ledger.audit deadlocks; never.never can end
    await settle();
    const found = await findDeadlocks();
    expect(found.map(methodOf)).toEqual([['audit', 'deposit']]);
    expect(found[0]!.stuck.map((n) => `${n.className}.${n.method}`)).toEqual(['Client.auditBoth']);
  });
});

// ------------------------------------------------------------------------ edges for futures

describe('edges for futures', () => {
  it('Promise.all of two futures in one request gives two awaits edges', async () => {
    const a = newActive(Never);
    const b = newActive(Never);
    void newActive(Client).both(a, b);
    await settle();
    const graph = await waitGraph();
    const both = graph.requests.find((r) => r.request.method === 'both')!;
    expect(both.any).toBe(false);
    expect(edgesOf(both)).toEqual([
      ['awaits', 'never'],
      ['awaits', 'never'],
    ]);
    // Two different requests, one on each object.
    expect(both.edges[0]!.to!.objectId).not.toBe(both.edges[1]!.to!.objectId);
    expect(both.reason).toMatch(/awaits the result of `Never#\d+\.never`/);
    expect(await findDeadlocks()).toEqual([]);
  });

  it('a future argument not yet resolved: the request is held, with an argument edge', async () => {
    const never = newActive(Never);
    const sink = newActive(Sink);
    void sink.use(never.never());
    await settle();
    const use = (await requestsByMethod()).get('use')![0]!;
    expect(use.state).toBe('held');
    expect(edgesOf(use)).toEqual([['argument', 'never']]);
    expect(use.reason).toMatch(/waits for its argument, the result of `Never#\d+\.never`/);
    expect(await findDeadlocks()).toEqual([]);
  });

  it('a held request whose argument is computed by a deadlocked request is stuck on it', async () => {
    const ledger = newActive(Ledger);
    const sink = newActive(Sink);
    void sink.use(ledger.audit());
    await settle();
    const found = await findDeadlocks();
    expect(found.map(methodOf)).toEqual([['audit', 'deposit']]);
    expect(found[0]!.stuck.map((n) => `${n.className}.${n.method}`)).toEqual(['Sink.use']);
  });

  it('a pipelined member read (f.value) is followed to the request computing f', async () => {
    const maker = newActive(Maker);
    void newActive(Client).value(maker);
    await settle();
    const value = (await requestsByMethod()).get('value')![0]!;
    expect(edgesOf(value)).toEqual([['awaits', 'make']]);
    expect(await findDeadlocks()).toEqual([]);
  });

  it('two futures of one computation: two edges to one request, freed with it', async () => {
    const maker = newActive(Maker);
    void newActive(Client).valueAndTwice(maker);
    await settle();
    const both = (await requestsByMethod()).get('valueAndTwice')![0]!;
    expect(edgesOf(both)).toEqual([
      ['awaits', 'make'],
      ['awaits', 'make'],
    ]);
    expect(both.edges[0]!.to!.requestId).toBe(both.edges[1]!.to!.requestId);
    expect(await findDeadlocks()).toEqual([]);
  });

  it('a future that settled is no longer an edge', async () => {
    const ledger = newActive(Ledger);
    const never = newActive(Never);
    void newActive(Client).thenNever(ledger, never);
    await settle();
    const before = (await requestsByMethod()).get('thenNever')![0]!;
    expect(edgesOf(before)).toEqual([['awaits', 'hold']]);
    released.open(); // hold settles; the request goes on to await never
    await settle();
    const after = (await requestsByMethod()).get('thenNever')![0]!;
    expect(edgesOf(after)).toEqual([['awaits', 'never']]);
  });

  it('a pipelined method call (f.twice()) is followed to the request computing f', async () => {
    const maker = newActive(Maker);
    void newActive(Client).twice(maker);
    await settle();
    const twice = (await requestsByMethod()).get('twice')![0]!;
    expect(edgesOf(twice)).toEqual([['awaits', 'make']]);
  });
});

// ------------------------------------------------------------------------ known gap

/**
 * `job` requests run one at a time (maxThreads 1), under a soft limit of 1 shared with `io`.
 * `outer` awaits `inner`, of its own group: `inner` can never start while `outer` is in
 * service, whatever happens to the slot.
 */
@Group('job', { selfCompatible: true, maxThreads: 1 })
@Group('io', { selfCompatible: true })
@Compatible(['job', 'io'])
@ThreadConfig({ threadPoolSize: 1 })
class Capped {
  @MemberOf('job') async outer(): Promise<number> {
    return 1 + (await selfRef<Capped>(this).inner());
  }
  @MemberOf('job') inner(): number {
    return 1;
  }
  /** Long-running I/O: holds the only slot until the gate opens. */
  @MemberOf('io') async serve(): Promise<string> {
    await released.promise;
    return 'served';
  }
}

describe('a ready request refused by two slot rules at once', () => {
  it('maxThreads alone: outer awaits inner, which its own group cap keeps out: found', async () => {
    const capped = newActive(Capped);
    void capped.outer();
    await settle();
    const inner = (await requestsByMethod()).get('inner')![0]!;
    expect(edgesOf(inner)).toEqual([['max-threads', 'outer']]);
    const found = await findDeadlocks();
    expect(found.map(methodOf)).toEqual([['inner', 'outer']]);
    // Under a finite soft limit outer is in WBN: `waiting`, and it `awaits` inner.
    const outer = found[0]!.cycle.find((s) => s.request.method === 'outer')!;
    expect([outer.state, outer.rule]).toEqual(['waiting', 'awaits']);
  });

  // Two slot rules refuse `inner` at once: a slot (held by `serve`, which can move on) and
  // the group cap (held by `outer`, which awaits `inner`). It needs both: a deadlock.
  it('...and a slot held by an unrelated long request as well: still a deadlock', async () => {
    const capped = newActive(Capped);
    void capped.outer();
    await settle();
    void capped.serve(); // takes the slot outer gave back (soft limit: outer is in WBN)
    await settle();
    const inner = (await requestsByMethod()).get('inner')![0]!;
    expect(inner.state).toBe('ready');
    expect((await findDeadlocks()).map(methodOf)).toEqual([['inner', 'outer']]);
  });
});

describe('a long queue', () => {
  it('lists every dispatched request and the oldest queued ones only, so a poll stays small', async () => {
    class Solo {
      async hold(): Promise<void> {
        await new Promise<void>(() => {}); // never ends: everything queues behind it
      }
      ping(): number {
        return 1;
      }
    }
    const solo = newActive(Solo);
    void solo.hold();
    for (let i = 0; i < 3000; i++) void solo.ping();
    await settle();
    const graph = await waitGraph();
    const mine = graph.requests.filter((r) => r.request.className === 'Solo');
    expect(mine).toHaveLength(1 + 1000);
    expect(mine.filter((r) => r.state === 'active').map((r) => r.request.method)).toEqual(['hold']);
    const queued = mine.filter((r) => r.state === 'queued').map((r) => r.request.requestId);
    // The oldest 1000 of the 3000 pings.
    expect(Math.max(...queued) - Math.min(...queued)).toBe(999);
    expect(JSON.stringify(graph).length).toBeLessThan(16 * 1024 * 1024);
  });
});
