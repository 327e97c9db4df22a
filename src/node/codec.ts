/**
 * The wire codec: values <-> what `postMessage` carries between nodes (docs/semantics.md). Structured
 * clone (postMessage) does the copying; this module only replaces what it cannot carry:
 * active references, futures and errors become the `Encoded*` records of protocol.ts, and
 * the message is flagged (`enc`) so that the receiver walks only values that hold one.
 *
 * Sending (`encodeArgs`, `encodeValue`): `prepare` (src/values/walk.ts) walks the value
 * once, refusing what postMessage would refuse (a function, a symbol, a Proxy, a
 * MessagePort, ...: a `CopyError` naming the argument and path, before anything is sent)
 * and replacing references, futures and errors by records, with only the containers on the
 * way to them copied; a value without any is sent as it is (the common case: nothing
 * allocated for a one-container value). A cycle or a shared part arrives with its shape.
 * Receiving (`decodeValue`): a `Revive` replaces the records in place, once per object.
 *
 * The node runtime is the codec's `WirePort`: it turns references and futures into records
 * (registering them for their forwarding, see runtime.ts) and back.
 */
import { toCopyError } from '../copy.js';
import { MultiactiveError } from '../errors.js';
import type { FutureCore } from '../future.js';
import { ACTIVE_OBJECT, FUTURE_CORE } from '../symbols.js';
import {
  cloneHost,
  Identity,
  isReference,
  locateUncloneable,
  MemberFailed,
  NOT_RECORD,
  PathError,
  prepare,
  prepareOne,
  Revive,
  type ReviveHooks,
  type TransformHooks,
  type Walker,
} from '../values/walk.js';
import {
  type EncodedError,
  type EncodedFuture,
  type EncodedRef,
  MAX_NODES,
  type NodeId,
} from './protocol.js';

/** What the codec needs of the node runtime. */
export interface WirePort {
  readonly self: NodeId;
  /** The record of an active reference's target (`ACTIVE_OBJECT`), sent to another node. */
  refRecord(target: object): EncodedRef;
  /** The record of future `core` sent to node `to` (starts its forwarding). */
  futureRecord(core: FutureCore, to: NodeId): EncodedFuture;
  /** The stub for a received reference. */
  importRef(record: EncodedRef): object;
  /** The future for a received future record, sent by node `from`. */
  importFuture(record: EncodedFuture, from: NodeId): object;
  /** An error rebuilt from the wire, thrown on node `from`; `name`: one of the library's. */
  remoteError(name: string | undefined, message: string, from: NodeId): Error;
}

/** A node id: an integer in [0, MAX_NODES). */
const isNodeId = (v: unknown): v is NodeId =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < MAX_NODES;

/** postMessage takes a platform object if structured clone does. */
function checkCloneable(value: object): void {
  cloneHost(value);
}

let spareEncoder: Encoder | undefined;

