/**
 * The scenario suite (test/src/scenarios.test.ts) with the objects spread over worker nodes
 * (issue #3): ping-pong, poller, readers/writers, priorities, limits, conditions, futures. The
 * values must be those of the single-thread runs; concurrency properties are read from the
 * event stream, which carries the events of worker nodes while a trace is open (`NodeTrace`
 * names requests by object and id: request ids are numbered per node).
 *
 * Nothing sleeps. On one thread, `settle()` lets the system go quiet; across threads that says
 * nothing about the other threads, so a test that must see that something did *not* happen
 * asks the object's node itself after a round trip (`Controller.stats`): messages between two
 * nodes keep their order, so by then the node has handled everything sent before.
 *
 * Two worker nodes serve the whole file (created once, shut down at the end).
 */

import {
  type Active,
  ArgumentError,
  control,
  createWorkerNode,
  Future,
  isActive,
  newActive,
  RemoteError,
  shutdown,
  terminate,
  type WorkerNode,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Capped,
  Controller,
  Gate,
  Hub,
  PacedCounter,
  PlainPlayer,
  Player,
  Prioritized,
  Reserved,
  SoftAwaiting,
  StoreClient,
  Table,
} from '../fixtures/scenarios.js';
import { Counter, Store } from '../fixtures/workers.js';
import { type NodeTrace, nodeTraceEachTest, objectIdOf } from '../support/node-trace.js';

const SCENARIOS_MODULE = new URL('../fixtures/scenarios.ts', import.meta.url);

let w1: WorkerNode;
let w2: WorkerNode;
beforeAll(() => {
  w1 = createWorkerNode();
  w2 = createWorkerNode();
});
afterAll(async () => {
  await shutdown({ immediate: true });
});

let trace: NodeTrace;
nodeTraceEachTest((t) => {
  trace = t;
});

/** Wait until object `id` has reported `n` events of `type` (and `method`). */
function untilCount(
  id: number,
  type: 'request.started' | 'request.finished' | 'request.sent' | 'request.waiting',
  n: number,
  method?: string,
): Promise<void> {
  return trace.until(
    () => trace.countOn(id, type, method) >= n,
    `${n} ${type} events${method === undefined ? '' : ` of ${method}`} on object ${id}`,
  );
}

describe('1. ping-pong over two workers', () => {
  it('two objects on two workers, under a soft limit of 1, call each other back and forth until the counter hits zero', async () => {
    const a = newActive(Player, [], { node: w1 });
    const b = newActive(Player, [], { node: w2 });
    await Promise.all([a.setPartner(b), b.setPartner(a)]);
    expect(await a.ping(50)).toBe(50);
    const [ia, ib] = [objectIdOf(a), objectIdOf(b)];
    // ping(50), ping(48), ..., ping(0) on a; pong(49), ..., pong(1) on b.
    await untilCount(ia, 'request.finished', 26, 'ping');
    await untilCount(ib, 'request.finished', 25, 'pong');
    for (const id of [ia, ib]) {
      // Under the soft limit of 1, at most one request of each object was ever active...
      expect(trace.maxConcurrent('active', (r) => r.objectId === id)).toBe(1);
      // ...while many were in service at once (waiting by necessity on the other worker).
      expect(trace.maxConcurrent('inService', (r) => r.objectId === id)).toBeGreaterThan(10);
    }
  });

  it('the same with undecorated classes makes no progress: the re-entrant call waits forever', async () => {
    const a = newActive(PlainPlayer, [], { node: w1, module: SCENARIOS_MODULE });
    const b = newActive(PlainPlayer, [], { node: w2, module: SCENARIOS_MODULE });
    const inspector = newActive(Controller, [], { node: w1 });
    await Promise.all([a.setPartner(b), b.setPartner(a)]);
    let settled = false;
    const pinged = a.ping(4).then(
      () => (settled = true),
      () => (settled = true),
    );
    // a.ping(4) -> b.pong(3) -> a.ping(2): the last one can never start, a is busy.
    const ia = objectIdOf(a);
    await untilCount(ia, 'request.sent', 2, 'ping');
    const stats = await inspector.stats(a); // after w1 handled the re-entrant ping
    expect(stats.queued).toBe(1);
    expect(stats.active + stats.waiting).toBe(1);
    expect(trace.countOn(ia, 'request.started', 'ping')).toBe(1);
    expect(settled).toBe(false);
    await Promise.all([terminate(a, { immediate: true }), terminate(b, { immediate: true })]);
    await pinged;
  });
});

