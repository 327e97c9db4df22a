/**
 * A small benchmark harness: cases run side by side, interleaved round by round, so that
 * drift (thermal, a neighbour on the 2-core machine, a GC that builds up) hits every case
 * alike; each case reports its median rate and its median ratio to a named baseline.
 *
 * A round runs every case once; the order rotates from round to round (A B C, B C A, C A B,
 * ...) so that no case always follows the same one (a predecessor's garbage or JIT state
 * otherwise biases a position by several percent). Each case-round runs a fixed
 * number of operations, calibrated during the warm-up rounds (discarded) so that one
 * case-round takes about `budgetMs`. Before each case-round the heap is collected when node
 * runs with `--expose-gc`, so one case's garbage is not collected on another's clock.
 *
 * The ratio of a case is the median over rounds of (case rate / baseline rate) in the same
 * round: a paired comparison, steadier than the ratio of two medians when the machine drifts.
 *
 * Who calls it: the bench files (scheduler-bench.ts, inthread-bench.ts), each in its own
 * child process started by run.ts. Results are plain data (JSON) sent back to run.ts.
 */

/**
 * One benchmark case: `run(ops)` performs `ops` operations (sync or async). If it returns a
 * number, that is the measured duration in milliseconds (a case timed where it runs, e.g.
 * inside a worker); otherwise the harness times the call.
 */
export interface BenchCase {
  readonly name: string;
  readonly run: (ops: number) => void | number | Promise<void | number>;
  /** `ops` is always a multiple of this (e.g. the batch size of an in-flight case). Default 1. */
  readonly granularity?: number;
  /** A fixed number of operations per round (no calibration), e.g. "fill a queue of n". */
  readonly fixedOps?: number;
  /** Latencies recorded by `run` (per batch in `inFlight`, per call in `timedSequential`), reported as p50/p99. */
  readonly latency?: LatencyRecorder;
}

export interface SuiteOptions {
  /** Measured rounds. */
  readonly rounds: number;
  /** Rounds run first and discarded (they also calibrate the operation counts). */
  readonly warmup: number;
  /** Target duration of one case-round, in milliseconds. */
  readonly budgetMs: number;
  /** Operations of the first warm-up round, before calibration. */
  readonly initialOps: number;
  /** Upper bound on operations per case-round (memory of queues, etc.). */
  readonly maxOps?: number;
  /** Name of the case that ratios are computed against. */
  readonly baseline: string;
}

export interface CaseResult {
  readonly name: string;
  /** Operations per case-round after calibration. */
  readonly ops: number;
  /** Median operations per second over the measured rounds. */
  readonly opsPerSec: number;
  /** 1e9 / median ops/s. */
  readonly nsPerOp: number;
  readonly minOpsPerSec: number;
  readonly maxOpsPerSec: number;
  /** Median over rounds of (this rate / baseline rate), same round. 1 for the baseline. */
  readonly ratio: number;
  readonly baseline: string;
  /** Rates of every measured round, in order. */
  readonly rounds: readonly number[];
  /** Latency in microseconds (per batch or per call, see the case), when the case records it. */
  readonly p50Us?: number;
  readonly p99Us?: number;
  readonly batches?: number;
}

/** Records one duration (ms) per batch; the harness keeps only the measured rounds'. */
export class LatencyRecorder {
  private samples = new Float64Array(1024);
  private count = 0;

  record(ms: number): void {
    if (this.count === this.samples.length) {
      const bigger = new Float64Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    this.samples[this.count++] = ms;
  }

  reset(): void {
    this.count = 0;
  }

