/**
 * Worker nodes when things go wrong, and the guarantees around them (issue #3): nodes that die
 * mid-request (terminated, `process.exit`, an uncaught exception), errors and values that
 * cross several nodes, direct channels between workers, ordering, automatic placement, and
 * shutdown hygiene (no thread left, an idle runtime never keeps the process alive).
 *
 * Nothing sleeps: tests wait on the event they expect (a bounded `Trace.until`), on futures,
 * or on a child process with a deadline.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { threadId, type Worker } from 'node:worker_threads';
import {
  type Active,
  createWorkerNode,
  MultiactiveError,
  NodeLostError,
  newActive,
  RemoteError,
  shutdown,
  terminate,
  type WorkerNode,
  workerNodes,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Fragile,
  hiddenClass,
  PEER_MARKER,
  PeerTarget,
  Recorder,
  Relay,
  Slow,
  ThreadBlocker,
} from '../fixtures/faults.js';
import { Probe } from '../fixtures/origin-probe.js';
import { Controller, Gate } from '../fixtures/scenarios.js';
import { SLOW_IMPORT_CHANNEL, SlowlyImported } from '../fixtures/slow-import.js';
import { Counter } from '../fixtures/workers.js';
import { NodeTrace, objectIdOf } from '../support/node-trace.js';
import { within } from '../support/within.js';

// The automatic pool has one worker per core: pretend there are two, whatever the machine.
vi.mock('node:os', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:os')>()),
  availableParallelism: () => 2,
}));

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The 'exit' event of a Worker (not `events.once`, which rejects when the worker emits 'error'
 * first, as a crashing worker does).
 */
const exitOf = (worker: Worker): Promise<number> =>
  new Promise((resolve) => worker.once('exit', (code: number) => resolve(code)));

/** The rejection of `promise` (within 5 s), or a failure if it fulfils. */
async function rejectionOf(promise: PromiseLike<unknown>, what: string): Promise<Error> {
  return within(
    Promise.resolve(promise).then(
      (value) => {
        throw new Error(`${what} fulfilled with ${String(value)}; expected a rejection`);
      },
      (error: unknown) => error as Error,
    ),
    5000,
    what,
  );
}

/** Run a script under tsx in a child process; kill it and fail if it has not exited by `ms`. */
async function runScript(script: string, ms: number): Promise<{ stdout: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL(script, import.meta.url))],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (signal === 'SIGKILL')
    throw new Error(`${script} was still running after ${ms} ms (killed). stderr: ${stderr}`);
  if (code !== 0) throw new Error(`${script} exited with code ${code}. stderr: ${stderr}`);
  return { stdout };
}

/** `Atomics.waitAsync` (ES2024; typed here, the project's lib is ES2023). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      array: Int32Array,
      index: number,
      value: number,
      ms?: number,
    ): { value: string | Promise<string> };
  }
).waitAsync;

/**
 * Hold `node`'s thread: a `ThreadBlocker` request there sits in `Atomics.wait` until
 * `release()`. Resolves once the thread is held; meanwhile messages posted to the node pile up
 * in its ports.
 */
async function holdThread(node: WorkerNode): Promise<{ release: () => void; released: PromiseLike<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const released = newActive(ThreadBlocker, [], { node }).block(flag);
  const outcome = await within(
    Promise.resolve(waitAsync(flag, 0, 0, 5000).value),
    6000,
    `node ${node.id} to be held`,
  );
  if (outcome === 'timed-out') throw new Error(`node ${node.id} was not held within 5 s`);
  const release = (): void => {
    Atomics.store(flag, 0, 2);
    Atomics.notify(flag, 0);
  };
  return { release, released };
}

let steady: WorkerNode; // keeps serving while other nodes die
let peer: WorkerNode;
beforeAll(() => {
  steady = createWorkerNode();
  peer = createWorkerNode();
});
afterAll(async () => {
  await shutdown({ immediate: true });
});

