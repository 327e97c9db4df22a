/**
 * The cost of observing (issue 4): the round trip and the cross-worker benchmark with
 * nothing on, with the code from before the wait-for graph and deadlock detection (commit
 * OLD_COMMIT), with an event listener, with await tracking, with deadlock detection, and with
 * the web debugger attached and a client reading its stream.
 *
 * Each set-up switches process-wide state (async context cannot be switched off once on),
 * so each runs in its own child process (observe-child.ts), the older commit's with that
 * commit's build. All the children live for the whole family; the parent runs the harness
 * (bench/harness.ts) over them: a case is one child, a case-round asks that child to run the
 * workload `ops` times and to report the duration it measured. So the rounds of every
 * set-up interleave and rotate exactly as cases of one process do, only one child works at
 * a time, and each ratio is the median of per-round ratios against the baseline child.
 *
 * The older build: `git archive OLD_COMMIT` into a temporary directory (outside the repo),
 * its src/, decorators/ and scheduler/ compiled with the repo's TypeScript (kept between
 * runs), and this family's compiled child files copied next to its dist/src.
 *
 * The debugger's SSE client is this (parent) process: while the debugger child works, it
 * reads the stream on the other core, as a browser would, and reconnects like `EventSource`
 * (after 1 s) when the server drops it for reading too slowly.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get, request as httpRequest, type IncomingMessage } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchCase, type CaseResult, medianOf, runSuite, type SuiteOptions } from './harness.js';
import { DEBUGGER_SETUPS, type FromChild, type Setup, type ToChild, WORKLOADS } from './observe-shared.js';

/** The code before issue 4's changes (wait-for graph, await tracking, detection hooks). */
export const OLD_COMMIT = 'd4b9aa6';
/**
 * Issue 4's runtime complete, before issue 5 (checkpoints) touched the scheduler and the
 * request path: with it, the detached cost splits into issue 4's part and what came later.
 */
export const ISSUE4_COMMIT = '2dd04c4';

export const OBS_BASELINE = 'baseline';
export const OBS_OLD = OLD_COMMIT;
export const OBS_ISSUE4 = ISSUE4_COMMIT;
export const OBS_EVENTS = 'events';
export const OBS_EVENTS_SAMPLED = 'events, sampled';
export const OBS_TRACK = 'trackAwaits';
export const OBS_DETECT = 'detect';
export const OBS_DEBUGGER = 'debugger';
export const OBS_DEBUGGER_TIMELINE = 'debugger, timeline open';
export const OBS_DEBUGGER_DETECT = 'debugger + detect';

interface ConfigSpec {
  readonly name: string;
  readonly label: string;
  readonly setup: Setup;
  /** `current`: this checkout's dist/; otherwise a commit, built apart (see prepareBuild). */
  readonly build: string;
  /** Processes of this set-up (named `name`, `name #2`, ...). Default 1. */
  readonly replicas?: number;
}

/**
 * Processes per build with nothing on. Two processes of the same code measured ~5% apart in
 * one run here (the same baseline against the older builds: +2% in one run, +8% in the next,
 * CPU time agreeing), more than the 3% detached target: so each build runs in two processes,
 * pooled. More would be steadier, at ~10 s of family time each.
 */
export const NOTHING_ON_REPLICAS = 2;