describe('2. poller over a worker', () => {
  it('successive polls from the main thread return increasing values while the long count runs on a worker', async () => {
    const counter = newActive(PacedCounter, [], { node: w1 });
    const done = counter.count(200);
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { value, running } = await counter.poll();
      expect(running).toBe(true);
      seen.push(value);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThan(seen[i - 1]!);
    await counter.finish();
    expect(await done).toBe(200);
    const id = objectIdOf(counter);
    await untilCount(id, 'request.finished', 1, 'count');
    expect(
      trace.overlaps(
        (iv) => iv.objectId === id && iv.method === 'count',
        (iv) => iv.objectId === id && iv.method === 'poll',
      ).length,
    ).toBe(10);
  });
});

describe('3. readers and writers on a worker', () => {
  const SCRIPT = ['W1', 'R', 'W10', 'R', 'R', 'R', 'R', 'W100'] as const;
  const EXPECTED = [undefined, 1, undefined, 11, 11, 11, 11, undefined];
  const ORDER = ['write', 'read', 'write', 'read', 'read', 'read', 'read', 'write'];

  /** The trace of the script on `store`, after `skip` earlier requests (warm-up calls). */
  async function checkStore(store: Active<Store>, skip = 0): Promise<void> {
    const id = objectIdOf(store);
    await untilCount(id, 'request.finished', skip + SCRIPT.length);
    const onStore = (iv: { objectId: number }) => iv.objectId === id;
    expect(trace.overlaps((iv) => onStore(iv) && iv.method === 'write', onStore)).toEqual([]);
    expect(trace.maxConcurrent('inService', (r) => r.objectId === id && r.method === 'read')).toBe(4);
    expect(trace.startOrder(id).slice(skip)).toEqual(ORDER);
  }

  it('W R W R R R R W from the main thread: reads overlap, writes are exclusive, every read sees every earlier write', async () => {
    const store = newActive(Store, [], { node: w1 });
    const values = await Promise.all(
      SCRIPT.map((step) => (step === 'R' ? store.read() : store.write(Number(step.slice(1))))),
    );
    expect(values).toEqual(EXPECTED);
    await checkStore(store);
  });

  it('the same from a caller on another worker gives the same values and the same order', async () => {
    const store = newActive(Store, [], { node: w1 });
    const client = newActive(StoreClient, [], { node: w2 });
    expect(await store.read()).toBe(0); // it exists before w2 calls it (see the creation race)
    expect(await client.run(store, [...SCRIPT])).toEqual(EXPECTED);
    await checkStore(store, 1);
  });

  it('callers on the main thread and on another worker at once: writes stay exclusive and each caller reads its own writes', async () => {
    const store = newActive(Store, [], { node: w1 });
    const client = newActive(StoreClient, [], { node: w2 });
    expect(await store.read()).toBe(0);
    const [fromMain, fromWorker] = await Promise.all([
      Promise.all(SCRIPT.map((step) => (step === 'R' ? store.read() : store.write(Number(step.slice(1)))))),
      client.run(store, [...SCRIPT]),
    ]);
    for (const values of [fromMain, fromWorker]) {
      // Point-to-point FIFO: a caller's read comes after its own earlier writes.
      expect(values[1]).toBeGreaterThanOrEqual(1);
      for (const i of [3, 4, 5, 6]) expect(values[i]).toBeGreaterThanOrEqual(11);
    }
    expect(await store.read()).toBe(222);
    const id = objectIdOf(store);
    await untilCount(id, 'request.finished', 2 * SCRIPT.length + 2);
    expect(
      trace.overlaps(
        (iv) => iv.objectId === id && iv.method === 'write',
        (iv) => iv.objectId === id,
      ),
    ).toEqual([]);
    expect(trace.maxConcurrent('inService', (r) => r.objectId === id && r.method === 'read')).toBeGreaterThan(
      1,
    );
  });
});

