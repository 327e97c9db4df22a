/**
 * The one walk over values that cross a call (docs/semantics.md): structured clone's rules, written
 * once, for the three places that copy values:
 *
 * - the in-thread copy of arguments and results (src/copy.ts): a `Transform` that clones;
 * - the wire codec (src/node/codec.ts): `prepare`, a `Rewrite` that replaces references,
 *   futures and errors by records before `postMessage`, copying only the containers on the
 *   way to them (a value with none is sent as it is), and a `Revive` that puts them back
 *   on the receiving side;
 * - checkpoints (src/checkpoint/state.ts): the same, before `v8.serialize` and after
 *   `v8.deserialize`, for references.
 *
 * The rules are structured clone's as V8 implements it on Node 20 (`ValueSerializer`):
 * - primitives are themselves; symbols, functions, Proxies, promises, weak collections and
 *   other objects structured clone refuses throw a `PathError` (what, and where);
 * - active references and futures are found by their brands (src/symbols.ts) and passed by
 *   reference (in-thread) or replaced by records (wire, checkpoints);
 * - arrays keep their length and their holes; plain objects and class instances become
 *   plain objects of their own enumerable string keys (an own `__proto__` key included);
 *   Map, Set, Date, RegExp, boxed primitives, ArrayBuffer, typed arrays and DataView are
 *   rebuilt as themselves (views over one buffer share its copy); a SharedArrayBuffer is
 *   shared; an error keeps its standard class (by `name`), `message`, `stack` and `cause`;
 *   platform objects (Blob, BlockList, ...) are left to `structuredClone`;
 * - identity: an object met twice within one value (a cycle, a shared part) is copied
 *   once, and its copy is met twice.
 *
 * Cost: O(objects + elements + keys) of the value. Arrays are read by index (one `in` test
 * per `undefined` read, to tell a hole); an array found mostly holes switches to its own
 * keys (`Object.keys`), so a sparse array costs its elements, not its length. Identity costs
 * nothing for a value with one container (a field), a linear search for a few, a Map from
 * the ninth on. Paths are built only when a walk fails. For a serializer (wire,
 * checkpoints) a value is walked once and copied only along the paths to what is replaced;
 * one that holds a cycle and something to replace is copied whole. The walks' instances are
 * reused (see `Transform.take`).
 *
 * Not done, for cost: a copy made by a walk does not look for an array's own non-index
 * properties (a RegExp match's `index`), so it drops them; finding them takes `Object.keys`
 * of every array, ~15 ns per element, about six times the copy of an array of numbers. An
 * array a serializer takes as it is (the wire, checkpoints: a value with no reference on
 * the way to it) keeps them. And where V8's structuredClone throws on an error whose `cause`
 * leads back to the error ("Unable to deserialize"), the copy keeps the cycle.
 */
import { types } from 'node:util';
import { serialize } from 'node:v8';
import { ACTIVE_OBJECT, FUTURE_CORE } from '../symbols.js';

// ------------------------------------------------------------------ failures and paths

/** Path step kinds (the step's key is pushed beside its kind). */
const INDEX = 0;
const KEY = 1;
const MAP_KEY = 2;
const MAP_VALUE = 3;
const ELEMENT = 4;
const CAUSE = 5;

/**
 * A value structured clone refuses: `what` it is (`a function (onDone)`), with `advice`, and
 * where (the steps from the root, pushed innermost first as the walk unwinds).
 */
export class PathError extends Error {
  readonly what: string;
  readonly advice: string;
  private readonly steps: unknown[] = [];
  constructor(what: string, advice = '', options?: { cause?: unknown }) {
    super(`${what} cannot be copied${advice}`, options);
    this.what = what;
    this.advice = advice;
  }
  /** Record one step on the way out (called by the walks only). */
  step(kind: number, key: unknown): void {
    this.steps.push(kind, key);
  }
  /** Where, from the root: ``.options.onDone``, `[3]`, `.get(k)`; empty at the root. */
  get path(): string {
    let path = '';
    for (let i = this.steps.length - 2; i >= 0; i -= 2)
      path += stepText(this.steps[i] as number, this.steps[i + 1]);
    return path;
  }
}

function stepText(kind: number, key: unknown): string {
  switch (kind) {
    case INDEX:
      return `[${String(key)}]`;
    case KEY:
      return `.${String(key)}`;
    case MAP_KEY:
      return '<key>';
    case MAP_VALUE:
      // An object key is named by its kind: its text may be huge (or fail, a boxed Symbol).
      return `.get(${key !== null && (typeof key === 'object' || typeof key === 'function') ? `<${Object.prototype.toString.call(key).slice(8, -1)}>` : String(key)})`;
    case ELEMENT:
      return '<element>';
    default:
      return '.cause';
  }
}

// ------------------------------------------------------------------ kinds

/** What the walks need to know of an object; see `kindOf`. */
const REFERENCE = 1;
const FUTURE = 2;
const ARRAY = 3;
const OBJECT = 4;
const MAP = 5;
const SET = 6;
const ERROR = 7;
const DATE = 8;
/** RegExp, boxed Boolean/Number/String/BigInt: leaves structured clone rebuilds. */
const CLONED = 9;
const BUFFER = 10;
const SHARED_BUFFER = 11;
const VIEW = 12;
/** Anything else: structured clone decides (a platform object such as a Blob, or a refusal). */
const HOST = 13;

