/**
 * What the page knows, rebuilt from events (live from the server, or from a trace file): the
 * objects and their policies, requests and their service (requests.js), calls between
 * objects with counts and recent rates, deadlocks, and the last wait-for graph.
 *
 * Memory stays bounded in a long session: finished requests beyond `KEEP_REQUESTS` are
 * forgotten (oldest first), per-edge counters are O(1), and recent send times are kept only
 * for the rate window.
 *
 * Sampling: the debugger usually receives the events of a sample of requests (see
 * debugger/subscription.ts): each `request.sent` says how many requests it stands for
 * (`sample`), so edge counts and rates add that much per send and are approximate ("≈") once
 * any send stood for more than one. Per-object counts and rates are exact: they come from the
 * wait-for graph's `served` counters (deltas between polls), not from events.
 */
import { MAIN_SCRIPT, RequestTracker } from './requests.js';

export { MAIN_SCRIPT };

const KEEP_REQUESTS = 20_000;
/** Rates are calls per second over the last 5 s of the application's clock. */
export const RATE_WINDOW_MS = 5_000;
/** Calls from another node whose sender's `call.remote` has not come, kept at most (then: unknown caller). */
const MAX_PENDING_VIA = 10_000;
/** An object's served rate is shown while its last `served` count is this recent (ms). */
const SERVED_FRESH_MS = 2_000;

/**
 * @typedef {{ objectId: number, className: string, name: string, node: number | undefined,
 *   policy: any, limit: number | null, hardLimit: boolean, terminated: boolean,
 *   served: number | undefined, servedAt: number | undefined, servedRate: number | undefined }} ObjectInfo
 * @typedef {{ from: number | 'main', to: number, count: number, approx: boolean, recent: number[],
 *   weights: number[], head: number, inWindow: number, approxInWindow: number }} Edge
 * @typedef {{ time: number, deadlock: any, source: string }} FoundDeadlock
 */

export class Model {
  constructor() {
    this.tracker = new RequestTracker();
    /** Senders' `call.remote` carry their sample: cross-node calls are counted there. */
    this.sendersCount = false;
    /** @type {Map<number, ObjectInfo>} */
    this.objects = new Map();
    /** @type {Map<string, Edge>} `${from}->${to}` */
    this.edges = new Map();
    /** @type {Map<string, any>} calls from another node whose sender's `call.remote` has not arrived yet */
    this.pendingVia = new Map();
    /** @type {FoundDeadlock[]} */
    this.deadlocks = [];
    this.deadlockKeys = new Set();
    /** @type {{ graph?: any, error?: string } | undefined} the last wait-for graph (or why there is none) */
    this.waits = undefined;
    /** The application's clock (ms, its `performance.now()`): the latest time seen. */
    this.now = 0;
    /** @type {number | undefined} the time of the last wait-for graph */
    this.graphTime = undefined;
    /** @type {number | undefined} */
    this.first = undefined;
    this.eventCount = 0;
    /** Events the server dropped before they reached the page (its push was full). */
    this.dropped = 0;
    /** @type {'all' | 'sampled' | 'none' | undefined} which request events the server takes (undefined: not said, e.g. a trace file) */
    this.requestMode = undefined;
    /** @type {Map<number | string, { sample: number, time: number }>} per node, the latest `request.sent.sample` */
    this.samples = new Map();
    /** @type {number | undefined} the last switch to every request, if a sample came before it */
    this.allSince = undefined;
    this.sawSample = false;
    /**
     * @type {{ from: number, to: number }[]} times whose request steps this page never got: it
     * showed another view (the lean stream), and the server's ring no longer held them when it
     * came back to the timeline.
     */
    this.gaps = [];
    /** Bumped on every change; the page re-renders when it moved. */
    this.version = 0;
  }

  /** @param {number} from @param {number} to */
  addGap(from, to) {
    if (to > from) this.gaps.push({ from, to });
    this.version++;
  }

  /** 1 in how many requests are observed now (the largest over nodes, over the rate window). */
  sampleNow() {
    let most = 1;
    for (const { sample, time } of this.samples.values())
      if (time >= this.now - RATE_WINDOW_MS && sample > most) most = sample;
    return most;
  }

