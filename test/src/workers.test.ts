/** Worker-thread nodes: the same active objects, placed across threads (SPEC §6–§8). */

import { threadId } from 'node:worker_threads';
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
import { node } from '../../src/node/runtime.js';
import { Broken, Counter, Store } from '../fixtures/workers.js';
import { Trace } from '../support/trace.js';

let w1: WorkerNode;
let w2: WorkerNode;
beforeAll(() => {
  w1 = createWorkerNode();
  w2 = createWorkerNode();
});
afterAll(async () => {
  await shutdown({ immediate: true });
});

describe('worker nodes', () => {
  it('an object placed on a worker node serves calls there', async () => {
    const c = newActive(Counter, [10], { node: w1 });
    expect(await c.inc(5)).toBe(15);
    expect(await c.where()).not.toBe(threadId);
  });

  it('errors keep name, message, cause and the remote stack', async () => {
    const c = newActive(Counter, [0], { node: w1 });
    const error = await c.fail('too big').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(RemoteError);
    expect(error!.name).toBe('RangeError');
    expect(error!.message).toBe('too big');
    expect((error!.cause as Error).message).toBe('inner cause');
    expect(error!.stack).toContain('fail');
    expect(error!.stack).toContain('thrown on node');
    expect(await c.inc(1)).toBe(1);
  });

  it('active references travel both ways and stay references', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const b = newActive(Counter, [100], { node: w2 });
    const local = newActive(Counter, [1000]);
    expect(await a.addFrom(b, 1)).toBe(101); // a (w1) calls b (w2) directly
    expect(await a.addFrom(local, 1)).toBe(1102); // a (w1) calls back into the main thread
    const self = await a.self();
    expect(isActive(self)).toBe(true);
    expect(await self.inc(0)).toBe(1102);
  });

  it('a future passed from the main thread to another worker resolves there (three nodes)', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const b = newActive(Counter, [5], { node: w2 });
    const f = b.inc(1); // computed on w2
    expect(Future.isFuture(f)).toBe(true);
    expect(await a.inc(f)).toBe(6); // resolved on w1, from w2
    expect(await a.echo(b.inc(1))).toBe(7);
  });

  it('non-copyable arguments fail that call with a CopyError; the object keeps serving', async () => {
    const c = newActive(Counter, [0], { node: w1 });
    await expect(c.echo({ f: () => 1 })).rejects.toBeInstanceOf(CopyError);
    expect(await c.inc(2)).toBe(2);
  });

  it('a constructor that throws on a worker fails every call with ConstructionError', async () => {
    const b = newActive(Broken, [], { node: w1, module: new URL('../fixtures/workers.ts', import.meta.url) });
    const error = await b.m().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.name).toBe('ConstructionError');
    expect(error?.message).toMatch(/cannot build/);
    void ConstructionError;
  });

  it('calls from one caller to one callee keep their order', async () => {
    const c = newActive(Counter, [0], { node: w2 });
    const results = await Promise.all(Array.from({ length: 200 }, () => c.inc(1)));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });

  it('tables of futures and calls are empty once everything settled', async () => {
    const a = newActive(Counter, [0], { node: w1 });
    const b = newActive(Counter, [0], { node: w2 });
    await Promise.all(Array.from({ length: 50 }, () => a.inc(b.inc(1))));
    expect(node.tableSizes).toEqual({ calls: 0, homes: 0, received: 0, late: 0, early: 0 });
  });
});

describe('events of worker nodes', () => {
  it('reach the main thread: readers overlap, writers run alone, on a worker', async () => {
    const trace = new Trace();
    try {
      const store = newActive(Store, [], { node: w2 });
      const values = await Promise.all([
        store.write(1),
        store.read(),
        store.read(),
        store.write(10),
        store.read(),
      ]);
      expect(values).toEqual([undefined, 1, 1, undefined, 11]);
      await trace.until(() => trace.count('request.finished', 'read') === 3, 'the reads to be reported');
      expect(
        trace.overlaps(
          (iv) => iv.method === 'write',
          () => true,
        ),
      ).toEqual([]);
      expect(trace.maxConcurrent('inService', (r) => r.method === 'read')).toBe(2);
      const created = trace.events.find((e) => e.type === 'object.created');
      expect(created?.type === 'object.created' && created.node).toBe(w2.id);
    } finally {
      trace.close();
    }
  });
});
