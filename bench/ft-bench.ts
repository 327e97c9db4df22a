/**
 * Fault tolerance (issue 5), measured on compiled JS in one process:
 *
 * 1. Checkpoint overhead: a `Ledger` (~100 KB of state, one mutating request `add`) without
 *    `@Checkpoint`, and with a checkpoint every 1000 requests in a `FileStore` (temporary
 *    directory) or a `MemoryStore`. In-thread, sequential and 100 in flight (batches of 100,
 *    `Promise.all`); on a worker node, 100 in flight, where an object with `@Checkpoint` is
 *    also *recoverable*: each delivery is journaled to the main thread before it runs (so a
 *    worker case without `@Checkpoint` is the baseline, and a journaled object whose
 *    checkpoint never comes in a round separates the journal's cost from the checkpoints').
 *    All cases run interleaved in one suite (bench/harness.ts); ratios are paired by round
 *    against the case without `@Checkpoint` of the same mode. A case-round ends when the
 *    checkpoints its requests caused are durable (`checkpoint.taken`), so no write spills
 *    into the next case's round: its rate is what the object sustains. The rate of its
 *    requests alone (before that wait) is reported beside it.
 * 2. Recovery time: a `BigLedger` on a worker node, ~10 MB of state built by one request,
 *    checkpointed once (FileStore) after 20,000 requests, then 10,000 more requests (in the
 *    journal only). The worker is killed (`worker.terminate()`); measured: kill -> the next
 *    call's answer (it waits for the new worker, the restore and the replay of the 10,000),
 *    and the phases from the events (node.lost, object.created on the new worker,
 *    requests.replayed, object.restored). Each round uses fresh workers; the answer is
 *    checked (requests applied, sum of the state).
 * 3. Where the time goes: the stages of one checkpoint and one restore timed alone on the
 *    main thread, for both state sizes (capture = encode walk + `v8.serialize`; sha256;
 *    `FileStore.put` = sha256 + write + fsync + rename + listing; `FileStore.latest` = read +
 *    sha256; decode = `v8.deserialize` + the reference walk).
 *
 *   npm run build && node --expose-gc dist/bench/ft-bench.js [--quick]
 *
 * prints the tables; a full run (not --quick) writes bench/results/ft.json and
 * docs/benchmarks-ft.md. `runFtFamily`, `renderFt`, `ftTargetRows`, `ftHeadline` and
 * `FT_METHOD` let bench/run.ts run it as the family `ft`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { deserialize, serialize } from 'node:v8';
import { captureState, decodeState, encodeState, type StateCodec } from '../src/checkpoint/state.js';
import {
  type Active,
  createWorkerNode,
  FileStore,
  type MultiactiveEvent,
  newActive,
  onEvent,
  terminate,
  type WorkerNode,
  workerNodes,
} from '../src/index.js';
import { journalSizes } from '../src/node/recovery.js';
import { ACTIVE_OBJECT } from '../src/symbols.js';
import {
  BIG_EVERY,
  BIG_NUMBERS,
  BigLedger,
  EVERY_REQUESTS,
  FileLedger,
  FT_DIR_VARIABLE,
  JournaledLedger,
  LEDGER_NUMBERS,
  Ledger,
  MemoryLedger,
} from './ft-fixtures.js';
import {
  type BenchCase,
  type CaseResult,
  formatRate,
  formatRatio,
  markdownTable,
  medianOf,
  runSuite,
} from './harness.js';

/** Issue 5's targets. */
export const TARGET_OVERHEAD = 0.1;
export const TARGET_RECOVERY_MS = 500;

export const FT_IN_FLIGHT = 100;
/** Requests journaled after the recovery subject's checkpoint. */
export const JOURNALED = 10_000;

export const MODE_SEQ = 'in-thread, sequential';
export const MODE_FLIGHT = `in-thread, ${FT_IN_FLIGHT} in flight`;
export const MODE_WORKER = `worker node, ${FT_IN_FLIGHT} in flight`;
export const V_NONE = 'no @Checkpoint';
export const V_FILE = `every ${EVERY_REQUESTS}, FileStore`;
export const V_MEMORY = `every ${EVERY_REQUESTS}, MemoryStore`;
export const V_JOURNAL = 'journaled, no checkpoint in the round';

