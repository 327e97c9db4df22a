/**
 * The "cost of observing" part of docs/benchmarks.md (issue 4): the `observe` family's table
 * (observe-bench.ts), its targets, and the decision on what is on by default, with this
 * run's figures. Called by run.ts (the doc writer); pure formatting.
 */
import { formatNs, formatRate, formatRatio, markdownTable, medianOf } from './harness.js';
import {
  ISSUE4_COMMIT,
  NOTHING_ON_REPLICAS,
  OBS_BASELINE,
  OBS_DEBUGGER,
  OBS_DEBUGGER_DETECT,
  OBS_DEBUGGER_TIMELINE,
  OBS_DETECT,
  OBS_EVENTS,
  OBS_EVENTS_SAMPLED,
  OBS_ISSUE4,
  OBS_OLD,
  OBS_TRACK,
  type ObserveReport,
  type ObserveWorkload,
  OLD_COMMIT,
} from './observe-bench.js';
import { SETTLE_MS } from './observe-shared.js';

/** Issue 4's targets, as extra time per request against the baseline (at most). */
export const TARGET_DETACHED = 0.03;
export const TARGET_ATTACHED = 0.15;

/** The processes of set-up `name`: itself and its replicas (`name #2`, ...), or only itself. */
function processesOf<T extends { readonly name: string }>(
  xs: readonly T[],
  name: string,
  exact: boolean,
): T[] {
  return xs.filter((x) => x.name === name || (!exact && x.name.startsWith(`${name} #`)));
}

/** Per round, the geometric mean of the processes' figures (replicas of one set-up). */
function pooled(rounds: readonly (readonly number[])[]): number[] {
  if (rounds.length === 0) return [];
  return rounds[0]!.map((_, k) =>
    Math.exp(rounds.reduce((sum, r) => sum + Math.log(r[k]!), 0) / rounds.length),
  );
}

/**
 * Extra time per request of set-up `a` against set-up `b`, paired by round: the median over
 * rounds of (b's rate / a's rate) - 1, where a set-up with replicas (processes of the same
 * build and set-up: a process's own JIT and memory layout move its figures by a few percent)
 * counts the geometric mean of its processes in each round; the same in CPU time per
 * request. `exact`: `a` is one process, not its replicas.
 */
function between(
  w: ObserveWorkload,
  a: string,
  b: string,
  exact = false,
): { wall: number; cpu: number } | undefined {
  const ra = processesOf(w.results, a, exact);
  const rb = processesOf(w.results, b, false);
  const ca = processesOf(w.cpu, a, exact);
  const cb = processesOf(w.cpu, b, false);
  if (ra.length === 0 || rb.length === 0 || ca.length === 0 || cb.length === 0) return undefined;
  const wa = pooled(ra.map((r) => r.rounds));
  const wb = pooled(rb.map((r) => r.rounds));
  const pa = pooled(ca.map((c) => c.rounds));
  const pb = pooled(cb.map((c) => c.rounds));
  return {
    wall: medianOf(wb.map((x, k) => x / wa[k]!)) - 1,
    cpu: medianOf(pa.map((x, k) => x / pb[k]!)) - 1,
  };
}

/** Detached: the current code against the code before issue 4 (nothing on in either). */
function detachedOverhead(w: ObserveWorkload): number | undefined {
  return between(w, OBS_BASELINE, OBS_OLD)?.wall;
}

/** Extra CPU time per request of `name` against the baseline (same rounds). */
function cpuCost(w: ObserveWorkload, name: string): number | undefined {
  return between(w, name, OBS_BASELINE)?.cpu;
}

/** Detached, in CPU time: the current code against the code before issue 4. */
function detachedCpu(w: ObserveWorkload): number | undefined {
  return between(w, OBS_BASELINE, OBS_OLD)?.cpu;
}

function splitText(x: { wall: number; cpu: number } | undefined): string {
  return x === undefined ? 'not run' : `${pct(x.wall)}; CPU ${pct(x.cpu)}`;
}

