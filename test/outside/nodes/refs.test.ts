/**
 * Outside tests from docs/nodes.md: ordering ("Requests from one caller node to one callee are
 * admitted in call order"), references between nodes and within one node, first-class futures
 * across nodes, errors across nodes, construction failures on workers.
 */

import {
  ConstructionError,
  CopyError,
  createWorkerNode,
  Future,
  isActive,
  newActive,
  RemoteError,
  shutdown,
  type WorkerNode,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broken, Recorder, Relay, Sender } from './fixtures/classes.js';
import { rejection, within } from './fixtures/util.js';

let w1: WorkerNode;
let w2: WorkerNode;
beforeAll(() => {
  w1 = createWorkerNode({ name: 'outside-refs-1' });
  w2 = createWorkerNode({ name: 'outside-refs-2' });
});
afterAll(async () => {
  await within(shutdown({ timeoutMs: 3000 }), 10_000, 'shutdown');
});

const range = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`);

describe('placement', () => {
  it('objects run on the worker they were placed on, and on the main thread by default', async () => {
    const a = newActive(Recorder, [], { node: w1 });
    const b = newActive(Recorder, [], { node: w2.id });
    const c = newActive(Recorder, []);
    const [wa, wb, wc] = await within(Promise.all([a.where(), b.where(), c.where()]));
    expect(wa.isMain).toBe(false);
    expect(wb.isMain).toBe(false);
    expect(wc.isMain).toBe(true);
    expect(wa.threadId).toBe(w1.worker.threadId);
    expect(wb.threadId).toBe(w2.worker.threadId);
  });
});

describe('ordering', () => {
  it('main -> worker: calls over many turns are served in call order', async () => {
    const r = newActive(Recorder, [], { node: w1 });
    const sent: string[] = [];
    const futures: PromiseLike<number>[] = [];
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 25; i++) {
        const v = `t${turn}-${i}`;
        sent.push(v);
        futures.push(r.push(v));
      }
      await new Promise((res) => setImmediate(res));
    }
    const lens = await within(Promise.all(futures));
    expect(lens).toEqual(sent.map((_, i) => i + 1));
    expect(await within(r.getLog())).toEqual(sent);
  });

  it('worker -> worker: fire-and-forget calls of one caller arrive in order, before its next call', async () => {
    const target = newActive(Recorder, [], { node: w2 });
    const sender = newActive(Sender, [], { node: w1 });
    const log = await within(sender.fireThenLog(target, 'x', 300), 10_000, 'fireThenLog');
    expect(log).toEqual(range('x', 300));
  });

  it('worker -> same worker (a reference created in the same turn): in order', async () => {
    const target = newActive(Recorder, [], { node: w1 });
    const sender = newActive(Sender, [], { node: w1 });
    const log = await within(sender.fireThenLog(target, 'y', 200), 10_000, 'fireThenLog same node');
    expect(log).toEqual(range('y', 200));
  });

  it('worker -> main object: in order', async () => {
    const target = newActive(Recorder, []);
    const sender = newActive(Sender, [], { node: w1 });
    const log = await within(sender.fireThenLog(target, 'z', 200), 10_000, 'fireThenLog to main');
    expect(log).toEqual(range('z', 200));
  });

  it('two callers interleave, but each keeps its own order', async () => {
    const target = newActive(Recorder, [], { node: w2 });
    const s1 = newActive(Sender, [], { node: w1 });
    const s2 = newActive(Sender, [], { node: w2 });
    await within(Promise.all([s1.fire(target, 'a', 200), s2.fire(target, 'b', 200)]));
    for (let i = 0; i < 200; i++) void target.push(`m${i}`);
    // The main thread's own later calls are ordered after its pushes; the senders' pushes were
    // sent before their futures resolved, but that is no promise about another caller's order,
    // so poll (bounded) until all 600 have arrived.
    const deadline = Date.now() + 10_000;
    let log: unknown[] = [];
    while (Date.now() < deadline) {
      log = (await within(target.getLog())) as unknown[];
      if (log.length >= 600) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    expect(log.length).toBe(600);
    for (const tag of ['a', 'b', 'm']) {
      expect(log.filter((x) => String(x).startsWith(tag))).toEqual(range(tag, 200));
    }
  });
});

describe('references across nodes', () => {
  it('a reference to an object on w2 given to an object on w1 calls it', async () => {
    const target = newActive(Recorder, ['on-w2'], { node: w2 });
    const relay = newActive(Relay, [], { node: w1 });
    expect(await within(relay.callPing(target))).toBe('pong:on-w2');
  });

  it('a reference to an object on w1 given to another object on w1 calls it', async () => {
    const target = newActive(Recorder, ['on-w1'], { node: w1 });
    const relay = newActive(Relay, [], { node: w1 });
    expect(await within(relay.callPing(target))).toBe('pong:on-w1');
  });

  it('a main-thread reference given to a worker calls back to the main thread', async () => {
    const target = newActive(Recorder, ['main']);
    const relay = newActive(Relay, [], { node: w2 });
    expect(await within(relay.pushVia(target, [1, 2, 3]))).toBe(3);
    expect(await within(target.getLog())).toEqual([1, 2, 3]);
  });

  it('a reference nested deep in a value still calls its object', async () => {
    const target = newActive(Recorder, ['deep'], { node: w2 });
    const relay = newActive(Relay, [], { node: w1 });
    expect(await within(relay.nested({ deep: [{ ref: target }] }))).toBe('pong:deep');
  });

  it('a reference returned from a worker is an active reference on the main thread', async () => {
    const target = newActive(Recorder, ['back'], { node: w2 });
    const r = newActive(Recorder, [], { node: w1 });
    const back = (await within(r.echo(target))) as typeof target;
    expect(isActive(back)).toBe(true);
    expect(await within(back.ping())).toBe('pong:back');
  });

  it('an object created from inside a worker on another node is usable from main', async () => {
    const relay = newActive(Relay, [], { node: w1 });
    const made = (await within(relay.makeOn(w2.id, 'made'))) as {
      ref: ReturnType<typeof newActive<Recorder, [string?]>>;
    };
    expect(isActive(made.ref)).toBe(true);
    expect(await within(made.ref.ping())).toBe('pong:made');
    const where = await within(made.ref.where());
    expect(where.threadId).toBe(w2.worker.threadId);
  });

  it('an uncopyable argument from one worker to another fails only that call, with CopyError', async () => {
    const target = newActive(Recorder, [], { node: w2 });
    const sender = newActive(Sender, [], { node: w1 });
    const out = await within(sender.sendBad(target));
    expect(out.name).toBe('CopyError');
    expect(out.message).toMatch(/Argument 0 of Recorder.*push cannot be copied/);
    expect(out.ok).toBe(1);
    expect(await within(target.getLog())).toEqual(['ok-before']);
  });
});

describe('futures across nodes', () => {
  it('a future computed on w2 given as a top-level argument to w1 arrives as its value', async () => {
    const src = newActive(Recorder, [], { node: w2 });
    const relay = newActive(Relay, [], { node: w1 });
    const f = src.slow(50);
    expect(await within(relay.plain(f))).toBe(50);
  });

  it('a future nested in an argument arrives as a future and gets its value', async () => {
    const src = newActive(Recorder, ['nest'], { node: w2 });
    const relay = newActive(Relay, [], { node: w1 });
    expect(await within(relay.awaitNested({ f: src.ping() }))).toBe('pong:nest');
  });

  it('a future computed on the main thread, nested, given to a worker', async () => {
    const src = newActive(Recorder, ['m']);
    const relay = newActive(Relay, [], { node: w1 });
    expect(await within(relay.awaitNested({ f: src.slow(30) }))).toBe(30);
  });

  it('a method on w1 returning a future of an object on w2: the caller gets the value', async () => {
    const target = newActive(Recorder, ['fwd'], { node: w2 });
    const relay = newActive(Relay, [], { node: w1 });
    expect(await within(relay.forward(target))).toBe('pong:fwd');
  });

  it('a future returned nested in a result is a Future on the main thread with the value', async () => {
    const target = newActive(Recorder, ['wrapped'], { node: w2 });
    const sender = newActive(Sender, [], { node: w1 });
    const out = (await within(sender.wrapFuture(target))) as { f: unknown };
    expect(Future.isFuture(out.f)).toBe(true);
    expect(await within(out.f as PromiseLike<string>)).toBe('pong:wrapped');
  });

  it('a rejected future passed as a top-level argument fails the request without running it', async () => {
    const src = newActive(Recorder, [], { node: w2 });
    const sink = newActive(Recorder, [], { node: w1 });
    const bad = src.throwIt('no');
    const err = await rejection(sink.push(bad));
    expect((err as Error).name).toBe('TypeError');
    expect(await within(sink.getCount())).toBe(0);
  });

  it('the same future passed to many nodes gets its value everywhere (many in flight)', async () => {
    const src = newActive(Recorder, [], { node: w2 });
    const relays = [
      newActive(Relay, [], { node: w1 }),
      newActive(Relay, [], { node: w2 }),
      newActive(Relay, []),
    ];
    const f = src.slow(40);
    const out = await within(Promise.all(relays.flatMap((r) => [r.plain(f), r.awaitNested({ f })])));
    expect(out).toEqual([40, 40, 40, 40, 40, 40]);
  });
});

describe('errors across nodes', () => {
  it('an error thrown on a worker arrives as RemoteError with name, message, cause, code and both stacks', async () => {
    const r = newActive(Recorder, [], { node: w1 });
    const err = (await rejection(r.throwIt('bad thing'))) as RemoteError & { code?: string; cause?: Error };
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.name).toBe('TypeError');
    expect(err.message).toBe('bad thing');
    expect(err.code).toBe('E_OUT');
    expect(err.cause).toBeInstanceOf(Error);
    expect((err.cause as Error).message).toBe('inner');
    expect(err.node).toBe(w1.id);
    expect(err.stack).toMatch(/throwIt/);
    expect(err.stack).toMatch(/node/);
    // the object keeps serving
    expect(await within(r.ping())).toBe('pong:r');
  });

  it('a constructor that throws on a worker: every call rejects with an error named ConstructionError', async () => {
    const local = newActive(Broken, ['bad ctor']);
    const remote = newActive(Broken, ['bad ctor'], { node: w1 });
    const el = await rejection(local.m());
    const er = await rejection(remote.m());
    const er2 = await rejection(remote.m());
    expect(el).toBeInstanceOf(ConstructionError);
    expect((er as Error).name).toBe('ConstructionError');
    expect((er2 as Error).name).toBe('ConstructionError');
    expect(((er as Error).cause as Error).message).toBe('bad ctor');
  });

  // Found broken here, fixed: nodes.md "If its constructor throws, every call rejects with `ConstructionError`, as on
  // the main thread" / guide.md §2 "on every kind of node the failure surfaces the same way". On a
  // worker it is a RemoteError named 'ConstructionError': `instanceof ConstructionError` is false.
  it('a constructor that throws on a worker: calls reject with an instance of ConstructionError', async () => {
    const remote = newActive(Broken, ['bad ctor'], { node: w1 });
    expect(await rejection(remote.m())).toBeInstanceOf(ConstructionError);
  });
});

describe('a CopyError from the main thread to a worker does not disturb other objects', () => {
  it('other objects on the same worker keep serving', async () => {
    const a = newActive(Recorder, ['a'], { node: w1 });
    const b = newActive(Recorder, ['b'], { node: w1 });
    const bad = a.push(Symbol('x'));
    const good = b.ping();
    expect(await rejection(bad)).toBeInstanceOf(CopyError);
    expect(await within(good)).toBe('pong:b');
  });
});
