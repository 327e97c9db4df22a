/**
 * `Future`: the type of what every call returns, and a value with helpers, so that both
 * `Future<number>` and `x instanceof Future` work.
 */
import { isFuture, NamedFutureCore } from './future.js';
import type { Future as FutureType } from './types.js';

export type Future<T> = FutureType<T>;

export const Future = {
  /** True if `value` is a future of this library. */
  isFuture(value: unknown): value is FutureType<unknown> {
    return isFuture(value);
  },
  /** A future already resolved with `value` (or adopting it, if it is a thenable). */
  resolve<T>(value: T | PromiseLike<T>): FutureType<Awaited<T>> {
    const core = new NamedFutureCore('Future.resolve');
    core.resolve(value);
    return core.proxy as FutureType<Awaited<T>>;
  },
  /** A future already rejected with `error`. */
  reject<T = never>(error: unknown): FutureType<T> {
    const core = new NamedFutureCore('Future.reject');
    core.reject(error);
    return core.proxy as FutureType<T>;
  },
  [Symbol.hasInstance](value: unknown): boolean {
    return isFuture(value);
  },
} as const;