  /** @param {any} event a `MultiactiveEvent` as JSON */
  add(event) {
    this.eventCount++;
    this.version++;
    if (typeof event.time === 'number') {
      if (this.first === undefined || event.time < this.first) this.first = event.time;
      if (event.time > this.now) this.now = event.time;
    }
    switch (event.type) {
      case 'object.created': {
        const known = this.objects.get(event.objectId);
        this.objects.set(event.objectId, {
          objectId: event.objectId,
          className: event.className,
          name: `${event.className}#${event.objectId}`,
          node: event.node,
          policy: event.policy,
          limit: event.policy?.limit ?? null,
          hardLimit: event.policy?.hardLimit ?? false,
          terminated: false,
          served: known?.served,
          servedAt: known?.servedAt,
          servedRate: known?.servedRate,
        });
        break;
      }
      case 'object.terminated':
        this.object(event.objectId, event.className).terminated = true;
        break;
      case 'object.limits': {
        const object = this.object(event.objectId, undefined);
        object.limit = event.limit ?? null; // Infinity arrives as null
        object.hardLimit = event.hardLimit;
        break;
      }
      case 'deadlock.found':
        this.addDeadlock(event.deadlock, event.time, 'detected');
        break;
      case 'debugger.mode':
        this.tracker.add(event);
        if (event.requests === 'all' && this.sawSample) this.allSince = event.time;
        this.requestMode = event.requests;
        break;
      case 'call.remote': {
        this.tracker.add(event);
        if (event.sample !== undefined) {
          // The sender names the calling object and how many calls it stands for: count the
          // edge here. Receivers sample on their own, so a receiver's `request.sent` rarely
          // meets its sender's `call.remote` in sampled mode; it is not counted (see below).
          this.sendersCount = true;
          this.countCall(
            {
              callerObjectId: event.callerObjectId ?? MAIN_SCRIPT,
              objectId: event.objectId,
              sample: event.sample,
            },
            event.time,
          );
          break;
        }
        const key = `${event.node}:${event.rid}`;
        const waiting = this.pendingVia.get(key);
        if (waiting !== undefined) {
          this.pendingVia.delete(key);
          this.countCall(waiting.record, waiting.time);
        }
        break;
      }
      case 'request.sent': {
        const record = this.tracker.add(event);
        const object = this.object(record.objectId, record.className);
        this.samples.set(object.node ?? '?', { sample: record.sample, time: event.time });
        if (record.sample > 1) this.sawSample = true;
        if (record.via !== undefined && this.sendersCount) {
          // A call from another node: its sender's `call.remote` counts it.
        } else if (
          record.callerObjectId === undefined &&
          record.via !== undefined &&
          !this.tracker.remoteCalls.has(record.via)
        ) {
          // Events of two nodes interleave freely: wait for the sender's `call.remote`.
          this.pendingVia.set(record.via, { record, time: event.time });
          if (this.pendingVia.size > MAX_PENDING_VIA) {
            // Its sender's `call.remote` never came (not sampled there): count it, caller unknown.
            const [oldest, waiting] = this.pendingVia.entries().next().value;
            this.pendingVia.delete(oldest);
            this.countCall(waiting.record, waiting.time);
          }
        } else this.countCall(record, event.time);
        break;
      }
      default:
        if (event.request !== undefined) this.object(event.request.objectId, event.request.className);
        this.tracker.add(event);
    }
    if (this.tracker.requests.size > KEEP_REQUESTS * 1.1) this.tracker.prune(KEEP_REQUESTS);
  }

  /**
   * A deadlock, once per cycle: the detector reports each cycle once, and "find now" finds
   * the same cycles again; request ids are unique, so the message names the cycle.
   * @param {any} deadlock @param {number} time @param {string} source
   */
  addDeadlock(deadlock, time, source) {
    if (this.deadlockKeys.has(deadlock.message)) return false;
    this.deadlockKeys.add(deadlock.message);
    this.deadlocks.push({ time, deadlock, source });
    this.version++;
    return true;
  }

  /** @param {{ graph?: any, error?: string }} waits */
  setWaits(waits) {
    this.waits = waits;
    const time = waits.graph?.time;
    for (const snapshot of waits.graph?.objects ?? []) {
      const object = this.object(snapshot.objectId, snapshot.className);
      object.node ??= snapshot.node;
      // Exact counts: requests finished since the object was created. The rate is the delta
      // since the last poll that listed the object, over the time between the two.
      if (typeof snapshot.served === 'number' && typeof time === 'number') {
        if (object.served !== undefined && object.servedAt !== undefined && time > object.servedAt)
          object.servedRate = ((snapshot.served - object.served) * 1000) / (time - object.servedAt);
        object.served = snapshot.served;
        object.servedAt = time;
      }
    }
    if (typeof time === 'number') this.graphTime = time;
    this.version++;
  }

