/**
 * Copying of arguments and results in-thread (docs/semantics.md): structured-clone semantics, so code
 * behaves the same whether objects share a thread or not, except that active references and
 * futures pass by reference (also when nested). The rules are src/values/walk.ts's: what
 * `structuredClone` gives (class instances arrive as plain objects, holes stay holes, cycles
 * and shared parts keep their shape), or a `CopyError` naming the argument and the path
 * inside it where `structuredClone` throws (functions, symbols, Proxies, promises, weak
 * collections, an un-transferred MessagePort, ...). One difference, for cost: the own
 * non-index properties of arrays are not copied (see walk.ts).
 *
 * Time: O(size of the value). Primitives cost one `typeof` (the common case in hot paths).
 */
import { CopyError } from './errors.js';
import { isReference, PathError, Transform, type TransformHooks } from './values/walk.js';

/** In-thread: references and futures are themselves; everything else is cloned here. */
const IN_THREAD: TransformHooks = {
  reference: (value) => value,
  future: (value) => value,
  error: (error, w) => w.standardError(error),
  serialized: false,
  checkHost: () => {},
};

/**
 * Copy call arguments in place (the array is the caller's rest array, owned by us). The call
 * is named by `className` and `method`; the message text is built only if a copy fails. One
 * walk for the whole list: an object given twice arrives as one copy, as through the wire.
 */
export function copyArguments(args: unknown[], className: string, method: string): void {
  let i = 0;
  while (i < args.length && passes(args[i])) i++;
  // Primitives, references and futures only (the common case): nothing to copy; kept
  // small, so that it inlines.
  if (i < args.length) copyFrom(args, i, className, method);
}

/** `copyArguments` from argument `i`, the first that is not a primitive. */
function copyFrom(args: unknown[], i: number, className: string, method: string): void {
  const t = Transform.take(IN_THREAD);
  try {
    for (; i < args.length; i++) {
      const value = args[i];
      if (!passes(value)) args[i] = t.value(value);
    }
  } catch (error) {
    throw toCopyError(error, `Argument ${i} of ${className}.${method}`, i);
  } finally {
    t.release();
  }
}

/** Copy the result of `className.method`. */
export function copyResult(value: unknown, className: string, method: string): unknown {
  return passes(value) ? value : copyOne(value, className, method, undefined);
}

/** Copy the value of a future given as argument `index` of `className.method`. */
export function copyFutureArgument(
  value: unknown,
  className: string,
  method: string,
  index: number,
): unknown {
  return passes(value) ? value : copyOne(value, className, method, index);
}

/** A result (`index` undefined) or the value of future argument `index`. */
function copyOne(value: unknown, className: string, method: string, index: number | undefined): unknown {
  const t = Transform.take(IN_THREAD);
  try {
    return t.value(value);
  } catch (error) {
    const subject =
      index === undefined
        ? `The result of ${className}.${method}`
        : `Argument ${index} (the value of a future) of ${className}.${method}`;
    throw toCopyError(error, subject, index);
  } finally {
    t.release();
  }
}

/** Primitives (not symbols) are immutable, references and futures pass as they are: nothing to copy. */
const passes = (value: unknown): boolean =>
  value === null ||
  (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') ||
  (typeof value !== 'symbol' && isReference(value as object));

/**
 * The `CopyError` for a `PathError` met while copying `subject` (`Argument 0 of A.m`, `The
 * result of A.m`); any other error is returned as it is. Shared with the wire codec.
 */
export function toCopyError(error: unknown, subject: string, index: number | undefined): Error {
  if (!(error instanceof PathError)) return error as Error;
  const path = error.path;
  const where = path === '' ? '' : ` (at \`${path}\`)`;
  return new CopyError(
    `${subject} cannot be copied${where}: ${error.message}. Arguments and results are copied (structured clone); ` +
      'pass data, an active object or a future instead.',
    index,
    path,
    error.cause === undefined ? undefined : { cause: error.cause },
  );
}
