/**
 * What the `observe` family's parent (observe-bench.ts) and its child processes
 * (observe-child.ts) share: the set-ups, the workloads and the messages. No imports, so the
 * compiled module also runs beside an older build of the package.
 */

/** Calls per batch in the "in flight" workloads. */
export const OBS_IN_FLIGHT = 100;

/**
 * What a child switches on before it makes any object (each set-up is process-wide, and
 * async context cannot be switched off once on, so each runs in its own process):
 * - `none`: nothing (the default);
 * - `events`: one event listener that does nothing (`onEvent(() => {})`);
 * - `events-sampled`: the same, asking for a sample of requests (`{ requests: 'sampled' }`):
 *   what the runtime costs with the debugger in its default mode, without the debugger's work;
 * - `track`: `configureDeadlocks({ trackAwaits: true })` (async context for every promise);
 * - `detect`: `configureDeadlocks({ detect: true })` (tracking, and a look every 500 ms);
 * - `debugger`: `attachDebugger({ port: 0 })`, with one SSE client reading its stream (a page
 *   on the overview: the debugger takes a sample of requests' events);
 * - `debugger+timeline`: the same, the client saying it shows the timeline (every request's
 *   events);
 * - `debugger+detect`: the same as `debugger` plus detection, as `MULTIACTIVE_DEBUG` attaches it.
 */
export type Setup =
  | 'none'
  | 'events'
  | 'events-sampled'
  | 'track'
  | 'detect'
  | 'debugger'
  | 'debugger+timeline'
  | 'debugger+detect';

/** Set-ups that attach the debugger (and get an SSE client). */
export const DEBUGGER_SETUPS: readonly Setup[] = ['debugger', 'debugger+timeline', 'debugger+detect'];

export interface Workload {
  readonly name: string;
  /** Operations per case-round are a multiple of this (the batch size). */
  readonly granularity: number;
  /** Operations of the first warm-up round. */
  readonly initialOps: number;
}

export const WORKLOADS: readonly Workload[] = [
  { name: 'in-thread, sequential', granularity: 1, initialOps: 20_000 },
  { name: `in-thread, ${OBS_IN_FLIGHT} in flight`, granularity: OBS_IN_FLIGHT, initialOps: 20_000 },
  { name: 'relay (awaits another object), sequential', granularity: 1, initialOps: 10_000 },
  {
    name: `relay (awaits another object), ${OBS_IN_FLIGHT} in flight`,
    granularity: OBS_IN_FLIGHT,
    initialOps: 10_000,
  },
  { name: `cross-worker, ${OBS_IN_FLIGHT} in flight`, granularity: OBS_IN_FLIGHT, initialOps: 5_000 },
];

/**
 * How long a child waits after a case-round of a set-up that delivers work later (worker
 * events batched to the main thread, the debugger's 100 ms batches); the main thread's busy
 * time during the wait (event-loop utilization) is added to the round's duration, so that
 * work done after the last request is counted too. 100 ms batches + margin.
 */
export const SETTLE_MS = 130;

export type ToChild =
  | { readonly t: 'run'; readonly workload: number; readonly ops: number }
  | { readonly t: 'stop' };

export type FromChild =
  | {
      readonly t: 'ready';
      /** Async context (AsyncLocalStorage) was on in the child's main thread. */
      readonly asyncContext: boolean;
      /** The debugger's URL, for set-ups that attach it. */
      readonly url?: string;
    }
  | {
      readonly t: 'done';
      /** Duration of the operations, plus the busy time while settling (see SETTLE_MS). */
      readonly ms: number;
      readonly settleBusyMs: number;
      /** CPU time of the whole process (every thread) over the same span, in ms. */
      readonly cpuMs: number;
    }
  | { readonly t: 'stopped' }
  | { readonly t: 'error'; readonly message: string };
