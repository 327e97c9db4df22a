/**
 * `npm run bench`: runs every benchmark family, each in its own child process (so that one
 * family's JIT state, garbage or process-wide switches, such as AsyncLocalStorage or a
 * peer's polyfills, cannot leak into another's numbers), prints the tables and rewrites
 * docs/benchmarks.md.
 *
 *   node --expose-gc dist/bench/run.js            all families, ~6 min here; writes the doc
 *   node --expose-gc dist/bench/run.js --quick    a smoke run (seconds); prints only
 *   node dist/bench/run.js --family core          one family in this process; prints JSON
 *   node --cpu-prof dist/bench/run.js --family core --only classic   profile one case
 *   node --cpu-prof --cpu-prof-dir=prof dist/bench/run.js --family xw-core --only window
 *       (worker threads inherit --cpu-prof: one profile per thread)
 *   node --expose-gc dist/bench/run.js --family observe --only debugger
 *       the cost of observing, baseline and debugger set-ups only (observe-bench.ts)
 *
 * The families run one after another, never concurrently (2 cores: two benchmarks at once
 * would measure each other).
 */
import { fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CROSS_WORKER_FAMILIES,
  type CrossWorkerFamily,
  type CrossWorkerReport,
  runCrossWorkerFamily,
  runSpeedupFamily,
  type SpeedupReport,
} from './crossworker-bench.js';
import {
  CROSS_WORKER_METHOD,
  type CrossWorkerOutcomes,
  crossWorkerHeadline,
  crossWorkerTargetRows,
  renderCrossWorker,
} from './crossworker-report.js';
import { FT_METHOD, type FtReport, ftHeadline, ftTargetRows, renderFt, runFtFamily } from './ft-bench.js';
import { type CaseResult, formatNs, formatRate, formatRatio, markdownTable, medianOf } from './harness.js';
import {
  IN_FLIGHT,
  IN_THREAD_FAMILIES,
  type InThreadFamily,
  type InThreadReport,
  MAILBOX,
  runInThreadFamily,
} from './inthread-bench.js';
import { type ObserveReport, runObserveFamily } from './observe-bench.js';
import { OBSERVE_METHOD, observeHeadline, observeTargetRows, renderObserve } from './observe-report.js';
import {
  CLASSIC,
  FIFO,
  MATCHING_QUEUE,
  PRIORITY,
  PRIORITY_DAG,
  runSchedulerFamily,
  type SchedulerReport,
} from './scheduler-bench.js';

type Family = 'scheduler' | InThreadFamily | CrossWorkerFamily | 'speedup' | 'observe' | 'ft';
const FAMILIES: readonly Family[] = [
  'scheduler',
  ...IN_THREAD_FAMILIES,
  ...CROSS_WORKER_FAMILIES,
  'speedup',
  'observe',
  'ft',
];

type FamilyOutcome =
  | { readonly family: 'scheduler'; readonly report: SchedulerReport }
  | { readonly family: InThreadFamily; readonly report: InThreadReport }
  | { readonly family: CrossWorkerFamily; readonly report: CrossWorkerReport }
  | { readonly family: 'speedup'; readonly report: SpeedupReport }
  | { readonly family: 'observe'; readonly report: ObserveReport }
  | { readonly family: 'ft'; readonly report: FtReport }
  | { readonly family: Family; readonly error: string };

const isInThread = (family: Family): family is InThreadFamily =>
  (IN_THREAD_FAMILIES as readonly Family[]).includes(family);
const isCrossWorker = (family: Family): family is CrossWorkerFamily =>
  (CROSS_WORKER_FAMILIES as readonly Family[]).includes(family);

/** Issue #2's targets for multiactive without limits. */
const TARGET_SEQUENTIAL = 1_000_000;
const TARGET_IN_FLIGHT = 3_000_000;
/**
 * "Flat": from 10 to 1k waiting (all in cache) the cost grows by at most this factor; from 10
 * to 100k, the cost above the O(1) queue serving in the same order (which pays the same cache
 * misses and GC promotions) grows by at most this factor. Judgement, not physics: 1.5 leaves
 * room for the noise of this machine (rounds vary by ~10%).
 */