export const OBS_CONFIGS: readonly ConfigSpec[] = [
  {
    name: OBS_BASELINE,
    label: 'current code, nothing on (debugger detached)',
    setup: 'none',
    build: 'current',
    replicas: NOTHING_ON_REPLICAS,
  },
  {
    name: OBS_OLD,
    label: `code before issue 4 (${OLD_COMMIT}), nothing on`,
    setup: 'none',
    build: OLD_COMMIT,
    replicas: NOTHING_ON_REPLICAS,
  },
  {
    name: OBS_ISSUE4,
    label: `issue 4 done, before issue 5 (${ISSUE4_COMMIT}), nothing on`,
    setup: 'none',
    build: ISSUE4_COMMIT,
    replicas: NOTHING_ON_REPLICAS,
  },
  { name: OBS_EVENTS, label: 'one event listener, `onEvent(() => {})`', setup: 'events', build: 'current' },
  {
    name: OBS_EVENTS_SAMPLED,
    label: "one listener of sampled requests, `onEvent(() => {}, { requests: 'sampled' })`",
    setup: 'events-sampled',
    build: 'current',
  },
  {
    name: OBS_TRACK,
    label: 'await tracking, `configureDeadlocks({ trackAwaits: true })`',
    setup: 'track',
    build: 'current',
  },
  {
    name: OBS_DETECT,
    label: 'detection, `configureDeadlocks({ detect: true })` (500 ms, tracking on), no deadlock',
    setup: 'detect',
    build: 'current',
  },
  {
    name: OBS_DEBUGGER,
    label: "`attachDebugger({ port: 0 })` + 1 SSE client on 127.0.0.1 (overview: requests' events sampled)",
    setup: 'debugger',
    build: 'current',
  },
  {
    name: OBS_DEBUGGER_TIMELINE,
    label: "the same, the client showing the timeline (every request's events)",
    setup: 'debugger+timeline',
    build: 'current',
  },
  {
    name: OBS_DEBUGGER_DETECT,
    label: 'the debugger as `MULTIACTIVE_DEBUG` attaches it (+ detection) + 1 SSE client',
    setup: 'debugger+detect',
    build: 'current',
  },
];

export interface ObserveConfigInfo {
  readonly name: string;
  readonly label: string;
  /** Why the set-up was left out (e.g. the debugger is not built). */
  readonly skipped?: string;
  /** Async context was on in the child's main thread. */
  readonly asyncContext?: boolean;
  /** Debugger set-ups: bytes the SSE client read, and how often it had to reconnect. */
  readonly sseBytes?: number;
  readonly sseReconnects?: number;
  /** Median over measured rounds of the busy ms after the operations (see SETTLE_MS). */
  readonly settleBusyMs?: number;
}

export interface ObserveWorkload {
  readonly name: string;
  /** Throughput (wall clock), as the harness reports it. */
  readonly results: readonly CaseResult[];
  /**
   * CPU time of each set-up's process (all its threads) per operation, over the same measured
   * rounds: less disturbed by other processes on the machine than the wall clock, though it
   * does not show time spent waiting (a wake-up across threads).
   */
  readonly cpu: readonly ObserveCpu[];
}

export interface ObserveCpu {
  readonly name: string;
  /** Median over the measured rounds of CPU ns per operation. */
  readonly nsPerOp: number;
  /** Median over rounds of (this CPU per op / the baseline's, same round). 1 for the baseline. */
  readonly ratio: number;
  /** CPU ns per operation of every measured round, in order. */
  readonly rounds: readonly number[];
}

export interface ObserveReport {
  readonly family: 'observe';
  readonly configs: readonly ObserveConfigInfo[];
  /** One suite per workload; its cases are the configs (same names), baseline OBS_BASELINE. */
  readonly workloads: readonly ObserveWorkload[];
  /** How the older builds were obtained (or why they could not be). */
  readonly oldBuild: string;
  /** What "current" is: the commit checked out, and the files of the runtime changed beyond it. */
  readonly current: string;
  readonly quick: boolean;
  /** 1-minute load average when the family started and ended (2 cores: above ~2, others ran). */
  readonly load: readonly [number, number];
}

/**
 * Measured rounds of 60 ms per process: short rounds, many of them, so that a burst of load
 * from another process on this shared 2-core machine spoils few pairs (one round of all
 * eleven processes takes ~1 s), and the medians of 15 paired ratios resist the spoiled ones.
 */
const ROUNDS = 15;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD_FILES = ['observe-child.js', 'observe-fixtures.js', 'observe-shared.js'];

// ------------------------------------------------------------------ the older build

