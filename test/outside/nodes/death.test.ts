/**
 * Outside tests from docs/nodes.md "Failures and shutdown": a worker that dies rejects the futures
 * of every call in flight to it with a NodeLostError that names the node and what happened; later
 * calls to its objects reject at once; other nodes keep serving.
 */

import { createWorkerNode, MultiactiveError, NodeLostError, newActive, shutdown } from 'multiactive';
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder, Waiter } from './fixtures/classes.js';
import { rejection, within } from './fixtures/util.js';

afterAll(async () => {
  await within(shutdown({ timeoutMs: 3000 }), 10_000, 'shutdown');
});

function isNodeLost(e: unknown, node: number): NodeLostError {
  expect(e).toBeInstanceOf(NodeLostError);
  expect(e).toBeInstanceOf(MultiactiveError);
  expect((e as NodeLostError).node).toBe(node);
  return e as NodeLostError;
}

describe('worker death', () => {
  it('process.exit(3) in a method: calls in flight reject with NodeLostError "exited with code 3"', async () => {
    const dying = createWorkerNode({ name: 'dies-exit' });
    const other = createWorkerNode({ name: 'survivor' });
    const a = newActive(Recorder, ['a'], { node: dying });
    const b = newActive(Recorder, ['b'], { node: dying });
    const s = newActive(Recorder, ['s'], { node: other });
    const m = newActive(Recorder, ['m']);
    expect(await within(a.ping())).toBe('pong:a'); // it is up
    const hanging = b.never();
    const exit = a.exitNow(3);
    const queued = a.ping();
    for (const f of [hanging, exit, queued]) {
      const e = isNodeLost(await rejection(f, 'in flight to dead node'), dying.id);
      expect(e.message).toMatch(/exited with code 3/);
      expect(e.message).toMatch(new RegExp(`${dying.id}`));
    }
    // Later calls reject at once (well under the bound).
    const t0 = Date.now();
    isNodeLost(await rejection(b.ping(), 'later call', 3000), dying.id);
    expect(Date.now() - t0).toBeLessThan(1000);
    // The rest keeps working.
    expect(await within(s.ping())).toBe('pong:s');
    expect(await within(m.ping())).toBe('pong:m');
    const fresh = newActive(Recorder, ['f'], { node: other });
    expect(await within(fresh.ping())).toBe('pong:f');
  });

  it('an error thrown outside any request crashes the worker: NodeLostError "crashed (Error: boom)"', async () => {
    const dying = createWorkerNode({ name: 'dies-crash' });
    const a = newActive(Recorder, ['a'], { node: dying });
    const hanging = a.slow(60_000);
    const r2 = newActive(Recorder, ['x'], { node: dying });
    const hanging2 = r2.never();
    void a; // the crash is scheduled by another object's request
    const crasher = newActive(Recorder, ['c'], { node: dying });
    await within(crasher.crashOutside('boom'));
    for (const f of [hanging, hanging2]) {
      const e = isNodeLost(await rejection(f, 'in flight to crashed node'), dying.id);
      expect(e.message).toMatch(/crashed \(Error: boom\)/);
    }
    isNodeLost(await rejection(crasher.ping(), 'later call', 3000), dying.id);
  });

  it('WorkerNode.terminate({ immediate: true }) rejects calls in flight with NodeLostError', async () => {
    const n = createWorkerNode({ name: 'terminated' });
    const a = newActive(Recorder, ['a'], { node: n });
    expect(await within(a.ping())).toBe('pong:a');
    const hanging = a.never();
    await within(n.terminate({ immediate: true }), 8000, 'terminate immediate');
    isNodeLost(await rejection(hanging), n.id);
    isNodeLost(await rejection(a.ping(), 'after terminate', 3000), n.id);
  });

  it('a worker killed with worker.terminate() from outside the API is handled as a death', async () => {
    const n = createWorkerNode({ name: 'killed' });
    const a = newActive(Recorder, ['a'], { node: n });
    expect(await within(a.ping())).toBe('pong:a');
    const hanging = a.never();
    await n.worker.terminate();
    isNodeLost(await rejection(hanging), n.id);
  });

  it('a caller on another worker sees the death of the worker it calls (NodeLostError by name)', async () => {
    const dying = createWorkerNode({ name: 'dies-callee' });
    const callerNode = createWorkerNode({ name: 'caller' });
    const target = newActive(Recorder, ['t'], { node: dying });
    const killer = newActive(Recorder, ['k'], { node: dying });
    const waiter = newActive(Waiter, [], { node: callerNode });
    expect(await within(waiter.callPing(target))).toBe('pong:t');
    const pending = waiter.callNever(target);
    // Make sure the call reached the dying node before killing it.
    await new Promise((r) => setTimeout(r, 0));
    void killer.exitNow(7);
    const e = (await rejection(pending, 'worker->dead worker')) as Error;
    expect(e.name).toBe('NodeLostError');
    expect(e.message).toMatch(new RegExp(`node ${dying.id}\\b`));
    // The caller's node goes on.
    const survivor = newActive(Recorder, ['cs'], { node: callerNode });
    expect(await within(waiter.callPing(survivor))).toBe('pong:cs');
  });

  it('out of memory: NodeLostError "crashed (ERR_WORKER_OUT_OF_MEMORY ...)"', async () => {
    const n = createWorkerNode({ name: 'oom', resourceLimits: { maxOldGenerationSizeMb: 24 } });
    const w = newActive(Waiter, [], { node: n });
    const e = isNodeLost(await rejection(w.grow(), 'oom', 20_000), n.id);
    expect(e.message).toMatch(/crashed \(/);
    expect((e.cause as { code?: string } | undefined)?.code).toBe('ERR_WORKER_OUT_OF_MEMORY');
  }, 25_000);

  // Found broken here, fixed: nodes.md says the NodeLostError names what happened "in words (... `crashed
  // (ERR_WORKER_OUT_OF_MEMORY: ...)`)". Observed: "node N crashed (Error: Worker terminated due to
  // reaching memory limit: JS heap out of memory)." The code is only on `cause.code`.
  it('out of memory: the message says crashed (ERR_WORKER_OUT_OF_MEMORY: ...) as documented', async () => {
    const n = createWorkerNode({ name: 'oom2', resourceLimits: { maxOldGenerationSizeMb: 24 } });
    const w = newActive(Waiter, [], { node: n });
    const e = isNodeLost(await rejection(w.grow(), 'oom', 20_000), n.id);
    expect(e.message).toMatch(/crashed \(ERR_WORKER_OUT_OF_MEMORY/);
  }, 25_000);

  // Found broken here, fixed (the main thread's reason now reaches the other workers): "rejects the futures of every call in flight to it with a
  // NodeLostError that names the node and what happened, in words (`exited with code 3`, ...)".
  // A caller on *another worker* gets "node N closed its channel." instead of "exited with code 7".
  it('a caller on another worker is told what happened to the dead worker (exited with code 7)', async () => {
    const dying = createWorkerNode({ name: 'dies-callee-2' });
    const callerNode = createWorkerNode({ name: 'caller-2' });
    const target = newActive(Recorder, ['t'], { node: dying });
    const killer = newActive(Recorder, ['k'], { node: dying });
    const waiter = newActive(Waiter, [], { node: callerNode });
    expect(await within(waiter.callPing(target))).toBe('pong:t');
    const pending = waiter.callNever(target);
    await new Promise((r) => setTimeout(r, 0));
    void killer.exitNow(7);
    const e = (await rejection(pending, 'worker->dead worker')) as Error;
    expect(e.name).toBe('NodeLostError');
    expect(e.message).toMatch(/exited with code 7/);
  });
});