type Branded = Record<symbol, unknown>;

/**
 * The kind of a non-null object or function; throws a `PathError` for what is refused at
 * sight (functions, Proxies). References and futures are tested first (their brands), then
 * the common shapes; the tag (`Object.prototype.toString`) only for the rest, confirmed by
 * `util.types` so that a forged `Symbol.toStringTag` cannot pass for a Map.
 * Time: O(1); a plain object costs two brand reads, `isProxy`, `isArray` and its prototype.
 */
function kindOf(o: object): number {
  // Remote stubs and pipelined futures are Proxies: the brands come before `isProxy`.
  try {
    if ((o as Branded)[ACTIVE_OBJECT] !== undefined) return REFERENCE;
    if ((o as Branded)[FUTURE_CORE] !== undefined) return FUTURE;
  } catch (error) {
    if (types.isProxy(o)) throw new PathError('a Proxy', ' (revoked)', { cause: error });
    throw error;
  }
  if (typeof o === 'function') throw new PathError(`a function (${o.name || 'anonymous'})`);
  // A Proxy reads like its target (isArray, prototype, keys): structured clone refuses it.
  if (types.isProxy(o)) throw new PathError('a Proxy');
  if (Array.isArray(o)) return ARRAY;
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto === Object.prototype) return OBJECT;
  switch (Object.prototype.toString.call(o)) {
    case '[object Object]':
      return proto !== null && platformClass(proto as object) ? HOST : OBJECT;
    case '[object Map]':
      return types.isMap(o) ? MAP : HOST;
    case '[object Set]':
      return types.isSet(o) ? SET : HOST;
    case '[object Error]':
      return types.isNativeError(o) ? ERROR : HOST;
    case '[object Date]':
      return types.isDate(o) ? DATE : HOST;
    case '[object ArrayBuffer]':
      return types.isArrayBuffer(o) ? BUFFER : HOST;
    case '[object SharedArrayBuffer]':
      return types.isSharedArrayBuffer(o) ? SHARED_BUFFER : HOST;
    case '[object RegExp]':
    case '[object Boolean]':
    case '[object Number]':
    case '[object String]':
    case '[object BigInt]':
      return types.isRegExp(o) || types.isBoxedPrimitive(o) ? CLONED : HOST;
    default:
      return ArrayBuffer.isView(o) ? VIEW : HOST;
  }
}

/**
 * Whether `o` is an active reference or a future (read by their brands): a caller that
 * knows one must be replaced needs no walk. False for a revoked Proxy (`kindOf` refuses it).
 */
export function isReference(o: object): boolean {
  try {
    return (o as Branded)[ACTIVE_OBJECT] !== undefined || (o as Branded)[FUTURE_CORE] !== undefined;
  } catch {
    return false;
  }
}

/**
 * Node's cloneable platform classes (BlockList, SocketAddress, histograms; Blob has a tag of
 * its own) carry `messaging_clone_symbol` on a prototype: structured clone copies them as
 * themselves, not as plain objects. Cached per prototype. Time: O(prototype chain), once.
 */
const platformClasses = new WeakMap<object, boolean>();
function platformClass(proto: object): boolean {
  let known = platformClasses.get(proto);
  if (known === undefined) {
    known = false;
    for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
      if (Object.getOwnPropertySymbols(p).some((s) => s.description === 'messaging_clone_symbol')) {
        known = true;
        break;
      }
    }
    platformClasses.set(proto, known);
  }
  return known;
}