  /** The recorded samples, sorted (a copy). */
  sorted(): Float64Array {
    return this.samples.slice(0, this.count).sort();
  }
}

/** `call()` awaited one at a time: round-trip throughput with one request in flight. */
export function sequential(name: string, call: () => PromiseLike<unknown>): BenchCase {
  return {
    name,
    run: async (ops) => {
      for (let i = 0; i < ops; i++) await call();
    },
  };
}

/**
 * `sequential` that also records each call's duration (two `performance.now()` per call,
 * ~0.1 µs: use it where a call costs microseconds, e.g. across threads).
 */
export function timedSequential(name: string, call: () => PromiseLike<unknown>): BenchCase {
  const latency = new LatencyRecorder();
  return {
    name,
    latency,
    run: async (ops) => {
      for (let i = 0; i < ops; i++) {
        const t0 = performance.now();
        await call();
        latency.record(performance.now() - t0);
      }
    },
  };
}

/**
 * A sliding window of `k` calls in flight: each result issues the next call, until `ops`
 * calls have been issued; resolves when all have answered. Unlike `inFlight`, the window
 * never drains between batches. No closure per call.
 */
export function windowed(name: string, k: number, call: () => PromiseLike<unknown>): BenchCase {
  return {
    name,
    run: (ops) =>
      new Promise<void>((resolve, reject) => {
        let issued = 0;
        let done = 0;
        const onDone = (): void => {
          done++;
          if (issued < ops) {
            issued++;
            call().then(onDone, reject);
          } else if (done === ops) resolve();
        };
        const first = Math.min(k, ops);
        while (issued < first) {
          issued++;
          call().then(onDone, reject);
        }
      }),
  };
}

/**
 * `k` calls issued at once and awaited together (`Promise.all`), repeated: throughput with
 * `k` requests in flight. Each batch's duration (first call to last result) is recorded.
 */
export function inFlight(name: string, k: number, call: () => PromiseLike<unknown>): BenchCase {
  const latency = new LatencyRecorder();
  const batch: PromiseLike<unknown>[] = new Array(k);
  return {
    name,
    granularity: k,
    latency,
    run: async (ops) => {
      for (let done = 0; done < ops; done += k) {
        const t0 = performance.now();
        for (let j = 0; j < k; j++) batch[j] = call();
        await Promise.all(batch);
        latency.record(performance.now() - t0);
      }
    },
  };
}

/**
 * Run `cases` interleaved: `warmup` discarded rounds (calibrating), then `rounds` measured
 * ones. Time: rounds x cases x budgetMs, plus calibration.
 */
export async function runSuite(cases: readonly BenchCase[], options: SuiteOptions): Promise<CaseResult[]> {
  const baselineIndex = cases.findIndex((c) => c.name === options.baseline);
  if (baselineIndex < 0) throw new Error(`baseline case ${options.baseline} is not among the cases`);
  const ops = cases.map((c) => c.fixedOps ?? roundUp(options.initialOps, c.granularity ?? 1));
  const rates: number[][] = cases.map(() => []);

  for (let round = 0; round < options.warmup + options.rounds; round++) {
    const measured = round >= options.warmup;
    for (let k = 0; k < cases.length; k++) {
      const i = (k + round) % cases.length;
      const c = cases[i]!;
      if (round === options.warmup) c.latency?.reset(); // keep the measured rounds' samples only
      globalThis.gc?.();
      const n = ops[i]!;
      const t0 = performance.now();
      const pending = c.run(n);
      // Any thenable is awaited (a multiactive future is one, but not a Promise).
      const reported = typeof pending === 'object' && pending !== null ? await pending : pending;
      const ms = typeof reported === 'number' ? reported : performance.now() - t0;
      const rate = (n * 1000) / Math.max(ms, 1e-3);
      if (measured) rates[i]!.push(rate);
      else if (c.fixedOps === undefined) {
        // Calibrate: aim at budgetMs per case-round.
        const wanted = (rate * options.budgetMs) / 1000;
        ops[i] = clamp(roundUp(wanted, c.granularity ?? 1), c.granularity ?? 1, options.maxOps ?? 1e9);
      }
    }
  }

  const base = rates[baselineIndex]!;
  return cases.map((c, i) => {
    const r = rates[i]!;
    const median = medianOf(r);
    const result: CaseResult = {
      name: c.name,
      ops: ops[i]!,
      opsPerSec: median,
      nsPerOp: 1e9 / median,
      minOpsPerSec: Math.min(...r),
      maxOpsPerSec: Math.max(...r),
      ratio: medianOf(r.map((x, k) => x / base[k]!)),
      baseline: options.baseline,
      rounds: r,
    };
    if (c.latency === undefined) return result;
    const sorted = c.latency.sorted();
    return {
      ...result,
      p50Us: percentile(sorted, 0.5) * 1000,
      p99Us: percentile(sorted, 0.99) * 1000,
      batches: sorted.length,
    };
  });
}

export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of sorted values (q in 0..1). */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

function roundUp(value: number, step: number): number {
  return Math.max(step, Math.ceil(value / step) * step);
}

function clamp(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, value));
}

// ------------------------------------------------------------------ formatting

/** `1234567` -> `1.23 M`, `12345` -> `12.3 k`. */
export function formatRate(opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return 'n/a';
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)} M`;
  if (opsPerSec >= 1e3) return `${(opsPerSec / 1e3).toFixed(1)} k`;
  return opsPerSec.toFixed(0);
}

export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  return ns >= 100 ? ns.toFixed(0) : ns.toFixed(1);
}

export function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(2)}x` : 'n/a';
}

/** A markdown table (also readable as plain text on a terminal). */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
