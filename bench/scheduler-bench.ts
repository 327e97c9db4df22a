/**
 * The pure scheduler's cost per request with 10, 1k and 100k requests waiting, next to
 * integer-priority ready queues doing the same work (issue #2: "flat is the target").
 *
 * Steady state: the object's limit is 1 and one request is in service, so every other
 * request waits (ready, or queued in stage 1 for the classic policy). One operation is one
 * request's whole life at the scheduler: submit a new request, finish the one in service,
 * drain (which starts the next). The waiting set keeps its size n throughout; the host is a
 * fake that records what was started and never defers.
 *
 * Cases (same group draws for all, from a fixed pseudo-random sequence):
 * - `fifo`: 8 mutually compatible groups, no priorities: admission, then a plain FIFO.
 * - `priority DAG`: the same 8 groups with a priority graph (a DAG with incomparable groups):
 *   each new request is inserted before the first ready request it can overtake.
 * - `classic`: an undecorated class: one request at a time, the rest queued in stage 1.
 * - `int heap` (the baseline): a binary heap keyed (priority level, arrival), the textbook
 *   integer-priority ready queue; levels are the groups' depths in the same DAG.
 * - `int buckets`: one FIFO per priority level, popped from the highest non-empty level.
 * - `plain FIFO`: one FIFO, arrival order (what `fifo` and `classic` amount to).
 * The baselines queue the same `SchedRequest` objects, so allocation, garbage collection and
 * cache misses on old requests are the same; only the queue structure differs. Those effects
 * alone grow with n (at 100k waiting the requests no longer fit in the caches), which is
 * why "flat" is judged against the O(1) queue that serves in the same order.
 *
 * A second table times filling the waiting set from empty (n submits behind a busy
 * request): there insertions land anywhere in the list, and the order-maintenance list may
 * relabel; the relabel counts are reported.
 */
import { Compatible, compilePolicy, Group, Priority, ThreadConfig } from '../decorators/index.js';
import {
  classicPolicy,
  Fifo,
  type Policy,
  SchedRequest,
  Scheduler,
  type SchedulerHost,
} from '../scheduler/index.js';
import { type BenchCase, type CaseResult, runSuite, type SuiteOptions } from './harness.js';

// ------------------------------------------------------------------ the policies

@Group('ctl', { selfCompatible: true })
@Group('sync', { selfCompatible: true })
@Group('write', { selfCompatible: true })
@Group('route', { selfCompatible: true })
@Group('read', { selfCompatible: true })
@Group('scan', { selfCompatible: true })
@Group('log', { selfCompatible: true })
@Group('stats', { selfCompatible: true })
@Compatible(['ctl', 'sync', 'write', 'route', 'read', 'scan', 'log', 'stats'])
@ThreadConfig({ threadPoolSize: 1 })
class FifoShape {}

@Group('ctl', { selfCompatible: true })
@Group('sync', { selfCompatible: true })
@Group('write', { selfCompatible: true })
@Group('route', { selfCompatible: true })
@Group('read', { selfCompatible: true })
@Group('scan', { selfCompatible: true })
@Group('log', { selfCompatible: true })
@Group('stats', { selfCompatible: true })
@Compatible(['ctl', 'sync', 'write', 'route', 'read', 'scan', 'log', 'stats'])
@Priority('ctl', ['write', 'route'], 'read', 'stats')
@Priority('write', 'scan')
@Priority('route', 'log')
@Priority('sync', 'stats')
@ThreadConfig({ threadPoolSize: 1 })
class PriorityShape {}

export const PRIORITY_DAG =
  "@Priority('ctl', ['write', 'route'], 'read', 'stats'), @Priority('write', 'scan'), " +
  "@Priority('route', 'log'), @Priority('sync', 'stats')";

/**
 * The depth of each group in the priority graph (longest chain of groups overtaking it): a
 * linear extension, so it can serve as an integer priority (0 = highest). Time: O(G^3).
 */
