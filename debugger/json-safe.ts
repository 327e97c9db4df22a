/**
 * Events as JSON: the page, trace files and Chrome export need plain data. Only two fields of
 * the stream can hold something else: the `error` of `request.finished` and `condition.failed`
 * (any thrown value). They become `{ name, message }`: enough to read, and no stack or
 * `cause` leaks application internals into a page. `Infinity` (an unlimited `object.limits`)
 * becomes `null` through `JSON.stringify` itself, as the wait graph's own types spell it.
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

/** The event with its thrown values replaced; other events are returned as they are (no copy). */
export function jsonSafe(event: MultiactiveEvent): MultiactiveEvent {
  if (event.type === 'request.finished' || event.type === 'condition.failed') {
    return { ...event, error: safeError(event.error) };
  }
  return event;
}