export interface FtCase {
  readonly mode: string;
  readonly variant: string;
  /** Median ops/s of the case-round, up to its checkpoints being durable (the harness's rate). */
  readonly opsPerSec: number;
  readonly minOpsPerSec: number;
  readonly maxOpsPerSec: number;
  /** Median over rounds of (this rate / the mode's `no @Checkpoint` rate), same round. */
  readonly ratio: number;
  /** The same for the requests alone (before waiting for durability). */
  readonly requestsOpsPerSec: number;
  readonly requestsRatio: number;
  /** Median `checkpoint.taken` per measured round, and requests per round. */
  readonly checkpointsPerRound: number;
  readonly opsPerRound: number;
  /** Median ms per round spent waiting for the round's checkpoints to be durable. */
  readonly drainMs: number;
  /** Bytes of one checkpoint (the last seen), 0 without. */
  readonly checkpointBytes: number;
}

export interface RecoveryRound {
  /** `worker.terminate()` called -> the next call's answer. */
  readonly killToAnswerMs: number;
  /** kill -> `worker.terminate()` resolved (the old worker's exit). */
  readonly killToExitMs: number;
  readonly killToLostMs: number;
  /** node.lost -> object.created on the new worker (worker start, modules loaded, constructor). */
  readonly lostToCreatedMs: number;
  /** node.lost -> requests.replayed (the checkpoint read, checked, decoded, applied; replay queued). */
  readonly lostToReplayedMs: number;
  /** node.lost -> the next call's answer (after the replay). */
  readonly lostToAnswerMs: number;
  /** requests.replayed -> the answer: running the replayed requests, then the call. */
  readonly replayedToAnswerMs: number;
  readonly replayed: number;
  readonly journaled: number;
  readonly checkpointBytes: number;
}

export interface StageCost {
  readonly stage: string;
  readonly state100k: number;
  readonly state10m: number;
}

export interface FtReport {
  readonly family: 'ft';
  readonly quick: boolean;
  readonly rounds: number;
  readonly cases: readonly FtCase[];
  readonly recovery: readonly RecoveryRound[];
  readonly stages: readonly StageCost[];
  readonly bytes100k: number;
  readonly bytes10m: number;
  readonly load: readonly [number, number];
  readonly date: string;
  readonly machine: string;
}

// ------------------------------------------------------------------ checkpoint events

type Ev<T extends MultiactiveEvent['type']> = Extract<MultiactiveEvent, { type: T }>;

/** Durable checkpoints per key, from `checkpoint.taken` (no per-request events: `requests: 'none'`). */
class CheckpointWatch {
  readonly taken = new Map<string, number>();
  readonly durable = new Map<string, number>();
  readonly bytes = new Map<string, number>();
  readonly failures: string[] = [];
  private waiters: { key: string; seq: number; resolve: () => void }[] = [];
  /** Recovery events, newest last. */
  readonly log: MultiactiveEvent[] = [];

  on(e: MultiactiveEvent): void {
    if (e.type === 'checkpoint.taken') {
      this.taken.set(e.key, (this.taken.get(e.key) ?? 0) + 1);
      this.durable.set(e.key, Math.max(this.durable.get(e.key) ?? 0, e.seq));
      this.bytes.set(e.key, e.bytes);
      this.waiters = this.waiters.filter((w) => {
        if (w.key !== e.key || w.seq > e.seq) return true;
        w.resolve();
        return false;
      });
    } else if (e.type === 'checkpoint.failed') {
      this.failures.push(`${e.key} #${e.seq}: ${String(e.error)}`);
      trace(`checkpoint.failed ${e.key} #${e.seq}: ${JSON.stringify(e.error)}`);
    } else if (
      e.type === 'node.lost' ||
      e.type === 'object.created' ||
      e.type === 'object.restored' ||
      e.type === 'requests.replayed' ||
      e.type === 'object.recovered'
    ) {
      this.log.push(e);
    }
  }

