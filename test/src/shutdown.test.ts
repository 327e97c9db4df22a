/**
 * Shutdown never hangs: a graceful `shutdown()` and `WorkerNode.terminate()` end within their
 * bound (`timeoutMs`) whatever the requests do; deadlocked requests are broken while they
 * wait, on one node or across workers; an immediate shutdown ends a graceful one under way,
 * worker threads spinning in a loop included, and the process exits.
 *
 * Nothing sleeps: tests wait on futures, on findDeadlocks, on a worker's exit or on a child
 * process, each with a bound.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import {
  ArgumentError,
  createWorkerNode,
  type Deadlock,
  DeadlockError,
  findDeadlocks,
  NodeLostError,
  newActive,
  onEvent,
  RemoteError,
  shutdown,
  TerminatedError,
  type WorkerNode,
} from 'multiactive';
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { Hanger, Knot } from '../fixtures/shutdown.js';
import { within } from '../support/within.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Worker threads of this file: terminated directly at the end, whatever shutdown did. */
const threads: Worker[] = [];
function worker(): WorkerNode {
  const w = createWorkerNode();
  threads.push(w.worker);
  return w;
}
afterEach(async () => {
  await shutdown({ immediate: true });
});
afterAll(async () => {
  await Promise.all(threads.map((t) => t.terminate()));
});

/** The rejection of `promise` within `ms`, or a failure if it fulfils or hangs. */
function rejectionOf(promise: PromiseLike<unknown>, what: string, ms = 5000): Promise<Error> {
  return within(
    Promise.resolve(promise).then(
      (value) => {
        throw new Error(`${what} fulfilled with ${String(value)}; expected a rejection`);
      },
      (error: unknown) => error as Error,
    ),
    ms,
    what,
  );
}

const exitOf = (w: Worker): Promise<number> => new Promise((resolve) => w.once('exit', resolve));

/** Resolves once findDeadlocks reports `count` deadlocks (asked again after each answer). */
async function deadlocksFound(count: number): Promise<void> {
  while ((await findDeadlocks()).length < count) await new Promise((resolve) => setImmediate(resolve));
}