const FLAT_FACTOR = 1.5;
const NO_LIMITS = 'multiactive, 1 group, no limits';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const familyArg = args.indexOf('--family');
const onlyArg = args.indexOf('--only');

// ------------------------------------------------------------------ child side

async function child(family: Family): Promise<void> {
  if (!FAMILIES.includes(family)) throw new Error(`unknown family ${family}; known: ${FAMILIES.join(', ')}`);
  const only = onlyArg >= 0 ? args[onlyArg + 1] : undefined;
  let outcome: FamilyOutcome;
  if (family === 'scheduler') outcome = { family, report: await runSchedulerFamily(quick) };
  else if (family === 'speedup') outcome = { family, report: await runSpeedupFamily(quick) };
  else if (family === 'observe') outcome = { family, report: await runObserveFamily(quick, only) };
  else if (family === 'ft') outcome = { family, report: await runFtFamily(quick) };
  else if (isCrossWorker(family))
    outcome = { family, report: await runCrossWorkerFamily(family, quick, only) };
  else outcome = { family, report: await runInThreadFamily(family, quick, only) };
  if (process.send !== undefined) {
    await new Promise<void>((resolve, reject) =>
      process.send!(outcome, (e: Error | null) => (e ? reject(e) : resolve())),
    );
    process.disconnect();
  } else {
    console.log(JSON.stringify(outcome, null, 2));
  }
  // Peers may leave timers or handles behind.
  process.exit(0);
}

/** Run one family in a child process with the same node flags (--expose-gc). */
function runChild(family: Family): Promise<FamilyOutcome> {
  return new Promise((resolve) => {
    const script = fileURLToPath(import.meta.url);
    const proc = fork(script, ['--family', family, ...(quick ? ['--quick'] : [])], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    });
    let stderr = '';
    let outcome: FamilyOutcome | undefined;
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    proc.on('message', (message) => {
      outcome = message as FamilyOutcome;
    });
    proc.on('exit', (code, signal) => {
      if (outcome !== undefined) resolve(outcome);
      else {
        const why = stderr.trim() || `exited with ${signal ?? `code ${code}`} and no output`;
        resolve({ family, error: why });
      }
    });
  });
}

// ------------------------------------------------------------------ parent side

async function main(): Promise<void> {
  const started = Date.now();
  const loadAtStart = os.loadavg()[0]!;
  const outcomes: FamilyOutcome[] = [];
  const retries: Retry[] = [];
  for (const family of FAMILIES) {
    const t0 = Date.now();
    process.stdout.write(`\n## ${family} ...`);
    let outcome = await runChild(family);
    const failure = errorOf(outcome);
    if (failure !== undefined) {
      // One retry: the known failure (nact's colliding query ids) is random.
      process.stdout.write(' failed, retrying ...');
      outcome = await runChild(family);
      retries.push({ family, error: failure, recovered: errorOf(outcome) === undefined });
    }
    outcomes.push(outcome);
    process.stdout.write(` ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }
  const seconds = (Date.now() - started) / 1000;
  const body = [renderResults(outcomes), renderRetries(retries)].filter((x) => x !== '').join('\n\n');
  console.log(`\n${body}`);
  console.log(
    `\nTotal: ${seconds.toFixed(0)} s${typeof globalThis.gc === 'function' ? '' : ' (without --expose-gc)'}`,
  );
  if (quick) {
    console.log('Quick mode: docs/benchmarks.md left as it was.');
    return;
  }
  const root = packageRoot();
  const saved: SavedRun = {
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    figures: headline(outcomes),
  };
  const resultsPath = join(root, 'bench', 'results', 'latest.json');
  const previous = readSaved(resultsPath);
  const variance = previous === undefined ? '' : renderVariance(previous, saved);
  if (variance !== '') console.log(`\n${variance}`);
  const docPath = join(root, 'docs', 'benchmarks.md');
  writeFileSync(
    docPath,
    renderDocument(variance === '' ? body : `${body}\n\n${variance}`, seconds, [
      loadAtStart,
      os.loadavg()[0]!,
    ]),
  );
  mkdirSync(dirname(resultsPath), { recursive: true });
  writeFileSync(resultsPath, `${JSON.stringify(saved, null, 2)}\n`);
  console.log(`Wrote ${docPath} and ${resultsPath}`);
}

/** A family that failed once and was run again. */
interface Retry {
  readonly family: Family;
  readonly error: string;
  readonly recovered: boolean;
}

function renderRetries(retries: readonly Retry[]): string {
  if (retries.length === 0) return '';
  const parts = ['### Retried families'];
  for (const r of retries) {
    parts.push(
      `${r.family} failed on its first attempt and was run again (${r.recovered ? 'the figures above are from the second attempt' : 'it failed again'}). The first attempt's error:`,
      `\`\`\`\n${r.error}\n\`\`\``,
    );
  }
  return parts.join('\n\n');
}

