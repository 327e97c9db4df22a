/**
 * The wait-for graph and deadlock detection, across nodes (docs/deadlocks.md).
 *
 * Vertices are requests in flight. A request waits for:
 * - the requests that block its admission or hold the slots it needs (scheduler/explain.ts:
 *   `incompatible`, `queued-ahead`, `condition`, `limit`, `max-threads`, `reservation`);
 * - the request that will compute a future it awaits (`awaits`) or that one of its
 *   arguments is (`argument`). A future is followed to its computation: a request's own
 *   future, the future it adopted (a method that returned a future), the parent of a
 *   pipelined member, and, for futures of other nodes, the future's key at its home node.
 *
 * Which futures a request awaits is recorded when `await f` calls `f.then` inside the
 * request, which needs async context after its first `await` (context.ts): always for
 * objects under a finite soft limit (they account WBN anyway), for every object once
 * tracking is on (`configureDeadlocks`, `MULTIACTIVE_DEADLOCKS`). Without tracking the graph
 * lacks those edges, so it can miss a deadlock but never invents one.
 *
 * Deadlock, by reduction. A request with no edge can move on (it runs, or is about to
 * start); so can one whose future's computation is unknown (a timer, I/O: we assume it
 * ends). An AND wait (admission, awaits) moves on when all it waits for can; an OR wait (a
 * slot) when any of them can. What cannot move on after the reduction is stuck forever,
 * and every stuck request waits for a stuck one, so following stuck edges reaches a cycle:
 * that cycle is reported, with the stuck requests that wait on it. Time: O(V + E).
 *
 * Across nodes the facts are collected per node (each node's part is one synchronous,
 * consistent read) but at different moments. A cycle found that way might not have
 * existed at any single moment, so with more than one node the graph is collected a second
 * time, after the first collection is complete, and a cycle is reported only if each of
 * its requests shows the same stamp (state, wait number, what it waits for) in both. Every
 * state a stamp describes is left only by a change the stamp would show (a queued request
 * never becomes queued again; a new wait gets a new wait number; a settled future stays
 * settled), so each request waited the same way during the whole interval between its two
 * reads; all first reads end before any second read begins, so there is a moment when the
 * whole cycle held at once, and a deadlock, once there, stays.
 *
 * Cost: nothing on any request path, except recording awaited futures when tracking is on
 * (one array push per await, plus async context: see docs/benchmarks.md). Detection runs
 * every `intervalMs` on the main thread and only reads state.
 */
import { isMainThread } from 'node:worker_threads';
import { explainWait, RequestState } from '../scheduler/index.js';
import {
  type ActiveObject,
  busyObjectList,
  CHECKPOINT_METHOD,
  getLocalNode,
  liveObjectList,
  Request,
  refOf,
  setDeadlockBreaker,
} from './active.js';
import { awaitTracking, setAwaitTracking } from './context.js';
import { ArgumentError, DeadlockError, describe } from './errors.js';
import { emit, now, observed } from './events.js';
import { type FutureCore, PENDING } from './future.js';
import type { Link } from './node/link.js';
import { node } from './node/runtime.js';
import { finite } from './policy-summary.js';
import type {
  Deadlock,
  DeadlockStep,
  ObjectSnapshot,
  WaitEdge,
  WaitGraph,
  WaitingRequest,
  WaitNode,
  WaitRule,
  WaitState,
} from './shapes.js';

// ------------------------------------------------------------------ one node's facts

/** What a future is computed by: a request id, a future key at another node, or unknown. */
type Target = number | { readonly home: number; readonly key: number } | null;

interface RawEdge {
  readonly rule: WaitRule;
  readonly target: Target;
  /** In an `any` wait: edges of one clause are alternatives, every clause is needed. */
  readonly clause: number;
  /** The rule in words, without names (see `edgeText`). */
  readonly why: string;
}