  /**
   * Requests per second an object served lately (exact, from the wait-for graph), or
   * `undefined` when not known or stale.
   * @param {ObjectInfo} object
   */
  servedRate(object) {
    if (object.servedRate === undefined || object.servedAt === undefined) return undefined;
    return (this.graphTime ?? object.servedAt) - object.servedAt <= SERVED_FRESH_MS
      ? object.servedRate
      : undefined;
  }

  /** The object's info; a placeholder if its `object.created` is not known (before the window). */
  object(objectId, className) {
    let object = this.objects.get(objectId);
    if (object === undefined) {
      const name = `${className ?? '?'}#${objectId}`;
      object = {
        objectId,
        className: className ?? '?',
        name,
        node: undefined,
        policy: undefined,
        limit: null,
        hardLimit: false,
        terminated: false,
        served: undefined,
        servedAt: undefined,
        servedRate: undefined,
      };
      this.objects.set(objectId, object);
    }
    return object;
  }

  /** The snapshot of an object in the last wait-for graph, if it had requests in flight. */
  snapshot(objectId) {
    return this.waits?.graph?.objects.find((/** @type {any} */ o) => o.objectId === objectId);
  }

  /** The waiting requests of an object in the last wait-for graph. */
  queue(objectId) {
    return (this.waits?.graph?.requests ?? []).filter(
      (/** @type {any} */ r) => r.request.objectId === objectId,
    );
  }

  /**
   * Calls per second over the rate window, ending at the application's latest time (each send
   * counted as the requests it stands for). @param {Edge} edge
   */
  rate(edge) {
    const since = this.now - RATE_WINDOW_MS;
    while (edge.head < edge.recent.length && edge.recent[edge.head] < since) {
      const weight = edge.weights[edge.head++];
      edge.inWindow -= weight;
      if (weight > 1) edge.approxInWindow--;
    }
    return edge.inWindow / (RATE_WINDOW_MS / 1000);
  }

  /** Whether the edge's rate comes from sampled sends (some stood for more than one call). @param {Edge} edge */
  rateApprox(edge) {
    this.rate(edge);
    return edge.approxInWindow > 0;
  }

  /**
   * Counts one send (as `record.sample` calls) on the edge from the caller's object: the sender
   * says it (`callerObjectId`), or its caller request is known (directly, or through the
   * sender's `call.remote` for a call from another node); otherwise the main script.
   * @param {import('./requests.d.ts').RequestRecord} record @param {number} time
   */
  countCall(record, time) {
    let from = record.callerObjectId;
    if (from === undefined) {
      const callerId = this.tracker.callerOf(record);
      const caller = callerId === undefined ? undefined : this.tracker.requests.get(callerId);
      from = caller === undefined ? MAIN_SCRIPT : caller.objectId;
    }
    const key = `${from}->${record.objectId}`;
    let edge = this.edges.get(key);
    if (edge === undefined)
      this.edges.set(
        key,
        (edge = {
          from,
          to: record.objectId,
          count: 0,
          approx: false,
          recent: [],
          weights: [],
          head: 0,
          inWindow: 0,
          approxInWindow: 0,
        }),
      );
    const weight = record.sample;
    edge.count += weight;
    edge.inWindow += weight;
    if (weight > 1) {
      edge.approx = true;
      edge.approxInWindow++;
    }
    edge.recent.push(time);
    edge.weights.push(weight);
    // Drop send times that left the window (amortised O(1)); `rate` trims the rest lazily.
    if (edge.head > 1024 && edge.head * 2 > edge.recent.length) {
      edge.recent = edge.recent.slice(edge.head);
      edge.weights = edge.weights.slice(edge.head);
      edge.head = 0;
    }
    this.rate(edge);
  }
}

/**
 * Reads a trace file's text (JSON lines, see debugger/trace.ts) into a model. Lines that are not
 * JSON are skipped (a file cut short by a crash). Throws if there is no trace header.
 * @param {string} text
 */
export function modelFromTrace(text) {
  const model = new Model();
  let header;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value;
    try {
      value = JSON.parse(line);
    } catch {
      continue;
    }
    if (value?.type === 'trace.header') header = value;
    else if (value?.type === 'trace.waits') model.setWaits({ graph: value.graph });
    else if (typeof value?.type === 'string') model.add(value);
  }
  if (header?.format !== 'multiactive-trace') {
    throw new Error('Not a multiactive trace: the first line should be a "multiactive-trace" header');
  }
  return model;
}
