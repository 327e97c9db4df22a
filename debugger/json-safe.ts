/**
 * Events as JSON: the page, trace files and Chrome export need plain data. Only the `error`
 * fields of the stream (`request.finished`, `condition.failed`, `checkpoint.failed`, and any
 * later event with one) can hold something else: any thrown value. They become
 * `{ name, message }`: enough to read, and no stack or `cause` leaks application internals
 * into a page. `Infinity` (an unlimited `object.limits`) becomes `null` through
 * `JSON.stringify` itself, as the wait graph's own types spell it.
 */
import type { MultiactiveEvent } from '../src/index.js';

export interface SafeError {
  readonly name: string;
  readonly message: string;
}

export function safeError(error: unknown): SafeError | null {
  if (error === undefined || error === null) return null;
  if (error instanceof Error) return { name: String(error.name), message: String(error.message) };
  try {
    return { name: typeof error, message: String(error) };
  } catch {
    // An object whose toString throws, or a null-prototype object.
    return { name: typeof error, message: '(not printable)' };
  }
}

/**
 * The event with its thrown value replaced; other events are returned as they are (no copy).
 * Only an event that carries a thrown value is copied (a failed request, a failed condition or
 * checkpoint: rare), so the debugger can call this on every event as it arrives: it costs one
 * property read, and the ring never keeps an application's error objects alive. An `error`
 * that is `undefined` is left as is: `JSON.stringify` leaves the field out.
 */
export function jsonSafe<E extends MultiactiveEvent | { readonly type: string }>(event: E): E {
  const error = (event as { error?: unknown }).error;
  if (error === undefined || error === null || isSafeError(error)) return event;
  return { ...event, error: safeError(error) } as E;
}

/** Already `{ name, message }` with string values and nothing else (e.g. read from a trace). */
function isSafeError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || error instanceof Error) return false;
  if (Object.getPrototypeOf(error) !== Object.prototype) return false;
  const { name, message } = error as { name?: unknown; message?: unknown };
  return typeof name === 'string' && typeof message === 'string' && Object.keys(error).length === 2;
}

/**
 * `JSON.stringify` that never throws on what an event may carry: a `bigint` becomes its
 * decimal string. The fast path is plain `JSON.stringify`; the replacer runs only if it threw.
 */
export function toJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}