const pct = (x: number): string =>
  Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%` : 'n/a';

function verdict(ok: boolean, detail: string): string {
  return ok ? `met (${detail})` : `**missed** (${detail})`;
}

/** The worst workload of a config against `limit`: [measured text, verdict], or undefined. */
function worst(
  report: ObserveReport,
  cost: (w: ObserveWorkload) => number | undefined,
  limit: number,
): [string, string] | undefined {
  let max = Number.NEGATIVE_INFINITY;
  let where = '';
  let over = 0;
  for (const w of report.workloads) {
    const c = cost(w);
    if (c === undefined) continue;
    if (c > max) {
      max = c;
      where = w.name;
    }
    if (c > limit) over++;
  }
  if (where === '') return undefined;
  const n = report.workloads.length;
  return [
    `worst ${pct(max)} (${where})`,
    verdict(over === 0, over === 0 ? `all ${n} workloads` : `${over} of ${n} workloads above`),
  ];
}

/** The worst CPU cost over the workloads, as text (the cross-check of a throughput verdict). */
function cpuWorst(report: ObserveReport, cost: (w: ObserveWorkload) => number | undefined): string {
  let max = Number.NEGATIVE_INFINITY;
  let where = '';
  for (const w of report.workloads) {
    const c = cost(w);
    if (c !== undefined && c > max) {
      max = c;
      where = w.name;
    }
  }
  return where === '' ? 'n/a' : `worst ${pct(max)} (${where})`;
}

/** Extra time per request of set-up `name` against the baseline (replicas pooled). */
const caseCost =
  (name: string) =>
  (w: ObserveWorkload): number | undefined =>
    between(w, name, OBS_BASELINE)?.wall;

/** Rows for the Targets table (columns: target, wanted, measured, verdict). */
export function observeTargetRows(report: ObserveReport | undefined): string[][] {
  if (report === undefined) return [];
  const rows: string[][] = [];
  const detached = worst(report, detachedOverhead, TARGET_DETACHED);
  if (detached !== undefined)
    rows.push([
      `debugger detached: current code vs ${OLD_COMMIT}, time per request`,
      `<= +${TARGET_DETACHED * 100}% on each workload`,
      `${detached[0]}; CPU: ${cpuWorst(report, detachedCpu)}`,
      detached[1],
    ]);
  for (const name of [OBS_DEBUGGER, OBS_DEBUGGER_TIMELINE, OBS_DEBUGGER_DETECT]) {
    const attached = worst(report, caseCost(name), TARGET_ATTACHED);
    if (attached !== undefined)
      rows.push([
        `${name} attached vs detached, time per request`,
        `<= +${TARGET_ATTACHED * 100}% on each workload`,
        `${attached[0]}; CPU: ${cpuWorst(report, (w) => cpuCost(w, name))}`,
        attached[1],
      ]);
  }
  return rows;
}

/** Headline figures for bench/results/latest.json (median ops/s). */
export function observeHeadline(report: ObserveReport | undefined): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const w of report?.workloads ?? [])
    for (const r of w.results) figures[`observe ${w.name} ops/s: ${r.name}`] = r.opsPerSec;
  return figures;
}

/** The section of docs/benchmarks.md. */
export function renderObserve(report: ObserveReport | undefined, error: string | undefined): string {
  const title = '### Cost of observing: events, await tracking, deadlock detection, debugger';
  if (error !== undefined) return `${title}\n\nThe family failed:\n\n\`\`\`\n${error}\n\`\`\``;
  if (report === undefined) return '';
  const names = report.workloads[0]?.results.map((r) => r.name) ?? [];
  const label = (name: string): string => report.configs.find((c) => c.name === name)?.label ?? name;
  const rows = names.map((name) => [
    `${name}: ${label(name)}`,
    ...report.workloads.map((w) => {
      const r = w.results.find((x) => x.name === name)!;
      const e = between(w, name, OBS_BASELINE, true);
      return e === undefined
        ? formatRate(r.opsPerSec)
        : `${formatRate(r.opsPerSec)} (${formatRatio(1 / (1 + e.wall))}, ${pct(e.wall)})`;
    }),
  ]);
  const matrix = markdownTable(['process: set-up', ...report.workloads.map((w) => w.name)], rows);
  const spread = markdownTable(
    ['process', ...report.workloads.map((w) => w.name)],
    names.map((name) => [
      name,
      ...report.workloads.map((w) => {
        const r = w.results.find((x) => x.name === name)!;
        return `${formatRate(r.minOpsPerSec)} – ${formatRate(r.maxOpsPerSec)}`;
      }),
    ]),
  );
  const cpuMatrix = markdownTable(
    ['process', ...report.workloads.map((w) => w.name)],
    names.map((name) => [
      name,
      ...report.workloads.map((w) => {
        const c = w.cpu.find((x) => x.name === name);
        const e = between(w, name, OBS_BASELINE, true);
        if (c === undefined || e === undefined) return 'n/a';
        return `${formatNs(c.nsPerOp)} (${pct(e.cpu)})`;
      }),
    ]),
  );
  const perWorkload = markdownTable(
    [
      'workload',
      `detached: current vs ${OLD_COMMIT} (<= +3%)`,
      `of which issue 4: ${ISSUE4_COMMIT} vs ${OLD_COMMIT}`,
      `and since: current vs ${ISSUE4_COMMIT}`,
      `${OBS_DEBUGGER} (<= +15%)`,
      `${OBS_DEBUGGER_TIMELINE} (<= +15%)`,
      `${OBS_DEBUGGER_DETECT} (<= +15%)`,
    ],
    report.workloads.map((w) => {
      const d = detachedOverhead(w);
      const cpuText = (x: number | undefined): string => (x === undefined ? '' : `; CPU ${pct(x)}`);
      const cell = (name: string): string => {
        const c = caseCost(name)(w);
        return c === undefined
          ? 'not run'
          : `${pct(c)} ${c <= TARGET_ATTACHED ? 'met' : '**missed**'}${cpuText(cpuCost(w, name))}`;
      };
      return [
        w.name,
        d === undefined
          ? 'not run'
          : `${pct(d)} ${d <= TARGET_DETACHED ? 'met' : '**missed**'}${cpuText(detachedCpu(w))}`,
        splitText(between(w, OBS_ISSUE4, OBS_OLD)),
        splitText(between(w, OBS_BASELINE, OBS_ISSUE4)),
        cell(OBS_DEBUGGER),
        cell(OBS_DEBUGGER_TIMELINE),
        cell(OBS_DEBUGGER_DETECT),
      ];
    }),
  );
  const skipped = report.configs.filter((c) => c.skipped !== undefined);
  const notes: string[] = [];
  for (const c of skipped) notes.push(`- Not measured: ${c.name} (${c.label}): ${c.skipped}.`);
  for (const c of report.configs) {
    if (c.sseBytes !== undefined) {
      const dropped =
        c.sseReconnects === 0
          ? 'it was never dropped'
          : `the server dropped it ${c.sseReconnects} time(s) for reading too slowly (more than 16 MiB pending), and it reconnected after 1 s each time`;
      notes.push(
        `- ${c.name}: the SSE client read ${(c.sseBytes / 2 ** 20).toFixed(0)} MiB of the stream over the family's run; ${dropped}.`,
      );
    }
    if (c.settleBusyMs !== undefined)
      notes.push(
        `- ${c.name}: main-thread busy time after the last request of a case-round (median): ${c.settleBusyMs.toFixed(1)} ms, counted in the round's duration.`,
      );
  }
  notes.push(`- Current code: ${report.current}.`);
  notes.push(`- Older builds: ${report.oldBuild}.`);
  notes.push(
    `- Load average (1 min) when the family started / ended: ${report.load[0].toFixed(2)} / ${report.load[1].toFixed(2)} (2 cores; the family itself keeps ~1-2 busy, more means other processes competed, and the wall-clock figures suffer first).`,
  );
  return [
    title,
    `Issue 4: what observing costs. Each set-up runs in its own child process (async context cannot be switched off once on); the processes live side by side and the harness interleaves their case-rounds, rotating, so that one process works at a time and drift hits all alike. The builds with nothing on (baseline, ${OLD_COMMIT}, ${ISSUE4_COMMIT}) run in ${NOTHING_ON_REPLICAS} processes each (\`#2\`, ...): two processes of the same code differ by a few percent (each its own JIT decisions and memory layout), which rounds do not average out; comparisons pool a set-up's processes (geometric mean per round). Cells: median ops/s over the rounds, then, against the pooled baseline, the throughput (median of per-round ratios) and the extra time per request (median of per-round baseline rate / this rate, - 1). Command: \`npm run bench\`, or this family alone: \`npm run build && node --expose-gc dist/bench/run.js --family observe\` (prints JSON).`,
    matrix,
    'Min – max of the rounds (ops/s):',
    spread,
    "CPU time per request: the process's CPU time (all its threads: the main thread, the worker node, GC and compiler threads), median over the same rounds, in ns; in parentheses the extra CPU per request against the baseline (median of per-round ratios). Other processes on the machine disturb it less than the wall clock, but it does not show time spent waiting (the wake-ups of a cross-worker round trip):",
    cpuMatrix,
    `Targets (judged on throughput; the CPU figures are a cross-check): extra time per request, detached <= +${TARGET_DETACHED * 100}% (the current code without anything attached against ${OLD_COMMIT}, the code before the wait-for graph, await tracking and detection), attached <= +${TARGET_ATTACHED * 100}%.`,
    perWorkload,
    notes.join('\n'),
    renderDecision(report),
  ].join('\n\n');
}