describe('a worker that dies mid-request', () => {
  /**
   * Start a victim node with an object on it, put `start(obj)` in service (its
   * `request.started` event seen on the main thread), then `kill` the node. Checks what every
   * kind of death must give: the caller's future rejects with a NodeLostError naming the node
   * and what happened; other workers keep serving; later calls to the dead node's objects
   * reject at once.
   */
  async function dies(
    start: (obj: Active<Fragile>) => PromiseLike<unknown>,
    kill: (victim: WorkerNode) => unknown,
    happened: RegExp,
  ): Promise<NodeLostError> {
    const victim = createWorkerNode();
    const obj = newActive(Fragile, [], { node: victim });
    const relay = newActive(Relay, [], { node: steady });
    const trace = new NodeTrace();
    try {
      expect(await obj.ping()).toBe('pong');
      expect(await relay.echo('ready')).toBe('ready');
      const inFlight = start(obj);
      const id = objectIdOf(obj);
      await trace.until(() => trace.countOn(id, 'request.started') === 2, 'the request to be in service');
      // A call from another worker to the victim, and a future computed on the victim passed to another worker.
      const fromPeer = relay.waitOn(obj);
      const forwarded = relay.echo(obj.hang());
      await trace.until(() => trace.countOn(id, 'request.started') === 4, 'the calls to reach the victim');
      // The other worker holds the future (a future whose home is already lost when it arrives
      // would never settle: not tested here).
      await trace.until(
        () => trace.countOn(objectIdOf(relay), 'request.sent', 'echo') === 2, // 'ready', then this one
        'the forwarded future to reach the other worker',
      );
      const exited = exitOf(victim.worker);
      kill(victim);

      const error = await rejectionOf(inFlight, 'the call in service');
      expect(error).toBeInstanceOf(NodeLostError);
      const lost = error as NodeLostError;
      expect(lost.node).toBe(victim.id);
      expect(lost.message).toContain(`node ${victim.id}`);
      expect(lost.message).toMatch(happened);
      await within(exited, 5000, "the victim's exit");

      // The same death seen from another worker: a NodeLostError, rebuilt there as its class.
      for (const [what, future] of [
        ['a call from another worker', fromPeer],
        ['a future of the dead node passed to another worker', forwarded],
      ] as const) {
        const remote = await rejectionOf(future, what);
        expect(remote).toBeInstanceOf(NodeLostError);
        expect(remote).not.toBeInstanceOf(RemoteError);
        expect(remote.name).toBe('NodeLostError');
        expect(remote.message).toContain(`node ${victim.id}`);
        // With what happened, as the main thread tells every node (not only "closed its channel").
        expect(remote.message).toMatch(happened);
      }

      // Other workers keep serving.
      expect(await relay.echo('still here')).toBe('still here');
      // Later calls to the dead node's objects reject at once, from anywhere.
      const later = await rejectionOf(obj.ping(), 'a later call');
      expect(later).toBeInstanceOf(NodeLostError);
      expect(later.message).toMatch(happened);
      const laterFromWorker = await rejectionOf(relay.waitOn(obj), 'a later call from a worker');
      expect(laterFromWorker.name).toBe('NodeLostError');
      expect(laterFromWorker.message).toMatch(happened);
      // Placing a new object there fails too (at once, or on its first call).
      const placed = await rejectionOf(
        (async () => newActive(Fragile, [], { node: victim }).ping())(),
        'placing an object on the dead node',
      );
      expect(placed).toBeInstanceOf(NodeLostError);
      expect(workerNodes()).not.toContain(victim);
      return lost;
    } finally {
      trace.close();
    }
  }

  it('worker.terminate() under a request in service rejects its future with NodeLostError', async () => {
    await dies(
      (obj) => obj.hang(),
      (victim) => victim.worker.terminate(),
      /exited with code 1/,
    );
  });

  it('process.exit(3) inside a request rejects its future with NodeLostError saying so', async () => {
    const gate = newActive(Gate);
    await dies(
      (obj) => obj.exitWhenOpened(gate, 3),
      () => gate.open(),
      /exited with code 3/,
    );
  });

  it('an uncaught exception outside requests crashes the worker: NodeLostError with the exception as cause', async () => {
    const gate = newActive(Gate);
    const lost = await dies(
      (obj) => obj.crashWhenOpened(gate),
      () => gate.open(),
      /crashed \(Error: boom\)/,
    );
    expect((lost.cause as Error).message).toBe('boom');
  });
});