/** Builds (once, cached in the temp dir) `commit`'s runtime; returns its root directory. */
function prepareBuild(commit: string): { dir: string; note: string } {
  const dir = join(os.tmpdir(), `multiactive-bench-${commit}`);
  const marker = join(dir, '.built');
  let note = `reused the build in ${dir}`;
  if (!existsSync(marker)) {
    const t0 = Date.now();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${OLD_COMMIT} | tar -x -C "${dir}"`], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeFileSync(
      join(dir, 'tsconfig.observe.json'),
      JSON.stringify({
        extends: './tsconfig.base.json',
        compilerOptions: { noEmit: false },
        include: ['src', 'decorators', 'scheduler'],
      }),
    );
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.observe.json')],
      { stdio: 'pipe' },
    );
    writeFileSync(marker, `${commit}\n`);
    note = `\`git archive ${commit}\` into ${dir}, compiled with tsc (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
  }
  // This family's child, compiled from the current sources, runs against the old runtime.
  mkdirSync(join(dir, 'dist', 'bench'), { recursive: true });
  for (const f of CHILD_FILES) copyFileSync(join(ROOT, 'dist', 'bench', f), join(dir, 'dist', 'bench', f));
  return { dir, note };
}

/** The checked-out commit, and the runtime's files changed beyond it (dist/ is built from them). */
function describeCurrent(): string {
  try {
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' });
    const head = git('rev-parse', '--short', 'HEAD').trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'scheduler', 'decorators', 'debugger')
      .split('\n')
      .filter((line) => line.length > 3)
      .map((line) => line.slice(3));
    return dirty.length === 0
      ? `commit ${head}`
      : `commit ${head}, plus uncommitted changes to ${dirty.join(', ')} (dist/ is built from the working tree)`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

// ------------------------------------------------------------------ children

/** A child process running one set-up; `run` asks it for one case-round. */
class SetupProcess {
  private readonly proc: ChildProcess;
  private pending: { resolve: (m: FromChild) => void; reject: (e: Error) => void } | undefined;
  private exited: Error | undefined;
  readonly settles: number[] = [];
  /** Per workload, the CPU ns per operation of every case-round run (warm-up rounds first). */
  readonly cpu = new Map<number, number[]>();

  constructor(
    readonly spec: ConfigSpec,
    root: string,
  ) {
    this.proc = fork(join(root, 'dist', 'bench', 'observe-child.js'), ['--setup', spec.setup], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // The environment must not switch anything on behind the set-up's back.
      env: { ...process.env, MULTIACTIVE_DEADLOCKS: '', MULTIACTIVE_DEBUG: '' },
    });
    this.proc.on('message', (m: FromChild) => {
      const p = this.pending;
      this.pending = undefined;
      if (m.t === 'error') p?.reject(new Error(`${spec.name}: ${m.message}`));
      else p?.resolve(m);
    });
    this.proc.on('exit', (code, signal) => {
      this.exited = new Error(`${spec.name}: the child exited (${signal ?? `code ${code}`})`);
      this.pending?.reject(this.exited);
      this.pending = undefined;
    });
  }

  /** The next message from the child (after sending `message`, if any). */
  next(message?: ToChild): Promise<FromChild> {
    if (this.exited !== undefined) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      if (message !== undefined) this.proc.send(message);
    });
  }

  async run(workload: number, ops: number): Promise<number> {
    const m = await this.next({ t: 'run', workload, ops });
    if (m.t !== 'done') throw new Error(`${this.spec.name}: unexpected answer ${m.t}`);
    this.settles.push(m.settleBusyMs);
    const cpu = this.cpu.get(workload) ?? [];
    cpu.push((m.cpuMs * 1e6) / ops);
    this.cpu.set(workload, cpu);
    return m.ms;
  }

  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    await this.next({ t: 'stop' }).catch(() => undefined);
  }

  kill(): void {
    if (this.exited === undefined) this.proc.kill();
  }
}

/**
 * An SSE client of the debugger: reads `/api/events` and throws the bytes away (a page
 * would parse and draw them, in its own process). Like the page, it tells the server which
 * view it shows (`POST /api/view`, with the client id of the stream's `hello`): `graph` (the
 * overview: the debugger samples requests) or `timeline` (every request). Reconnects 1 s
 * after the stream ends, as `EventSource` does with the server's `retry: 1000`.
 */
class SseClient {
  bytes = 0;
  reconnects = 0;
  private closed = false;
  private response: IncomingMessage | undefined;

  constructor(
    private readonly url: string,
    private readonly view: string,
  ) {}

  /** Resolves once the stream's `hello` came and the server took the view. */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const request = get(new URL('api/events', this.url), (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`the debugger answered ${res.statusCode} to /api/events`));
          res.resume();
          return;
        }
        this.response = res;
        // The `hello` (after `retry:`) may come in more than one chunk: read up to it.
        let head = '';
        const hello = (chunk: Buffer): void => {
          head += chunk.toString('utf8');
          const client = /"client":"([^"]+)"/.exec(head)?.[1];
          if (client === undefined && head.length < 1 << 16) return;
          res.off('data', hello);
          if (client === undefined)
            reject(new Error('the debugger stream did not start with a hello naming the client'));
          else this.tellView(client).then(resolve, reject);
        };
        res.on('data', hello);
        res.on('data', (chunk: Buffer) => {
          this.bytes += chunk.length;
        });
        res.on('close', () => this.again());
      });
      request.on('error', (error) => {
        reject(error);
        this.again();
      });
    });
  }

  private tellView(client: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const query = `api/view?client=${encodeURIComponent(client)}&view=${this.view}`;
      const post = httpRequest(new URL(query, this.url), { method: 'POST' }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else reject(new Error(`the debugger answered ${res.statusCode} to POST /api/view`));
      });
      post.on('error', reject);
      post.end();
    });
  }

  private again(): void {
    if (this.closed) return;
    this.reconnects++;
    setTimeout(() => {
      if (!this.closed) this.connect().catch(() => undefined);
    }, 1000).unref();
  }

  close(): void {
    this.closed = true;
    this.response?.destroy();
  }
}

// ------------------------------------------------------------------ the family

/**
 * Run the family. `only`: keep the workloads and set-ups whose name contains it (the
 * baseline set-up always runs), e.g. `--family observe --only debugger`.
 */
export async function runObserveFamily(quick: boolean, only?: string): Promise<ObserveReport> {
  // `only` names workloads if it matches one, else set-ups.
  const byWorkload = only !== undefined && WORKLOADS.some((w) => w.name.includes(only));
  const keepWorkload = (name: string): boolean => !byWorkload || name.includes(only!);
  const keepConfig = (name: string): boolean =>
    only === undefined || byWorkload || name === OBS_BASELINE || name.includes(only);
  const loadAtStart = os.loadavg()[0]!;
  const configs: ObserveConfigInfo[] = [];
  const buildDirs = new Map<string, string>();
  const buildErrors = new Map<string, string>();
  const buildNotes: string[] = [];
  for (const commit of new Set(OBS_CONFIGS.map((c) => c.build).filter((b) => b !== 'current'))) {
    try {
      const prepared = prepareBuild(commit);
      buildDirs.set(commit, prepared.dir);
      buildNotes.push(prepared.note);
    } catch (error) {
      const why = `could not build ${commit}: ${error instanceof Error ? error.message : String(error)}`;
      buildErrors.set(commit, why);
      buildNotes.push(why);
    }
  }
  const oldBuild = buildNotes.join('; ');
  const current = describeCurrent();
  const debuggerBuilt = existsSync(join(ROOT, 'dist', 'debugger', 'index.js'));

  const wantedConfigs = OBS_CONFIGS.filter((c) => keepConfig(c.name)).flatMap((c) =>
    Array.from({ length: c.replicas ?? 1 }, (_, i) =>
      i === 0 ? c : { ...c, name: `${c.name} #${i + 1}`, label: `${c.label}, process ${i + 1}` },
    ),
  );
  const processes: SetupProcess[] = [];
  const clients: SseClient[] = [];
  try {
    for (const spec of wantedConfigs) {
      const isDebugger = DEBUGGER_SETUPS.includes(spec.setup);
      const buildError = buildErrors.get(spec.build);
      if (buildError !== undefined) {
        configs.push({ name: spec.name, label: spec.label, skipped: buildError });
        continue;
      }
      if (isDebugger && !debuggerBuilt) {
        configs.push({
          name: spec.name,
          label: spec.label,
          skipped: 'the debugger (dist/debugger/index.js) is not built',
        });
        continue;
      }
      const p = new SetupProcess(spec, buildDirs.get(spec.build) ?? ROOT);
      processes.push(p);
      const ready = await p.next();
      if (ready.t !== 'ready') throw new Error(`${spec.name}: unexpected first message ${ready.t}`);
      const mustTrack = spec.setup === 'track' || spec.setup === 'detect' || spec.setup === 'debugger+detect';
      if (
        (spec.setup === 'none' || spec.setup === 'events' || spec.setup === 'events-sampled') &&
        ready.asyncContext
      )
        throw new Error(`${spec.name}: async context is on, unexpectedly`);
      if (mustTrack && !ready.asyncContext)
        throw new Error(`${spec.name}: async context is off, unexpectedly`);
      if (ready.url !== undefined) {
        const client = new SseClient(ready.url, spec.setup === 'debugger+timeline' ? 'timeline' : 'graph');
        await client.connect();
        clients[processes.length - 1] = client;
      }
      configs.push({ name: spec.name, label: spec.label, asyncContext: ready.asyncContext });
    }

    const workloads: ObserveWorkload[] = [];
    for (let w = 0; w < WORKLOADS.length; w++) {
      const workload = WORKLOADS[w]!;
      if (!keepWorkload(workload.name)) continue;
      const cases: BenchCase[] = processes.map((p) => ({
        name: p.spec.name,
        granularity: workload.granularity,
        run: (ops: number) => p.run(w, ops),
      }));
      const options: SuiteOptions = quick
        ? { rounds: 3, warmup: 1, budgetMs: 30, initialOps: workload.initialOps / 4, baseline: OBS_BASELINE }
        : {
            rounds: ROUNDS,
            warmup: 3,
            budgetMs: 60,
            initialOps: workload.initialOps,
            baseline: OBS_BASELINE,
          };
      const results = await runSuite(cases, options);
      // The CPU samples of the measured rounds, in the same order as the harness's rates.
      const measured = processes.map((p) => (p.cpu.get(w) ?? []).slice(options.warmup));
      const base = measured[processes.findIndex((p) => p.spec.name === OBS_BASELINE)]!;
      const cpu = processes.map((p, i) => ({
        name: p.spec.name,
        nsPerOp: medianOf(measured[i]!),
        ratio: medianOf(measured[i]!.map((x, k) => x / base[k]!)),
        rounds: measured[i]!,
      }));
      workloads.push({ name: workload.name, results, cpu });
    }

    const withStats = configs.map((c) => {
      const i = processes.findIndex((p) => p.spec.name === c.name);
      if (i < 0) return c;
      const client = clients[i];
      const settles = processes[i]!.settles;
      return {
        ...c,
        ...(client === undefined ? {} : { sseBytes: client.bytes, sseReconnects: client.reconnects }),
        ...(settles.some((s) => s > 0) ? { settleBusyMs: medianOf(settles) } : {}),
      };
    });
    for (const c of clients) c?.close();
    for (const p of processes) await p.stop();
    const load: [number, number] = [loadAtStart, os.loadavg()[0]!];
    return { family: 'observe', configs: withStats, workloads, oldBuild, current, quick, load };
  } finally {
    for (const c of clients) c?.close();
    for (const p of processes) p.kill();
  }
}