/**
 * The extra time per request of `name` over the workloads that `filter` keeps, as a range, with
 * the extra CPU per request (the cross-check) in parentheses.
 */
function range(report: ObserveReport, name: string, filter: (workload: string) => boolean): string {
  const kept = report.workloads.filter((w) => filter(w.name));
  const span = (costs: (number | undefined)[]): string => {
    const known = costs.filter((x): x is number => x !== undefined);
    if (known.length === 0) return 'not measured';
    const lo = Math.min(...known);
    const hi = Math.max(...known);
    return lo === hi ? pct(lo) : `${pct(lo)} to ${pct(hi)}`;
  };
  const wall = span(kept.map((w) => caseCost(name)(w)));
  return wall === 'not measured' ? wall : `${wall} (CPU ${span(kept.map((w) => cpuCost(w, name)))})`;
}

function renderDecision(report: ObserveReport): string {
  const all = (): boolean => true;
  const relay = (w: string): boolean => w.startsWith('relay');
  const plain = (w: string): boolean => !w.startsWith('relay');
  return [
    '#### Decision: what is on by default',
    [
      '**Nothing.** Await tracking, deadlock detection and the debugger are off unless the application',
      'turns them on (`configureDeadlocks(...)`, `attachDebugger(...)`) or the environment does',
      '(`MULTIACTIVE_DEADLOCKS=track|detect|reject`, `MULTIACTIVE_DEBUG=<port>`, which attaches the',
      'debugger and turns detection on). Objects under a finite soft limit already track their own',
      'awaits (they need async context for wait-by-necessity accounting anyway), so detection with',
      "tracking off still sees their waits and every scheduling rule. Why, in this run's figures",
      '(extra time per request against the baseline, over the workloads of the table; in',
      'parentheses the extra CPU time per request):',
    ].join('\n'),
    [
      `- Await tracking turns on async context for every promise of the process, and on Node ${process.versions.node.split('.')[0]} (async hooks) that stays for good: ${range(report, OBS_TRACK, relay)} on requests that await another object's future, ${range(report, OBS_TRACK, plain)} on plain round trips. Detection adds a look every 500 ms on top: ${range(report, OBS_DETECT, all)} in all. Too much to pay by default for a diagnosis most runs never need.`,
      `- An event listener, even an empty one, makes the runtime build every event (and worker nodes send theirs to the main thread): ${range(report, OBS_EVENTS, all)}; one that asks for a sample of requests (\`{ requests: 'sampled' }\`, what the debugger asks for by default): ${range(report, OBS_EVENTS_SAMPLED, all)}. With nobody listening, events cost one branch.`,
      `- The debugger, attached with a client on the overview (it takes a sample of requests' events: at most about 2000 requests a second per node): ${range(report, OBS_DEBUGGER, all)}; with the client showing the timeline (every request's events): ${range(report, OBS_DEBUGGER_TIMELINE, all)}; as \`MULTIACTIVE_DEBUG\` attaches it (with detection, so await tracking): ${range(report, OBS_DEBUGGER_DETECT, all)}. The targets table above says whether each meets <= +15%.`,
      `- Detached (nothing on), the current code against ${OLD_COMMIT}: ${detachedRange(report)}. Issue 4's own part (the \`observed\` and tracking branches, the \`follows\` link of futures, policy summaries; ${ISSUE4_COMMIT} against ${OLD_COMMIT}): ${splitRange(report, OBS_ISSUE4, OBS_OLD)}; what came after it (issue 5's checkpoint request among others; current against ${ISSUE4_COMMIT}): ${splitRange(report, OBS_BASELINE, OBS_ISSUE4)}.`,
      `- Node 22 and later can run AsyncLocalStorage on AsyncContextFrame instead of async hooks (the issue expects async context to be cheap there). Node 22/24 are not installed on this machine, so that cost is unmeasured: every figure above is Node ${process.versions.node}'s. Whether tracking could be on by default there stays open until it is measured.`,
    ].join('\n'),
  ].join('\n\n');
}