/** Run a script under tsx in a child process; kill it and fail if it has not exited by `ms`. */
async function runScript(args: string[], ms: number): Promise<string> {
  const script = fileURLToPath(new URL(`../fixtures/${args[0]}`, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args.slice(1)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (signal === 'SIGKILL')
    throw new Error(
      `${args.join(' ')} was still running after ${ms} ms (killed). stdout: ${stdout} stderr: ${stderr}`,
    );
  if (code !== 0) throw new Error(`${args.join(' ')} exited with code ${code}. stderr: ${stderr}`);
  return stdout;
}

describe('a graceful shutdown is bounded', () => {
  it('a request that never settles: at timeoutMs what is left is rejected with a TerminatedError naming the timeout', async () => {
    const hanger = newActive(Hanger);
    const hung = hanger.hang();
    const queued = hanger.after(); // behind `hang`: its group is not self-compatible
    const started = performance.now();
    await within(shutdown({ timeoutMs: 200 }), 5000, 'shutdown({ timeoutMs: 200 })');
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    for (const future of [hung, queued]) {
      const error = await rejectionOf(future, 'a request dropped by the timed-out shutdown');
      expect(error).toBeInstanceOf(TerminatedError);
      expect(error.message).toMatch(/Hanger#\d+ was terminated: the shutdown did not end within 200 ms/);
    }
  });

  it('a deadlocked pair does not hold it: its requests are rejected with DeadlockError, long before the bound', async () => {
    const a = newActive(Knot);
    const b = newActive(Knot);
    const outer = a.outer(b);
    await within(deadlocksFound(1), 5000, 'the deadlock to form');
    const started = performance.now();
    await within(shutdown(), 5000, 'shutdown() with the default bound (30 s)');
    expect(performance.now() - started).toBeLessThan(5000);
    expect(await rejectionOf(outer, 'the outermost request of the deadlock')).toBeInstanceOf(DeadlockError);
  });

  it('a deadlock across the main thread and a worker node is broken too', async () => {
    const a = newActive(Knot);
    const b = newActive(Knot, [], { node: worker() });
    const outer = a.outer(b);
    await within(deadlocksFound(1), 10_000, 'the deadlock across nodes to form');
    await within(shutdown(), 8000, 'shutdown() with the default bound (30 s)');
    // Withdrawn here (inner), it reached outer through relay on the worker.
    const error = await rejectionOf(outer, 'the outermost request of the deadlock');
    expect(error).toBeInstanceOf(DeadlockError); // the library's errors keep their class across nodes
    expect(error).not.toBeInstanceOf(RemoteError);
    expect(error.name).toBe('DeadlockError');
  }, 30_000);

  it('a deadlock across two worker nodes is broken from the main thread, and both workers end', async () => {
    const found: Deadlock[] = [];
    const stop = onEvent((e) => {
      if (e.type === 'deadlock.found') found.push(e.deadlock);
    });
    onTestFinished(stop);
    const w1 = worker();
    const w2 = worker();
    const a = newActive(Knot, [], { node: w1 });
    const b = newActive(Knot, [], { node: w2 });
    const outer = a.outer(b);
    await within(deadlocksFound(1), 10_000, 'the deadlock across workers to form');
    const exits = [exitOf(w1.worker), exitOf(w2.worker)];
    await within(shutdown(), 8000, 'shutdown() with the default bound (30 s)');
    await within(Promise.all(exits), 5000, 'both worker threads to exit');
    expect(found.map((d) => d.cycle.map((s) => `${s.request.method}@${s.request.node}`).sort())).toEqual([
      [`inner@${w1.id}`, `outer@${w1.id}`, `relay@${w2.id}`],
    ]);
    const error = await rejectionOf(outer, 'the outermost request of the deadlock');
    expect(error).toBeInstanceOf(DeadlockError);
    // DeadlockError, as it reached w1 through relay on w2 (w2's last reply on their own
    // channel is not overtaken by the main thread's word that w2 has ended).
    expect(error.name).toBe('DeadlockError');
  }, 30_000);

  it('a graceful WorkerNode.terminate() ends at timeoutMs: the thread is terminated, callers get NodeLostError naming it', async () => {
    const w = worker();
    const hanger = newActive(Hanger, [], { node: w });
    const hung = hanger.hang();
    await within(newActive(Hanger, [], { node: w }).after(), 5000, 'the worker to serve'); // it is up
    const exited = exitOf(w.worker);
    const started = performance.now();
    await within(w.terminate({ timeoutMs: 300 }), 5000, 'terminate({ timeoutMs: 300 })');
    expect(performance.now() - started).toBeGreaterThanOrEqual(295);
    await within(exited, 5000, 'the worker thread to exit');
    const error = await rejectionOf(hung, 'a call to the terminated node');
    expect(error).toBeInstanceOf(NodeLostError);
    expect(error.message).toMatch(/its graceful terminate\(\) did not end within 300 ms/);
  });

  it('an immediate WorkerNode.terminate() ends a graceful one under way; both settle, the thread is gone', async () => {
    const w = worker();
    const hung = newActive(Hanger, [], { node: w }).hang();
    await within(newActive(Hanger, [], { node: w }).after(), 5000, 'the worker to serve');
    const exited = exitOf(w.worker);
    const graceful = w.terminate({ timeoutMs: Number.POSITIVE_INFINITY });
    await within(w.terminate({ immediate: true }), 5000, 'the immediate terminate()');
    await within(graceful, 5000, 'the graceful terminate() it cut short');
    await within(exited, 5000, 'the worker thread to exit');
    expect(await rejectionOf(hung, 'a call to the terminated node')).toBeInstanceOf(NodeLostError);
  });

  it('checks its options: timeoutMs is a number >= 0 or Infinity', () => {
    for (const bad of [-1, Number.NaN, '100', null]) {
      expect(() => shutdown({ timeoutMs: bad as number })).toThrow(ArgumentError);
    }
    expect(() => shutdown({ timeoutMs: -1 })).toThrow(
      'Expected `timeoutMs` to be a number >= 0 or Infinity, got `-1` (number)',
    );
    expect(() => shutdown({ immediate: 'yes' as unknown as boolean })).toThrow(ArgumentError);
    expect(() => shutdown({ timeout: 5 } as never)).toThrow(/Unknown shutdown option `timeout`/);
    const w = worker();
    expect(() => w.terminate({ timeoutMs: -5 })).toThrow(ArgumentError);
  });
});

describe('the process exits', () => {
  it('objects with periodic checkpoints that end while a checkpoint falls due do not crash it', async () => {
    expect(await runScript(['checkpoint-shutdown.ts'], 15_000)).toContain('survived');
  }, 20_000);

  it('an immediate shutdown() while a graceful one waits on a spinning worker terminates the thread; both settle', async () => {
    const out = await runScript(['spin-exit.ts', 'escalate'], 15_000);
    expect(out).toContain('immediate shutdown settled');
    expect(out).toContain('graceful shutdown settled');
    expect(out).toMatch(/spin rejected: NodeLostError/);
  }, 20_000);

  it('a graceful shutdown({ timeoutMs }) with a spinning worker turns immediate at the bound and terminates it', async () => {
    const out = await runScript(['spin-exit.ts', 'timeout'], 15_000);
    expect(out).toMatch(/graceful shutdown settled after \d+ ms/);
    expect(out).toMatch(/spin rejected: NodeLostError: .*the shutdown did not end within 300 ms/);
  }, 20_000);
});
