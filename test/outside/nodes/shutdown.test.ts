/**
 * Outside tests from docs/nodes.md "Failures and shutdown" and guide.md §6: a graceful shutdown is
 * bounded, breaks deadlocks it can see, immediate wins even over a spinning worker, bad options are
 * ArgumentErrors, and objects created afterwards work normally.
 */

import {
  ArgumentError,
  createWorkerNode,
  findDeadlocks,
  NodeLostError,
  newActive,
  shutdown,
  TerminatedError,
  workerNodes,
} from 'multiactive';
import { afterAll, describe, expect, it } from 'vitest';
import { Pinger, Ponger, Recorder } from './fixtures/classes.js';
import { rejection, within } from './fixtures/util.js';

afterAll(async () => {
  await within(shutdown({ immediate: true }), 10_000, 'final shutdown');
});

/** Wait (bounded) until the wait-for graph shows a deadlock: the cycle has formed. */
async function deadlockFormed(ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if ((await within(findDeadlocks(), 5000, 'findDeadlocks')).length > 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the deadlock did not form within the bound');
}

const timed = async <T>(p: PromiseLike<T>, ms: number, what: string) => {
  const t0 = Date.now();
  await within(p, ms, what);
  return Date.now() - t0;
};

describe('bounded graceful shutdown', () => {
  it('a never-settling request on a worker: shutdown({ timeoutMs: 1000 }) ends near the bound; the call rejects with NodeLostError saying so', async () => {
    const n = createWorkerNode({ name: 'never' });
    const r = newActive(Recorder, [], { node: n });
    expect(await within(r.ping())).toBe('pong:r');
    const hanging = r.never();
    const elapsed = await timed(shutdown({ timeoutMs: 1000 }), 8000, 'shutdown 1000');
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(6000);
    const e = await rejection(hanging);
    expect(e).toBeInstanceOf(NodeLostError);
    expect((e as Error).message).toMatch(/1000|within|bound|timeout|time/i);
    expect(workerNodes()).not.toContain(n);
  });

  it('a never-settling request on the main thread: rejects with TerminatedError saying the shutdown did not end within the bound', async () => {
    const r = newActive(Recorder, []);
    const hanging = r.never();
    const queued = r.ping(); // queued behind (threadPoolSize 1, ungrouped)
    const elapsed = await timed(shutdown({ timeoutMs: 500 }), 8000, 'shutdown 500');
    expect(elapsed).toBeLessThan(5000);
    for (const f of [hanging, queued]) {
      const e = await rejection(f);
      expect(e).toBeInstanceOf(TerminatedError);
      expect((e as Error).message).toMatch(/500/);
    }
  });

  it('timeoutMs: 0 turns immediate at once', async () => {
    const n = createWorkerNode();
    const r = newActive(Recorder, [], { node: n });
    expect(await within(r.ping())).toBe('pong:r');
    const hanging = r.never();
    const elapsed = await timed(shutdown({ timeoutMs: 0 }), 8000, 'shutdown 0');
    expect(elapsed).toBeLessThan(4000);
    expect(await rejection(hanging)).toBeInstanceOf(NodeLostError);
  });

  it('a deadlocked pair across two workers does not hold shutdown until its bound (DeadlockError)', async () => {
    const n1 = createWorkerNode({ name: 'dl-1' });
    const n2 = createWorkerNode({ name: 'dl-2' });
    const pinger = newActive(Pinger, [], { node: n1 });
    const ponger = newActive(Ponger, [], { node: n2 });
    const started = pinger.start(ponger);
    // Let the cycle form (bounded: the call cannot finish, so a short race just lets messages flow).
    await deadlockFormed();
    const elapsed = await timed(shutdown({ timeoutMs: 20_000 }), 25_000, 'shutdown with deadlock');
    expect(elapsed).toBeLessThan(5000);
    const e = (await rejection(started)) as Error;
    expect(e.name).toBe('DeadlockError');
  }, 30_000);

  it('a deadlocked pair within one worker does not hold node.terminate() until its bound', async () => {
    const n = createWorkerNode({ name: 'dl-same' });
    const pinger = newActive(Pinger, [], { node: n });
    const ponger = newActive(Ponger, [], { node: n });
    const started = pinger.start(ponger);
    await deadlockFormed();
    const elapsed = await timed(n.terminate({ timeoutMs: 20_000 }), 25_000, 'terminate with deadlock');
    expect(elapsed).toBeLessThan(5000);
    const e = (await rejection(started)) as Error;
    expect(e.name).toBe('DeadlockError');
  }, 30_000);

  it('a deadlocked pair on the main thread does not hold shutdown until its bound', async () => {
    const pinger = newActive(Pinger, []);
    const ponger = newActive(Ponger, []);
    const started = pinger.start(ponger);
    await deadlockFormed();
    const elapsed = await timed(shutdown({ timeoutMs: 20_000 }), 25_000, 'shutdown with local deadlock');
    expect(elapsed).toBeLessThan(5000);
    expect(((await rejection(started)) as Error).name).toBe('DeadlockError');
  }, 30_000);

  it('a graceful shutdown serves queued requests first (on a worker and on main)', async () => {
    const n = createWorkerNode();
    const r = newActive(Recorder, [], { node: n });
    const m = newActive(Recorder, []);
    const fs = [r.slow(100), r.push(1), r.push(2), m.slow(50), m.push(3)];
    await within(shutdown({ timeoutMs: 5000 }), 10_000, 'graceful');
    expect(await within(Promise.all(fs))).toEqual([100, 1, 2, 50, 1]);
  });
});

describe('immediate wins', () => {
  it('shutdown({ immediate: true }) escalates a pending graceful shutdown even when a worker spins in for(;;){}', async () => {
    const n = createWorkerNode({ name: 'spinner' });
    const r = newActive(Recorder, [], { node: n });
    expect(await within(r.ping())).toBe('pong:r');
    const spinning = r.spin();
    const graceful = shutdown(); // default 30 s bound
    let gracefulDone = false;
    void graceful.then(
      () => (gracefulDone = true),
      () => (gracefulDone = true),
    );
    await new Promise((res) => setTimeout(res, 100));
    expect(gracefulDone).toBe(false);
    const elapsed = await timed(shutdown({ immediate: true }), 8000, 'immediate shutdown');
    expect(elapsed).toBeLessThan(5000);
    await within(graceful, 5000, 'graceful shutdown after immediate');
    expect(await rejection(spinning)).toBeInstanceOf(NodeLostError);
  });

  it('node.terminate({ immediate: true }) escalates a pending graceful node.terminate() on a spinning worker; a second graceful one joins', async () => {
    const n = createWorkerNode({ name: 'spinner-2' });
    const r = newActive(Recorder, [], { node: n });
    expect(await within(r.ping())).toBe('pong:r');
    const spinning = r.spin();
    const g1 = n.terminate();
    const g2 = n.terminate();
    const elapsed = await timed(n.terminate({ immediate: true }), 8000, 'immediate terminate');
    expect(elapsed).toBeLessThan(5000);
    await within(Promise.all([g1, g2]), 5000, 'graceful terminates');
    expect(await rejection(spinning)).toBeInstanceOf(NodeLostError);
  });

  it('shutdown({ timeoutMs }) bound also stops a spinning worker', async () => {
    const n = createWorkerNode({ name: 'spinner-3' });
    const r = newActive(Recorder, [], { node: n });
    expect(await within(r.ping())).toBe('pong:r');
    const spinning = r.spin();
    const elapsed = await timed(shutdown({ timeoutMs: 800 }), 8000, 'bounded shutdown of spinner');
    expect(elapsed).toBeLessThan(6000);
    expect(await rejection(spinning)).toBeInstanceOf(NodeLostError);
  });
});

describe('options and after shutdown', () => {
  const bad: unknown[] = [-1, Number.NaN, '100', null, -Infinity, 1n];
  for (const v of bad) {
    it(`shutdown({ timeoutMs: ${String(v)} }) is an ArgumentError`, async () => {
      let err: unknown;
      try {
        await shutdown({ timeoutMs: v as number });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ArgumentError);
    });
    it(`node.terminate({ timeoutMs: ${String(v)} }) throws ArgumentError and leaves the node serving`, async () => {
      const n = createWorkerNode();
      const r = newActive(Recorder, [], { node: n });
      let err: unknown;
      try {
        await n.terminate({ timeoutMs: v as number });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ArgumentError);
      expect(await within(r.ping())).toBe('pong:r');
      await within(n.terminate({ immediate: true }));
    });
  }

  it('timeoutMs: Infinity is accepted', async () => {
    const n = createWorkerNode();
    const r = newActive(Recorder, [], { node: n });
    expect(await within(r.ping())).toBe('pong:r');
    await within(shutdown({ timeoutMs: Infinity }), 8000, 'shutdown Infinity');
  });

  it('calls on objects created before a shutdown reject with a named error; objects created after work', async () => {
    const n = createWorkerNode();
    const r = newActive(Recorder, [], { node: n });
    const m = newActive(Recorder, []);
    expect(await within(r.ping())).toBe('pong:r');
    await within(shutdown({ timeoutMs: 3000 }), 8000, 'shutdown');
    const er = await rejection(r.ping(), 'worker object after shutdown', 3000);
    const em = await rejection(m.ping(), 'main object after shutdown', 3000);
    expect(em).toBeInstanceOf(TerminatedError);
    expect(er instanceof TerminatedError || er instanceof NodeLostError).toBe(true);
    // afterwards
    const n2 = createWorkerNode();
    const r2 = newActive(Recorder, ['again'], { node: n2 });
    const m2 = newActive(Recorder, ['again-m']);
    expect(await within(r2.ping())).toBe('pong:again');
    expect(await within(m2.ping())).toBe('pong:again-m');
  });

  it('placing on a terminated node rejects calls (named error), not hang', async () => {
    const n = createWorkerNode();
    await within(n.terminate({ immediate: true }));
    let thrown: unknown;
    let e: unknown;
    try {
      const r = newActive(Recorder, [], { node: n });
      e = await rejection(r.ping(), 'call on object placed on a dead node', 3000);
    } catch (x) {
      thrown = x;
    }
    const got = thrown ?? e;
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).not.toMatch(/^timeout/);
    expect(['NodeLostError', 'ArgumentError', 'TerminatedError']).toContain((got as Error).name);
  });
});