interface RawRequest {
  readonly request: WaitNode;
  readonly state: WaitState;
  readonly any: boolean;
  readonly edges: readonly RawEdge[];
  /** What it does when it waits for nothing. */
  readonly note: string;
  /** Same stamp in two collections: it waited the same way all along (see the header). */
  readonly stamp: string;
}

/** One node's part of the graph: plain data (it travels worker -> main). */
interface NodeFacts {
  readonly node: number;
  readonly objects: ObjectSnapshot[];
  readonly requests: RawRequest[];
  /** Futures computed on this node and awaited elsewhere: numeric key -> what computes them. */
  readonly homes: [number, Target][];
}

const STATE_NAMES: Partial<Record<RequestState, WaitState>> = {
  [RequestState.Queued]: 'queued',
  [RequestState.Held]: 'held',
  [RequestState.Ready]: 'ready',
  [RequestState.Woken]: 'woken',
  [RequestState.Waiting]: 'waiting',
  [RequestState.Active]: 'active',
};

/** Marks an edge to a future that has settled: not a wait any more. */
const SETTLED = Symbol('settled');

/** What computes `core`: follow adoptions and pipelining; stop at a request or another node. */
function computedBy(core: FutureCore): Target | typeof SETTLED {
  let c: FutureCore | undefined = core;
  for (let depth = 0; c !== undefined && depth < 64; depth++) {
    if (c.settled) return SETTLED;
    if (c instanceof Request && c.outcome === PENDING) return c.requestId; // pending: in flight
    const remote = c.remoteKey();
    if (remote !== undefined) return remote;
    c = c.follows;
  }
  return null;
}

function waitNode(request: Request): WaitNode {
  return { ...refOf(request), node: getLocalNode(), objectName: request.obj.name };
}

function objectSnapshot(obj: ActiveObject): ObjectSnapshot {
  const stats = obj.scheduler.stats();
  return {
    objectId: obj.id,
    className: obj.className,
    name: obj.name,
    node: getLocalNode(),
    limit: finite(stats.limit),
    hardLimit: stats.hardLimit,
    active: stats.active,
    waiting: stats.waiting,
    served: obj.served,
    groups: stats.groups.map((g) => ({ ...g, maxThreads: finite(g.maxThreads) })),
  };
}

/** This node's part of the graph, read synchronously (so consistent in itself). */
function localFacts(): NodeFacts {
  const objects: ObjectSnapshot[] = [];
  const requests: RawRequest[] = [];
  for (const obj of liveObjectList()) objects.push(objectSnapshot(obj));
  for (const obj of busyObjectList()) {
    // The listed requests hold every blocker of each of them (dispatched ones and those queued
    // ahead), so explaining against them alone is exact, and O(listed²) at worst.
    const inFlight = listed(obj.inFlightRequests());
    for (const request of inFlight) {
      const state = STATE_NAMES[request.state];
      if (state === undefined) continue;
      const edges: RawEdge[] = [];
      const explained = explainWait(obj.scheduler, request, inFlight, obj.target);
      const clauses = explained.also === undefined ? [explained] : [explained, explained.also];
      clauses.forEach((c, clause) => {
        for (const b of c.blockers)
          edges.push({ rule: b.rule, target: b.request.requestId, why: b.why, clause });
        // An OR clause missing some of its holders (or with none that would help) would
        // look more stuck than it is: an unknown alternative keeps it optimistic.
        if (explained.any && (c.truncated || c.blockers.length === 0)) {
          edges.push({
            rule: c.blockers[0]?.rule ?? 'limit',
            target: null,
            why: c.truncated ? 'more holders' : 'no holder',
            clause,
          });
        }
      });
      const started = state === 'active' || state === 'waiting' || state === 'woken';
      for (const core of request.awaited ?? []) {
        const target = computedBy(core);
        if (target === SETTLED) continue;
        edges.push(
          started
            ? { rule: 'awaits', target, why: 'awaits the result of', clause: 0 }
            : { rule: 'argument', target, why: 'waits for its argument, the result of', clause: 0 },
        );
      }
      const note =
        edges.length > 0
          ? ''
          : state === 'active'
            ? 'running (not awaiting any future of this library)'
            : state === 'held'
              ? 'waiting for its future arguments'
              : 'about to start';
      requests.push({
        request: waitNode(request),
        state,
        any: explained.any,
        edges,
        note,
        stamp: `${request.state}/${request.waitSeq}/${edges.map((e) => targetText(e.target)).join(',')}`,
      });
    }
  }
  const homes: [number, Target][] = [];
  for (const [key, core] of node.homeEntries()) {
    const target = computedBy(core);
    if (target !== SETTLED) homes.push([key, target]);
  }
  return { node: getLocalNode(), objects, requests, homes };
}