// ------------------------------------------------------------------ run-to-run variance

/** The headline figures of a run, kept in bench/results/latest.json to compare the next run with. */
interface SavedRun {
  readonly date: string;
  readonly cpu: string;
  /** Label -> median (ops/s for round trips, ns/request for the scheduler). */
  readonly figures: Readonly<Record<string, number>>;
}

function headline(outcomes: readonly FamilyOutcome[]): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const o of outcomes) {
    if (!('report' in o)) continue;
    if (o.family === 'scheduler') {
      for (const s of (o.report as SchedulerReport).steady)
        for (const r of s.results) figures[`scheduler ns/request, n = ${s.size}: ${r.name}`] = r.nsPerOp;
    } else if (isInThread(o.family)) {
      const report = o.report as InThreadReport;
      for (const r of report.sequential) figures[`${o.family} sequential ops/s: ${r.name}`] = r.opsPerSec;
      for (const r of report.inFlight)
        figures[`${o.family} ${IN_FLIGHT} in flight ops/s: ${r.name}`] = r.opsPerSec;
    }
  }
  Object.assign(figures, crossWorkerHeadline(crossWorkerOutcomes(outcomes)));
  Object.assign(figures, observeHeadline(observeReport(outcomes)));
  Object.assign(figures, ftHeadline(ftReport(outcomes)));
  return figures;
}

function readSaved(path: string): SavedRun | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SavedRun;
  } catch {
    return undefined;
  }
}

function renderVariance(previous: SavedRun, current: SavedRun): string {
  const rows: string[][] = [];
  for (const [label, now] of Object.entries(current.figures)) {
    const before = previous.figures[label];
    if (before === undefined) continue;
    const isNs = label.startsWith('scheduler');
    const fmt = (x: number): string => (isNs ? formatNs(x) : formatRate(x));
    rows.push([label, fmt(before), fmt(now), `${(((now - before) / before) * 100).toFixed(1)}%`]);
  }
  if (rows.length === 0) return '';
  const sameCpu = previous.cpu === current.cpu ? 'same CPU model' : `a different CPU (${previous.cpu})`;
  return [
    '### Run-to-run variance',
    `This run next to the previous one (${previous.date}, ${sameCpu}; kept in bench/results/latest.json). The code may differ between the two runs: a change beyond the usual spread is worth a look.`,
    markdownTable(['figure (median)', 'previous run', 'this run', 'change'], rows),
  ].join('\n\n');
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'multiactive'
    )
      return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('package root (package.json of multiactive) not found');
    dir = parent;
  }
}

// ------------------------------------------------------------------ rendering

function renderResults(outcomes: readonly FamilyOutcome[]): string {
  const out: string[] = [];
  const sched = outcomes.find((o) => o.family === 'scheduler');
  const inThread = outcomes.filter((o) => isInThread(o.family));
  out.push(renderTargets(outcomes));
  out.push(sched === undefined ? '' : renderScheduler(sched));
  out.push(renderInThread(inThread));
  out.push(renderCrossWorker(crossWorkerOutcomes(outcomes)));
  const observe = outcomes.find((o) => o.family === 'observe');
  if (observe !== undefined) out.push(renderObserve(observeReport(outcomes), errorOf(observe)));
  const ft = outcomes.find((o) => o.family === 'ft');
  if (ft !== undefined) out.push(renderFt(ftReport(outcomes), errorOf(ft)));
  return out.filter((s) => s !== '').join('\n\n');
}

