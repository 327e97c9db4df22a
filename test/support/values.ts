/**
 * Structural comparison of a value that crossed a call with what `structuredClone` gives:
 * holes are not `undefined`, own keys are compared (an own `__proto__` included), and the
 * shape is compared too: an object met twice on one side must be met twice, as the same
 * object, on the other (cycles and shared parts). Active references and futures stand as
 * placeholder objects in the expected value (structured clone cannot take them): `tokens`
 * maps each placeholder to the reference or future it stands for.
 */
import { types } from 'node:util';
import { Future } from 'multiactive';

export interface CompareOptions {
  /** Placeholder (in `expected`) -> the reference or future it stands for. */
  readonly tokens: ReadonlyMap<object, object>;
  /**
   * Errors crossed a worker: they arrive as `RemoteError` with the original name, message
   * and cause (docs/nodes.md), so only those are compared.
   */
  readonly remoteErrors: boolean;
  /** Futures met, (actual, the future it stands for), to be awaited by the caller. */
  readonly futures?: [unknown, object][];
}

/** The first difference between `actual` and `expected`, as text; `undefined` if none. */
export function differenceFrom(
  actual: unknown,
  expected: unknown,
  options: CompareOptions,
): string | undefined {
  return new Comparison(options).diff(actual, expected, '');
}

class Comparison {
  private readonly pairs = new Map<object, unknown>();
  private readonly reverse = new Map<unknown, object>();
  constructor(private readonly options: CompareOptions) {}

  diff(a: unknown, e: unknown, at: string): string | undefined {
    if (e === null || (typeof e !== 'object' && typeof e !== 'function')) {
      return Object.is(a, e) ? undefined : `${at || 'root'}: ${show(a)} instead of ${show(e)}`;
    }
    if (a === null || (typeof a !== 'object' && typeof a !== 'function'))
      return `${at || 'root'}: ${show(a)} instead of an object`;
    const paired = this.pairs.get(e);
    if (paired !== undefined)
      return paired === a ? undefined : `${at}: not the object met before (shape differs)`;
    if (this.reverse.has(a))
      return `${at}: an object met before where a new one was expected (shape differs)`;
    this.pairs.set(e, a);
    this.reverse.set(a, e);
    const token = this.options.tokens.get(e);
    if (token !== undefined) {
      if (Future.isFuture(token)) {
        if (!Future.isFuture(a)) return `${at}: not a future`;
        this.options.futures?.push([a, token]);
        return undefined;
      }
      return a === token ? undefined : `${at}: not the same active reference`;
    }
    const tag = Object.prototype.toString.call(e);
    if (Object.prototype.toString.call(a) !== tag)
      return `${at}: ${Object.prototype.toString.call(a)} instead of ${tag}`;
    if (
      Object.getPrototypeOf(a) !== Object.getPrototypeOf(e) &&
      !(this.options.remoteErrors && types.isNativeError(e))
    )
      return `${at}: another prototype`;
    if (types.isNativeError(e)) return this.error(a as Error, e as Error, at);
    if (e instanceof Map) {
      const am = [...(a as Map<unknown, unknown>)];
      const em = [...e];
      if (am.length !== em.length) return `${at}: Map of ${am.length} instead of ${em.length}`;
      for (let i = 0; i < em.length; i++) {
        const d =
          this.diff(am[i]![0], em[i]![0], `${at}<key ${i}>`) ??
          this.diff(am[i]![1], em[i]![1], `${at}.get(${i})`);
        if (d !== undefined) return d;
      }
      return undefined;
    }
    if (e instanceof Set) {
      const as = [...(a as Set<unknown>)];
      const es = [...e];
      if (as.length !== es.length) return `${at}: Set of ${as.length} instead of ${es.length}`;
      for (let i = 0; i < es.length; i++) {
        const d = this.diff(as[i], es[i], `${at}<element ${i}>`);
        if (d !== undefined) return d;
      }
      return undefined;
    }
    if (e instanceof Date)
      return Object.is((a as Date).getTime(), e.getTime()) ? undefined : `${at}: another date`;
    if (types.isRegExp(e)) {
      const r = a as RegExp;
      return r.source === e.source && r.flags === e.flags && r.lastIndex === e.lastIndex
        ? undefined
        : `${at}: another RegExp`;
    }
    if (types.isBoxedPrimitive(e))
      return Object.is(a.valueOf(), e.valueOf()) ? undefined : `${at}: another boxed value`;
    if (types.isAnyArrayBuffer(e)) {
      const x = new Uint8Array(a as ArrayBuffer);
      const y = new Uint8Array(e);
      return x.length === y.length && x.every((b, i) => b === y[i]) ? undefined : `${at}: other bytes`;
    }
    if (ArrayBuffer.isView(e)) {
      const v = a as ArrayBufferView;
      if (v.byteOffset !== e.byteOffset || v.byteLength !== e.byteLength) return `${at}: another view`;
      return this.diff(v.buffer, e.buffer, `${at}.buffer`);
    }
    // Arrays (length, holes, named properties) and plain objects (own keys, `__proto__` too).
    if (Array.isArray(e) && (a as unknown[]).length !== e.length)
      return `${at}: length ${(a as unknown[]).length} instead of ${e.length}`;
    const ak = Reflect.ownKeys(a).filter((k) => k !== 'length');
    const ek = Reflect.ownKeys(e).filter((k) => k !== 'length');
    if (ak.length !== ek.length || ek.some((k, i) => k !== ak[i]))
      return `${at}: own keys ${ak.map(String).join(',')} instead of ${ek.map(String).join(',')}`;
    for (const k of ek) {
      const d = this.diff(
        (a as Record<string | symbol, unknown>)[k],
        (e as Record<string | symbol, unknown>)[k],
        `${at}${Array.isArray(e) ? `[${String(k)}]` : `.${String(k)}`}`,
      );
      if (d !== undefined) return d;
    }
    return undefined;
  }

  private error(a: Error, e: Error, at: string): string | undefined {
    if (a.name !== e.name) return `${at}: error ${a.name} instead of ${e.name}`;
    if (a.message !== e.message) return `${at}: message ${show(a.message)} instead of ${show(e.message)}`;
    if (!this.options.remoteErrors) {
      if (a.stack !== e.stack) return `${at}: another stack`;
      const keys = (x: Error) => Object.getOwnPropertyNames(x).sort().join(',');
      if (keys(a) !== keys(e)) return `${at}: error own keys ${keys(a)} instead of ${keys(e)}`;
    }
    if (Object.hasOwn(e, 'cause') !== Object.hasOwn(a, 'cause')) return `${at}: cause differs`;
    return Object.hasOwn(e, 'cause') ? this.diff(a.cause, e.cause, `${at}.cause`) : undefined;
  }
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  return typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : String(v);
}