function splitRange(report: ObserveReport, a: string, b: string): string {
  const pairs = report.workloads.map((w) => between(w, a, b)).filter((x) => x !== undefined);
  if (pairs.length === 0) return 'not measured';
  const span = (xs: number[]): string => `${pct(Math.min(...xs))} to ${pct(Math.max(...xs))}`;
  return `${span(pairs.map((p) => p.wall))} (CPU ${span(pairs.map((p) => p.cpu))})`;
}

function detachedRange(report: ObserveReport): string {
  const span = (costs: (number | undefined)[]): string => {
    const known = costs.filter((x): x is number => x !== undefined);
    return known.length === 0 ? 'not measured' : `${pct(Math.min(...known))} to ${pct(Math.max(...known))}`;
  };
  const wall = span(report.workloads.map(detachedOverhead));
  return wall === 'not measured' ? wall : `${wall} (CPU ${span(report.workloads.map(detachedCpu))})`;
}

export const OBSERVE_METHOD = `- **Cost of observing** (bench/observe-bench.ts, observe-child.ts): one child process per
  set-up, all alive for the whole family; the harness's cases are the processes (a case-round
  asks one of them to run the workload and report its own timing, wall clock and process CPU
  time), so the rounds interleave as in one process. Workloads (bench/observe-fixtures.ts):
  \`await c.inc()\` in a loop and batches of 100 on a self-compatible object; a relay whose
  request awaits another object's \`inc()\` (one op is two requests), sequential and 100 in
  flight; 100 in flight from the main thread to an object on a worker node. The ${OLD_COMMIT} and
  ${ISSUE4_COMMIT} processes run the same compiled child against those commits' runtimes
  (\`git archive\`, compiled in a temporary directory). The debugger's SSE client is the parent
  process (another core, as a browser would be). For set-ups that deliver work after the last
  request (events of worker nodes, the debugger's 100 ms batches), the child waits ${SETTLE_MS} ms
  after each case-round and adds the main thread's busy time during the wait (event-loop
  utilization) to the round's duration: a loop that awaits only microtasks never lets the
  debugger's batch timer fire, so its batch grows during the round and is formatted and sent
  after it. Detection's 500 ms look and the debugger's 500 ms wait-graph poll fall in the
  measured rounds in proportion to their time (most rounds see none, so medians show them less
  than a mean would).`;