function levels(policy: Policy): number[] {
  const level = new Array<number>(policy.groupCount).fill(0);
  for (let pass = 0; pass < policy.groupCount; pass++) {
    for (let h = 0; h < policy.groupCount; h++)
      for (const g of policy.overtakes[h]!) level[g] = Math.max(level[g]!, level[h]! + 1);
  }
  return level;
}

/** Group draws: xorshift32 from a fixed seed, so every case and run sees the same sequence. */
const DRAWS = 1 << 16;
const drawCache = new Map<number, Uint8Array>();
function groupDraws(groupCount: number): Uint8Array {
  const cached = drawCache.get(groupCount);
  if (cached !== undefined) return cached;
  const out = new Uint8Array(DRAWS);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < DRAWS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % groupCount;
  }
  drawCache.set(groupCount, out);
  return out;
}

const NO_ARGS: unknown[] = [];
/** The classic policy has no groups: every request has group id 0 (= groupCount, ungrouped). */
const UNGROUPED_DRAWS = new Uint8Array(DRAWS);

// ------------------------------------------------------------------ multiactive scheduler

/** Starts are recorded, drains are run by the bench itself: nothing is deferred. */
class BenchHost implements SchedulerHost<SchedRequest> {
  running: SchedRequest | undefined;
  start(request: SchedRequest): void {
    this.running = request;
  }
  resume(): void {}
  requestDrain(): void {}
}

interface Bench {
  readonly policy: Policy;
  readonly host: BenchHost;
  readonly scheduler: Scheduler<SchedRequest>;
  readonly draws: Uint8Array;
  cursor: number;
}

/** `ungrouped`: every request is ungrouped (the classic policy). */
function newBench(policy: Policy, ungrouped: boolean): Bench {
  const host = new BenchHost();
  const draws = ungrouped ? UNGROUPED_DRAWS : groupDraws(policy.groupCount);
  const bench: Bench = { policy, host, scheduler: new Scheduler(policy, host), draws, cursor: 0 };
  submitNext(bench);
  bench.scheduler.drain();
  if (host.running === undefined) throw new Error('the busy request did not start');
  return bench;
}

function submitNext(bench: Bench): void {
  const g = bench.draws[bench.cursor++ & (DRAWS - 1)]!;
  bench.scheduler.submit(new SchedRequest(g, bench.policy.groupNames[g], 'm', NO_ARGS));
}

/** Requests waiting for the slot, wherever they wait. */
function waiting(bench: Bench): number {
  const stats = bench.scheduler.stats();
  return stats.queued + stats.ready;
}

/** The private order-maintenance list's relabel count (bracket access is TS's escape hatch). */
function relabels(scheduler: Scheduler<SchedRequest>): number {
  return scheduler['order']?.relabels ?? 0;
}

interface SteadyCase extends BenchCase {
  /** Checks that the waiting set still has n requests; returns relabels per 1k operations. */
  finish(): number;
}

function steadyScheduler(name: string, policy: Policy, n: number, ungrouped: boolean): SteadyCase {
  const bench = newBench(policy, ungrouped);
  for (let i = 0; i < n; i++) submitNext(bench);
  const relabelsBefore = relabels(bench.scheduler);
  let opsDone = 0;
  const { scheduler, host } = bench;
  return {
    name,
    run: (ops) => {
      for (let i = 0; i < ops; i++) {
        submitNext(bench);
        scheduler.finish(host.running!);
        scheduler.drain();
      }
      opsDone += ops;
    },
    finish: () => {
      if (waiting(bench) !== n) throw new Error(`${name}: ${waiting(bench)} requests wait, expected ${n}`);
      return ((relabels(scheduler) - relabelsBefore) * 1000) / Math.max(1, opsDone);
    },
  };
}

// ------------------------------------------------------------------ integer-priority baselines

/**
 * The baselines queue the same `SchedRequest` objects as the scheduler (same allocation, same
 * memory footprint), keyed (priority level of the request's group, arrival): only the queue
 * structure differs.
 */
interface IntQueue {
  readonly size: number;
  push(request: SchedRequest): void;
  pop(): SchedRequest | undefined;
}