  /** Resolves when checkpoint `seq` of `key` is durable; rejects after `timeoutMs`. */
  until(key: string, seq: number, timeoutMs = 30_000): Promise<void> {
    if ((this.durable.get(key) ?? 0) >= seq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const failures = this.failures.length === 0 ? 'none' : this.failures.join('; ');
        reject(
          new Error(
            `checkpoint ${seq} of ${key} not durable within ${timeoutMs} ms (durable: ${this.durable.get(key) ?? 0}; failures: ${failures})`,
          ),
        );
      }, timeoutMs);
      this.waiters.push({
        key,
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

// ------------------------------------------------------------------ part 1: overhead

/** `FT_BENCH_TRACE=1`: progress on stderr. */
const trace: (line: string) => void = process.env.FT_BENCH_TRACE ? (line) => console.error(line) : () => {};

type LedgerLike = Pick<Active<Ledger>, 'add' | 'captured'>;

interface Subject {
  readonly mode: string;
  readonly variant: string;
  readonly key: string | undefined;
  ledger: LedgerLike;
  /** Called after each case-round, untimed (the journal-only case replaces its object). */
  readonly renew?: (s: Subject) => Promise<void>;
  /** Per case-round (warm-up included): requests-only ms, drain ms, ops, checkpoints. */
  readonly requestMs: number[];
  readonly drainMs: number[];
  readonly ops: number[];
  readonly checkpoints: number[];
}

function subjectCase(s: Subject, watch: CheckpointWatch): BenchCase {
  const sequential = s.mode === MODE_SEQ;
  const batch: PromiseLike<number>[] = new Array(FT_IN_FLIGHT);
  let next = 0;
  return {
    name: `${s.mode}: ${s.variant}`,
    granularity: sequential ? 1 : FT_IN_FLIGHT,
    run: async (ops) => {
      trace(`${s.mode}: ${s.variant}: ${ops} ops`);
      const ledger = s.ledger;
      const before = s.key === undefined ? 0 : (watch.taken.get(s.key) ?? 0);
      const t0 = performance.now();
      if (sequential) {
        for (let i = 0; i < ops; i++) await ledger.add(next++, 1);
      } else {
        for (let done = 0; done < ops; done += FT_IN_FLIGHT) {
          for (let j = 0; j < FT_IN_FLIGHT; j++) batch[j] = ledger.add(next++, 1);
          await Promise.all(batch);
        }
      }
      const t1 = performance.now();
      // Every case pays this round trip; with checkpoints, wait until those captured are durable.
      const captured = await ledger.captured();
      trace(`  captured ${captured}, durable ${s.key === undefined ? '-' : watch.durable.get(s.key)}`);
      if (s.key !== undefined) await watch.until(s.key, captured);
      const t2 = performance.now();
      s.requestMs.push(t1 - t0);
      s.drainMs.push(t2 - t1);
      s.ops.push(ops);
      s.checkpoints.push(s.key === undefined ? 0 : (watch.taken.get(s.key) ?? 0) - before);
      await s.renew?.(s);
      return t2 - t0;
    },
  };
}

function suiteOptions(quick: boolean, baseline: string) {
  return quick
    ? { rounds: 3, warmup: 1, budgetMs: 40, initialOps: 1000, baseline }
    : { rounds: 9, warmup: 2, budgetMs: 150, initialOps: 2000, baseline };
}

async function overhead(
  quick: boolean,
  watch: CheckpointWatch,
): Promise<{ cases: FtCase[]; rounds: number }> {
  const subjects: Subject[] = [];
  const add = (
    mode: string,
    variant: string,
    key: string | undefined,
    ledger: LedgerLike,
    renew?: Subject['renew'],
  ) => {
    const s: Subject = { mode, variant, key, ledger, requestMs: [], drainMs: [], ops: [], checkpoints: [] };
    if (renew !== undefined) Object.assign(s, { renew });
    subjects.push(s);
  };
  for (const mode of [MODE_SEQ, MODE_FLIGHT]) {
    const tag = mode === MODE_SEQ ? 'seq' : 'flight';
    add(mode, V_NONE, undefined, newActive(Ledger, [LEDGER_NUMBERS]));
    add(
      mode,
      V_FILE,
      `ft/${tag}-file`,
      newActive(FileLedger, [LEDGER_NUMBERS], { checkpointKey: `ft/${tag}-file` }),
    );
    add(
      mode,
      V_MEMORY,
      `ft/${tag}-memory`,
      newActive(MemoryLedger, [LEDGER_NUMBERS], { checkpointKey: `ft/${tag}-memory` }),
    );
  }
  const node = createWorkerNode({ name: 'ft-throughput' });
  add(MODE_WORKER, V_NONE, undefined, newActive(Ledger, [LEDGER_NUMBERS], { node }));
  let journalRound = 0;
  const journaled = () =>
    newActive(JournaledLedger, [LEDGER_NUMBERS], { node, checkpointKey: `ft/journal-${journalRound++}` });
  add(MODE_WORKER, V_JOURNAL, undefined, journaled(), async (s) => {
    // Its journal is never trimmed: a fresh object per round keeps it one round long.
    await terminate(s.ledger);
    s.ledger = journaled();
    await s.ledger.add(0, 0);
  });
  add(
    MODE_WORKER,
    V_FILE,
    'ft/worker-file',
    newActive(FileLedger, [LEDGER_NUMBERS], { node, checkpointKey: 'ft/worker-file' }),
  );
  add(
    MODE_WORKER,
    V_MEMORY,
    'ft/worker-memory',
    newActive(MemoryLedger, [LEDGER_NUMBERS], { node, checkpointKey: 'ft/worker-memory' }),
  );
  // Every object answers before anything is timed (the worker loads meanwhile).
  for (const s of subjects) await s.ledger.add(0, 0);

  const cases = subjects.map((s) => subjectCase(s, watch));
  const options = suiteOptions(quick, cases[0]!.name);
  const results = await runSuite(cases, options);
  for (const s of subjects) if (s.mode === MODE_WORKER) await terminate(s.ledger);
  await node.terminate();

  const rounds = options.rounds;
  const last = (xs: readonly number[]): number[] => xs.slice(xs.length - rounds);
  const out: FtCase[] = [];
  for (const [i, s] of subjects.entries()) {
    const r = results[i]!;
    const baseIndex = subjects.findIndex((b) => b.mode === s.mode && b.variant === V_NONE);
    const base = results[baseIndex]!;
    const baseSubject = subjects[baseIndex]!;
    const reqRates = (x: Subject) => last(x.ops).map((n, k) => (n * 1000) / last(x.requestMs)[k]!);
    const mine = reqRates(s);
    const theirs = reqRates(baseSubject);
    out.push({
      mode: s.mode,
      variant: s.variant,
      opsPerSec: r.opsPerSec,
      minOpsPerSec: r.minOpsPerSec,
      maxOpsPerSec: r.maxOpsPerSec,
      ratio: paired(r, base),
      requestsOpsPerSec: medianOf(mine),
      requestsRatio: medianOf(mine.map((x, k) => x / theirs[k]!)),
      checkpointsPerRound: medianOf(last(s.checkpoints)),
      opsPerRound: medianOf(last(s.ops)),
      drainMs: medianOf(last(s.drainMs)),
      checkpointBytes: s.key === undefined ? 0 : (watch.bytes.get(s.key) ?? 0),
    });
  }
  return { cases: out, rounds };
}

/** Median over rounds of a's rate / b's rate in the same round. */
function paired(a: CaseResult, b: CaseResult): number {
  return medianOf(a.rounds.map((x, k) => x / b.rounds[k]!));
}

// ------------------------------------------------------------------ part 2: recovery

/** `n` calls, `k` in flight (batches). */
async function pump(n: number, k: number, call: (i: number) => PromiseLike<unknown>): Promise<void> {
  const batch: PromiseLike<unknown>[] = [];
  for (let done = 0; done < n; ) {
    batch.length = 0;
    for (let j = 0; j < k && done < n; j++, done++) batch.push(call(done));
    await Promise.all(batch);
  }
}

function eventAfter<T extends 'node.lost' | 'object.created' | 'object.restored' | 'requests.replayed'>(
  watch: CheckpointWatch,
  type: T,
  after: number,
  objectId: number | undefined,
): Ev<T> {
  const found = watch.log.find(
    (e) =>
      e.type === type &&
      e.time >= after &&
      (objectId === undefined || !('objectId' in e) || e.objectId === objectId),
  );
  if (found === undefined) throw new Error(`no ${type} event after the kill`);
  return found as Ev<T>;
}

async function recoveryRound(round: number, watch: CheckpointWatch, dir: string): Promise<RecoveryRound> {
  const w: WorkerNode = createWorkerNode({ name: `ft-recovery-${round}` });
  const key = `ft/recovery-${round}`;
  const big = newActive(BigLedger, [], { node: w, checkpointKey: key });
  const id = (big as unknown as Record<symbol, { id: number }>)[ACTIVE_OBJECT]!.id;
  await big.build(BIG_NUMBERS);
  const durable = watch.until(key, 1);
  await pump(BIG_EVERY - 1, FT_IN_FLIGHT, (i) => big.add(i, 1));
  await durable;
  await pump(JOURNALED, FT_IN_FLIGHT, (i) => big.add(i, 1));
  const journaled = journalSizes().get(id) ?? Number.NaN;
  // Let the worker's last messages land, then kill it from outside.
  await new Promise((r) => setTimeout(r, 50));
  const before = new Set(workersNow());
  const t0 = performance.now();
  await w.worker.terminate();
  const tExit = performance.now();
  const state = await big.read();
  const t1 = performance.now();
  const applied = 1 + (BIG_EVERY - 1) + JOURNALED;
  const expectedSum = (BIG_NUMBERS * (BIG_NUMBERS - 1)) / 2 + BIG_NUMBERS * 0.5 + (applied - 1);
  if (state.applied !== applied || state.sum !== expectedSum) {
    throw new Error(
      `recovery round ${round}: read ${JSON.stringify(state)}, expected applied ${applied}, sum ${expectedSum}`,
    );
  }
  const lost = eventAfter(watch, 'node.lost', t0, undefined);
  const created = eventAfter(watch, 'object.created', t0, id);
  const replayed = eventAfter(watch, 'requests.replayed', t0, id);
  await terminate(big);
  for (const n of workersNow()) if (!before.has(n)) await n.terminate();
  rmSync(join(dir, encodeURIComponent(key)), { recursive: true, force: true });
  return {
    killToAnswerMs: t1 - t0,
    killToExitMs: tExit - t0,
    killToLostMs: lost.time - t0,
    lostToCreatedMs: created.time - lost.time,
    lostToReplayedMs: replayed.time - lost.time,
    lostToAnswerMs: t1 - lost.time,
    replayedToAnswerMs: t1 - replayed.time,
    replayed: replayed.count,
    journaled,
    checkpointBytes: watch.bytes.get(key) ?? 0,
  };
}

const workersNow = (): WorkerNode[] => [...workerNodes()];

// ------------------------------------------------------------------ part 3: stages

/**
 * What a capture without a copy would check first (measured as an alternative): an array
 * of primitives holds no reference, future or function, so `v8.serialize` can take it as it
 * is. Time: O(length), no allocation.
 */
function holdsOnlyData(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'object' ? v !== null : typeof v === 'function' || typeof v === 'symbol') return false;
  }
  return true;
}

const codec: StateCodec = {
  localNode: 0,
  stubFor: () => ({}),
  remember: () => {},
};

/** Median of `reps` timed calls, after 3 untimed ones (JIT warm). */
function timeMedian(reps: number, f: () => void): number {
  for (let i = 0; i < 3; i++) f();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    globalThis.gc?.();
    const t0 = performance.now();
    f();
    xs.push(performance.now() - t0);
  }
  return medianOf(xs);
}