/**
 * Queued requests listed per object, at most: a queue of 20k calls would otherwise give
 * 20k x 32 edges (a graph of many megabytes per poll). Every dispatched request is listed,
 * then the oldest queued ones; the youngest are left out. Leaving a request out makes edges
 * into it "unknown" (assumed to move on), so it can hide a deadlock, never invent one.
 */
export const MAX_QUEUED_LISTED = 1000;

/** The requests of one object to put in the graph (see `MAX_QUEUED_LISTED`). Time: O(n log n) past the cap. */
function listed(inFlight: Request[]): Request[] {
  let queued = 0;
  for (const r of inFlight) if (r.state === RequestState.Queued) queued++;
  if (queued <= MAX_QUEUED_LISTED) return inFlight;
  const oldestQueued = inFlight
    .filter((r) => r.state === RequestState.Queued)
    .sort((a, b) => a.seq - b.seq)
    .slice(0, MAX_QUEUED_LISTED);
  return [...inFlight.filter((r) => r.state !== RequestState.Queued), ...oldestQueued];
}

function targetText(target: Target): string {
  return target === null ? '?' : typeof target === 'number' ? String(target) : `k${target.key}`;
}

// ------------------------------------------------------------------ collecting across nodes

/** A worker that does not answer within this time (a long synchronous loop) is left out. */
const COLLECT_TIMEOUT_MS = 2000;
let nextCollection = 1;
const collecting = new Map<number, (facts: NodeFacts | undefined) => void>();

function askNode(link: Link): Promise<NodeFacts | undefined> {
  return new Promise((resolve) => {
    const rid = nextCollection++;
    link.hold();
    const timer = setTimeout(() => finish(undefined), COLLECT_TIMEOUT_MS);
    function finish(facts: NodeFacts | undefined): void {
      if (!collecting.delete(rid)) return;
      clearTimeout(timer);
      link.release();
      resolve(facts);
    }
    collecting.set(rid, finish);
    link.send({ t: 'waits', rid });
  });
}

/** Every node's facts: this node's, and on the main thread every live worker's. */
async function collect(): Promise<NodeFacts[]> {
  const mine = localFacts();
  if (getLocalNode() !== 0) return [mine];
  const asked: Promise<NodeFacts | undefined>[] = [];
  for (const link of node.links.values()) if (!link.isClosed) asked.push(askNode(link));
  const answers = await Promise.all(asked);
  return [mine, ...answers.filter((facts): facts is NodeFacts => facts !== undefined)];
}

node.onWaits = (from, message) => {
  switch (message.t) {
    case 'waits':
      from.send({ t: 'waits.facts', rid: message.rid, facts: localFacts() });
      return;
    case 'waits.facts':
      collecting.get(message.rid)?.(message.facts as NodeFacts);
      return;
    case 'waits.break':
      breakLocal(message.ids, message.deadlock as Deadlock);
      return;
    case 'waits.track':
      setAwaitTracking(message.on);
      return;
  }
};

// ------------------------------------------------------------------ the global graph

interface Merged {
  readonly nodes: number[];
  readonly objects: ObjectSnapshot[];
  readonly requests: Map<number, RawRequest>;
  /** Per request, each edge's target request id (`undefined`: unknown or gone). */
  readonly successors: Map<number, (number | undefined)[]>;
}

