/**
 * Which request is running, for wait-by-necessity accounting (docs/semantics.md).
 *
 * A request is in WBN while it awaits a future of this library. `await f` calls `f.then`
 * from a later microtask, so only the async context can tell which request is awaiting:
 * an `AsyncLocalStorage`. On Node 20 it slows every promise in the process (async hooks),
 * so it is created only when an object first needs WBN accounting (a finite soft limit);
 * objects without limits never pay for it. From then on every request runs inside
 * `storage.run(request, ...)`, so no context leaks from one request into another.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** A request as futures see it (implemented by the runtime's Request). */
export interface Waiter {
  /** True when this request's waits are accounted (its object tracks WBN, it is in service). */
  gates(): boolean;
  /** A gated subscription was registered: the request may enter WBN. */
  waitStarted(): void;
  /** The awaited future settled: hand `settle(value)` over once the request has a slot. */
  deliver(settle: (value: unknown) => void, value: unknown): void;
  /** The request awaits `core` (recorded for the wait-for graph). */
  awaits(core: object): void;
}

/**
 * Record which futures each request awaits, for every object (the wait-for graph,
 * docs/deadlocks.md); objects that account WBN record theirs in any case. Needs async context to know who
 * awaits after a request's first `await`: turned on with deadlock detection.
 */
export let awaitTracking = false;

export function setAwaitTracking(on: boolean): void {
  awaitTracking = on;
  if (on) enableAsyncContext();
}

let storage: AsyncLocalStorage<Waiter> | undefined;
/** The request whose synchronous code is running (known even without async context). */
let syncCurrent: Waiter | undefined;

export function asyncContextEnabled(): boolean {
  return storage !== undefined;
}

export function enableAsyncContext(): void {
  storage ??= new AsyncLocalStorage<Waiter>();
}

/** The running request, if known: from the async context when enabled. */
export function currentWaiter(): Waiter | undefined {
  return storage === undefined ? syncCurrent : (storage.getStore() ?? syncCurrent);
}

/** Run `fn(arg)` as request `waiter`'s code. Time: O(1); one `run` when context is on. */
export function runAs<A, T>(waiter: Waiter, fn: (arg: A) => T, arg: A): T {
  const previous = syncCurrent;
  syncCurrent = waiter;
  try {
    return storage === undefined ? fn(arg) : storage.run(waiter, fn, arg);
  } finally {
    syncCurrent = previous;
  }
}