async function timeMedianAsync(reps: number, f: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    globalThis.gc?.();
    const t0 = performance.now();
    await f();
    xs.push(performance.now() - t0);
  }
  return medianOf(xs);
}

async function stages(
  quick: boolean,
  dir: string,
): Promise<{ stages: StageCost[]; bytes100k: number; bytes10m: number }> {
  const store = new FileStore(join(dir, 'stages'));
  const make = (n: number) => {
    const values = new Array<number>(n);
    for (let i = 0; i < n; i++) values[i] = i + 0.5;
    return { values, applied: n };
  };
  const measure = async (n: number, reps: number) => {
    const target = make(n);
    const meta = { dseq: 1, pending: [] };
    const data = encodeState('s', meta, captureState(target), codec);
    let seq = 0;
    const fields = captureState(target);
    const typed = Float64Array.from(target.values);
    const row: Record<string, number> = {
      'capture: encode walk + v8.serialize (blocks the object)': timeMedian(reps, () => {
        encodeState('s', meta, captureState(target), codec);
      }),
      'v8.serialize alone (no encode walk)': timeMedian(reps, () => {
        serialize({ meta, state: fields });
      }),
      'no copy: read-only scan for references + v8.serialize of the fields as they are': timeMedian(
        reps,
        () => {
          if (!holdsOnlyData(target.values)) throw new Error('unexpected');
          serialize({ meta, state: captureState(target) });
        },
      ),
      'for comparison: v8.serialize of the same numbers in a Float64Array': timeMedian(reps, () => {
        serialize({ meta, state: { values: typed, applied: target.applied } });
      }),
      'sha256 (FileStore.put, on the object thread)': timeMedian(reps, () => {
        createHash('sha256').update(data).digest();
      }),
      'FileStore.put (sha256, write, fsync, rename, list)': await timeMedianAsync(reps, () =>
        store.put(`k${n}`, ++seq, data),
      ),
      'MemoryStore.put (copy)': timeMedian(reps, () => {
        data.slice();
      }),
      'FileStore.latest (read, check, sha256)': await timeMedianAsync(reps, () => store.latest(`k${n}`)),
      'restore: v8.deserialize + decode walk': timeMedian(reps, () => {
        decodeState(data, codec);
      }),
      'v8.deserialize alone (no decode walk)': timeMedian(reps, () => {
        deserialize(data);
      }),
    };
    return { row, bytes: data.byteLength };
  };
  const small = await measure(LEDGER_NUMBERS, quick ? 21 : 101);
  const large = await measure(BIG_NUMBERS, quick ? 3 : 11);
  return {
    stages: Object.keys(small.row).map((stage) => ({
      stage,
      state100k: small.row[stage]!,
      state10m: large.row[stage]!,
    })),
    bytes100k: small.bytes,
    bytes10m: large.bytes,
  };
}

