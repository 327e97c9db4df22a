/**
 * The debugger's subscription to the event stream, with a request mode that can change while
 * it runs (`onEvent(listener, { requests })`, see src/events.ts):
 * - `'sampled'` (the default): request events for a sample of requests (every request while a
 *   node serves few, at most about 2000 sampled requests a second per node otherwise), each
 *   with all its events; what the overview needs, at a cost that does not grow with the
 *   request rate;
 * - `'all'`: every request's events, while a page shows the timeline or a trace is recorded.
 *
 * Switching subscribes the new mode first, then unsubscribes the old one, in one synchronous
 * step: no event is emitted between the two calls, so none is missed or seen twice, and the
 * runtime never sees "nobody observes" in between (worker nodes would stop sending theirs).
 */
import { type MultiactiveEvent, onEvent } from '../src/index.js';

/** Which request events a subscription receives (as `onEvent`'s `requests` option). */
export type RequestMode = 'all' | 'sampled' | 'none';

export class ModalSubscription {
  private unsubscribe: (() => void) | undefined;
  private current: RequestMode;

  constructor(
    private readonly listener: (event: MultiactiveEvent) => void,
    mode: RequestMode,
  ) {
    this.current = mode;
    this.unsubscribe = subscribe(listener, mode);
  }

  get mode(): RequestMode {
    return this.current;
  }

  /** Switches to `mode`; returns whether anything changed. */
  set(mode: RequestMode): boolean {
    if (mode === this.current || this.unsubscribe === undefined) return false;
    const next = subscribe(this.listener, mode);
    this.unsubscribe();
    this.unsubscribe = next;
    this.current = mode;
    return true;
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/** The one place that speaks `onEvent`'s options. */
function subscribe(listener: (event: MultiactiveEvent) => void, mode: RequestMode): () => void {
  return onEvent(listener, { requests: mode });
}

/**
 * Put in the debugger's stream (and its ring, and `/trace.jsonl`) where the mode changed: a
 * page knows from it which requests it sees in full. Not a runtime event.
 */
export interface ModeMarker {
  readonly type: 'debugger.mode';
  readonly time: number;
  readonly requests: RequestMode;
}

/** What the debugger's stream carries: the runtime's events and its own mode markers. */
export type StreamEvent = MultiactiveEvent | ModeMarker;