/** References, futures and errors become records; the rest is left to postMessage. */
class Encoder implements TransformHooks {
  readonly serialized = true;
  private port: WirePort;
  private to: NodeId;
  /** The records made by this encoding: one per reference or future, even if it is walked twice. */
  private readonly made = new Identity();
  constructor(port: WirePort, to: NodeId) {
    this.port = port;
    this.to = to;
  }
  /** Reused as `Transform` is (walk.ts: `Transform.take`): the spare, else a new one. */
  static take(port: WirePort, to: NodeId): Encoder {
    const e = spareEncoder;
    if (e === undefined) return new Encoder(port, to);
    spareEncoder = undefined;
    e.port = port;
    e.to = to;
    return e;
  }
  release(): void {
    this.made.clear();
    spareEncoder = this;
  }
  reference(value: object, target: object): unknown {
    let record = this.made.get(value);
    if (record === undefined) this.made.set(value, (record = this.port.refRecord(target)));
    return record;
  }
  future(value: object, core: object): unknown {
    let record = this.made.get(value);
    if (record === undefined)
      this.made.set(value, (record = this.port.futureRecord(core as FutureCore, this.to)));
    return record;
  }
  /** Name, message, stack, cause and own data fields; a field that cannot travel is dropped. */
  error(error: Error, t: Walker): EncodedError {
    const fields: Record<string, unknown> = {};
    const hasCause = 'cause' in error;
    const own = error instanceof MultiactiveError;
    const record: EncodedError = {
      $ma: 'error',
      name: error.name,
      message: error.message,
      stack: error.stack,
      cause: undefined,
      hasCause,
      fields,
      ...(own ? { own: true } : {}),
    };
    t.remember(error, record);
    for (const key of Object.keys(error)) {
      // A RemoteError's `node` is where it was thrown: the receiver names its sender.
      if (key === 'cause' || (key === 'node' && !own)) continue;
      try {
        fields[key] = t.errorMember((error as unknown as Record<string, unknown>)[key], key);
      } catch (refused) {
        if (!(refused instanceof PathError)) throw refused;
        // Dropped: the error itself still travels.
      }
    }
    if (hasCause) {
      let cause: unknown;
      try {
        cause = t.errorMember(error.cause, 'cause');
      } catch (refused) {
        if (!(refused instanceof PathError)) throw refused;
        cause = text(error.cause); // it still says what it was
      }
      (record as { cause: unknown }).cause = cause;
    }
    return record;
  }
  checkHost(value: object): void {
    checkCloneable(value);
  }
}

