/**
 * Checkpoint liveness (docs/fault-tolerance.md, "The checkpoint is a request", and the
 * departure from the reference: "a checkpoint never deadlocks an object"). Random call graphs
 * between 2-4 objects whose requests call other objects and get callbacks (groups `call` and
 * `cb`, self-compatible and compatible with each other; no `@ThreadConfig`, soft limits 2 and
 * 1, a hard limit of 16, more slots than requests in any run), with checkpoints due at random
 * points (`everyRequests: 1`, or `control(o).checkpoint()` from the test between root calls and
 * from inside requests at their start or end, not awaited; MemoryStore): every run completes
 * within a bounded time (RUN_MS), every checkpoint asked for resolves, and results and final
 * states equal the same run without checkpoints (and the plan's own arithmetic). A variant
 * places one of the objects on a worker node (one: calls between two objects of a worker through
 * references fail today, see the last describe block).
 *
 * Then deterministic cases: the known failing case of the brief (two objects, `everyRequests:
 * 1`, `a.ping(b)` awaits `b.cb()` while `b.ping(a)` awaits `a.cb()`), the same with several
 * pings in flight, and the minimal cases the properties found.
 *
 * Environment: `MULTIACTIVE_LIVENESS_RUNS` (runs per property), `MULTIACTIVE_LIVENESS_MS` (time
 * limit per property), `MULTIACTIVE_LIVENESS_SHRINK=1` (shrink counterexamples; slow, since a
 * failing run costs RUN_MS). fast-check prints the seed and path of a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  type Active,
  control,
  createWorkerNode,
  findDeadlocks,
  newActive,
  onEvent,
  shutdown,
  type WorkerNode,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  askedFailures,
  LiveDemand,
  LiveEvery,
  LiveHard16,
  LiveHard16Demand,
  LiveHard16Every,
  type LiveNode,
  LivePlain,
  LiveSoft1,
  LiveSoft1Demand,
  LiveSoft1Every,
  LiveSoft2,
  LiveSoft2Demand,
  LiveSoft2Every,
  Pinger,
  PlainPinger,
  type Plan,
  takeAsked,
} from '../fixtures/liveness.js';
import { Timeout, within as withTimeout } from '../support/within.js';

const fixture = new URL('../fixtures/liveness.ts', import.meta.url);
/** A run (all its root calls) must finish within this; the runs are tiny. */
const RUN_MS = 2_000;
/** Each property stops after this (shrinking included); `MULTIACTIVE_LIVENESS_MS` to search longer. */
const PROPERTY_MS = Number(process.env.MULTIACTIVE_LIVENESS_MS ?? 15_000);
/**
 * A failing run costs RUN_MS (it times out), so shrinking is opt-in (`MULTIACTIVE_LIVENESS_SHRINK=1`);
 * the minimal cases it found are the deterministic tests at the end of this file.
 */
const SHRINK = process.env.MULTIACTIVE_LIVENESS_SHRINK === '1';
const NUM_RUNS = Number(process.env.MULTIACTIVE_LIVENESS_RUNS ?? 100);

let dir: string;
let worker: WorkerNode;
let stopListening: () => void = () => {};
let taken = 0;
const failed: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiactive-liveness-'));
  process.env.MULTIACTIVE_CHECKPOINT_DIR = dir;
  worker = createWorkerNode();
  stopListening = onEvent(
    (e) => {
      if (e.type === 'checkpoint.taken') taken++;
      else if (e.type === 'checkpoint.failed')
        failed.push(`${e.className} ${e.key}#${e.seq}: ${String(e.error)}`);
    },
    { requests: 'none' },
  );
});

afterAll(async () => {
  stopListening();
  await shutdown({ immediate: true });
  rmSync(dir, { recursive: true, force: true });
});