/** What a refused object is, for messages: `a Promise`, `a MessagePort`. */
function named(o: object): string {
  if (types.isProxy(o)) return 'a Proxy';
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  const name = tag === 'Object' || tag === 'EventTarget' ? String(o.constructor?.name ?? tag) : tag;
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** Advice for what users most often pass by mistake. */
function adviceFor(o: object): string {
  return types.isPromise(o) ? ' (await it first, or pass a future)' : '';
}

/** The `PathError` for an object a serializer refused with `error`. */
export function refusal(o: object, error: unknown): PathError {
  return new PathError(named(o), `${adviceFor(o)} (${(error as Error).message})`, { cause: error });
}

/** `structuredClone(o)`, or the `PathError` that says why not. */
export function cloneHost(o: object): unknown {
  try {
    return structuredClone(o);
  } catch (error) {
    throw refusal(o, error);
  }
}

// ------------------------------------------------------------------ arrays

/**
 * Holes an indexed loop may read before a sparse array switches to its own keys: the loop
 * stops at more than this many holes and eight per element read so far, so it costs at most
 * HOLE_BUDGET + 9 reads per element. (An array of length 2^32 - 1 with one element: the
 * loop reads ~1k holes, `Object.keys` then lists the one index left.)
 */
const HOLE_BUDGET = 1024;
/** Arrays up to this length are copied by `slice` (bounded, even when sparse: ~0.1 ms). */
const SLICE_LIMIT = 1 << 16;
const tooSparse = (holes: number, index: number): boolean =>
  holes > HOLE_BUDGET && holes > 8 * (index - holes);

/** An array index as a number (a canonical numeric string below 2^32 - 1), else -1. */
function indexOfKey(key: string): number {
  const n = Number(key);
  return n >>> 0 === n && n !== 4294967295 && String(n) === key ? n : -1;
}

/** The indices of `a`'s elements from `from` on, ascending. Time: O(own keys of `a`). */
function indicesFrom(a: readonly unknown[], from: number): number[] {
  const out: number[] = [];
  for (const key of Object.keys(a)) {
    const index = indexOfKey(key);
    if (index >= from) out.push(index);
  }
  return out;
}

/** Define an own data property the way `[[Set]]` would, also for `__proto__`. */
function defineOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

// ------------------------------------------------------------------ identity

/**
 * Objects a walk searches linearly before it allocates a Map: for a few, comparing each is
 * cheaper than allocating and hashing (a 4-container value: ~10% less per copy).
 */
const FEW = 8;

/**
 * The objects one walk has met, and what stands for each (its copy, its replacement): the
 * first in two fields (most values have one container: nothing allocated), the next few as
 * flat pairs searched linearly, then a Map. Owned by a pooled walk and cleared after it.
 */
export class Identity {
  private one: object | undefined = undefined;
  private oneValue: unknown = undefined;
  private few: unknown[] | undefined = undefined;
  private map: Map<object, unknown> | undefined = undefined;

  /** What stands for `o`, or `undefined` if it was not met. */
  get(o: object): unknown {
    if (o === this.one) return this.oneValue;
    const few = this.few;
    if (few !== undefined) {
      for (let i = 0; i < few.length; i += 2) if (few[i] === o) return few[i + 1];
      return undefined;
    }
    return this.map?.get(o);
  }

  /** `value` (never `undefined`) stands for `o` from now on. */
  set(o: object, value: unknown): void {
    if (this.one === undefined) {
      this.one = o;
      this.oneValue = value;
    } else if (this.map !== undefined) {
      this.map.set(o, value);
    } else if (this.few === undefined) {
      this.few = [o, value];
    } else if (this.few.length < 2 * FEW) {
      this.few.push(o, value);
    } else {
      const map = (this.map = new Map<object, unknown>());
      for (let i = 0; i < this.few.length; i += 2) map.set(this.few[i] as object, this.few[i + 1]);
      map.set(o, value);
      this.few = undefined;
    }
  }

  /** `value` stands for `o` (met already) instead of what did. */
  replace(o: object, value: unknown): void {
    if (o === this.one) {
      this.oneValue = value;
      return;
    }
    const few = this.few;
    if (few !== undefined) {
      for (let i = 0; i < few.length; i += 2) {
        if (few[i] === o) {
          few[i + 1] = value;
          return;
        }
      }
    }
    this.map?.set(o, value);
  }

  /** Forget everything (nothing met is kept alive). */
  clear(): void {
    this.one = undefined;
    this.oneValue = undefined;
    this.few = undefined;
    this.map = undefined;
  }
}

// ------------------------------------------------------------------ transform

/** What hooks may ask of the walk that calls them (a `Transform` or a `Rewrite`). */
export interface Walker {
  /** `stand` stands for `o` from now on (a hook making a record calls it before walking into `o`). */
  remember(o: object, stand: unknown): void;
  /** A member of an error (`cause`, a field), walked; its path step is `.key`. */
  errorMember(v: unknown, key: string): unknown;
  /**
   * An error by these rules: structured clone's copy (`Transform`), or for a serializer the
   * error itself unless its cause changed (`Rewrite`).
   */
  standardError(e: Error): unknown;
}

/** What the walks make of what is not plain data; one per use. */
export interface TransformHooks {
  /** An active reference (`target` is its ACTIVE_OBJECT): itself in-thread, a record elsewhere. */
  reference(value: object, target: object): unknown;
  /** A future (`core` is its FUTURE_CORE); throws a `PathError` where futures are refused. */
  future(value: object, core: object): unknown;
  /** An error: `w.standardError(e)`, or a record. */
  error(error: Error, w: Walker): unknown;
  /**
   * The output goes to a serializer next (postMessage, v8.serialize): leaves (dates, buffers,
   * platform objects) are left to it, as they are. Otherwise (in-thread) they are cloned here.
   */
  readonly serialized: boolean;
  /** With `serialized`: throws a `PathError` if that serializer refuses the platform object. */
  checkHost(value: object): void;
  /** With `serialized`: long hole-free arrays that V8 stores as holey are copied packed (see `storedHoley`). */
  readonly packArrays?: boolean;
}

/** The instance the next `Transform.take` returns (see there). */
let spareTransform: Transform | undefined;

/**
 * A copy of a value by the rules above, with `hooks` deciding references, futures, errors
 * and leaves. One walk per copied value (or per argument list: identity is kept across its
 * arguments, as one `postMessage` of them would). Not reentrant: a getter that copies
 * another value while this one is copied takes another instance.
 */
export class Transform implements Walker {
  private hooks: TransformHooks;
  /** The objects met, and their copies. */
  private readonly seen = new Identity();

  constructor(hooks: TransformHooks) {
    this.hooks = hooks;
  }

  /**
   * A walk with `hooks`: the spare instance (walks seldom nest), else a new one; `release()`
   * gives it back. Reused rather than made per copy: besides the allocation, when no
   * instance is alive a full GC drops the instances' map, and the optimized copy code that
   * embeds it is thrown away (measured: deoptimized after every GC of a benchmark that
   * collects between rounds; an in-thread call with a small object took about twice as long).
   */
  static take(hooks: TransformHooks): Transform {
    const t = spareTransform;
    if (t === undefined) return new Transform(hooks);
    spareTransform = undefined;
    t.hooks = hooks;
    return t;
  }

  /** Done: forget what was met (the value is not kept alive) and become the spare. */
  release(): void {
    this.seen.clear();
    spareTransform = this;
  }

  /** The copy of any value. */
  value(v: unknown): unknown {
    if (typeof v === 'symbol') throw new PathError('a symbol');
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v;
    return this.object(v);
  }

  /** The copy of a member; on failure, the step is added to the path. */
  member(v: unknown, kind: number, key: unknown): unknown {
    try {
      return this.value(v);
    } catch (error) {
      if (error instanceof PathError) error.step(kind, key);
      throw error;
    }
  }

  /** `copy` stands for `o` from now on (hooks that make a record call it before walking into `o`). */
  remember(o: object, copy: unknown): void {
    this.seen.set(o, copy);
  }

  private object(o: object): unknown {
    const known = this.seen.get(o);
    if (known !== undefined) return known;
    const kind = kindOf(o);
    switch (kind) {
      case ARRAY:
        return this.array(o as unknown[]);
      case OBJECT:
        return this.plain(o as Record<string, unknown>);
      // Not remembered: a reference is its own identity (the wire's encoder keeps one record each).
      case REFERENCE:
        return this.hooks.reference(o, (o as Branded)[ACTIVE_OBJECT] as object);
      case FUTURE:
        return this.hooks.future(o, (o as Branded)[FUTURE_CORE] as object);
      case MAP: {
        const out = new Map();
        this.remember(o, out);
        for (const [k, v] of o as Map<unknown, unknown>)
          out.set(this.member(k, MAP_KEY, k), this.member(v, MAP_VALUE, k));
        return out;
      }
      case SET: {
        const out = new Set();
        this.remember(o, out);
        for (const v of o as Set<unknown>) out.add(this.member(v, ELEMENT, undefined));
        return out;
      }
      case ERROR:
        return this.hooks.error(o as Error, this);
      default:
        return this.leaf(o, kind);
    }
  }

  /**
   * The copy of an array, packed when `a` is: a holey array costs more to read, and
   * structured clone writes it key by key (2.5x the time of a packed one, measured on
   * 100k numbers). A short array is `slice`d (its elements and holes at memory-copy speed)
   * and what is not a primitive is replaced; a long one (or a subclass', whose `slice`
   * would make another subclass instance) is built element by element, so that a sparse
   * one costs its elements (`slice` of an array of length 2^32 - 1 takes minutes).
   */
  private array(a: unknown[]): unknown[] {
    const length = a.length;
    let out: unknown[];
    if (length <= SLICE_LIMIT && Object.getPrototypeOf(a) === Array.prototype) {
      out = a.slice();
      this.remember(a, out);
      for (let i = 0; i < length; i++) {
        const v = a[i];
        if (v !== null && (typeof v === 'object' || typeof v === 'function' || typeof v === 'symbol'))
          out[i] = this.member(v, INDEX, i);
      }
    } else {
      out = [];
      this.remember(a, out);
      let holes = 0;
      for (let i = 0; i < length; i++) {
        const v = a[i];
        if (v === undefined && !(i in a)) {
          if (++holes > HOLE_BUDGET && tooSparse(holes, i)) {
            for (const index of indicesFrom(a, i)) out[index] = this.member(a[index], INDEX, index);
            break;
          }
        } else if (
          v === null ||
          (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol')
        ) {
          out[i] = v;
        } else {
          out[i] = this.member(v, INDEX, i);
        }
      }
      out.length = length; // trailing holes
    }
    return out;
  }

  private plain(o: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.remember(o, out);
    const keys = Object.keys(o);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const v = o[key];
      const copy =
        v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol')
          ? v
          : this.member(v, KEY, key);
      if (key === '__proto__') defineOwn(out, key, copy);
      else out[key] = copy;
    }
    return out;
  }

  /**
   * An error as structured clone copies it (V8's `WriteJSError`): the standard class its
   * `name` names (else Error), its own `message`, its `stack` (a string, else none) and its
   * own `cause` (copied by these rules); other fields are dropped. Time: O(cause) plus one
   * stack capture (the new error's, replaced).
   */
  standardError(e: Error): Error {
    const out = errorLike(e);
    this.remember(e, out);
    const cause = Object.getOwnPropertyDescriptor(e, 'cause');
    if (cause !== undefined && 'value' in cause)
      hidden(out, 'cause', this.member(cause.value, CAUSE, undefined));
    return out;
  }

  /** Cause, and the error's own fields, for hooks that make records (the wire). */
  errorMember(v: unknown, key: string): unknown {
    return this.member(v, key === 'cause' ? CAUSE : KEY, key);
  }

  private leaf(o: object, kind: number): unknown {
    const hooks = this.hooks;
    if (hooks.serialized) {
      if (kind === HOST) hooks.checkHost(o);
      this.remember(o, o);
      return o;
    }
    let out: unknown;
    switch (kind) {
      case DATE:
        out = new Date((o as Date).getTime());
        break;
      case BUFFER:
        out =
          (o as ArrayBuffer & { resizable?: boolean }).resizable === true
            ? structuredClone(o)
            : (o as ArrayBuffer).slice(0);
        break;
      case VIEW:
        out = this.view(o as ArrayBufferView);
        break;
      default:
        // RegExp, boxed primitives, a SharedArrayBuffer (shared, as postMessage shares it),
        // platform objects: structured clone itself, or its refusal.
        out = cloneHost(o);
    }
    this.remember(o, out);
    return out;
  }

  /** A typed array or DataView over the copy of its buffer (one copy per buffer). */
  private view(view: ArrayBufferView): unknown {
    const buffer = view.buffer as ArrayBuffer & { resizable?: boolean };
    // Views that track a resizable buffer's length: structured clone knows how.
    if (buffer.resizable === true) return cloneHost(view);
    const copy = this.value(buffer) as ArrayBuffer;
    if (view instanceof DataView) return new DataView(copy, view.byteOffset, view.byteLength);
    const Class = view.constructor as new (b: ArrayBuffer, offset: number, length: number) => unknown;
    const Typed = TYPED_ARRAYS[Object.prototype.toString.call(view)] ?? Class;
    return new Typed(copy, view.byteOffset, (view as unknown as { length: number }).length);
  }
}

const ERROR_CLASSES: Record<string, ErrorConstructor | undefined> = {
  __proto__: null,
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
} as unknown as Record<string, ErrorConstructor | undefined>;

/** By tag: a `Buffer` (a Uint8Array subclass) arrives as a Uint8Array, as structured clone does. */
const TYPED_ARRAYS: Record<
  string,
  (new (b: ArrayBuffer, offset: number, length: number) => unknown) | undefined
> = {
  __proto__: null,
  '[object Int8Array]': Int8Array,
  '[object Uint8Array]': Uint8Array,
  '[object Uint8ClampedArray]': Uint8ClampedArray,
  '[object Int16Array]': Int16Array,
  '[object Uint16Array]': Uint16Array,
  '[object Int32Array]': Int32Array,
  '[object Uint32Array]': Uint32Array,
  '[object Float32Array]': Float32Array,
  '[object Float64Array]': Float64Array,
  '[object BigInt64Array]': BigInt64Array,
  '[object BigUint64Array]': BigUint64Array,
} as unknown as Record<string, (new (b: ArrayBuffer, offset: number, length: number) => unknown) | undefined>;

/**
 * A new error as V8's `WriteJSError` describes `e`: the standard class its `name` names
 * (else Error), its own `message`, its `stack` (a string, else none); no cause yet.
 */
function errorLike(e: Error): Error {
  const Class = ERROR_CLASSES[String(e.name)] ?? Error;
  const out = new Class();
  const message = Object.getOwnPropertyDescriptor(e, 'message');
  if (message !== undefined && 'value' in message) hidden(out, 'message', String(message.value));
  const stack = e.stack;
  hidden(out, 'stack', typeof stack === 'string' ? stack : undefined);
  return out;
}

function hidden(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: false, configurable: true });
}