describe('4. priorities on a worker', () => {
  /** Occupy the only slot until the gate opens, then run `calls` and read the log. */
  async function queuedWhileBusy(calls: (p: Active<Prioritized>) => void): Promise<string[]> {
    const p = newActive(Prioritized, [], { node: w1 });
    const inspector = newActive(Controller, [], { node: w1 });
    const g = newActive(Gate); // on the main thread: p waits on another node
    const done = p.block(g);
    await untilCount(objectIdOf(p), 'request.started', 1, 'block');
    calls(p);
    const stats = await inspector.stats(p); // sent after the calls: w1 has them all
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

describe('5. limits on a worker', () => {
  it('never more than N active under a soft limit N; WBN on another worker frees the slot and the woken request waits for one', async () => {
    const w = newActive(Gate, [], { node: w2 });
    const o = newActive(SoftAwaiting, [], { node: w1 });
    await w.ready(); // it exists before w1 calls it (see the creation race)
    const id = objectIdOf(o);
    const waiting = [o.work(w, 3), o.work(w, 3)];
    await untilCount(id, 'request.waiting', 2);
    // Both slots are free again: two more start and hold their slots.
    const busy = [o.work(undefined, 20), o.work(undefined, 20)];
    await untilCount(id, 'request.started', 4);
    await w.open();
    await Promise.all([...waiting, ...busy]);
    await untilCount(id, 'request.finished', 4);
    const onO = (r: { objectId: number }) => r.objectId === id;
    expect(trace.maxConcurrent('active', onO)).toBe(2);
    expect(trace.maxConcurrent('inService', onO)).toBe(4);
    // The woken requests resumed only after a busy one finished.
    const firstResume = trace.events.findIndex((e) => e.type === 'request.resumed' && onO(e.request));
    const firstEnd = trace.events.findIndex((e) => e.type === 'request.finished' && onO(e.request));
    expect(firstResume).toBeGreaterThan(firstEnd);
  });

  it('never more than N in service under a hard limit N, waits included', async () => {
    const w = newActive(Gate);
    const o = newActive(SoftAwaiting, [], { node: w1 });
    const inspector = newActive(Controller, [], { node: w1 });
    await o.configure(undefined, true);
    const id = objectIdOf(o);
    const calls = [o.work(w, 1), o.work(w, 1), o.work(undefined, 1), o.work(undefined, 1)];
    await untilCount(id, 'request.started', 3); // configure, then two `work`
    // Both waiting requests keep their slots: the other two cannot start.
    const stats = await inspector.stats(o);
    expect(stats.ready).toBe(2);
    expect(trace.countOn(id, 'request.started', 'work')).toBe(2);
    await w.open();
    await Promise.all(calls);
    await untilCount(id, 'request.finished', 5);
    expect(trace.maxConcurrent('inService', (r) => r.objectId === id && r.method === 'work')).toBe(2);
  });

  it('maxThreads caps a group, and requests behind a capped one still start', async () => {
    const o = newActive(Capped, [], { node: w2 });
    await Promise.all([o.capped(5), o.capped(5), o.free(2), o.capped(5), o.free(2)]);
    const id = objectIdOf(o);
    await untilCount(id, 'request.finished', 5);
    expect(trace.maxConcurrent('inService', (r) => r.objectId === id && r.method === 'capped')).toBe(1);
    expect(trace.maxConcurrent('inService', (r) => r.objectId === id && r.method === 'free')).toBe(2);
    expect(
      trace.overlaps(
        (iv) => iv.objectId === id && iv.method === 'capped',
        (iv) => iv.objectId === id && iv.method === 'free',
      ).length,
    ).toBeGreaterThan(0);
  });

  it('minThreads keeps a slot free for its group', async () => {
    const w = newActive(Gate, [], { node: w2 });
    const o = newActive(Reserved, [], { node: w1 });
    await w.ready();
    const inspector = newActive(Controller, [], { node: w1 });
    await o.configure(undefined, true); // waiting bulk requests keep their slots
    const id = objectIdOf(o);
    const bulks = [o.bulk(w), o.bulk(w), o.bulk(w), o.bulk(w)];
    await untilCount(id, 'request.started', 2, 'bulk');
    // Pool 3, one slot reserved for `urgent`: only two bulk requests run.
    const stats = await inspector.stats(o);
    expect(stats.groups.find((g) => g.name === 'bulk')!.inService).toBe(2);
    expect(await o.urgent()).toBe('served');
    await w.open();
    await Promise.all(bulks);
    expect(trace.countOn(id, 'request.started', 'bulk')).toBe(4);
  });

  it('limit changes at run time take effect at once (driven from the object’s node)', async () => {
    const w = newActive(Gate);
    const o = newActive(SoftAwaiting, [], { node: w1 });
    const inspector = newActive(Controller, [], { node: w1 });
    await o.configure(1, true);
    const id = objectIdOf(o);
    const calls = [o.work(w, 0), o.work(w, 0), o.work(w, 0)];
    await untilCount(id, 'request.started', 1, 'work');
    const before = await inspector.stats(o);
    expect(before.active + before.waiting).toBe(1);
    expect(before.ready).toBe(2);
    expect(await inspector.increment(o, 2)).toBe(3);
    await untilCount(id, 'request.started', 3, 'work');
    expect(await inspector.decrement(o, 5)).toBe(1);
    await w.open();
    await Promise.all(calls);
    await trace.until(() => trace.countOn(id, 'object.limits') === 4, 'four limit changes');
    const limits = trace.events.filter((e) => e.type === 'object.limits' && e.objectId === id);
    expect(limits.map((e) => e.type === 'object.limits' && [e.limit, e.hardLimit])).toEqual([
      [1, false],
      [1, true],
      [3, true],
      [1, true],
    ]);
  });

  it('control() of an object on another node throws an ArgumentError that says where to call it', () => {
    const o = newActive(SoftAwaiting, [], { node: w1 });
    expect(() => control(o)).toThrow(ArgumentError);
    expect(() => control(o)).toThrow(/lives on another node/);
  });
});

describe('6. conditions on a worker', () => {
  it('put is self-compatible only for different keys: equal keys never overlap, different keys do', async () => {
    const t = newActive(Table, [], { node: w2 });
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
    const id = objectIdOf(t);
    await untilCount(id, 'request.finished', 6, 'put');
    const puts = trace.overlaps(
      (iv) => iv.objectId === id && iv.method === 'put',
      (iv) => iv.objectId === id && iv.method === 'put',
    );
    expect(puts.length).toBeGreaterThan(0);
    // Requests 1..6 of the object, in call order (ids are consecutive on its node).
    const keys = ['x', 'y', 'x', 'z', 'x', 'y'];
    const firstId = Math.min(...trace.intervals(id).map((iv) => iv.requestId));
    for (const [x, y] of puts) {
      expect(keys[x.requestId - firstId]).not.toBe(keys[y.requestId - firstId]);
    }
  });
});

describe('7. futures across nodes', () => {
  // Two bugs shape these tests (see workers-faults.test.ts, "futures whose value arrives
  // first"): a future's value that reaches a node before the future itself is dropped there.
  // So objects that receive futures are warmed up first (a call to an object still being
  // created is parked with its futures undecoded), and a future computed on a third node is
  // settled only once the receiver has it (`request.sent` seen), through a gate. Likewise,
  // throughout this file, an object is called by one node only once it exists if another
  // node created it (the creation race, also in workers-faults.test.ts).

  it('a call on the future of a remote reference goes to that object (pipelining)', async () => {
    const hub = newActive(Hub, [], { node: w1 });
    // Created by the hub on its own node: the reference comes back as a future. (An object the
    // hub creates on *another* worker: see the creation race in workers-faults.test.ts.)
    const made = hub.make(w1.id, 5);
    expect(await made.inc(1)).toBe(6);
    expect(await made.where()).toBe(await hub.where());
    const counter = await made;
    expect(isActive(counter)).toBe(true);
    expect(await counter.inc(1)).toBe(7);
    // Through a property of the result, then a method of the reference found there.
    const info = hub.info(w1.id, 100);
    expect(await info.name).toMatch(/^hub@\d+$/);
    expect(await info.counter.inc(1)).toBe(101);
    // A reference to an object on a third node, handed back by the hub: the pipelined call
    // goes to that node.
    const elsewhere = newActive(Counter, [10], { node: w2 });
    const handedBack = hub.identity(elsewhere);
    expect(await handedBack.inc(1)).toBe(11);
    expect(await handedBack.where()).toBe(await elsewhere.where());
    expect(await elsewhere.where()).not.toBe(await hub.where());
  });

  it('a future computed on the main thread, passed to a worker, resolves there', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const local = newActive(Counter, [100]);
    await a.where();
    expect(await a.inc(local.inc(1))).toBe(101);
    const settled = local.inc(1);
    await settled;
    expect(await a.inc(settled)).toBe(203); // a settled future works the same
  });

  it('a future computed on a third node reaches the receiver from its home (three nodes)', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const g = newActive(Gate, [], { node: w2 });
    await a.where();
    const f = g.wait(); // its value is computed on w2
    const echoed = a.echo(f); // held on w1 until w2 sends the value there
    await untilCount(objectIdOf(a), 'request.sent', 1, 'echo');
    await g.open('from w2');
    expect(await echoed).toBe('from w2');
  });

  it('a worker passes its own future on to another worker from inside a request', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const b = newActive(Counter, [10], { node: w2 });
    const hub = newActive(Hub, [], { node: w2 });
    await Promise.all([a.where(), hub.where()]);
    expect(await hub.chain(b, a)).toBe(11); // w2 passes its future of b.inc(1) to a (w1)
    expect(await b.inc(0)).toBe(11);
    expect(await a.inc(0)).toBe(11);
  });

  it('a future nested in an argument arrives as a future, and a returned future is followed', async () => {
    const hub = newActive(Hub, [], { node: w1 });
    const g = newActive(Gate, [], { node: w2 });
    const b = newActive(Counter, [41], { node: w2 });
    await Promise.all([hub.where(), b.where()]);
    const nested = hub.nested({ f: g.wait() });
    await untilCount(objectIdOf(hub), 'request.started', 1, 'nested');
    await g.open('nested value');
    expect(await nested).toEqual([true, 'nested value']);
    const relayed = hub.relay(b, 1);
    expect(Future.isFuture(relayed)).toBe(true);
    expect(await relayed).toBe(42);
  });

  it('a rejected request leaves the object serving; a rejected future argument fails its request without running it', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const b = newActive(Counter, [0], { node: w2 });
    const error = await a.fail('nope').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as Error).name).toBe('RangeError');
    expect(await a.inc(1)).toBe(1);
    const rejected = b.fail('upstream');
    await rejected.then(
      () => undefined,
      () => undefined,
    );
    const failed = await a.inc(rejected).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(failed?.name).toBe('RangeError');
    expect(failed?.message).toBe('upstream');
    expect(await a.inc(0)).toBe(1); // inc(<rejected>) did not run
    expect(await b.inc(1)).toBe(1);
  });

  it('results match the single-thread run: the same calls on local objects give the same values', async () => {
    async function run(place: { a?: WorkerNode; b?: WorkerNode }): Promise<unknown[]> {
      const a = newActive(Counter, [0], place.a === undefined ? {} : { node: place.a });
      const b = newActive(Counter, [10], place.b === undefined ? {} : { node: place.b });
      await Promise.all([a.echo(0), b.echo(0)]);
      const fromB = b.inc(1);
      await fromB;
      return [
        await a.inc(fromB),
        await a.addFrom(b, 2),
        await a.echo({ x: [1, 2], at: new Date(0), m: new Map([[1, 'one']]) }),
        await b.inc(await a.inc(0)),
        await a.self().inc(1),
      ];
    }
    const local = await run({});
    expect(local).toEqual([11, 24, { x: [1, 2], at: new Date(0), m: new Map([[1, 'one']]) }, 37, 25]);
    expect(await run({ a: w1, b: w2 })).toEqual(local);
  });
});