// ------------------------------------------------------------------ the family

/** Run the whole family (~1 min; --quick: ~15 s). Cleans up its workers and temporary files. */
export async function runFtFamily(quick: boolean): Promise<FtReport> {
  const loadStart = os.loadavg()[0]!;
  const dir = mkdtempSync(join(os.tmpdir(), 'multiactive-ft-bench-'));
  const previousDir = process.env[FT_DIR_VARIABLE];
  process.env[FT_DIR_VARIABLE] = dir;
  const watch = new CheckpointWatch();
  const stop = onEvent((e) => watch.on(e), { requests: 'none' });
  try {
    const { cases, rounds } = await overhead(quick, watch);
    const recovery: RecoveryRound[] = [];
    const recoveryRounds = quick ? 2 : 7;
    // One unmeasured round first: the first worker of a process loads the modules cold.
    for (let r = 0; r <= recoveryRounds; r++) {
      globalThis.gc?.();
      const result = await recoveryRound(r, watch, dir);
      if (r > 0) recovery.push(result);
    }
    const st = await stages(quick, dir);
    if (watch.failures.length > 0) throw new Error(`checkpoints failed: ${watch.failures.join('; ')}`);
    const cpus = os.cpus();
    return {
      family: 'ft',
      quick,
      rounds,
      cases,
      recovery,
      ...st,
      load: [loadStart, os.loadavg()[0]!],
      date: new Date().toISOString(),
      machine: `${cpus[0]?.model ?? 'unknown'}, ${cpus.length} logical cores, node ${process.version}`,
    };
  } finally {
    stop();
    for (const n of workersNow()) await n.terminate();
    rmSync(dir, { recursive: true, force: true });
    if (previousDir === undefined) delete process.env[FT_DIR_VARIABLE];
    else process.env[FT_DIR_VARIABLE] = previousDir;
  }
}