// ------------------------------------------------------------------ rewrite

/** Stands, in a `Rewrite`'s identity, for a container it is walking (its outcome not known yet). */
const PENDING: unique symbol = Symbol('multiactive.pending');

const isPrimitive = (v: unknown): boolean =>
  v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');

let spareRewrite: Rewrite | undefined;

/**
 * A value made ready for a serializer (`hooks.serialized`: postMessage, v8.serialize) in
 * one walk: references and futures (and, per hooks, errors) are replaced, and only the
 * containers on the way to them are copied; a value with nothing to replace is returned as
 * it is (the common case: one walk, nothing allocated). What the serializer would refuse
 * throws a `PathError` on the way.
 *
 * A container's copy is decided when its walk ends, so an edge back to a container being
 * walked (a cycle) is left pointing at the original: right if nothing changes (the value
 * goes as it is, cycles and all), wrong otherwise, so `prepare` then copies the value whole
 * with a `Transform` instead (`cyclic`). Not reentrant; pooled as `Transform` is.
 */
class Rewrite implements Walker {
  private hooks: TransformHooks;
  private readonly seen = new Identity();
  /** An edge back to a container being walked was met. */
  cyclic = false;

  constructor(hooks: TransformHooks) {
    this.hooks = hooks;
  }

  static take(hooks: TransformHooks): Rewrite {
    const r = spareRewrite;
    if (r === undefined) return new Rewrite(hooks);
    spareRewrite = undefined;
    r.hooks = hooks;
    return r;
  }