/** The cross-worker and speedup families' reports, for crossworker-report.ts. */
function crossWorkerOutcomes(outcomes: readonly FamilyOutcome[]): CrossWorkerOutcomes {
  const reports = new Map<CrossWorkerFamily, CrossWorkerReport>();
  let speedup: SpeedupReport | undefined;
  const failures: { family: string; error: string }[] = [];
  for (const o of outcomes) {
    if (!isCrossWorker(o.family) && o.family !== 'speedup') continue;
    const error = errorOf(o);
    if (error !== undefined) failures.push({ family: o.family, error });
    else if (o.family === 'speedup') speedup = (o as { report: SpeedupReport }).report;
    else reports.set(o.family, (o as { report: CrossWorkerReport }).report);
  }
  return { reports, speedup, failures };
}

function observeReport(outcomes: readonly FamilyOutcome[]): ObserveReport | undefined {
  const o = outcomes.find((x) => x.family === 'observe');
  return o !== undefined && 'report' in o ? (o.report as ObserveReport) : undefined;
}

function ftReport(outcomes: readonly FamilyOutcome[]): FtReport | undefined {
  const o = outcomes.find((x) => x.family === 'ft');
  return o !== undefined && 'report' in o ? (o.report as FtReport) : undefined;
}

function errorOf(o: FamilyOutcome): string | undefined {
  return 'error' in o ? o.error : undefined;
}

function inThreadReport(
  outcomes: readonly FamilyOutcome[],
  family: InThreadFamily,
): InThreadReport | undefined {
  const o = outcomes.find((x) => x.family === family);
  return o !== undefined && 'report' in o ? (o.report as InThreadReport) : undefined;
}

function find(results: readonly CaseResult[] | undefined, name: string): CaseResult | undefined {
  return results?.find((r) => r.name === name);
}

/** Paired ratio of two cases of one suite: median over rounds of a/b. */
function paired(a: CaseResult, b: CaseResult): number {
  return medianOf(a.rounds.map((x, i) => x / b.rounds[i]!));
}

function met(ok: boolean, value: number, target: number): string {
  return ok
    ? `met (${formatRatio(value / target)} target)`
    : `**missed** (${formatRatio(value / target)} target)`;
}

function renderTargets(outcomes: readonly FamilyOutcome[]): string {
  const rows: string[][] = [];
  const core = inThreadReport(outcomes, 'core');
  const seq = find(core?.sequential, NO_LIMITS);
  const fl = find(core?.inFlight, NO_LIMITS);
  if (seq !== undefined) {
    rows.push([
      'sequential round trip, no limits',
      '>= 1 M/s',
      `${formatRate(seq.opsPerSec)}/s`,
      met(seq.opsPerSec >= TARGET_SEQUENTIAL, seq.opsPerSec, TARGET_SEQUENTIAL),
    ]);
  }
  if (fl !== undefined) {
    rows.push([
      `${IN_FLIGHT} in flight, no limits`,
      '>= 3 M/s',
      `${formatRate(fl.opsPerSec)}/s`,
      met(fl.opsPerSec >= TARGET_IN_FLIGHT, fl.opsPerSec, TARGET_IN_FLIGHT),
    ]);
  }
  const sched = outcomes.find((o) => o.family === 'scheduler');
  if (sched !== undefined && 'report' in sched) {
    const report = sched.report as SchedulerReport;
    for (const name of [FIFO, PRIORITY, CLASSIC]) {
      const matching = MATCHING_QUEUE[name]!;
      const inCache = nsAt(report, name, 1) / nsAt(report, name, 0);
      const excess = excessGrowth(report, name, matching);
      const ok = inCache <= FLAT_FACTOR && excess <= FLAT_FACTOR;
      rows.push([
        `scheduler cost flat: ${name}`,
        `10 -> 1k: <= ${FLAT_FACTOR}x; 10 -> 100k, cost above ${matching}: <= ${FLAT_FACTOR}x`,
        `${formatRatio(inCache)}; ${formatRatio(excess)}`,
        ok
          ? 'met'
          : `**missed** (${[inCache > FLAT_FACTOR ? '10 -> 1k' : '', excess > FLAT_FACTOR ? '10 -> 100k' : ''].filter((x) => x !== '').join(', ')})`,
      ]);
    }
  }
  rows.push(...crossWorkerTargetRows(crossWorkerOutcomes(outcomes)));
  rows.push(...observeTargetRows(observeReport(outcomes)));
  rows.push(...ftTargetRows(ftReport(outcomes)));
  const failed = outcomes.filter((o) => errorOf(o) !== undefined).map((o) => o.family);
  const table = markdownTable(['target', 'wanted', 'measured (median)', 'verdict'], rows);
  return `### Targets\n\n${table}${failed.length > 0 ? `\n\nFamilies that failed: ${failed.join(', ')} (see below).` : ''}`;
}