/** A binary min-heap keyed (level, seq): O(log n) push and pop. */
class IntHeap implements IntQueue {
  private readonly items: SchedRequest[] = [];
  private readonly level: Int32Array;

  constructor(level: Int32Array) {
    this.level = level;
  }

  get size(): number {
    return this.items.length;
  }

  push(item: SchedRequest): void {
    const a = this.items;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }

  pop(): SchedRequest | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    const n = a.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.before(a[r]!, a[l]!) ? r : l;
      if (!this.before(a[child]!, last)) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }

  private before(a: SchedRequest, b: SchedRequest): boolean {
    const pa = this.level[a.groupId]!;
    const pb = this.level[b.groupId]!;
    return pa < pb || (pa === pb && a.seq < b.seq);
  }
}

/** Arrival order, no priorities: the plain FIFO the `fifo` and `classic` cases serve in. */
class PlainFifo implements IntQueue {
  private readonly fifo = new Fifo<SchedRequest>();

  get size(): number {
    return this.fifo.length;
  }

  push(request: SchedRequest): void {
    this.fifo.push(request);
  }

  pop(): SchedRequest | undefined {
    return this.fifo.shift();
  }
}

/** One FIFO per level: O(levels) pop. */
class IntBuckets implements IntQueue {
  private readonly levels: Fifo<SchedRequest>[];
  private readonly level: Int32Array;
  size = 0;

  constructor(level: Int32Array) {
    this.level = level;
    this.levels = Array.from({ length: Math.max(...level) + 1 }, () => new Fifo<SchedRequest>());
  }

  push(request: SchedRequest): void {
    this.levels[this.level[request.groupId]!]!.push(request);
    this.size++;
  }

  pop(): SchedRequest | undefined {
    for (const level of this.levels) {
      if (level.length > 0) {
        this.size--;
        return level.shift();
      }
    }
    return undefined;
  }
}

/** The same operation as `steadyScheduler`: push one, the running one finishes, pop the next. */
function steadyInt(name: string, queue: IntQueue, groupNames: readonly string[], n: number): SteadyCase {
  const draws = groupDraws(groupNames.length);
  let cursor = 0;
  let seq = 0;
  const next = (): SchedRequest => {
    const g = draws[cursor++ & (DRAWS - 1)]!;
    const request = new SchedRequest(g, groupNames[g], 'm', NO_ARGS);
    request.seq = ++seq;
    return request;
  };
  let running: SchedRequest | undefined = next();
  for (let i = 0; i < n; i++) queue.push(next());
  return {
    name,
    run: (ops) => {
      for (let i = 0; i < ops; i++) {
        queue.push(next());
        running = undefined; // finish
        running = queue.pop(); // start
      }
      if (running === undefined) throw new Error(`${name}: nothing started`);
    },
    finish: () => {
      if (queue.size !== n) throw new Error(`${name}: ${queue.size} requests wait, expected ${n}`);
      return 0;
    },
  };
}

// ------------------------------------------------------------------ fill

interface FillCase extends BenchCase {
  /** Relabels of the last fill. */
  lastRelabels: number;
}

/** Submit n requests behind a busy one, from empty, `reps` times per round. */
function fillScheduler(name: string, policy: Policy, n: number, reps: number): FillCase {
  const fill: FillCase = {
    name,
    fixedOps: n * reps,
    lastRelabels: 0,
    run: () => {
      for (let r = 0; r < reps; r++) {
        const bench = newBench(policy, false);
        for (let i = 0; i < n; i++) submitNext(bench);
        fill.lastRelabels = relabels(bench.scheduler);
      }
    },
  };
  return fill;
}

function fillInt(
  name: string,
  make: () => IntQueue,
  groupNames: readonly string[],
  n: number,
  reps: number,
): FillCase {
  const draws = groupDraws(groupNames.length);
  const fill: FillCase = {
    name,
    fixedOps: n * reps,
    lastRelabels: 0,
    run: () => {
      for (let r = 0; r < reps; r++) {
        const queue = make();
        for (let i = 0; i < n; i++) {
          const g = draws[i & (DRAWS - 1)]!;
          const request = new SchedRequest(g, groupNames[g], 'm', NO_ARGS);
          request.seq = i + 1;
          queue.push(request);
        }
      }
    },
  };
  return fill;
}