/** `String(v)`, or its tag for a value that has no text (a boxed Symbol, a null-prototype object). */
function text(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

type Branded = Record<symbol, unknown>;

const isPlain = (v: unknown): boolean =>
  v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');

/**
 * The arguments of `label.method` ready for node `to`: `args` itself when nothing needs a
 * record, else a copy with records (`enc`). Throws the `CopyError` of the first argument
 * that cannot be sent. Time: O(size of the arguments); primitives cost a `typeof`.
 */
export function encodeArgs(
  port: WirePort,
  args: unknown[],
  to: NodeId,
  label: string,
  method: string,
): { value: unknown[]; enc: boolean } {
  let i = 0;
  while (i < args.length && isPlain(args[i])) i++;
  // Primitives only (the common case): nothing to walk; kept small, so that it inlines.
  return i === args.length ? { value: args, enc: false } : encodeFrom(port, args, i, to, label, method);
}

/** `encodeArgs` from argument `from`, the first that is not a primitive. */
function encodeFrom(
  port: WirePort,
  args: unknown[],
  from: number,
  to: NodeId,
  label: string,
  method: string,
): { value: unknown[]; enc: boolean } {
  let i = from;
  while (i < args.length && (isPlain(args[i]) || isReference(args[i] as object))) i++;
  if (i === args.length) {
    // Only references and futures given as they are (common: `a.addFrom(b, 1)`): their
    // records; the other arguments go as they are.
    const out = args.slice();
    for (i = from; i < args.length; i++) {
      const arg = args[i];
      if (isPlain(arg)) continue;
      const target = (arg as Branded)[ACTIVE_OBJECT];
      out[i] =
        target !== undefined
          ? port.refRecord(target as object)
          : port.futureRecord((arg as Branded)[FUTURE_CORE] as FutureCore, to);
    }
    return { value: out, enc: true };
  }
  const encoder = Encoder.take(port, to);
  try {
    const out = prepare(args, encoder);
    return out === args ? { value: args, enc: false } : { value: out as unknown[], enc: true };
  } catch (failed) {
    if (!(failed instanceof MemberFailed)) throw failed;
    throw toCopyError(failed.error, `Argument ${failed.index} of ${label}.${method}`, failed.index);
  } finally {
    encoder.release();
  }
}

/**
 * A value (a result, a future's value) ready for node `to`. Throws a `PathError` (the caller
 * names the value: `toCopyError`) for a value that cannot be sent.
 */
export function encodeValue(port: WirePort, value: unknown, to: NodeId): { value: unknown; enc: boolean } {
  if (isPlain(value)) return { value, enc: false };
  const encoder = Encoder.take(port, to);
  try {
    const out = prepareOne(value, encoder);
    return { value: out, enc: out !== value };
  } finally {
    encoder.release();
  }
}

let spareDecoder: Decoder | undefined;

/** The records of a value received from node `from`: references, futures, errors. */
class Decoder implements ReviveHooks {
  private port: WirePort;
  private from: NodeId;
  constructor(port: WirePort, from: NodeId) {
    this.port = port;
    this.from = from;
  }
  /** Reused as `Encoder` is. */
  static take(port: WirePort, from: NodeId): Decoder {
    const d = spareDecoder;
    if (d === undefined) return new Decoder(port, from);
    spareDecoder = undefined;
    d.port = port;
    d.from = from;
    return d;
  }
  release(): void {
    spareDecoder = this;
  }
  /**
   * A record is believed only if it has its fields, of their kinds (a message may come from a
   * worker's own code): anything else with a `$ma` key is left a plain object.
   */
  record(o: Record<string, unknown>, r: Revive): unknown {
    switch (o.$ma) {
      case 'ref':
        if (!isNodeId(o.node) || typeof o.id !== 'number' || typeof o.className !== 'string')
          return NOT_RECORD;
        return this.port.importRef(o as unknown as EncodedRef);
      case 'future': {
        const key = o.key;
        if (
          !isNodeId(o.home) ||
          !Array.isArray(key) ||
          key.length !== 2 ||
          !isNodeId(key[0]) ||
          typeof key[1] !== 'number'
        ) {
          return NOT_RECORD;
        }
        return this.port.importFuture(o as unknown as EncodedFuture, this.from);
      }
      case 'error':
        if (typeof o.name !== 'string' || typeof o.message !== 'string') return NOT_RECORD;
        if (o.fields === null || typeof o.fields !== 'object') return NOT_RECORD;
        return importError(this.port, o as unknown as EncodedError, this.from, r);
      default:
        return NOT_RECORD;
    }
  }
}

/** A received value with its records replaced (in place: it is a fresh clone). */
export function decodeValue(port: WirePort, value: unknown, from: NodeId): unknown {
  if (value === null || typeof value !== 'object') return value;
  const decoder = Decoder.take(port, from);
  const revive = Revive.take(decoder);
  try {
    return revive.value(value);
  } finally {
    revive.release();
    decoder.release();
  }
}

/**
 * The error for a record (the library's errors as their classes, others a `RemoteError`):
 * its name, message, fields, cause, and both stacks.
 */
function importError(port: WirePort, record: EncodedError, from: NodeId, r: Revive): Error {
  const error = port.remoteError(record.own === true ? record.name : undefined, record.message, from);
  r.remember(record, error);
  Object.defineProperty(error, 'name', { value: record.name, writable: true, configurable: true });
  for (const [k, v] of Object.entries(record.fields)) {
    (error as unknown as Record<string, unknown>)[k] = r.value(v);
  }
  if (record.hasCause) {
    Object.defineProperty(error, 'cause', {
      value: r.value(record.cause),
      writable: true,
      configurable: true,
    });
  }
  const local = error.stack?.split('\n').slice(1).join('\n') ?? '';
  error.stack = `${record.stack ?? `${record.name}: ${record.message}`}\n    --- thrown on node ${from}, received on node ${port.self} ---\n${local}`;
  return error;
}

/**
 * The `CopyError` for an entry postMessage refused (`error`): the first of `values` that
 * does not clone, and where inside it (found by cloning its parts: the slow path only).
 * `subject(i)` names value `i`; `index` says whether `i` is an argument index.
 */
export function unsendable(
  values: readonly unknown[],
  error: unknown,
  subject: (i: number) => string,
  index: boolean,
): Error {
  for (let i = 0; i < values.length; i++) {
    const found = locateUncloneable(values[i]);
    if (found !== undefined) return toCopyError(found, subject(i), index ? i : undefined);
  }
  const unknown = new PathError('a value', ` (${(error as Error).message})`, { cause: error });
  return toCopyError(unknown, subject(0), index ? 0 : undefined);
}