function merge(all: readonly NodeFacts[]): Merged {
  const requests = new Map<number, RawRequest>();
  const keys = new Map<number, Target>();
  for (const facts of all) {
    for (const r of facts.requests) requests.set(r.request.requestId, r);
    for (const [key, target] of facts.homes) keys.set(key, target);
  }
  const resolve = (target: Target): number | undefined => {
    let t = target;
    for (let depth = 0; depth < 64; depth++) {
      if (t === null) return undefined;
      if (typeof t === 'number') return requests.has(t) ? t : undefined;
      t = keys.get(t.key) ?? null;
    }
    return undefined;
  };
  const successors = new Map<number, (number | undefined)[]>();
  for (const [id, r] of requests)
    successors.set(
      id,
      r.edges.map((e) => resolve(e.target)),
    );
  return {
    nodes: all.map((f) => f.node),
    objects: all.flatMap((f) => f.objects),
    requests,
    successors,
  };
}

function label(n: WaitNode): string {
  const group = n.group === undefined ? 'ungrouped' : `group ${n.group}`;
  return `\`${n.objectName}.${n.method}\` (${group}, node ${n.node})`;
}

function edgeText(from: WaitNode, rule: WaitRule, why: string, to: WaitNode | undefined): string {
  if (rule === 'awaits' || rule === 'argument') {
    return to === undefined
      ? `${label(from)} ${why} a future computed outside the known requests (I/O, a timer, or a node that did not answer)`
      : `${label(from)} ${why} ${label(to)}`;
  }
  if (to === undefined) {
    return why === 'more holders'
      ? `${label(from)} waits for a slot held by more requests than listed`
      : `${label(from)} waits for a slot that no request in service frees on its own (only new requests can change that)`;
  }
  return `${label(to)} blocks ${label(from)}: ${why}`;
}

function toGraph(m: Merged): WaitGraph {
  const requests: WaitingRequest[] = [];
  for (const [id, r] of m.requests) {
    const succ = m.successors.get(id)!;
    const edges: WaitEdge[] = r.edges.map((e, i) => {
      const to = succ[i] === undefined ? undefined : m.requests.get(succ[i]!)!.request;
      return { rule: e.rule, clause: e.clause, to, text: edgeText(r.request, e.rule, e.why, to) };
    });
    requests.push({
      request: r.request,
      state: r.state,
      any: r.any,
      edges,
      reason: edges[0]?.text ?? r.note,
    });
  }
  requests.sort((a, b) => a.request.requestId - b.request.requestId);
  return { time: now(), nodes: m.nodes, objects: m.objects, requests };
}