/** ns per request of case `name` at the i-th size. */
function nsAt(report: SchedulerReport, name: string, i: number): number {
  return find(report.steady[i]?.results, name)?.nsPerOp ?? Number.NaN;
}

/**
 * Growth from the smallest to the largest n of the cost above the matching O(1) queue: what
 * the scheduler adds to a bare queue that touches the same requests (cache misses and GC
 * promotions of old requests dominate both at 100k).
 */
function excessGrowth(report: SchedulerReport, name: string, matching: string): number {
  const last = report.steady.length - 1;
  return (
    (nsAt(report, name, last) - nsAt(report, matching, last)) /
    (nsAt(report, name, 0) - nsAt(report, matching, 0))
  );
}

function schedulerGrowth(report: SchedulerReport, name: string): number {
  const first = find(report.steady[0]?.results, name);
  const last = find(report.steady[report.steady.length - 1]?.results, name);
  return first !== undefined && last !== undefined ? last.nsPerOp / first.nsPerOp : Number.NaN;
}

function renderScheduler(o: FamilyOutcome): string {
  const error = errorOf(o);
  if (error !== undefined)
    return `### Scheduler cost per request\n\nThe family failed:\n\n\`\`\`\n${error}\n\`\`\``;
  const report = (o as { report: SchedulerReport }).report;
  const sizes = report.steady.map((s) => s.size);
  const names = report.steady[0]?.results.map((r) => r.name) ?? [];
  const rows = names.map((name) => {
    const cells = report.steady.map((s) => {
      const r = find(s.results, name)!;
      return `${formatNs(r.nsPerOp)} (${formatRatio(1 / r.ratio)})`;
    });
    const matching = MATCHING_QUEUE[name];
    const excess =
      matching === undefined ? '' : `${formatRatio(excessGrowth(report, name, matching))} above ${matching}`;
    return [name, ...cells, formatRatio(schedulerGrowth(report, name)), excess];
  });
  const steady = markdownTable(
    [
      'case',
      ...sizes.map((n) => `n = ${n.toLocaleString('en-US')}: ns/request (x heap cost)`),
      `growth ${sizes[0]} -> ${sizes[sizes.length - 1]?.toLocaleString('en-US')}`,
      `growth ${sizes[0]} -> ${sizes[sizes.length - 1]?.toLocaleString('en-US')} of the cost above the matching O(1) queue`,
    ],
    rows,
  );
  const relabels = report.steady
    .map((s) => `${s.steadyRelabelsPer1k.toFixed(2)} at n = ${s.size.toLocaleString('en-US')}`)
    .join(', ');
  const fillNames = report.fill[0]?.results.map((r) => r.name) ?? [];
  const fillRows = fillNames.map((name) => [
    name,
    ...report.fill.map((f) => {
      const r = find(f.results, name)!;
      return `${formatNs(r.nsPerOp)} (${formatRatio(1 / r.ratio)})`;
    }),
  ]);
  const fill = markdownTable(
    ['case', ...report.fill.map((f) => `fill to ${f.size.toLocaleString('en-US')}: ns/submit (x heap cost)`)],
    fillRows,
  );
  const fillRelabels = report.fill
    .map((f) => `${f.fillRelabels} in one fill to ${f.size.toLocaleString('en-US')}`)
    .join(', ');
  const levelText = report.groupNames.map((g, i) => `${g}=${report.levels[i]}`).join(', ');
  return [
    '### Scheduler cost per request (pure scheduler, no runtime)',
    'Steady state: limit 1, one request in service, n waiting; one operation = submit one + finish the one in service + drain (starts the next). Median of the rounds; in parentheses the cost relative to the integer-priority heap at the same n, same rounds.',
    steady,
    `\`OrderList.relabels\` (priority DAG), per 1000 steady-state operations: ${relabels}.`,
    'Filling from empty: n submits behind one busy request (new requests land anywhere in the ready list).',
    fill,
    `\`OrderList.relabels\` (priority DAG): ${fillRelabels}. Heap/bucket levels (depth in the DAG): ${levelText}.`,
  ].join('\n\n');
}