// ------------------------------------------------------------------ report

const ms = (x: number): string => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : 'n/a');
const pct = (ratio: number): string => `${((1 - ratio) * 100).toFixed(1)}%`;

function recoveryMedian(report: FtReport, f: (r: RecoveryRound) => number): number {
  return medianOf(report.recovery.map(f));
}

/** Worst overhead of a checkpointing case (1 - paired ratio), per mode. */
function overheadOf(report: FtReport, mode: string, variant: string): number {
  const c = report.cases.find((x) => x.mode === mode && x.variant === variant);
  return c === undefined ? Number.NaN : 1 - c.ratio;
}

/** Rows for run.ts's targets table: target, wanted, measured, verdict. */
export function ftTargetRows(report: FtReport | undefined): string[][] {
  if (report === undefined) return [];
  const rows: string[][] = [];
  for (const mode of [MODE_SEQ, MODE_FLIGHT, MODE_WORKER]) {
    for (const variant of [V_FILE, V_MEMORY]) {
      const o = overheadOf(report, mode, variant);
      rows.push([
        `checkpoint every ${EVERY_REQUESTS} (~100 KB), ${mode}, ${variant.replace(`every ${EVERY_REQUESTS}, `, '')}: throughput lost vs no @Checkpoint`,
        `<= ${(TARGET_OVERHEAD * 100).toFixed(0)}%`,
        `${(o * 100).toFixed(1)}%`,
        o <= TARGET_OVERHEAD ? 'met' : '**missed**',
      ]);
    }
  }
  const rec = recoveryMedian(report, (r) => r.killToAnswerMs);
  rows.push([
    `recovery, ~10 MB state + ${JOURNALED.toLocaleString('en-US')} journaled requests: kill -> next answer`,
    `<= ${TARGET_RECOVERY_MS} ms`,
    `${ms(rec)} ms`,
    rec <= TARGET_RECOVERY_MS ? 'met' : '**missed**',
  ]);
  return rows;
}