// ------------------------------------------------------------------ the family

export const SCHEDULER_BASELINE = 'int heap (baseline)';
export const PLAIN_FIFO = 'plain FIFO (no priorities)';
export const FIFO = 'fifo (8 groups, no priorities)';
export const PRIORITY = 'priority DAG (8 groups)';
export const CLASSIC = 'classic (undecorated, stage-1 queue)';
/**
 * For the flatness verdict: each scheduler case next to the O(1) queue that serves requests
 * in (about) the same order, so both touch the same requests (same cache misses, same
 * garbage-collector promotions) and only the queue structure differs.
 */
export const MATCHING_QUEUE: Readonly<Record<string, string>> = {
  [FIFO]: PLAIN_FIFO,
  [PRIORITY]: 'int buckets',
  [CLASSIC]: PLAIN_FIFO,
};

export interface SchedulerSizeResult {
  readonly size: number;
  readonly results: readonly CaseResult[];
  /** Relabels per 1000 steady-state operations of the priority case. */
  readonly steadyRelabelsPer1k: number;
}

export interface FillResult {
  readonly size: number;
  readonly results: readonly CaseResult[];
  /** Relabels during one fill of the priority case. */
  readonly fillRelabels: number;
}

export interface SchedulerReport {
  readonly steady: readonly SchedulerSizeResult[];
  readonly fill: readonly FillResult[];
  readonly levels: readonly number[];
  readonly groupNames: readonly string[];
}

export async function runSchedulerFamily(quick: boolean): Promise<SchedulerReport> {
  const fifo = compilePolicy(FifoShape);
  const prio = compilePolicy(PriorityShape);
  const classic = classicPolicy('Classic');
  const level = Int32Array.from(levels(prio));
  const names = prio.groupNames;
  const suite: SuiteOptions = quick
    ? { rounds: 3, warmup: 1, budgetMs: 20, initialOps: 2_000, baseline: SCHEDULER_BASELINE }
    : { rounds: 9, warmup: 2, budgetMs: 80, initialOps: 20_000, baseline: SCHEDULER_BASELINE };

  const steady: SchedulerSizeResult[] = [];
  for (const n of [10, 1_000, 100_000]) {
    const cases: SteadyCase[] = [
      steadyInt(SCHEDULER_BASELINE, new IntHeap(level), names, n),
      steadyInt('int buckets', new IntBuckets(level), names, n),
      steadyInt(PLAIN_FIFO, new PlainFifo(), names, n),
      steadyScheduler(FIFO, fifo, n, false),
      steadyScheduler(PRIORITY, prio, n, false),
      steadyScheduler(CLASSIC, classic, n, true),
    ];
    const results = await runSuite(cases, suite);
    const per1k = cases.map((c) => c.finish());
    steady.push({
      size: n,
      results,
      steadyRelabelsPer1k: per1k[cases.findIndex((c) => c.name === PRIORITY)]!,
    });
  }

  const fill: FillResult[] = [];
  for (const n of quick ? [1_000] : [1_000, 100_000]) {
    const reps = Math.max(1, Math.floor((quick ? 100_000 : 400_000) / n));
    const cases: FillCase[] = [
      fillInt(SCHEDULER_BASELINE, () => new IntHeap(level), names, n, reps),
      fillInt('int buckets', () => new IntBuckets(level), names, n, reps),
      fillInt(PLAIN_FIFO, () => new PlainFifo(), names, n, reps),
      fillScheduler(FIFO, fifo, n, reps),
      fillScheduler(PRIORITY, prio, n, reps),
    ];
    const results = await runSuite(cases, { ...suite, rounds: quick ? 3 : 7 });
    fill.push({ size: n, results, fillRelabels: cases.find((c) => c.name === PRIORITY)!.lastRelabels });
  }
  return { steady, fill, levels: [...level], groupNames: names };
}