/** What the deadlock detector and the schedulers say about stuck objects (for failure messages). */
async function diagnose(objects: readonly Active<LiveNode>[], local: readonly boolean[]): Promise<string> {
  const lines: string[] = [];
  objects.forEach((o, i) => {
    if (!local[i]) return;
    const s = control(o).stats();
    lines.push(
      `  object ${i}: queued ${s.queued}, ready ${s.ready}, active ${s.active}, waiting ${s.waiting}`,
    );
  });
  try {
    const found = await withTimeout(findDeadlocks(), 3_000, 'findDeadlocks');
    lines.push(`  findDeadlocks: ${found.length === 0 ? 'none' : found.map((d) => d.message).join('\n')}`);
  } catch (error) {
    lines.push(`  findDeadlocks failed: ${String(error)}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- plans

type RawPlan = Omit<Plan, 'label' | 'children'> & { children: RawPlan[] };

function rawPlan(n: number, depth: number): fc.Arbitrary<RawPlan> {
  return fc.record({
    to: fc.integer({ min: 0, max: n - 1 }),
    kind: fc.constantFrom('call' as const, 'cb' as const),
    parallel: fc.boolean(),
    ckpt: fc.integer({ min: 0, max: 3 }),
    children: depth === 0 ? fc.constant([]) : fc.array(rawPlan(n, depth - 1), { maxLength: 2 }),
  });
}

const size = (p: RawPlan): number => 1 + p.children.reduce((s, c) => s + size(c), 0);

/** Extra steps of a run, placed after root `after` is sent. */
type Extra =
  | { t: 'checkpoint'; obj: number; after: number }
  | { t: 'yield'; after: number }
  | { t: 'await'; root: number; after: number };

interface Case {
  n: number;
  roots: RawPlan[];
  extras: Extra[];
  /** How checkpoints fall due in the checkpointed run. */
  mode: 'every' | 'demand';
  /** Which objects live on the worker (all false but in the worker variant). */
  remote: boolean[];
}

function caseArb(withWorker: boolean): fc.Arbitrary<Case> {
  return fc
    .integer({ min: 2, max: 4 })
    .chain((n) =>
      fc.record({
        n: fc.constant(n),
        roots: fc.array(rawPlan(n, 3), { minLength: 1, maxLength: 3 }),
        extras: fc.array(
          fc.oneof(
            fc.record({
              t: fc.constant('checkpoint' as const),
              obj: fc.integer({ min: 0, max: n - 1 }),
              after: fc.nat(3),
            }),
            fc.record({ t: fc.constant('yield' as const), after: fc.nat(3) }),
            fc.record({ t: fc.constant('await' as const), root: fc.nat(2), after: fc.nat(3) }),
          ),
          { maxLength: 6 },
        ),
        mode: fc.constantFrom('every' as const, 'demand' as const),
        // One object on the worker (a worker object calling another object of its own worker
        // through a reference fails today: see the last describe block).
        remote: withWorker
          ? fc.integer({ min: 0, max: n - 1 }).map((k) => Array.from({ length: n }, (_, i) => i === k))
          : fc.constant(Array.from({ length: n }, () => false)),
      }),
    )
    .filter((c) => c.roots.reduce((s, r) => s + size(r), 0) <= 14);
}

/** Labels the plans 1, 2, ... and computes what a correct run gives. */
function label(c: Case): { roots: Plan[]; results: number[]; states: number[][] } {
  let next = 1;
  const states: number[][] = Array.from({ length: c.n }, () => []);
  const walk = (p: RawPlan): { plan: Plan; sum: number } => {
    const l = next++;
    states[p.to]!.push(l);
    const kids = p.children.map(walk);
    return {
      plan: { ...p, label: l, children: kids.map((k) => k.plan) },
      sum: l + kids.reduce((s, k) => s + k.sum, 0),
    };
  };
  const walked = c.roots.map(walk);
  return {
    roots: walked.map((w) => w.plan),
    results: walked.map((w) => w.sum),
    states: states.map((s) => s.sort((a, b) => a - b)),
  };
}

interface Outcome {
  results: number[];
  states: number[][];
}

type LiveClass = new () => LiveNode;

/**
 * One run of case `c` with objects of class `Cls`: roots sent from the test (the main thread)
 * in order, with the extra steps between them. Throws a `Timeout` with diagnostics if it does
 * not complete.
 */
let runs = 0;

async function run(c: Case, Cls: LiveClass, checkpoints: boolean): Promise<Outcome> {
  const { roots } = label(c);
  const runId = ++runs;
  const objects = Array.from({ length: c.n }, (_, i) =>
    c.remote[i] ? newActive(Cls, [], { node: worker, module: fixture }) : newActive(Cls, []),
  ) as Active<LiveNode>[];
  const local = c.remote.map((r) => !r);
  const external: Promise<unknown>[] = [];
  try {
    await withTimeout(Promise.all(objects.map((o, i) => o.setPeers(objects, runId, i))), RUN_MS, 'setPeers');
    const sent: PromiseLike<number>[] = [];
    const step = async (e: Extra): Promise<void> => {
      if (e.t === 'yield') await new Promise<void>((r) => setImmediate(r));
      else if (e.t === 'await') {
        const f = sent[e.root];
        if (f !== undefined) await withTimeout(f, RUN_MS, `root ${e.root}`);
      } else if (checkpoints && local[e.obj]) external.push(control(objects[e.obj]!).checkpoint());
    };
    for (let k = 0; k <= roots.length; k++) {
      for (const e of c.extras) if (e.after === k) await step(e);
      const root = roots[k];
      if (root !== undefined)
        sent.push(root.kind === 'call' ? objects[root.to]!.call(root) : objects[root.to]!.cb(root));
    }
    const results = await withTimeout(Promise.all(sent), RUN_MS, 'the root calls');
    const states = await withTimeout(Promise.all(objects.map((o) => o.state())), RUN_MS, 'state()');
    // Every checkpoint asked for (by the test, and from inside requests on this thread) completes.
    const all = [...external, ...takeAsked(runId)];
    await withTimeout(Promise.all(all), RUN_MS, `${all.length} checkpoints asked for`);
    return { results, states };
  } catch (error) {
    takeAsked(runId);
    if (error instanceof Timeout)
      throw new Timeout(`${error.message} (${Cls.name})\n${await diagnose(objects, local)}`);
    throw error;
  }
}

interface Variant {
  name: string;
  plain: LiveClass;
  every: LiveClass;
  demand: LiveClass;
}

const variants: Variant[] = [
  { name: 'no @ThreadConfig', plain: LivePlain, every: LiveEvery, demand: LiveDemand },
  { name: 'soft limit 2', plain: LiveSoft2, every: LiveSoft2Every, demand: LiveSoft2Demand },
  { name: 'soft limit 1 (cooperative)', plain: LiveSoft1, every: LiveSoft1Every, demand: LiveSoft1Demand },
  { name: 'hard limit 16', plain: LiveHard16, every: LiveHard16Every, demand: LiveHard16Demand },
];

async function property(v: Variant, c: Case): Promise<void> {
  const model = label(c);
  const plain = await run(c, v.plain, false);
  expect(plain, 'the run without checkpoints').toEqual({ results: model.results, states: model.states });
  const takenBefore = taken;
  const failedBefore = failed.length;
  const askedBefore = askedFailures.length;
  const checked = await run(c, c.mode === 'every' ? v.every : v.demand, true);
  expect(checked, 'the run with checkpoints').toEqual(plain);
  expect(failed.slice(failedBefore), 'checkpoint.failed events').toEqual([]);
  expect(askedFailures.slice(askedBefore), 'checkpoints asked from inside requests').toEqual([]);
  // Not vacuous: with `everyRequests: 1`, objects of this thread took checkpoints.
  if (c.mode === 'every' && c.remote.some((r) => !r)) expect(taken).toBeGreaterThan(takenBefore);
}

describe('checkpoint liveness: random call graphs with callbacks, with and without checkpoints', () => {
  for (const v of variants) {
    it(
      `${v.name}: every run completes, and equals the run without checkpoints`,
      async () => {
        await fc.assert(
          fc.asyncProperty(caseArb(false), (c) => property(v, c)),
          { numRuns: NUM_RUNS, endOnFailure: !SHRINK, plugins: [fc.interruptAfterTimeLimit(PROPERTY_MS)] },
        );
      },
      PROPERTY_MS + 60_000,
    );
  }

  for (const v of [variants[0]!, variants[1]!]) {
    it(
      `${v.name}, some objects on a worker: every run completes, and equals the run without checkpoints`,
      async () => {
        await fc.assert(
          fc.asyncProperty(caseArb(true), (c) => property(v, c)),
          {
            numRuns: NUM_RUNS * 2,
            endOnFailure: !SHRINK,
            plugins: [fc.interruptAfterTimeLimit(PROPERTY_MS)],
          },
        );
      },
      PROPERTY_MS + 60_000,
    );
  }
});

describe('checkpoint liveness: the known failing case', () => {
  it('control: without @Checkpoint, a.ping(b) and b.ping(a) both finish', async () => {
    const a = newActive(PlainPinger, []);
    const b = newActive(PlainPinger, []);
    expect(await withTimeout(Promise.all([a.ping(b), b.ping(a)]), 5_000, 'the pings')).toEqual([
      'ping:cb',
      'ping:cb',
    ]);
  });

  it('everyRequests: 1, no @ThreadConfig: a.ping(b) awaits b.cb() while b.ping(a) awaits a.cb(); both finish', async () => {
    const a = newActive(Pinger, []);
    const b = newActive(Pinger, []);
    let outcome: string[] | string;
    try {
      outcome = await withTimeout(Promise.all([a.ping(b), b.ping(a)]), 5_000, 'a.ping(b) and b.ping(a)');
    } catch (error) {
      const sa = control(a).stats();
      const sb = control(b).stats();
      let found = '';
      try {
        found = (await withTimeout(findDeadlocks(), 3_000, 'findDeadlocks')).map((d) => d.message).join('\n');
      } catch (e) {
        found = String(e);
      }
      outcome = `${String(error)}; a: ${JSON.stringify(sa)}; b: ${JSON.stringify(sb)}; findDeadlocks: ${found || 'none'}`;
    }
    expect(outcome).toEqual(['ping:cb', 'ping:cb']);
  });
});

/** A plan node (labels given by hand: unique per run). */
const node = (to: number, l: number, children: Plan[] = [], o: Partial<Plan> = {}): Plan => ({
  to,
  kind: 'call',
  label: l,
  parallel: false,
  ckpt: 0,
  children,
  ...o,
});
const cb = (to: number, l: number): Plan => node(to, l, [], { kind: 'cb' });
const sum = (p: Plan): number => p.label + p.children.reduce((s, c) => s + sum(c), 0);

/** Runs `roots` on `n` fresh objects of `Cls` (in this thread); the results, or why not. */
async function regression(Cls: LiveClass, n: number, roots: Plan[]): Promise<number[] | string> {
  const objects = Array.from({ length: n }, () => newActive(Cls, [])) as Active<LiveNode>[];
  const runId = ++runs;
  await withTimeout(Promise.all(objects.map((o, i) => o.setPeers(objects, runId, i))), RUN_MS, 'setPeers');
  try {
    return await withTimeout(
      Promise.all(roots.map((r) => objects[r.to]!.call(r))),
      3_000,
      `${Cls.name}: the root calls`,
    );
  } catch (error) {
    return `${String(error)}\n${await diagnose(
      objects,
      objects.map(() => true),
    )}`;
  } finally {
    takeAsked(runId);
  }
}

describe('checkpoint liveness: the known failing case, several pings in flight', () => {
  for (const [name, Cls] of [
    ['without @Checkpoint', PlainPinger],
    ['everyRequests: 1', Pinger],
  ] as const) {
    it(`${name}: 5 pairs of a.ping(b) and b.ping(a) at once all finish`, async () => {
      const a = newActive(Cls as typeof Pinger, []);
      const b = newActive(Cls as typeof Pinger, []);
      const pings = Array.from({ length: 5 }, () => [a.ping(b), b.ping(a)]).flat();
      const outcome = await withTimeout(Promise.all(pings), 5_000, 'the pings').catch(
        (e: unknown) =>
          `${String(e)}; a: ${JSON.stringify(control(a).stats())}; b: ${JSON.stringify(control(b).stats())}`,
      );
      expect(outcome).toEqual(Array.from({ length: 10 }, () => 'ping:cb'));
    });
  }
});

describe('checkpoint liveness: minimal cases found by the properties above (deterministic)', () => {
  // a.call awaits b.call, which calls a back twice, one after the other: the first callback
  // finishes, a's checkpoint falls due (everyRequests: 1) while a.call is in service, and the
  // second callback must not wait behind that checkpoint.
  const aba = [node(0, 1, [node(1, 2, [cb(0, 3), cb(0, 4)])])];
  it('no @ThreadConfig, everyRequests: 1: a.call -> b.call -> a.cb, a.cb completes', async () => {
    expect(await regression(LivePlain, 2, aba)).toEqual([10]);
    expect(await regression(LiveEvery, 2, aba)).toEqual([10]);
  });
  it('hard limit 16, everyRequests: 1: a.call -> b.call -> a.cb, a.cb completes', async () => {
    expect(await regression(LiveHard16, 2, aba)).toEqual([10]);
    expect(await regression(LiveHard16Every, 2, aba)).toEqual([10]);
  });
  it('no @ThreadConfig, everyRequests: 1: a request that calls itself back twice completes', async () => {
    const self = [node(0, 1, [cb(0, 2), cb(0, 3)])];
    expect(await regression(LivePlain, 1, self)).toEqual([6]);
    expect(await regression(LiveEvery, 1, self)).toEqual([6]);
  });
  // Found by the soft-limit-2 property (seed -901615436, fully shrunk): with a soft limit,
  // wait-by-necessity is accounted, so while every request in service waits, requests must be
  // admitted beside the pending checkpoint.
  const soft = [
    node(0, 1, [node(0, 2, [node(0, 3), node(0, 4, [], { parallel: true })])]),
    node(0, 5, [node(0, 6, [node(1, 7, [node(0, 8), node(0, 9)])])], { ckpt: 3 }),
  ];
  it('soft limit 2, everyRequests: 1 and a checkpoint asked from inside a request: the run completes', async () => {
    expect(await regression(LiveSoft2, 2, soft)).toEqual(soft.map(sum));
    expect(await regression(LiveSoft2Every, 2, soft)).toEqual(soft.map(sum));
  });
  it('soft limit 2: if that run is stuck, findDeadlocks() reports it (deadlocks.md: objects under a soft limit)', async () => {
    const objects = [newActive(LiveSoft2Every, []), newActive(LiveSoft2Every, [])] as Active<LiveNode>[];
    const runId = ++runs;
    await Promise.all(objects.map((o, i) => o.setPeers(objects, runId, i)));
    const all = Promise.all(soft.map((r) => objects[r.to]!.call(r)));
    const settled = await withTimeout(all, 3_000, 'the run').then(
      () => true,
      () => false,
    );
    takeAsked(runId);
    if (!settled)
      expect((await withTimeout(findDeadlocks(), 5_000, 'findDeadlocks')).length).toBeGreaterThan(0);
  });
});

describe('worker variant prerequisite: references to objects of the same worker', () => {
  it('an object on a worker calls itself, and another object of its worker, through references it got from the main thread', async () => {
    const a = newActive(LivePlain, [], { node: worker, module: fixture });
    const b = newActive(LivePlain, [], { node: worker, module: fixture });
    const peers = [a, b] as Active<LiveNode>[];
    // index -1: no selfRef shortcut, every call goes through the references in `peers`.
    await withTimeout(Promise.all([a.setPeers(peers, 0, -1), b.setPeers(peers, 0, -1)]), 10_000, 'setPeers');
    const leaf = (to: number, l: number): Plan => ({
      to,
      kind: 'cb',
      label: l,
      parallel: false,
      ckpt: 0,
      children: [],
    });
    const plan: Plan = {
      to: 0,
      kind: 'call',
      label: 1,
      parallel: false,
      ckpt: 0,
      children: [leaf(0, 2), leaf(1, 3)],
    };
    const outcome = await withTimeout(a.call(plan), 5_000, 'a.call').catch((e: unknown) => String(e));
    expect(outcome).toBe(6);
  });
});