/** Figures for run.ts's saved run (variance between runs). */
export function ftHeadline(report: FtReport | undefined): Record<string, number> {
  const figures: Record<string, number> = {};
  if (report === undefined) return figures;
  for (const c of report.cases) figures[`ft ops/s: ${c.mode}: ${c.variant}`] = c.opsPerSec;
  figures['ft recovery ms: kill -> answer'] = recoveryMedian(report, (r) => r.killToAnswerMs);
  return figures;
}

export const FT_METHOD = `- **Fault tolerance** (bench/ft-bench.ts, ft-fixtures.ts): a \`Ledger\` with ~100 KB of state
  (${LEDGER_NUMBERS.toLocaleString('en-US')} doubles) and one mutating request, without \`@Checkpoint\` and with
  a checkpoint every ${EVERY_REQUESTS} requests in a \`FileStore\` (temporary directory) or a
  \`MemoryStore\`; in-thread (sequential, ${FT_IN_FLIGHT} in flight) and on a worker node (${FT_IN_FLIGHT} in flight,
  where \`@Checkpoint\` also makes the object recoverable: every delivery is journaled to the
  main thread). One suite, interleaved; a case-round ends when its checkpoints are durable.
  Recovery: a worker's object with ~10 MB of state, one checkpoint, ${JOURNALED.toLocaleString('en-US')} journaled
  requests after it; \`worker.terminate()\`, then the next call; fresh workers every round.`;

