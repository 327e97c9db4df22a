/**
 * The scenarios of the reference implementation's suite (issue: "Scenarios that must pass
 * as tests"), on active objects that live on the current thread. Each runs in both
 * decorator modes. Assertions read the public event stream (the same trace the debugger
 * shows) or values the objects return; nothing sleeps: tests wait on the event they expect
 * with a bounded timeout, or let pending microtasks/immediates run out (`settle`).
 */
import { type Active, Compatible, control, Group, MemberOf, newActive, ThreadConfig } from 'multiactive';
import { describe, expect, it } from 'vitest';
import { Capped, Gate, PlainPlayer, Player, Prioritized, Reserved, Table } from '../fixtures/scenarios.js';
import { settle, type Trace, traceEachTest } from '../support/trace.js';

let trace: Trace;
traceEachTest((t) => {
  trace = t;
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('1. ping-pong', () => {
  it('two objects under a soft limit of 1 call each other back and forth until the counter hits zero', async () => {
    const a = newActive(Player);
    const b = newActive(Player);
    await Promise.all([a.setPartner(b), b.setPartner(a)]);
    expect(await a.ping(50)).toBe(50);
    // Under the soft limit of 1, at most one request per object was ever active...
    expect(trace.maxConcurrent('active', (r) => r.objectId === trace.intervals()[0]!.objectId)).toBe(1);
    // ...while many were in service at once (waiting by necessity, slot released).
    expect(trace.maxConcurrent('inService')).toBeGreaterThan(10);
  });

  it('the same with undecorated classes makes no progress: the re-entrant call waits forever', async () => {
    const a = newActive(PlainPlayer);
    const b = newActive(PlainPlayer);
    await Promise.all([a.setPartner(b), b.setPartner(a)]);
    let settled = false;
    void a.ping(4).then(
      () => (settled = true),
      () => (settled = true),
    );
    // a.ping(4) -> b.pong(3) -> a.ping(2): the last one can never start, a is busy.
    await trace.until(() => trace.count('request.sent', 'ping') === 2, 'the re-entrant ping to be sent');
    await settle();
    expect(settled).toBe(false);
    const stats = control(a).stats();
    expect(stats.queued).toBe(1);
    expect(stats.active + stats.waiting).toBe(1);
    expect(trace.count('request.started', 'ping')).toBe(1);
  });
});

describe('2. poller', () => {
  @Group('count')
  @Group('poll', { selfCompatible: true })
  @Compatible(['count', 'poll'])
  @ThreadConfig({ threadPoolSize: 2 })
  class Counter {
    value = 0;
    running = false;
    @MemberOf('count') async count(steps: number): Promise<number> {
      this.running = true;
      for (let i = 0; i < steps; i++) {
        this.value++;
        await tick(); // not a future: the request keeps its slot
      }
      this.running = false;
      return this.value;
    }
    @MemberOf('poll') poll(): { value: number; running: boolean } {
      return { value: this.value, running: this.running };
    }
  }

  it('successive polls return increasing values while the long count runs', async () => {
    const counter = newActive(Counter);
    const done = counter.count(200);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { value, running } = await counter.poll();
      expect(running).toBe(true);
      seen.push(value);
      await tick();
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    expect(await done).toBe(200);
    expect(
      trace.overlaps(
        (iv) => iv.method === 'count',
        (iv) => iv.method === 'poll',
      ).length,
    ).toBe(10);
  });
});

describe('3. readers and writers', () => {
  @Group('read', { selfCompatible: true })
  @Group('write')
  class Store {
    data = 0;
    @MemberOf('write') async write(value: number): Promise<void> {
      const before = this.data;
      await tick(); // a read that overlapped here would see a half-done write
      this.data = before + value;
    }
    @MemberOf('read') async read(): Promise<number> {
      await tick();
      return this.data;
    }
  }

  it('W R W R R R R W: reads overlap, writes are exclusive, every read sees every earlier write', async () => {
    const store = newActive(Store);
    // Separate callers: each call comes from its own caller object... here from the test,
    // in program order, which is the arrival order.
    const results = [
      store.write(1),
      store.read(),
      store.write(10),
      store.read(),
      store.read(),
      store.read(),
      store.read(),
      store.write(100),
    ];
    const values = await Promise.all(results);
    expect(values).toEqual([undefined, 1, undefined, 11, 11, 11, 11, undefined]);
    expect(
      trace.overlaps(
        (iv) => iv.method === 'write',
        () => true,
      ),
    ).toEqual([]);
    expect(trace.maxConcurrent('inService', (r) => r.method === 'read')).toBe(4);
    expect(trace.startOrder()).toEqual(['write', 'read', 'write', 'read', 'read', 'read', 'read', 'write']);
  });
});

describe('4. priorities', () => {
  /** Occupy the only slot until `open` is called, then run `calls` and read the log. */
  async function queuedWhileBusy(calls: (p: Active<Prioritized>) => void): Promise<string[]> {
    const p = newActive(Prioritized);
    const g = newActive(Gate);
    const done = p.block(g);
    await trace.until(() => trace.count('request.started', 'block') === 1, 'block to start');
    calls(p);
    await settle();
    const stats = control(p).stats();
    expect(stats.ready).toBeGreaterThan(0);
    expect(stats.active + stats.waiting).toBe(1); // only `block`
    await g.open();
    await done;
    return p.read();
  }

  it('with a hard limit of 1 and the object busy, all A requests start before any B', async () => {
    const log = await queuedWhileBusy((p) => {
      p.b('b1');
      p.a('a1');
      p.b('b2');
      p.a('a2');
      p.b('b3');
    });
    expect(log).toEqual(['a1', 'a2', 'b1', 'b2', 'b3']);
  });

  it('unrelated groups keep FIFO order among themselves', async () => {
    const log = await queuedWhileBusy((p) => {
      p.c('c1');
      p.a('a1');
      p.c('c2');
      p.b('b1');
      p.a('a2');
    });
    // C is unrelated to A and B: it is never overtaken nor overtakes. a2 overtakes b1 only.
    expect(log).toEqual(['c1', 'a1', 'c2', 'a2', 'b1']);
  });

  it('equal-priority groups keep FIFO order', async () => {
    const log = await queuedWhileBusy((p) => {
      p.b('b1');
      p.a2('x1');
      p.a('a1');
      p.a2('x2');
    });
    expect(log).toEqual(['x1', 'a1', 'x2', 'b1']);
  });
});

describe('5. limits', () => {
  const Waiter = Gate;
  type Waiter = Gate;

  @Group('work', { selfCompatible: true })
  @ThreadConfig({ threadPoolSize: 2 })
  class SoftAwaiting {
    @MemberOf('work') async work(other: Active<Waiter> | undefined, spins: number): Promise<void> {
      if (other !== undefined) await other.wait(); // a future: wait-by-necessity
      for (let i = 0; i < spins; i++) await tick();
    }
  }

  it('never more than N active under a soft limit N; WBN frees the slot and the woken request waits for one', async () => {
    const w = newActive(Waiter);
    const o = newActive(SoftAwaiting);
    const waiting = [o.work(w, 3), o.work(w, 3)];
    await trace.until(() => trace.count('request.waiting') === 2, 'both to wait by necessity');
    // Both slots are free again: two more start and hold their slots.
    const busy = [o.work(undefined, 20), o.work(undefined, 20)];
    await trace.until(() => trace.count('request.started') >= 5, 'the busy ones to start');
    await w.open();
    await Promise.all([...waiting, ...busy]);
    const onO = (r: { method: string }) => r.method === 'work';
    expect(trace.maxConcurrent('active', onO)).toBe(2);
    expect(trace.maxConcurrent('inService', onO)).toBe(4);
    // The woken requests resumed only after a busy one finished.
    const firstResume = trace.events.findIndex((e) => e.type === 'request.resumed');
    const firstBusyEnd = trace.events.findIndex(
      (e) => e.type === 'request.finished' && e.request.method === 'work',
    );
    expect(firstResume).toBeGreaterThan(firstBusyEnd);
  });

  it('never more than N in service under a hard limit N, waits included', async () => {
    const w = newActive(Waiter);
    const o = newActive(SoftAwaiting);
    control(o).setHardLimit(true);
    const calls = [o.work(w, 1), o.work(w, 1), o.work(undefined, 1), o.work(undefined, 1)];
    await trace.until(() => trace.count('request.started', 'work') === 2, 'two to start');
    await settle();
    // Both waiting requests keep their slots: the other two cannot start.
    expect(trace.count('request.started', 'work')).toBe(2);
    expect(control(o).stats().ready).toBe(2);
    await w.open();
    await Promise.all(calls);
    expect(trace.maxConcurrent('inService', (r) => r.method === 'work')).toBe(2);
  });

  it('maxThreads caps a group, and requests behind a capped one still start', async () => {
    const o = newActive(Capped);
    await Promise.all([o.capped(5), o.capped(5), o.free(2), o.capped(5), o.free(2)]);
    expect(trace.maxConcurrent('inService', (r) => r.method === 'capped')).toBe(1);
    expect(trace.maxConcurrent('inService', (r) => r.method === 'free')).toBe(2);
    // The free requests did not wait behind the capped ones.
    expect(
      trace.overlaps(
        (iv) => iv.method === 'capped',
        (iv) => iv.method === 'free',
      ).length,
    ).toBeGreaterThan(0);
  });

  it('minThreads keeps a slot free for its group', async () => {
    const w = newActive(Waiter);
    const o = newActive(Reserved);
    control(o).setHardLimit(true); // waiting bulk requests keep their slots
    const bulks = [o.bulk(w), o.bulk(w), o.bulk(w), o.bulk(w)];
    await trace.until(() => trace.count('request.started', 'bulk') === 2, 'two bulk requests to start');
    await settle();
    // Pool 3, one slot reserved for `urgent`: only two bulk requests run.
    expect(
      control(o)
        .stats()
        .groups.find((g) => g.name === 'bulk')!.inService,
    ).toBe(2);
    expect(await o.urgent()).toBe('served');
    await w.open();
    await Promise.all(bulks);
  });

  it('limit changes at run time take effect at once', async () => {
    const w = newActive(Waiter);
    const o = newActive(SoftAwaiting);
    control(o).setLimit(1);
    control(o).setHardLimit(true);
    const calls = [o.work(w, 0), o.work(w, 0), o.work(w, 0)];
    await trace.until(() => trace.count('request.started', 'work') === 1, 'one start');
    await settle();
    expect(trace.count('request.started', 'work')).toBe(1);
    expect(control(o).increment(2)).toBe(3);
    await trace.until(() => trace.count('request.started', 'work') === 3, 'all three to start');
    expect(control(o).decrement(5)).toBe(1);
    await w.open();
    await Promise.all(calls);
  });
});

describe('6. conditions', () => {
  it('put is self-compatible only for different keys: equal keys never overlap, different keys do', async () => {
    const t = newActive(Table);
    await Promise.all([
      t.put('x', 1),
      t.put('y', 1),
      t.put('x', 2),
      t.put('z', 1),
      t.put('x', 4),
      t.put('y', 2),
    ]);
    expect(await t.get('x')).toBe(7);
    expect(await t.get('y')).toBe(3);
    const sameKey = trace.overlaps(
      (iv) => iv.method === 'put',
      (iv) => iv.method === 'put',
    );
    expect(sameKey.length).toBeGreaterThan(0);
    // Recover the keys from the order of calls: requests 1..6 in call order.
    const keys = ['x', 'y', 'x', 'z', 'x', 'y'];
    const firstId = Math.min(...trace.intervals().map((iv) => iv.requestId));
    for (const [x, y] of sameKey) {
      expect(keys[x.requestId - firstId]).not.toBe(keys[y.requestId - firstId]);
    }
  });
});