describe('errors and values across nodes', () => {
  it('an error thrown on one worker reaches the main thread through another with its name, message and cause', async () => {
    const counter = newActive(Counter, [0], { node: peer });
    const relay = newActive(Relay, [], { node: steady });
    expect(await counter.inc(0)).toBe(0); // it exists before the relay calls it (the creation race)
    const error = await rejectionOf(relay.failVia(counter, 'deep'), 'failVia');
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.name).toBe('RangeError');
    expect(error.message).toBe('deep');
    expect((error.cause as Error).message).toBe('inner cause');
    // The stack says which nodes it went through.
    expect(error.stack).toContain(`thrown on node ${peer.id}, received on node ${steady.id}`);
    expect(error.stack).toContain(`thrown on node ${steady.id}, received on node 0`);
    expect(await counter.inc(1)).toBe(1);
  });

  it('a result that cannot be copied rejects the call with a CopyError; the object keeps serving', async () => {
    const relay = newActive(Relay, [], { node: steady });
    const error = await rejectionOf(relay.handBack(), 'handBack');
    expect(error.name).toBe('CopyError');
    expect(error.message).toMatch(/The result of Relay#\d+\.handBack cannot be copied.*function/);
    expect(await relay.echo('ok')).toBe('ok');
  });

  it('a class its worker cannot import fails every call with an error that says to export it', async () => {
    const hidden = newActive(hiddenClass(), [], { node: steady });
    const error = await rejectionOf(hidden.m(), 'a call on a class that is not exported');
    expect(error.message).toMatch(/Hidden is not exported by .*faults\.ts/);
    expect(error.message).toMatch(/Export the class/);
    expect((await rejectionOf(hidden.m(), 'a second call')).message).toBe(error.message);
  });
});