/** The markdown section: tables, targets, where the time goes. */
export function renderFt(report: FtReport | undefined, error?: string): string {
  const title = '### Fault tolerance: checkpoint overhead and recovery time (issue 5)';
  if (error !== undefined) return `${title}\n\nThe family failed:\n\n\`\`\`\n${error}\n\`\`\``;
  if (report === undefined) return '';
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const caseRows = report.cases.map((c) => [
    c.mode,
    c.variant,
    formatRate(c.opsPerSec),
    `${formatRate(c.minOpsPerSec)} – ${formatRate(c.maxOpsPerSec)}`,
    c.variant === V_NONE ? '1.00x' : `${formatRatio(c.ratio)} (${pct(c.ratio)} lost)`,
    formatRate(c.requestsOpsPerSec),
    c.variant === V_NONE ? '1.00x' : formatRatio(c.requestsRatio),
    c.variant === V_FILE || c.variant === V_MEMORY
      ? `${c.checkpointsPerRound} / ${c.opsPerRound.toLocaleString('en-US')} req`
      : '–',
    c.variant === V_FILE || c.variant === V_MEMORY ? ms(c.drainMs) : '–',
  ]);
  const overheadTable = markdownTable(
    [
      'mode',
      'case',
      'ops/s (median, until durable)',
      'min – max of rounds',
      'vs no @Checkpoint (paired)',
      'ops/s, requests only',
      'requests only vs no @Checkpoint',
      'checkpoints per round',
      'wait for durability per round (ms)',
    ],
    caseRows,
  );
  const r = (f: (x: RecoveryRound) => number) => ms(recoveryMedian(report, f));
  const range = (f: (x: RecoveryRound) => number) => {
    const xs = report.recovery.map(f);
    return `${ms(Math.min(...xs))} – ${ms(Math.max(...xs))}`;
  };
  const recoveryTable = markdownTable(
    ['interval', 'median (ms)', 'min – max (ms)'],
    [
      [
        'kill (`worker.terminate()` called) -> next call answered',
        r((x) => x.killToAnswerMs),
        range((x) => x.killToAnswerMs),
      ],
      [
        'kill -> `terminate()` resolved (old worker gone)',
        r((x) => x.killToExitMs),
        range((x) => x.killToExitMs),
      ],
      [
        'kill -> `node.lost` (new worker started, object re-created there)',
        r((x) => x.killToLostMs),
        range((x) => x.killToLostMs),
      ],
      [
        '`node.lost` -> `object.created` on the new worker (thread + modules up)',
        r((x) => x.lostToCreatedMs),
        range((x) => x.lostToCreatedMs),
      ],
      [
        '`node.lost` -> `requests.replayed` (checkpoint read, checked, decoded; replay queued)',
        r((x) => x.lostToReplayedMs),
        range((x) => x.lostToReplayedMs),
      ],
      [
        '`requests.replayed` -> answer (the replayed requests run, then the call)',
        r((x) => x.replayedToAnswerMs),
        range((x) => x.replayedToAnswerMs),
      ],
      ['`node.lost` -> answer', r((x) => x.lostToAnswerMs), range((x) => x.lostToAnswerMs)],
    ],
  );
  const first = report.recovery[0];
  const stageTable = markdownTable(
    ['stage', `~100 KB state (${kb(report.bytes100k)}), ms`, `~10 MB state (${mb(report.bytes10m)}), ms`],
    report.stages.map((s) => [s.stage, s.state100k.toFixed(3), ms(s.state10m)]),
  );
  const targets = markdownTable(['target', 'wanted', 'measured (median)', 'verdict'], ftTargetRows(report));
  return [
    title,
    `Command: \`npm run build && node --expose-gc dist/bench/ft-bench.js\`${report.quick ? ' --quick' : ''}; ${report.date}; ${report.machine}; load average (1 min) ${report.load[0].toFixed(2)} -> ${report.load[1].toFixed(2)}. ${report.rounds} measured rounds, interleaved.`,
    '#### Targets',
    targets,
    `#### Throughput with a checkpoint every ${EVERY_REQUESTS} requests (state ~100 KB: ${kb(report.bytes100k)} per checkpoint)`,
    'A case-round ends when the checkpoints its requests caused are durable; "requests only" stops the clock at the last answer (the writes may still be under way). On the worker node, every case with `@Checkpoint` is recoverable: each delivery is also journaled to the main thread (`ft.log`) before it runs; the journaled row has `@Checkpoint` but takes no checkpoint during a round (the object is replaced between rounds so its journal stays one round long), so it shows the journal\'s cost alone.',
    overheadTable,
    `#### Recovery of an object with ~10 MB of state and ${JOURNALED.toLocaleString('en-US')} journaled requests (${report.recovery.length} rounds, fresh workers each)`,
    `The checkpoint (${mb(first?.checkpointBytes ?? 0)}) is in a FileStore; the main thread's journal held ${first?.journaled ?? 'n/a'} entries at the kill and the new host replayed ${first?.replayed ?? 'n/a'}. The answer is checked (requests applied, sum of the state). Times include starting the new worker (from dist: plain JS, no tsx) and reading the checkpoint file (in the page cache: it was just written).`,
    recoveryTable,
    '#### Where the time goes: one checkpoint and one restore, stage by stage (main thread, alone, median)',
    stageTable,
  ].join('\n\n');
}

// ------------------------------------------------------------------ standalone

async function standalone(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const t0 = Date.now();
  const report = await runFtFamily(quick);
  const text = renderFt(report);
  console.log(text);
  console.log(
    `\nTotal: ${((Date.now() - t0) / 1000).toFixed(0)} s${globalThis.gc ? '' : ' (without --expose-gc)'}`,
  );
  if (quick) {
    console.log('Quick mode: bench/results/ft.json and docs/benchmarks-ft.md left as they were.');
    return;
  }
  const root = packageRoot();
  const json = join(root, 'bench', 'results', 'ft.json');
  mkdirSync(dirname(json), { recursive: true });
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(
    join(root, 'docs', 'benchmarks-ft.md'),
    `<!-- Written by \`node --expose-gc dist/bench/ft-bench.js\` (bench/ft-bench.ts): rerun it, do not edit the figures. -->\n\n${text}\n`,
  );
  console.log(`Wrote ${json} and docs/benchmarks-ft.md`);
}

/** The package root, from dist/bench/ft-bench.js or bench/ft-bench.ts. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist', 'bench')) ? resolve(here, '..', '..') : resolve(here, '..');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await standalone();
  process.exit(0);
}