const FAMILY_LABEL: Record<InThreadFamily, string> = {
  core: 'core (ALS off)',
  wbn: 'wbn (ALS on)',
  nact: 'nact',
  comedy: 'comedy',
};

function renderInThread(outcomes: readonly FamilyOutcome[]): string {
  const parts: string[] = ['### In-thread request round trip'];
  for (const mode of ['sequential', 'inFlight'] as const) {
    const rows: string[][] = [];
    for (const o of outcomes) {
      const family = o.family as InThreadFamily;
      if (errorOf(o) !== undefined) continue;
      const report = (o as { report: InThreadReport }).report;
      for (const r of report[mode]) {
        const target = mode === 'sequential' ? TARGET_SEQUENTIAL : TARGET_IN_FLIGHT;
        const targeted = family === 'core' && r.name === NO_LIMITS;
        const row = [
          FAMILY_LABEL[family],
          r.name,
          formatRate(r.opsPerSec),
          `${formatRate(r.minOpsPerSec)} – ${formatRate(r.maxOpsPerSec)}`,
          formatNs(r.nsPerOp),
          r.name === MAILBOX ? '1 (baseline)' : formatRatio(r.ratio),
        ];
        if (mode === 'inFlight')
          row.push(`${formatNs(r.p50Us ?? Number.NaN)} / ${formatNs(r.p99Us ?? Number.NaN)}`);
        row.push(targeted ? met(r.opsPerSec >= target, r.opsPerSec, target) : '');
        rows.push(row);
      }
    }
    const headers = [
      'process',
      'case',
      'ops/s (median)',
      'min – max of rounds',
      'ns/op',
      'vs raw mailbox, same process',
    ];
    if (mode === 'inFlight') headers.push(`p50 / p99 per batch of ${IN_FLIGHT} (µs)`);
    headers.push('target');
    parts.push(
      mode === 'sequential' ? '#### Sequential (`await a.inc()` in a loop)' : `#### ${IN_FLIGHT} in flight`,
    );
    parts.push(markdownTable(headers, rows));
  }
  parts.push(renderWbn(outcomes));
  const failures = outcomes.filter((o) => errorOf(o) !== undefined);
  for (const f of failures) parts.push(`#### ${f.family}: could not run\n\n\`\`\`\n${errorOf(f)}\n\`\`\``);
  return parts.join('\n\n');
}

/** WBN accounting: paired ratios inside the wbn process, and the ALS switch across processes. */
function renderWbn(outcomes: readonly FamilyOutcome[]): string {
  const core = inThreadReport(outcomes, 'core');
  const wbn = inThreadReport(outcomes, 'wbn');
  if (core === undefined || wbn === undefined) return '';
  const rows: string[][] = [];
  for (const mode of ['sequential', 'inFlight'] as const) {
    const label = mode === 'sequential' ? 'sequential' : `${IN_FLIGHT} in flight`;
    const pair = (a: string, b: string, what: string): void => {
      const x = find(wbn[mode], a);
      const y = find(wbn[mode], b);
      if (x !== undefined && y !== undefined)
        rows.push([label, what, formatRatio(paired(x, y)), 'paired, wbn process']);
    };
    pair(
      'multiactive, soft limit 4 (WBN accounted)',
      NO_LIMITS,
      'soft limit 4 / no limits (per-object accounting)',
    );
    pair(
      'relay: awaits another object, soft limit 4',
      'relay: awaits another object, no limits',
      'relay soft limit 4 / relay no limits (gating a real wait)',
    );
    const across = (name: string, what: string): void => {
      const on = find(wbn[mode], name);
      const off = find(core[mode], name);
      if (on !== undefined && off !== undefined)
        rows.push([label, what, formatRatio(on.opsPerSec / off.opsPerSec), 'medians, wbn vs core process']);
    };
    across(NO_LIMITS, 'no limits, ALS on / ALS off (process-wide switch)');
    across('relay: awaits another object, no limits', 'relay no limits, ALS on / ALS off');
    across(MAILBOX, 'raw promise mailbox, ALS on / ALS off (every promise pays)');
  }
  return [
    '#### Cost of wait-by-necessity accounting',
    'Throughput ratios (1.00x = free; 0.50x = half the throughput).',
    markdownTable(['mode', 'comparison', 'throughput ratio', 'how'], rows),
  ].join('\n\n');
}

