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

/** The event with its thrown value replaced; other events are returned as they are (no copy). */
export function jsonSafe(event: MultiactiveEvent): MultiactiveEvent {
  if ('error' in event) return { ...event, error: safeError(event.error) } as MultiactiveEvent;
  return event;
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