/** The reduction and cycle search of the header. Time: O(V + E). */
function analyse(m: Merged): Deadlock[] {
  // 1. Reduction: what can move on.
  // A request is a conjunction of "units": for an AND wait each distinct successor is one;
  // for an `any` wait each clause is one, satisfied by its first free successor. It can move
  // on when no unit is left. Unknown successors count as free.
  const free = new Set<number>();
  const missing = new Map<number, number>(); // units not satisfied yet
  const satisfied = new Set<string>(); // `${id}/${clause}` of `any` waits
  const predecessors = new Map<number, { id: number; unit: string | undefined }[]>();
  const queue: number[] = [];
  for (const [id, r] of m.requests) {
    const succ = m.successors.get(id)!;
    let units = 0;
    const link = (s: number, unit: string | undefined): void => {
      const list = predecessors.get(s);
      if (list === undefined) predecessors.set(s, [{ id, unit }]);
      else list.push({ id, unit });
    };
    if (r.any) {
      const byClause = new Map<number, (number | undefined)[]>();
      r.edges.forEach((e, i) => {
        const list = byClause.get(e.clause);
        if (list === undefined) byClause.set(e.clause, [succ[i]]);
        else list.push(succ[i]);
      });
      for (const [clause, targets] of byClause) {
        if (targets.includes(undefined)) continue; // an unknown alternative: satisfied
        units++;
        for (const s of new Set(targets as number[])) link(s, `${id}/${clause}`);
      }
    } else {
      const known = new Set(succ.filter((s): s is number => s !== undefined));
      units = known.size;
      for (const s of known) link(s, undefined);
    }
    if (units === 0) {
      free.add(id);
      queue.push(id);
    } else missing.set(id, units);
  }
  while (queue.length > 0) {
    const id = queue.pop()!;
    for (const { id: p, unit } of predecessors.get(id) ?? []) {
      if (free.has(p)) continue;
      if (unit !== undefined) {
        if (satisfied.has(unit)) continue;
        satisfied.add(unit);
      }
      const left = missing.get(p)! - 1;
      missing.set(p, left);
      if (left === 0) {
        free.add(p);
        queue.push(p);
      }
    }
  }
  // 2. Every stuck request has a stuck successor: follow them to cycles.
  const stuckEdge = (id: number): number =>
    m.successors.get(id)!.findIndex((s) => s !== undefined && !free.has(s));
  const deadlocks: Deadlock[] = [];
  const visited = new Set<number>();
  const cycleOf = new Map<number, number>(); // request -> index in deadlocks
  const ids = [...m.requests.keys()].filter((id) => !free.has(id)).sort((a, b) => a - b);
  for (const start of ids) {
    if (visited.has(start)) continue;
    const path: number[] = [];
    const onPath = new Map<number, number>();
    let id = start;
    while (!visited.has(id)) {
      visited.add(id);
      onPath.set(id, path.length);
      path.push(id);
      id = m.successors.get(id)![stuckEdge(id)]!;
    }
    const at = onPath.get(id);
    if (at === undefined) continue; // it led into a cycle already found
    const cycle = path.slice(at);
    for (const c of cycle) cycleOf.set(c, deadlocks.length);
    deadlocks.push(describeCycle(m, cycle, []));
  }
  // 3. The other stuck requests, each under the first cycle it reaches.
  const stuckOn: WaitNode[][] = deadlocks.map(() => []);
  for (const id of ids) {
    if (cycleOf.has(id)) continue;
    let next = id;
    for (let steps = 0; !cycleOf.has(next) && steps <= ids.length; steps++)
      next = m.successors.get(next)![stuckEdge(next)]!;
    const index = cycleOf.get(next);
    if (index !== undefined) stuckOn[index]!.push(m.requests.get(id)!.request);
  }
  return deadlocks.map((d, i) =>
    stuckOn[i]!.length === 0
      ? d
      : describeCycle(
          m,
          d.cycle.map((s) => s.request.requestId),
          stuckOn[i]!,
        ),
  );
}

function describeCycle(m: Merged, cycle: readonly number[], stuck: WaitNode[]): Deadlock {
  const steps: DeadlockStep[] = cycle.map((id, i) => {
    const r = m.requests.get(id)!;
    const succ = m.successors.get(id)!;
    const next = cycle[(i + 1) % cycle.length]!;
    const e = r.edges[succ.indexOf(next)]!;
    return {
      request: r.request,
      state: r.state,
      rule: e.rule,
      text: edgeText(r.request, e.rule, e.why, m.requests.get(next)!.request),
    };
  });
  const lines = steps.map((s, i) => `  ${i + 1}. ${s.text}`);
  let message = `Deadlock: ${steps.length === 1 ? 'a request waits for itself' : `${steps.length} requests wait for each other in a cycle`}:\n${lines.join('\n')}`;
  if (stuck.length > 0) {
    const shown = stuck.slice(0, 5).map(label).join(', ');
    message += `\n  ${stuck.length} more request${stuck.length === 1 ? '' : 's'} wait${stuck.length === 1 ? 's' : ''} on it: ${shown}${stuck.length > 5 ? ', ...' : ''}`;
  }
  return { cycle: steps, stuck, message };
}

