/**
 * Copying of arguments and results (SPEC §7): structured-clone semantics, so code behaves
 * the same whether objects share a thread or not, except that active references and futures
 * pass by reference (also when nested). Class instances arrive as plain objects, as they
 * would through `postMessage`. Values that cannot be copied (functions, symbols, promises,
 * weak collections) throw `CopyError` naming the argument and the path inside it.
 *
 * Time: O(size of the value). Primitives cost one `typeof` (the common case in hot paths).
 */
import { CopyError } from './errors.js';
import { ACTIVE_OBJECT, FUTURE_CORE } from './symbols.js';

class NotCopyable extends Error {
  readonly reason: string;
  path: string[] = [];
  constructor(reason: string) {
    super(reason);
    this.reason = reason;
  }
}

/** Primitives (and undefined/null) are immutable: nothing to copy. Symbols are not copyable. */
function isPrimitive(value: unknown): boolean {
  return (
    value === null || (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol')
  );
}

/** True for a future or an active reference: passed by reference, never copied. */
function isReference(value: object): boolean {
  const v = value as Record<symbol, unknown>;
  return v[FUTURE_CORE] !== undefined || v[ACTIVE_OBJECT] !== undefined;
}

/**
 * Copy call arguments in place (the array is the caller's rest array, owned by us). The call
 * is named by `className` and `method`; the message text is built only if a copy fails.
 */
export function copyArguments(args: unknown[], className: string, method: string): void {
  for (let i = 0; i < args.length; i++) {
    const value = args[i];
    if (isPrimitive(value)) continue;
    try {
      args[i] = copy(value, undefined);
    } catch (error) {
      throw toCopyError(error, `Argument ${i} of ${className}.${method}`, i);
    }
  }
}

/** Copy the result of `className.method`. */
export function copyResult(value: unknown, className: string, method: string): unknown {
  if (isPrimitive(value)) return value;
  try {
    return copy(value, undefined);
  } catch (error) {
    throw toCopyError(error, `The result of ${className}.${method}`, undefined);
  }
}

/** Copy the value of a future given as argument `index` of `className.method`. */
export function copyFutureArgument(
  value: unknown,
  className: string,
  method: string,
  index: number,
): unknown {
  if (isPrimitive(value)) return value;
  try {
    return copy(value, undefined);
  } catch (error) {
    throw toCopyError(error, `Argument ${index} (the value of a future) of ${className}.${method}`, index);
  }
}

function toCopyError(error: unknown, subject: string, index: number | undefined): Error {
  if (!(error instanceof NotCopyable)) return error as Error;
  const path = error.path.reverse().join('');
  const where = path === '' ? '' : ` (at \`${path}\`)`;
  return new CopyError(
    `${subject} cannot be copied${where}: ${error.reason}. Arguments and results are copied (structured clone); ` +
      'pass data, an active object or a future instead.',
    index,
    path,
  );
}

function copy(value: unknown, seen: Map<object, unknown> | undefined): unknown {
  switch (typeof value) {
    case 'function':
      if (isReference(value)) return value;
      throw new NotCopyable(`a function (${value.name || 'anonymous'}) cannot be copied`);
    case 'symbol':
      throw new NotCopyable('a symbol cannot be copied');
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  const object = value as object;
  if (isReference(object)) return object;
  const known = seen?.get(object);
  if (known !== undefined) return known;
  seen ??= new Map();

  if (Array.isArray(object)) {
    const out: unknown[] = new Array(object.length);
    seen.set(object, out);
    for (let i = 0; i < object.length; i++) out[i] = copyMember(object[i], seen, `[${i}]`);
    return out;
  }
  const tag = Object.prototype.toString.call(object);
  switch (tag) {
    case '[object Object]':
      break;
    case '[object Map]': {
      const out = new Map();
      seen.set(object, out);
      for (const [k, v] of object as Map<unknown, unknown>) {
        out.set(copyMember(k, seen, '<key>'), copyMember(v, seen, `.get(${String(k)})`));
      }
      return out;
    }
    case '[object Set]': {
      const out = new Set();
      seen.set(object, out);
      for (const v of object as Set<unknown>) out.add(copyMember(v, seen, '<element>'));
      return out;
    }
    case '[object Date]':
    case '[object RegExp]':
    case '[object ArrayBuffer]':
    case '[object DataView]':
    case '[object Boolean]':
    case '[object Number]':
    case '[object String]':
    case '[object BigInt]':
    case '[object Error]':
      return clone(object, seen);
    case '[object Promise]':
      throw new NotCopyable('a promise cannot be copied (await it first, or pass a future)');
    case '[object WeakMap]':
    case '[object WeakSet]':
    case '[object WeakRef]':
      throw new NotCopyable(`a ${tag.slice(8, -1)} cannot be copied`);
    default:
      if (ArrayBuffer.isView(object)) return clone(object, seen);
      break;
  }
  // Plain objects and class instances: own enumerable string keys, as structured clone does.
  const out: Record<string, unknown> = {};
  seen.set(object, out);
  for (const key of Object.keys(object)) {
    out[key] = copyMember((object as Record<string, unknown>)[key], seen, `.${key}`);
  }
  return out;
}

function copyMember(value: unknown, seen: Map<object, unknown>, step: string): unknown {
  if (isPrimitive(value)) return value;
  try {
    return copy(value, seen);
  } catch (error) {
    if (error instanceof NotCopyable) error.path.push(step);
    throw error;
  }
}

function clone(object: object, seen: Map<object, unknown>): unknown {
  try {
    const out = structuredClone(object);
    seen.set(object, out);
    return out;
  } catch (error) {
    throw new NotCopyable(error instanceof Error ? error.message : String(error));
  }
}
