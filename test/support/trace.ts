/**
 * Record the public event stream and answer questions about it: who was in service when,
 * overlaps, start order. Tests assert on the same trace the debugger shows.
 */
import { type MultiactiveEvent, onEvent, shutdown } from 'multiactive';
import { afterEach, beforeEach } from 'vitest';

export interface Interval {
  readonly requestId: number;
  readonly objectId: number;
  readonly method: string;
  readonly group: string | undefined;
  /** Index in the trace of the start and of the end (Infinity while unfinished). */
  readonly start: number;
  end: number;
}

export class Trace {
  readonly events: MultiactiveEvent[] = [];
  private readonly stop: () => void;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor() {
    this.stop = onEvent((event) => {
      this.events.push(event);
      if (this.waiters.length > 0) {
        this.waiters = this.waiters.filter((w) => {
          if (!w.check()) return true;
          w.resolve();
          return false;
        });
      }
    });
  }

  close(): void {
    this.stop();
  }

  /** Resolve when `check()` holds after some event; reject after `ms` (a bounded wait). */
  until(check: () => boolean, what: string, ms = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  count(type: MultiactiveEvent['type'], method?: string): number {
    return this.events.filter(
      (e) => e.type === type && (method === undefined || ('request' in e && e.request.method === method)),
    ).length;
  }

  /** Service intervals (start to finish) of every started request. */
  intervals(objectId?: number): Interval[] {
    const open = new Map<number, Interval>();
    const out: Interval[] = [];
    this.events.forEach((e, i) => {
      if (e.type === 'request.started' && (objectId === undefined || e.request.objectId === objectId)) {
        const iv: Interval = { ...e.request, start: i, end: Number.POSITIVE_INFINITY };
        open.set(e.request.requestId, iv);
        out.push(iv);
      } else if (e.type === 'request.finished') {
        const iv = open.get(e.request.requestId);
        if (iv !== undefined) iv.end = i;
      }
    });
    return out;
  }

  /** Methods in the order they started (optionally on one object). */
  startOrder(objectId?: number): string[] {
    return this.intervals(objectId).map((iv) => iv.method);
  }

  /**
   * The largest number of requests (matching `filter`) in service at once, counting
   * wait-by-necessity (`inService`) or not (`active`).
   */
  maxConcurrent(
    mode: 'inService' | 'active',
    filter: (r: { method: string; group: string | undefined; objectId: number }) => boolean = () => true,
  ): number {
    const counted = new Map<number, boolean>(); // requestId -> currently counted
    let current = 0;
    let max = 0;
    const set = (id: number, on: boolean): void => {
      const was = counted.get(id) === true;
      if (was !== on) current += on ? 1 : -1;
      counted.set(id, on);
    };
    for (const e of this.events) {
      if (!('request' in e) || !filter(e.request)) continue;
      const id = e.request.requestId;
      if (e.type === 'request.started' || e.type === 'request.resumed') set(id, true);
      else if (e.type === 'request.finished') set(id, false);
      else if (e.type === 'request.waiting' && mode === 'active') set(id, false);
      max = Math.max(max, current);
    }
    return max;
  }

  /** Pairs of requests whose service intervals overlap, one matching `a` and the other `b`. */
  overlaps(a: (iv: Interval) => boolean, b: (iv: Interval) => boolean): [Interval, Interval][] {
    const ivs = this.intervals();
    const out: [Interval, Interval][] = [];
    for (let i = 0; i < ivs.length; i++) {
      for (let j = i + 1; j < ivs.length; j++) {
        const x = ivs[i]!;
        const y = ivs[j]!;
        if (!((a(x) && b(y)) || (a(y) && b(x)))) continue;
        if (x.start < y.end && y.start < x.end) out.push([x, y]);
      }
    }
    return out;
  }
}

/** Let every pending microtask and immediate run (no timers): the system is quiet after it. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A promise with its resolve function outside: a gate tests open by hand. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * A fresh trace for each test of the file, handed to `use`; after each test the trace is
 * closed and every active object shut down at once (nothing left running).
 */
export function traceEachTest(use: (trace: Trace) => void): void {
  let trace: Trace | undefined;
  beforeEach(() => {
    trace = new Trace();
    use(trace);
  });
  afterEach(async () => {
    trace?.close();
    await shutdown({ immediate: true });
  });
}