  release(): void {
    this.seen.clear();
    this.cyclic = false;
    spareRewrite = this;
  }

  value(v: unknown): unknown {
    if (typeof v === 'symbol') throw new PathError('a symbol');
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v;
    const known = this.seen.get(v);
    if (known === undefined) return this.object(v);
    if (known !== PENDING) return known;
    this.cyclic = true;
    return v;
  }

  private member(v: unknown, kind: number, key: unknown): unknown {
    try {
      return this.value(v);
    } catch (error) {
      if (error instanceof PathError) error.step(kind, key);
      throw error;
    }
  }

  remember(o: object, stand: unknown): void {
    this.seen.set(o, stand);
  }

  errorMember(v: unknown, key: string): unknown {
    return this.member(v, key === 'cause' ? CAUSE : KEY, key);
  }

  /** The error itself (its serializer copies it), or a copy if its cause changed. */
  standardError(e: Error): unknown {
    this.seen.set(e, PENDING);
    let out: unknown = e;
    const cause = Object.getOwnPropertyDescriptor(e, 'cause');
    if (cause !== undefined && 'value' in cause) {
      const now = this.member(cause.value, CAUSE, undefined);
      if (now !== cause.value) {
        out = errorLike(e);
        hidden(out as Error, 'cause', now);
      }
    }
    this.seen.replace(e, out);
    return out;
  }