/** `load`: the 1-minute load average when the run started and ended (other processes show in it). */
function renderDocument(body: string, seconds: number, load: readonly [number, number]): string {
  const cpus = os.cpus();
  const machine = markdownTable(
    ['fact', 'value'],
    [
      ['date', new Date().toISOString()],
      ['command', '`npm run bench` (`npm run build && node --expose-gc dist/bench/run.js`)'],
      ['node', `${process.version} (V8 ${process.versions.v8})`],
      ['cpu', `${cpus[0]?.model ?? 'unknown'}, ${cpus.length} logical cores (os.cpus())`],
      ['memory', `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`],
      ['os', `${os.type()} ${os.release()} ${os.arch()}`],
      ['total bench time', `${seconds.toFixed(0)} s`],
      [
        'load average (1 min), start / end',
        `${load[0].toFixed(2)} / ${load[1].toFixed(2)} (a benchmark family keeps ~1-2 cores busy; more means other processes ran)`,
      ],
    ],
  );
  return `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); every figure below comes from the run described
in this table. Do not edit the figures by hand: rerun the command.

${machine}

${body}

## How each number is measured

- **Harness** (bench/harness.ts): the cases of a table run interleaved, round by round, the
  order rotating (A B C, B C A, C A B, ...), so drift hits them alike and no case always
  follows the same one. ${DESCRIPTION.rounds} Each case-round runs a
  fixed number of operations, calibrated in the warm-up rounds to take ~${DESCRIPTION.budget};
  \`global.gc()\` runs before each case-round. Reported: the median over the measured rounds,
  the min-max of the rounds, and the ratio to the named baseline, which is the median of the
  per-round ratios (a paired comparison).
- **Processes**: each family (${FAMILIES.join(', ')}) runs in its own child
  process, one after another. Ratios "vs raw mailbox" compare cases in the same process and
  the same rounds; absolute ops/s can be compared across processes with more caution.
- **Scheduler** (bench/scheduler-bench.ts): \`Scheduler\` with a fake host that records
  starts; limit 1, one request in service, n waiting. One operation: submit a new request
  (allocated, as in the runtime), finish the one in service, drain (starts the next), so n
  stays constant (checked at the end). Groups are drawn from a fixed pseudo-random sequence
  over 8 groups. Priority graph: ${PRIORITY_DAG}. The integer-priority baselines (a binary
  heap keyed (level, arrival), one FIFO per level, and a plain FIFO) queue the same
  \`SchedRequest\` objects with the same draws (level = the group's depth in the DAG): push
  one, pop one. Same allocation, same garbage, same cache misses: only the queue differs.
- **Flatness**: at 100k waiting every case is memory-bound: each request lives for 100k
  operations, so it is promoted out of the young generation and is cold in the caches when it
  starts (the plain FIFO itself grows ~6x from 10 to 100k). So the verdict reads two things:
  the growth from 10 to 1k (everything fits in the caches), and the growth from 10 to 100k of
  the cost *above* the O(1) queue that serves in the same order (plain FIFO for \`fifo\` and
  \`classic\`; per-level FIFOs for the DAG, whose order is close but not identical). The
  1.5x threshold is a judgement; the 100k figures vary by ~10-20% between rounds, so a
  verdict near 1.5x can flip between runs.
- **Round trip** (bench/inthread-bench.ts): "sequential" is \`for (...) await a.inc()\`: one
  request in flight, each op a full call -> request -> start -> result -> future -> await.
  "${IN_FLIGHT} in flight" is \`await Promise.all([...${IN_FLIGHT} calls])\` repeated: the ${IN_FLIGHT}
  requests are queued at once and served by one drain; ops/s counts calls, p50/p99 are the
  durations of one batch of ${IN_FLIGHT}. \`inc()\` returns \`++this.n\` (results are copied, a
  number costs one \`typeof\`). The relay's request awaits \`this.back.inc()\` on another
  active object, so one relay op is two requests.
- **Raw promise mailbox** (the limit): a queue array, one drain per microtask turn, one native
  promise per message resolved with the method's result; no groups, no copies, no futures.
- **WBN accounting**: a finite soft limit (\`@ThreadConfig({ threadPoolSize: 4 })\`) makes the
  runtime run every request inside \`AsyncLocalStorage.run\`, and AsyncLocalStorage on Node
  20 installs promise hooks for the whole process, for good. So the wbn family runs in its
  own process; its no-limit rows show what objects without limits pay once any object in the
  process accounts waits.
- **Peers**: nact ${PEER_VERSIONS.nact} (\`spawn\` a stateful actor, \`query\` with a timeout, which
  arms a timer per query) and comedy ${PEER_VERSIONS.comedy} (\`createSystem({ test: true })\`,
  \`rootActor().createChild(Def, { mode: 'in-memory' })\`, \`sendAndReceive('inc')\`), each in
  its own process (comedy loads babel-polyfill and bluebird).
${CROSS_WORKER_METHOD}
  Versions: comlink ${PEER_VERSIONS.comlink}, comedy ${PEER_VERSIONS.comedy}, piscina ${PEER_VERSIONS.piscina}.
${OBSERVE_METHOD}

${FT_METHOD}

## Caveats

- The machine has 2 cores and is shared: rounds vary by several percent (see the min-max
  columns), and two runs of the command differ by about as much. Compare ratios within a
  table rather than absolute numbers across runs.
- "${IN_FLIGHT} in flight" measures throughput with a batch of ${IN_FLIGHT} queued at once and awaited
  together; it is not ${IN_FLIGHT} independent clients. The per-batch p99 includes GC pauses.
- These are microbenchmarks of a trivial method: they measure the runtime's overhead per
  request, not an application's throughput.
- A case that runs alone (\`--only\`) is faster than in its table (~5%): the harness's loops
  call every case's function from one call site, which then sees several targets.
- Cross-worker figures depend on how fast the OS wakes a sleeping thread: a round trip is two
  wake-ups. In this VM a raw \`postMessage\` ping-pong between two threads measured p50 ~19 µs
  when both ran on one vCPU (\`taskset -c 0\`) and ~45-50 µs when they ran on the two vCPUs
  (measured alone, 5 x 5000 round trips each), and which of the two a pair of threads gets
  depends on the scheduler and on the other processes on the machine. So two thread pairs in
  one process can sit in different regimes, and a family's figures can move ~2x between runs.
  Hence the same-thread raw baselines in xw-core and xw-w2w; the peers' ratios (against a
  plain worker) carry this uncertainty.
`;
}

const DESCRIPTION = {
  rounds: quick
    ? 'Quick mode: 1 warm-up round, 3 measured.'
    : 'Warm-up: 2 rounds, discarded; then 9 measured rounds (7 for the fill table; observe: 3 warm-up, 15 measured).',
  budget: quick
    ? '20-60 ms'
    : '80 ms (scheduler) / 150 ms (in-thread round trip) / 120 ms (cross-worker) / 250 ms (speedup) / 60 ms (observe)',
};

const PEER_VERSIONS = {
  nact: peerVersion('nact'),
  comedy: peerVersion('comedy'),
  comlink: peerVersion('comlink'),
  piscina: peerVersion('piscina'),
};

function peerVersion(name: string): string {
  try {
    const path = join(packageRoot(), 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(path, 'utf8')) as { version?: string }).version ?? '?';
  } catch {
    return '(not installed)';
  }
}

// ------------------------------------------------------------------ entry (last: every const above is initialized)

if (familyArg >= 0) {
  await child(args[familyArg + 1] as Family);
} else {
  await main();
}