describe('8. the event stream over nodes', () => {
  /*
   * Was a bug (src/active.ts `nextRequestId`; fixed): `RequestRef.requestId` is
   * documented as "unique in the process", but each node numbers its requests from 1, and the
   * main thread's stream carries the events of every node: two requests of objects on two
   * workers get the same id. A consumer that follows requests by id (the debugger, the
   * `callerRequestId` of `request.sent`, `Trace.intervals`/`maxConcurrent`) mixes them up; this
   * suite works around it by naming requests by object and id (`NodeTrace`). A fix: number
   * requests like objects, from `node * ID_STRIDE + 1` (or document `(objectId, requestId)` as
   * the key and change this test accordingly).
   */
  it('request ids stay unique in the main thread’s event stream when objects live on several nodes', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const b = newActive(Counter, [0], { node: w2 });
    // Both nodes serve requests; before the fix both numbered them 1, 2, 3, ...
    await Promise.all([
      ...Array.from({ length: 20 }, () => a.inc(0)),
      ...Array.from({ length: 20 }, () => b.inc(0)),
    ]);
    await untilCount(objectIdOf(a), 'request.finished', 20);
    await untilCount(objectIdOf(b), 'request.finished', 20);
    const byId = new Map<number, Set<number>>();
    for (const e of trace.events) {
      if (e.type !== 'request.started') continue;
      const objects = byId.get(e.request.requestId) ?? new Set<number>();
      objects.add(e.request.objectId);
      byId.set(e.request.requestId, objects);
    }
    const shared = [...byId].filter(([, objects]) => objects.size > 1).map(([id]) => id);
    expect(byId.size).toBeGreaterThanOrEqual(40);
    expect(shared).toEqual([]);
  });
});