  private object(o: object): unknown {
    const kind = kindOf(o);
    switch (kind) {
      case ARRAY:
        return this.array(o as unknown[]);
      case OBJECT:
        return this.plain(o as Record<string, unknown>);
      case REFERENCE:
        return this.hooks.reference(o, (o as Branded)[ACTIVE_OBJECT] as object);
      case FUTURE:
        return this.hooks.future(o, (o as Branded)[FUTURE_CORE] as object);
      case MAP:
        return this.map(o as Map<unknown, unknown>);
      case SET:
        return this.set(o as Set<unknown>);
      case ERROR:
        return this.hooks.error(o as Error, this);
      default:
        // Leaves: the serializer copies them.
        if (kind === HOST) this.hooks.checkHost(o);
        this.seen.set(o, o);
        return o;
    }
  }

  /** Holes and length are kept; see `Transform.array` for the sparse switch. */
  private array(a: unknown[]): unknown[] {
    this.seen.set(a, PENDING);
    const length = a.length;
    const short = length <= SLICE_LIMIT && Object.getPrototypeOf(a) === Array.prototype;
    let out: unknown[] | undefined;
    let holes = 0;
    for (let i = 0; i < length; i++) {
      const v = a[i];
      if (v === undefined && !(i in a)) {
        if (++holes > HOLE_BUDGET && tooSparse(holes, i)) {
          out = this.sparseTail(a, i, out);
          break;
        }
        continue;
      }
      if (out !== undefined && !short) {
        out[i] = isPrimitive(v) ? v : this.member(v, INDEX, i);
        continue;
      }
      if (isPrimitive(v)) continue;
      const now = this.member(v, INDEX, i);
      if (now === v) continue;
      // A short array is sliced (elements and holes copied at once; changed ones set after),
      // a long one is built from here on (a slice would cost its length if sparse).
      out ??= short ? a.slice() : prefixOf(a, i);
      out[i] = now;
    }
    let result = a;
    if (out !== undefined) {
      out.length = length;
      result = out;
    }
    if (holes === 0 && length >= PACK_MIN && this.hooks.packArrays === true && storedHoley(result)) {
      const packed: unknown[] = [];
      for (let i = 0; i < length; i++) packed.push(result[i]);
      result = packed;
    }
    this.seen.replace(a, result);
    return result;
  }

  /** The elements of a sparse `a` from `from` on, by its own keys. */
  private sparseTail(a: unknown[], from: number, out: unknown[] | undefined): unknown[] | undefined {
    const indices = indicesFrom(a, from);
    for (let p = 0; p < indices.length; p++) {
      const index = indices[p]!;
      const v = a[index];
      const now = isPrimitive(v) ? v : this.member(v, INDEX, index);
      if (out !== undefined) out[index] = now;
      else if (now !== v) {
        out = prefixOf(a, from);
        for (let q = 0; q < p; q++) out[indices[q]!] = a[indices[q]!];
        out[index] = now;
      }
    }
    return out;
  }