/** Deadlocks now; across nodes, only those confirmed by a second collection (see the header). */
async function detect(): Promise<Deadlock[]> {
  const first = merge(await collect());
  const found = analyse(first);
  if (found.length === 0 || first.nodes.length === 1) return found;
  const second = merge(await collect());
  return analyse(second).filter((d) =>
    d.cycle.every((s) => {
      const before = first.requests.get(s.request.requestId);
      return before !== undefined && before.stamp === second.requests.get(s.request.requestId)!.stamp;
    }),
  );
}

// ------------------------------------------------------------------ public API

/** The wait-for graph of every node now: each request in flight and what it waits for. */
export async function waitGraph(): Promise<WaitGraph> {
  return toGraph(merge(await collect()));
}

/**
 * The deadlocks of the whole system now (each one once: a cycle, plus the requests stuck on
 * it). Reports nothing and breaks nothing: see `configureDeadlocks` for that.
 */
export function findDeadlocks(): Promise<Deadlock[]> {
  return detect();
}

export interface DeadlockOptions {
  /**
   * Look for deadlocks every `intervalMs` and report each one once: a `deadlock.found`
   * event, or a process warning (`MULTIACTIVE_DEADLOCK`) when nobody listens to events.
   * @default false
   */
  detect?: boolean;
  /**
   * Also break each deadlock found: its requests that have not started are withdrawn and
   * their futures rejected with `DeadlockError` (the requests awaiting them then see that
   * error). Implies `detect`.
   * @default false
   */
  reject?: boolean;
  /**
   * How often to look, in milliseconds (an integer >= 10).
   * @default 500
   */
  intervalMs?: number;
  /**
   * Record which futures every request awaits. Without it, waits are known only for objects
   * under a finite soft limit and detection finds only the deadlocks made of those and of
   * scheduling rules. It needs async context tracking, which slows every promise of the
   * process on Node 20 (see docs/benchmarks.md); once on, that cost stays.
   * @default true when `detect` or `reject`, else unchanged
   */
  trackAwaits?: boolean;
}

const DEFAULT_INTERVAL_MS = 500;
const settings = { detect: false, reject: false, intervalMs: DEFAULT_INTERVAL_MS };
let timer: NodeJS.Timeout | undefined;
/** Keys of the deadlocks reported and still present (each is reported once). */
let reported = new Set<string>();

/**
 * Turn deadlock detection on or off for the whole system (call it on the main thread; it
 * reaches every worker node). Also set by the environment: `MULTIACTIVE_DEADLOCKS=detect`
 * or `=reject`.
 */
export function configureDeadlocks(options: DeadlockOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentError(`configureDeadlocks expects an options object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!['detect', 'reject', 'intervalMs', 'trackAwaits'].includes(key)) {
      throw new ArgumentError(
        `Unknown configureDeadlocks option \`${key}\`; known options: detect, reject, intervalMs, trackAwaits`,
      );
    }
  }
  for (const key of ['detect', 'reject', 'trackAwaits'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') {
      throw new ArgumentError(`Expected \`${key}\` to be a boolean, got ${describe(options[key])}`);
    }
  }
  const interval = options.intervalMs;
  if (interval !== undefined && !(Number.isInteger(interval) && interval >= 10)) {
    throw new ArgumentError(`Expected \`intervalMs\` to be an integer >= 10, got ${describe(interval)}`);
  }
  if (getLocalNode() !== 0) {
    throw new ArgumentError(
      'configureDeadlocks() is called on the main thread: detection there covers every worker node.',
    );
  }
  settings.reject = options.reject ?? settings.reject;
  settings.detect = settings.reject || (options.detect ?? settings.detect);
  settings.intervalMs = interval ?? settings.intervalMs;
  const track =
    options.trackAwaits ?? (options.detect === true || options.reject === true ? true : undefined);
  if (track !== undefined && track !== awaitTracking) {
    setAwaitTracking(track);
    for (const link of node.links.values()) link.send({ t: 'waits.track', on: track });
  }
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  if (settings.detect) schedule();
}

function schedule(): void {
  // Unref'd: detection never keeps a finished program alive.
  timer = setTimeout(tick, settings.intervalMs);
  timer.unref();
}