describe('direct channels and ordering between nodes', () => {
  /** Whether `value` contains the string `needle`, at any depth. Time: O(size of value). */
  function mentions(value: unknown, needle: unknown, seen = new Set<unknown>()): boolean {
    if (value === needle) return true;
    if (value === null || typeof value !== 'object' || seen.has(value)) return false;
    seen.add(value);
    if (ArrayBuffer.isView(value)) return false;
    const items = value instanceof Map ? [...value.entries()] : Object.values(value);
    return items.some((item) => mentions(item, needle, seen));
  }

  it('a call from an object on worker 1 to an object on worker 2 does not pass through the main thread', async () => {
    const caller = newActive(Relay, [], { node: steady });
    const target = newActive(PeerTarget, [], { node: peer });
    expect(await target.count()).toBe(0); // both objects exist before the spies start
    // What the main thread exchanges with each worker, whatever the wire format: everything
    // it posts (the Worker's postMessage, which its link calls at each flush) and everything
    // it receives (one more 'message' listener beside the link's). Every call between the
    // workers carries PEER_MARKER as an argument (whatever the encoding of methods), so if one
    // of them went through the main thread, the marker would appear in these messages.
    const posted: unknown[] = [];
    const received: unknown[] = [];
    const restore: (() => void)[] = [];
    for (const w of [steady, peer]) {
      const original = w.worker.postMessage;
      w.worker.postMessage = function (this: typeof w.worker, message: unknown, ...rest: never[]) {
        posted.push(message);
        return original.call(this, message, ...rest);
      } as typeof original;
      const listener = (message: unknown): void => {
        received.push(message);
      };
      w.worker.on('message', listener);
      restore.push(() => {
        w.worker.postMessage = original;
        w.worker.off('message', listener);
      });
    }
    try {
      const results = await caller.fanOut(target, 100);
      expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i));
      expect(await target.count()).toBe(100);
    } finally {
      for (const undo of restore) undo();
    }
    // The spies saw the main thread's own traffic (its two calls and their results)...
    expect(posted.length).toBeGreaterThanOrEqual(2);
    expect(received.some((m) => mentions(m, 100))).toBe(true); // count() === 100
    // ...and none of the 100 calls between the workers.
    expect(posted.some((m) => mentions(m, PEER_MARKER))).toBe(false);
    expect(received.some((m) => mentions(m, PEER_MARKER))).toBe(false);
    // The results of fanOut and count; besides them, only the workers' liveness notes (a
    // worker with calls to another worker in flight says it is busy, then idle).
    const isBusyNote = (entry: unknown): boolean =>
      typeof entry === 'object' && entry !== null && (entry as { t?: unknown }).t === 'node.busy';
    const substantive = received.filter(
      (batch) => !(Array.isArray(batch) && batch.length === 2 && batch[0] === 3 && isBusyNote(batch[1])),
    );
    expect(substantive.length).toBeLessThanOrEqual(2);
    expect(received.length - substantive.length).toBeLessThanOrEqual(4);
  });

  it('requests from an object on one worker to an object on another keep their call order', async () => {
    const caller = newActive(Relay, [], { node: steady });
    const counter = newActive(Counter, [0], { node: peer });
    expect(await counter.inc(0)).toBe(0); // it exists before the caller calls it (the creation race)
    expect(await caller.incMany(counter, 300)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('a call whose argument is a pending future keeps its place: a later exclusive call from the same caller runs after it', async () => {
    const recorder = newActive(Recorder, [], { node: peer });
    const gate = newActive(Gate, [], { node: steady });
    const trace = new NodeTrace();
    try {
      const first = recorder.append(gate.wait()); // held until the gate (another worker) opens
      const second = recorder.append('second');
      const id = objectIdOf(recorder);
      await trace.until(() => trace.countOn(id, 'request.sent') === 2, 'both calls to reach the recorder');
      expect(trace.countOn(id, 'request.started')).toBe(0);
      await gate.open('first');
      expect(await first).toEqual(['first']);
      expect(await second).toEqual(['first', 'second']);
    } finally {
      trace.close();
    }
  });

  /*
   * Was a bug (src/node/runtime.ts, onCall; fixed): a reference to an object that
   * node A created on worker B can reach a third node C, and C's call reach B, before A's
   * `create` message does: the two travel on different channels (A->B, and A->C->B), so
   * nothing orders them. B then answers "No active object <id> on node B (terminated, or
   * never created here)" with a TerminatedError, for an object that exists a moment later.
   * Here B's thread is held (Atomics.wait) while both messages are posted, so B reads them in
   * its event loop's order of ports: the main thread's port first. Without the hold it happens
   * now and then, also when A is the main thread (seen: `newActive(Counter, [0], { node: w2 })`
   * passed at once to an object on w1 that calls it; `hub.make(w2.id).inc()` from the main
   * thread). The tests of these two files therefore call such an object once from its creator
   * before handing it to another node.
   * A fix: object ids say who created them (id / ID_STRIDE), and each creator's `create`
   * messages reach B in order; a call to an id from another creator above the highest id B
   * has seen from that creator is still on its way: park it (as calls to an object still
   * being imported are parked) until the `create` arrives.
   */
  it('a reference to an object another worker created can be called at once from a third node', async () => {
    const creator = newActive(Relay, [], { node: steady });
    await creator.where();
    const held = await holdThread(peer);
    let result: PromiseLike<number>;
    try {
      const made = await creator.createOn(peer.id, 41); // its `create` is posted to peer before this returns
      result = made.inc(1);
      await new Promise((resolve) => setImmediate(resolve)); // the call is posted too
    } finally {
      held.release();
    }
    await held.released;
    expect(await within(result, 5000, 'the call')).toBe(42);
  });
});

describe('futures whose value arrives first', () => {
  /*
   * Was a bug (src/node/runtime.ts onValue; fixed): a node drops the value of a future
   * it does not know yet: `onValue` finds nobody waiting for the key ("a duplicate, or nobody
   * waits any more") and forgets it. But a future's value can reach a node before the future
   * itself, in two ways:
   *  1. the call carrying the future is parked because its target is still being created
   *     (class module importing): its arguments stay encoded until the object exists, while a
   *     value sent right behind it on the same channel is handled at once;
   *  2. three nodes: the future travels S -> D while S's `forward` goes to the home H and the
   *     value H -> D: two channels, no order between them.
   * Either way the call, once decoded, waits for a value that never comes: it hangs (it is
   * held forever; the caller's future never settles). Both tests below are deterministic; the
   * second holds D's thread (Atomics.wait) while both messages are posted, and D then reads its
   * ports in its event loop's order (the main thread's port first). Without the hold the
   * second case happens by timing now and then (seen for `a.inc(b.inc(1))` with a on w1 and b
   * on w2, as in workers.test.ts "three nodes" and "tables ... are empty").
   * A fix: decode a call's arguments when it arrives, also when it is parked; and keep a value
   * that arrives for an unknown key (its future is on its way: a `forward` is only sent when
   * the future is sent to that node) until the future is decoded, dropping it only if the
   * sender is lost.
   */
  it('a future passed to an object still being created on a worker resolves there', async () => {
    const inspector = newActive(Controller, [], { node: peer });
    await inspector.where();
    const local = newActive(Counter, [100]);
    const settled = local.inc(1);
    expect(await settled).toBe(101);
    const channel = new BroadcastChannel(SLOW_IMPORT_CHANNEL);
    let fresh: Active<SlowlyImported> | undefined;
    try {
      const loading = new Promise<void>((resolve) => {
        channel.onmessage = (event) => {
          if ((event as MessageEvent).data === 'waiting') resolve();
        };
      });
      fresh = newActive(SlowlyImported, [], { node: peer });
      await within(loading, 5000, 'the class module to start loading on the worker');
      const result = fresh.echo(settled); // parked on the worker; the value follows it
      // A round trip on the same channel: the worker has handled the call and the value
      // before it answers (the 'go' below travels on another channel, with no order).
      await inspector.where();
      channel.postMessage('go');
      // A later call from the same caller: when it returns, the worker has replayed the first
      // one, whose argument (a settled future) has released it, or holds it for good.
      expect(await fresh.echo('later')).toBe('later');
      expect((await inspector.stats(fresh)).held).toBe(0);
      expect(await within(result, 5000, 'the call')).toBe(101);
    } finally {
      channel.close();
      if (fresh !== undefined) await terminate(fresh, { immediate: true }); // drop the held call: shutdown() serves what is left
    }
  });

  it('a future forwarded by one worker to another resolves there when its value overtakes it', async () => {
    const relay = newActive(Relay, [], { node: steady }); // S
    const target = newActive(Counter, [0], { node: peer }); // on D
    const inspector = newActive(Controller, [], { node: peer });
    const gate = newActive(Gate); // H: the main thread computes the value
    await Promise.all([relay.where(), target.where(), inspector.where()]);
    const trace = new NodeTrace();
    const held = await holdThread(peer);
    try {
      // S sends target.echo(f) to D and `forward` to H before it answers: H knows D awaits f.
      expect(await relay.passOn(target, { f: gate.wait() })).toBe('sent');
      await gate.open('overtaken'); // H sends the value to S and to D (posted in this turn)
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      held.release();
    }
    try {
      await held.released;
      await trace.until(
        () => trace.countOn(objectIdOf(target), 'request.sent', 'echo') === 1,
        'the call to reach its target',
      );
      expect((await inspector.stats(target)).held).toBe(0);
      expect(await within(relay.collect(), 5000, 'the call')).toBe('overtaken');
    } finally {
      trace.close();
      await terminate(target, { immediate: true }); // drop the held call: shutdown() serves what is left
    }
  });
});

describe('automatic placement', () => {
  it("'auto' spreads objects over a pool of one worker per core, round-robin", async () => {
    const before = workerNodes().length;
    const objects = [0, 1, 2].map(() => newActive(Fragile, [], { node: 'auto' }));
    const threads = await Promise.all(objects.map((o) => o.where()));
    expect(workerNodes().length).toBe(before + 2); // two cores: two pool workers
    expect(threads[0]).not.toBe(threadId);
    expect(threads[1]).not.toBe(threadId);
    expect(threads[1]).not.toBe(threads[0]);
    expect(threads[2]).toBe(threads[0]); // the third goes to the first again
  });

  it("'auto' inside a worker places the object on that worker", async () => {
    const relay = newActive(Relay, [], { node: steady });
    const placed = relay.placeAuto();
    expect(await placed.where()).toBe(await relay.where());
  });
});

describe('shutdown hygiene', () => {
  it('an idle runtime does not keep the process alive: a script that never calls shutdown() exits by itself', async () => {
    const [idle, pending] = await Promise.all([
      runScript('../fixtures/idle-exit.ts', 10_000),
      runScript('../fixtures/pending-exit.ts', 10_000),
    ]);
    expect(idle.stdout.trim()).toBe('returned 42');
    // A pending call on a worker keeps the process alive until it returns, then it exits.
    expect(pending.stdout).toMatch(/^returned late after (\d+) ms\n$/);
    expect(Number(/after (\d+) ms/.exec(pending.stdout)![1])).toBeGreaterThanOrEqual(300);
  });

  it('work in flight between workers keeps the process alive while the main thread awaits its result, then it exits', async () => {
    const relayed = await runScript('../fixtures/relay-exit.ts', 10_000);
    expect(relayed.stdout).toBe('reported late\n');
  });

  it('shutdown() serves the requests in flight on workers, then ends every worker thread', async () => {
    const slow = newActive(Slow, [], { node: peer });
    expect(await slow.after(0, 'ready')).toBe('ready'); // constructed: see the next test for why
    newActive(Fragile, [], { node: 'auto' }); // the pool too
    const nodes = workerNodes();
    expect(nodes.length).toBeGreaterThanOrEqual(3);
    const exits = nodes.map((w) => exitOf(w.worker));
    const inFlight = slow.after(50, 'served');
    await shutdown();
    expect(await inFlight).toBe('served');
    expect(workerNodes()).toEqual([]);
    await within(Promise.all(exits), 5000, "every worker's exit event");
    for (const w of nodes) expect(w.worker.threadId).toBe(-1);
    // Calls to objects of ended nodes reject at once.
    const late = await rejectionOf(slow.after(0, 'late'), 'a call after shutdown');
    expect(late).toBeInstanceOf(MultiactiveError);
  });

  /*
   * Was a bug (src/node/runtime.ts onTerminate/onCreate, worker-main.ts shutdownLocal; fixed): a graceful `WorkerNode.terminate()` (and so `shutdown()`) drops the calls to an
   * object that is still being created on the node (its class module still importing): the
   * node's `shutdown()` waits only for objects that exist, so it answers at once; the main
   * thread then declares the node lost and rejects those calls with NodeLostError ("was
   * terminated"), although they were sent before the termination and are queued requests the
   * graceful mode promises to serve. Here the `create`, the call and the `terminate` leave in
   * one batch, so the import cannot finish in between. A fix: the node's graceful shutdown also
   * waits for its pending objects (and serves the calls parked on them).
   */
  it('a graceful WorkerNode.terminate() serves the calls to an object still being created', async () => {
    const node = createWorkerNode();
    const probe = newActive(Probe, [], { node });
    const hello = probe.hello();
    await node.terminate();
    expect(await within(hello, 5000, 'the call')).toBe('hello');
  });

  it('objects created after shutdown() work normally, on a new pool worker', async () => {
    const again = newActive(Counter, [1], { node: 'auto' });
    expect(await again.inc(1)).toBe(2);
    expect(workerNodes().length).toBe(1);
    const exits = workerNodes().map((w) => exitOf(w.worker));
    await shutdown({ immediate: true });
    await within(Promise.all(exits), 5000, "the new worker's exit event");
    expect(workerNodes()).toEqual([]);
  });
});