  /**
   * Copied at the first change by a spread (its own enumerable keys, `__proto__` included;
   * symbol keys too, which the serializer drops), then only the changed members are set.
   */
  private plain(o: Record<string, unknown>): Record<string, unknown> {
    this.seen.set(o, PENDING);
    const keys = Object.keys(o);
    let out: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const v = o[key];
      if (isPrimitive(v)) continue;
      const now = this.member(v, KEY, key);
      if (now === v) continue;
      out ??= { ...o };
      if (key === '__proto__') defineOwn(out, key, now);
      else out[key] = now;
    }
    const result = out ?? o;
    this.seen.replace(o, result);
    return result;
  }

  private map(m: Map<unknown, unknown>): Map<unknown, unknown> {
    this.seen.set(m, PENDING);
    let out: Map<unknown, unknown> | undefined;
    let same = 0;
    for (const [k, v] of m) {
      const nk = this.member(k, MAP_KEY, k);
      const nv = this.member(v, MAP_VALUE, k);
      if (out !== undefined) out.set(nk, nv);
      else if (nk !== k || nv !== v) {
        out = new Map();
        let j = 0;
        for (const [k0, v0] of m) {
          if (j++ === same) break;
          out.set(k0, v0);
        }
        out.set(nk, nv);
      } else same++;
    }
    const result = out ?? m;
    this.seen.replace(m, result);
    return result;
  }

  private set(s: Set<unknown>): Set<unknown> {
    this.seen.set(s, PENDING);
    let out: Set<unknown> | undefined;
    let same = 0;
    for (const v of s) {
      const now = this.member(v, ELEMENT, undefined);
      if (out !== undefined) out.add(now);
      else if (now !== v) {
        out = new Set();
        let j = 0;
        for (const v0 of s) {
          if (j++ === same) break;
          out.add(v0);
        }
        out.add(now);
      } else same++;
    }
    const result = out ?? s;
    this.seen.replace(s, result);
    return result;
  }
}

/**
 * Arrays this long or longer are checked by `storedHoley` (its cost, ~1 us, is that of
 * serializing ~40 elements key by key).
 */
const PACK_MIN = 256;

/**
 * Whether V8 stores `a` as holey although it has no hole (it was made by `new Array(n)`
 * and filled, or by `length = n`): v8.serialize then writes it key by key, about 5x the
 * time of a packed array (12.5k numbers: 0.39 ms against 0.014 ms packed, plus 0.056 ms to
 * copy it packed). A one-element slice keeps the elements kind, and the serializer's tag
 * for it says which: 'A' (0x41) dense, 'a' (0x61) sparse (V8's value-serializer.cc). An
 * unexpected format only makes this false (no copy).
 */
function storedHoley(a: unknown[]): boolean {
  return serialize(a.slice(0, 1))[2] === 0x61;
}

/** `a`'s elements before `end`, holes kept, in a new array. Time: O(end). */
function prefixOf(a: unknown[], end: number): unknown[] {
  const out: unknown[] = [];
  for (let j = 0; j < end; j++) {
    const v = a[j];
    if (v !== undefined || j in a) out[j] = v;
  }
  return out;
}

/** `prepare` of one value: itself, or its rewritten copy. Throws the walk's error as it is. */
export function prepareOne(value: unknown, hooks: TransformHooks): unknown {
  if (isPrimitive(value)) return value;
  const r = Rewrite.take(hooks);
  try {
    const out = r.value(value);
    if (out === value || !r.cyclic) return out;
  } finally {
    r.release();
  }
  const t = Transform.take(hooks);
  try {
    return t.value(value);
  } finally {
    t.release();
  }
}

/** Thrown by `prepare`: member `index` failed with `error` (a `PathError`, or what a hook threw). */
export class MemberFailed {
  readonly error: unknown;
  readonly index: number;
  constructor(error: unknown, index: number) {
    this.error = error;
    this.index = index;
  }
}

/**
 * `values` (e.g. a call's arguments) ready for a serializer, per `hooks` (`serialized`):
 * `values` itself when nothing was replaced, else a new list (packed) with the changed
 * members. One walk for all, so identity holds across them. A `Rewrite` first; if it changed
 * something and met a cycle, a `Transform` copies them whole (the hooks are then asked
 * again for what the Rewrite met: they must answer the same). Throws `MemberFailed`.
 */
export function prepare(values: readonly unknown[], hooks: TransformHooks): readonly unknown[] {
  let out: unknown[] | undefined;
  let i = 0;
  const r = Rewrite.take(hooks);
  try {
    for (; i < values.length; i++) {
      const v = values[i];
      const now = isPrimitive(v) ? v : r.value(v);
      if (out !== undefined) out.push(now);
      else if (now !== v) {
        out = values.slice(0, i);
        out.push(now);
      }
    }
    if (out === undefined || !r.cyclic) return out ?? values;
  } catch (error) {
    throw new MemberFailed(error, i);
  } finally {
    r.release();
  }
  const t = Transform.take(hooks);
  out = [];
  try {
    for (i = 0; i < values.length; i++) out.push(t.value(values[i]));
    return out;
  } catch (error) {
    throw new MemberFailed(error, i);
  } finally {
    t.release();
  }
}

// ------------------------------------------------------------------ revive

/** Returned by a revive hook for an object that is not one of its records. */
export const NOT_RECORD: unique symbol = Symbol('multiactive.notRecord');

/** What a `Revive` replaces; one per use. */
export interface ReviveHooks {
  /** What stands for plain object `o` if it is a record, else `NOT_RECORD`. */
  record(o: Record<string, unknown>, r: Revive): unknown;
}

let spareRevive: Revive | undefined;

/**
 * Puts references and futures back into a value a serializer just made (it is fresh and
 * ours: changed in place): every plain object `hooks.record` recognizes is replaced by what
 * it returns; arrays, plain objects, Maps, Sets and errors' causes are walked, each once (a
 * cycle is followed once, a shared part replaced once). Time: O(objects + elements + keys).
 */
export class Revive {
  private hooks: ReviveHooks;
  private readonly seen = new Identity();

