/**
 * A `Trace` for objects spread over several nodes. The main thread's event stream carries the
 * events of worker nodes too (forwarded while someone observes), and request ids are numbered
 * per node, so two requests of objects on different nodes may share an id: here a request is
 * named by its object *and* its id (object ids are unique in the whole system). Events of one
 * object all come from its node, in order, so per-object questions (intervals, concurrency,
 * start order) have exact answers; the order between events of different nodes is only their
 * arrival order on the main thread.
 */
import type { MultiactiveEvent } from 'multiactive';
import { afterEach, beforeEach } from 'vitest';
import { ACTIVE_OBJECT } from '../../src/symbols.js';
import { type Interval, Trace } from './trace.js';

type RequestFilter = (r: { method: string; group: string | undefined; objectId: number }) => boolean;

const keyOf = (r: { objectId: number; requestId: number }): string => `${r.objectId}/${r.requestId}`;

export class NodeTrace extends Trace {
  /** Events of type `type` (and `method`), of object `objectId` if given. */
  countOn(objectId: number, type: MultiactiveEvent['type'], method?: string): number {
    return this.events.filter(
      (e) =>
        e.type === type &&
        ('request' in e
          ? e.request.objectId === objectId && (method === undefined || e.request.method === method)
          : 'objectId' in e && e.objectId === objectId && method === undefined),
    ).length;
  }

  /** Service intervals, a request being named by (object, request id). */
  override intervals(objectId?: number): Interval[] {
    const open = new Map<string, Interval>();
    const out: Interval[] = [];
    this.events.forEach((e, i) => {
      if (e.type === 'request.started' && (objectId === undefined || e.request.objectId === objectId)) {
        const iv: Interval = { ...e.request, start: i, end: Number.POSITIVE_INFINITY };
        open.set(keyOf(e.request), iv);
        out.push(iv);
      } else if (e.type === 'request.finished') {
        const iv = open.get(keyOf(e.request));
        if (iv !== undefined) iv.end = i;
      }
    });
    return out;
  }

  /** As `Trace.maxConcurrent`, a request being named by (object, request id). */
  override maxConcurrent(mode: 'inService' | 'active', filter: RequestFilter = () => true): number {
    const counted = new Map<string, boolean>();
    let current = 0;
    let max = 0;
    for (const e of this.events) {
      if (!('request' in e) || !filter(e.request)) continue;
      const key = keyOf(e.request);
      const on =
        e.type === 'request.started' || e.type === 'request.resumed'
          ? true
          : e.type === 'request.finished' || (e.type === 'request.waiting' && mode === 'active')
            ? false
            : undefined;
      if (on === undefined) continue;
      if ((counted.get(key) === true) !== on) current += on ? 1 : -1;
      counted.set(key, on);
      max = Math.max(max, current);
    }
    return max;
  }
}

/** The global id of the object behind an active reference (local or on another node). */
export function objectIdOf(active: object): number {
  const target = (active as Record<symbol, { id?: unknown } | undefined>)[ACTIVE_OBJECT];
  if (target === undefined || typeof target.id !== 'number') {
    throw new TypeError('objectIdOf expects an active reference');
  }
  return target.id;
}

/**
 * A fresh `NodeTrace` for each test of the file, handed to `use`, closed after the test.
 * Unlike `traceEachTest`, it does not shut the runtime down: worker nodes are reused across
 * the tests of a file (each test filters the trace by the ids of its own objects).
 */
export function nodeTraceEachTest(use: (trace: NodeTrace) => void): void {
  let trace: NodeTrace | undefined;
  beforeEach(() => {
    trace = new NodeTrace();
    use(trace);
  });
  afterEach(() => {
    trace?.close();
  });
}