async function tick(): Promise<void> {
  timer = undefined;
  try {
    if (busyObjectList().length > 0 || node.links.size > 0) {
      const deadlocks = await detect();
      const now = new Set<string>();
      for (const d of deadlocks) {
        const key = deadlockKey(d);
        now.add(key);
        if (!reported.has(key)) report(d);
      }
      reported = now;
    }
  } catch (error) {
    process.emitWarning(`multiactive: deadlock detection failed: ${String(error)}`, {
      code: 'MULTIACTIVE_DEADLOCK',
    });
  } finally {
    if (settings.detect && timer === undefined) schedule();
  }
}

/** A deadlock's identity while it lasts: the request ids of its cycle. */
function deadlockKey(deadlock: Deadlock): string {
  return deadlock.cycle
    .map((s) => s.request.requestId)
    .sort((a, b) => a - b)
    .join(',');
}

function report(deadlock: Deadlock): void {
  if (observed) emit({ type: 'deadlock.found', time: now(), deadlock });
  else process.emitWarning(deadlock.message, { code: 'MULTIACTIVE_DEADLOCK' });
  if (settings.reject) breakDeadlock(deadlock);
}

/**
 * Withdraw the cycle's requests that have not started (their futures reject with
 * `DeadlockError`; whoever awaits them sees it), or only its checkpoint if it has one. A cycle of started requests only (they
 * await each other's futures) gets their futures rejected instead.
 */
function breakDeadlock(deadlock: Deadlock): void {
  const unstarted = deadlock.cycle.filter(
    (s) => s.state === 'queued' || s.state === 'held' || s.state === 'ready',
  );
  // A checkpoint waiting in the cycle (for a request in WBN whose callback it holds back) is
  // withdrawn alone: it is postponed, and no user request fails for it.
  const checkpoints = unstarted.filter((s) => s.request.method === CHECKPOINT_METHOD);
  const chosen = checkpoints.length > 0 ? checkpoints : unstarted.length > 0 ? unstarted : deadlock.cycle;
  const byNode = new Map<number, number[]>();
  for (const s of chosen) {
    const list = byNode.get(s.request.node);
    if (list === undefined) byNode.set(s.request.node, [s.request.requestId]);
    else list.push(s.request.requestId);
  }
  for (const [nodeId, ids] of byNode) {
    if (nodeId === getLocalNode()) breakLocal(ids, deadlock);
    else node.links.get(nodeId)?.send({ t: 'waits.break', ids, deadlock });
  }
}

/**
 * A graceful `shutdown()` breaks the deadlocks it finds while it waits (src/active.ts, its
 * step 2): every one found now, reported as `deadlock.found` unless periodic detection
 * reported it already.
 */
setDeadlockBreaker(async () => {
  for (const deadlock of await detect()) {
    if (observed && !reported.has(deadlockKey(deadlock)))
      emit({ type: 'deadlock.found', time: now(), deadlock });
    breakDeadlock(deadlock);
  }
});

function breakLocal(ids: readonly number[], deadlock: Deadlock): void {
  const wanted = new Set(ids);
  for (const obj of busyObjectList()) {
    for (const request of obj.inFlightRequests()) {
      if (wanted.has(request.requestId)) obj.breakDeadlock(request, new DeadlockError(deadlock));
    }
  }
}

// The environment switch, read once on the main thread.
// (Worker nodes load this module before they know their node id: ask worker_threads.)
const fromEnv = process.env.MULTIACTIVE_DEADLOCKS;
if (isMainThread && fromEnv !== undefined && fromEnv !== '' && fromEnv !== 'off') {
  if (fromEnv === 'detect' || fromEnv === 'reject') configureDeadlocks({ [fromEnv]: true });
  else if (fromEnv === 'track') configureDeadlocks({ trackAwaits: true });
  else {
    process.emitWarning(
      `MULTIACTIVE_DEADLOCKS=${fromEnv} is not understood (use detect, reject, track or off); detection stays off.`,
      { code: 'MULTIACTIVE_DEADLOCK' },
    );
  }
}
