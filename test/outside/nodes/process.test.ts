/**
 * Outside tests from docs/nodes.md "Failures and shutdown": "An idle runtime never keeps the process
 * alive, and a busy one does ... a script whose main thread awaits a result that a worker will
 * deliver by calling a main-thread object, while only calls between workers are in flight, stays
 * alive until it arrives; and a script that makes its calls and forgets to call shutdown() still
 * exits once everything is done." Plus guide.md §3: a failed fire-and-forget call does not crash
 * the process. Each script runs in a child process (tsx), killed if it outlives its bound.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
});

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** ms from the RESULT line to the exit, or -1 if there was none. */
  afterResult: number;
  total: number;
  timedOut: boolean;
}

function run(script: string, args: string[] = [], boundMs = 30_000): Promise<Run> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const env = { ...process.env };
    delete env.VITEST; // the child is an ordinary application
    delete env.VITEST_POOL_ID;
    delete env.VITEST_WORKER_ID;
    delete env.NODE_OPTIONS;
    const child = spawn(process.execPath, [tsx, fixture(script), ...args], { cwd: root, env });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let resultAt = -1;
    let timedOut = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (resultAt < 0 && /RESULT/.test(stdout)) resultAt = Date.now();
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const now = Date.now();
      resolve({
        code,
        signal,
        stdout,
        stderr,
        afterResult: resultAt < 0 ? -1 : now - resultAt,
        total: now - t0,
        timedOut,
      });
    });
  });
}

describe('process lifetime', () => {
  it('a script that makes its calls and forgets shutdown() exits by itself, soon after its last result', async () => {
    const r = await run('idle-exit.ts');
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/RESULT 100 100 pong:a/);
    expect(r.afterResult).toBeGreaterThanOrEqual(0);
    expect(r.afterResult).toBeLessThan(5000);
  }, 40_000);

  it('it stays alive while only a call between workers is in flight, until the worker reports to main', async () => {
    const ms = 2500;
    const r = await run('stays-alive.ts', [String(ms)]);
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    const m = /RESULT arrived:(\d+) after (\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(ms);
    expect(Number(m![2])).toBeGreaterThanOrEqual(ms - 50);
    expect(r.afterResult).toBeLessThan(5000);
  }, 40_000);

  it('failed fire-and-forget calls (throw, CopyError, uncopyable result, dead worker) do not crash it', async () => {
    const r = await run('no-unhandled.ts');
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/DEAD NodeLostError/);
    expect(r.stdout).toMatch(/RESULT alive failedEvents=[1-9]/);
    expect(r.stderr).not.toMatch(/Unhandled|unhandled/);
  }, 40_000);

  it('an immediate shutdown ends a pending graceful one on a spinning worker, and the process exits', async () => {
    const r = await run('spin-immediate.ts');
    expect(r.timedOut, r.stderr).toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/RESULT graceful settled/);
    const m = /IMMEDIATE (\d+)/.exec(r.stdout);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(5000);
    // well before the 30 s default bound of the graceful shutdown
    expect(r.total).toBeLessThan(25_000);
  }, 40_000);
});