  constructor(hooks: ReviveHooks) {
    this.hooks = hooks;
  }

  /** As `Transform.take`: the spare instance, else a new one; `release()` gives it back. */
  static take(hooks: ReviveHooks): Revive {
    const r = spareRevive;
    if (r === undefined) return new Revive(hooks);
    spareRevive = undefined;
    r.hooks = hooks;
    return r;
  }

  release(): void {
    this.seen.clear();
    spareRevive = this;
  }

  /** `replacement` stands for `o` from now on (a hook calls it before walking into `o`). */
  remember(o: object, replacement: unknown): void {
    this.seen.set(o, replacement);
  }

  value(v: unknown): unknown {
    if (v === null || typeof v !== 'object') return v;
    const known = this.seen.get(v);
    if (known !== undefined) return known;
    if (Array.isArray(v)) {
      this.seen.set(v, v);
      this.array(v);
      return v;
    }
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto === Object.prototype) {
      const o = v as Record<string, unknown>;
      const replaced = this.hooks.record(o, this);
      if (replaced !== NOT_RECORD) {
        this.seen.set(v, replaced);
        return replaced;
      }
      this.seen.set(v, v);
      for (const key of Object.keys(o)) {
        const old = o[key];
        const now = this.value(old);
        if (now !== old) {
          if (key === '__proto__') defineOwn(o, key, now);
          else o[key] = now;
        }
      }
      return v;
    }
    this.seen.set(v, v);
    if (v instanceof Map) this.map(v);
    else if (v instanceof Set) this.set(v);
    else if (v instanceof Error) {
      const cause = Object.getOwnPropertyDescriptor(v, 'cause');
      if (cause !== undefined && 'value' in cause) {
        const now = this.value(cause.value);
        if (now !== cause.value) hidden(v, 'cause', now);
      }
    }
    return v;
  }

  private array(a: unknown[]): void {
    const length = a.length;
    let holes = 0;
    for (let i = 0; i < length; i++) {
      const old = a[i];
      if (old === undefined && !(i in a)) {
        if (++holes > HOLE_BUDGET && tooSparse(holes, i)) {
          for (const index of indicesFrom(a, i)) {
            const now = this.value(a[index]);
            if (now !== a[index]) a[index] = now;
          }
          return;
        }
      } else if (old !== null && typeof old === 'object') {
        const now = this.value(old);
        if (now !== old) a[i] = now;
      }
    }
  }

  private map(m: Map<unknown, unknown>): void {
    let keyChanged = false;
    const entries: unknown[] = [];
    for (const [k, v] of m) {
      const nk = this.value(k);
      keyChanged ||= nk !== k;
      entries.push(nk, this.value(v));
    }
    if (keyChanged) m.clear();
    for (let i = 0; i < entries.length; i += 2) m.set(entries[i], entries[i + 1]);
  }

  private set(s: Set<unknown>): void {
    const items: unknown[] = [];
    let changed = false;
    for (const v of s) {
      const now = this.value(v);
      changed ||= now !== v;
      items.push(now);
    }
    if (!changed) return;
    s.clear();
    for (const v of items) s.add(v);
  }
}

// ------------------------------------------------------------------ locate

/**
 * Where `structuredClone` fails inside `value` (the slow path after a `postMessage` threw):
 * the deepest member that fails alone, found by cloning members one by one. `undefined` if
 * the value clones. Time: O(size × depth) (each level clones its subtree), on failure only.
 */
export function locateUncloneable(value: unknown): PathError | undefined {
  try {
    structuredClone(value);
    return undefined;
  } catch (error) {
    return descend(value, error, new Set());
  }
}

function descend(value: unknown, error: unknown, visited: Set<object>): PathError {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) {
    return new PathError(typeof value === 'symbol' ? 'a symbol' : String(value));
  }
  visited.add(value);
  const members: [number, unknown, unknown][] = [];
  if (typeof value === 'object' && !types.isProxy(value)) {
    if (Array.isArray(value)) {
      for (const key of Object.keys(value)) {
        const index = indexOfKey(key);
        members.push(
          index < 0
            ? [KEY, key, (value as unknown as Record<string, unknown>)[key]]
            : [INDEX, index, value[index]],
        );
      }
    } else if (value instanceof Map) {
      for (const [k, v] of value) members.push([MAP_KEY, k, k], [MAP_VALUE, k, v]);
    } else if (value instanceof Set) {
      for (const v of value) members.push([ELEMENT, undefined, v]);
    } else if (Object.getPrototypeOf(value) === Object.prototype) {
      for (const key of Object.keys(value)) members.push([KEY, key, (value as Record<string, unknown>)[key]]);
    }
  }
  for (const [kind, key, member] of members) {
    if (member !== null && typeof member === 'object' && visited.has(member)) continue;
    try {
      structuredClone(member);
    } catch (inner) {
      const found = descend(member, inner, visited);
      found.step(kind, key);
      return found;
    }
  }
  const what =
    typeof value === 'function' ? `a function (${value.name || 'anonymous'})` : named(value as object);
  return new PathError(what, ` (${(error as Error).message})`, { cause: error });
}
