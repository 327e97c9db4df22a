/**
 * What a checkpoint holds (SPEC §9): the object's own fields (structured clone), or what its
 * `checkpoint()` hook returns; and how it is put back (`restore(state)`, or the fields
 * assigned onto a freshly constructed instance).
 *
 * Bytes are `v8.serialize` of the state, after active references were replaced by plain
 * records `{ $ma: 'ref', node, id, className }` (a reference is an address, not a value:
 * it is restored as a reference to the same object). Futures cannot be checkpointed (their
 * value is not known yet); functions, symbols and other values structured clone refuses fail
 * too, each with a `CheckpointError` naming the field.
 */
import { deserialize, serialize } from 'node:v8';
import { ACTIVE_OBJECT, FUTURE_CORE } from '../symbols.js';
import { CheckpointError } from './store.js';

/** An active reference inside a checkpoint. */
interface RefRecord {
  readonly $ma: 'ref';
  readonly node: number;
  readonly id: number;
  readonly className: string;
}

/** What an active reference's target tells a checkpoint (ActiveObject or RemoteObject). */
interface Addressable {
  readonly id: number;
  readonly className: string;
  readonly node?: number;
}

export interface StateCodec {
  /** This node's id (references to local objects). */
  readonly localNode: number;
  /** A reference for `{ node, id, className }` (a local object's stub if it lives here). */
  stubFor(node: number, id: number, className: string): object;
  /** Told of every reference saved (so that a local one can be found again by id). */
  remember(target: object): void;
}

type Hooks = { checkpoint?: () => unknown; restore?: (state: unknown) => void };

/** The state to save: the hook's result, or a copy-free view of the own enumerable fields. */
export function captureState(target: object): unknown {
  const hooks = target as Hooks;
  if (typeof hooks.checkpoint === 'function') return hooks.checkpoint();
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(target)) fields[key] = (target as Record<string, unknown>)[key];
  return fields;
}

/** Put `state` back onto a freshly constructed `target`: the hook, or the fields. */
export function applyState(target: object, state: unknown): void {
  const hooks = target as Hooks;
  if (typeof hooks.restore === 'function') {
    hooks.restore(state);
    return;
  }
  Object.assign(target, state as object);
}

/**
 * Serialize `state` of object `key`, with `meta` (plain data) beside it: the bytes hold
 * `{ meta, state }`. Time: O(size of the state).
 */
export function encodeState(key: string, meta: unknown, state: unknown, codec: StateCodec): Uint8Array {
  let encoded: unknown;
  try {
    encoded = { meta: encode(meta, codec, new Map()), state: encode(state, codec, new Map()) };
  } catch (error) {
    if (error instanceof Unsaveable) {
      const at = error.path.length === 0 ? 'its state' : `\`${error.path.reverse().join('')}\``;
      throw new CheckpointError(key, `${key} cannot be checkpointed: ${at} ${error.message}.`);
    }
    throw error;
  }
  try {
    return serialize(encoded);
  } catch (error) {
    throw new CheckpointError(
      key,
      `${key} cannot be checkpointed: ${String(error)}. Checkpoints hold data (structured clone); ` +
        'give the class checkpoint()/restore(state) hooks to choose what is saved.',
      { cause: error },
    );
  }
}

export function decodeState(data: Uint8Array, codec: StateCodec): unknown {
  return decode(deserialize(data), codec);
}

class Unsaveable extends Error {
  readonly path: string[] = [];
}

function encode(value: unknown, codec: StateCodec, seen: Map<object, unknown>): unknown {
  if (typeof value === 'function') {
    const target = (value as unknown as Record<symbol, unknown>)[ACTIVE_OBJECT];
    if (target !== undefined) return refRecord(target as Addressable, codec);
    if ((value as unknown as Record<symbol, unknown>)[FUTURE_CORE] !== undefined) {
      throw new Unsaveable('is a future (await it before the checkpoint, or keep its value instead)');
    }
    throw new Unsaveable(`is a function (${value.name || 'anonymous'})`);
  }
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'symbol') throw new Unsaveable('is a symbol');
    return value;
  }
  const target = (value as Record<symbol, unknown>)[ACTIVE_OBJECT];
  if (target !== undefined) return refRecord(target as Addressable, codec);
  if ((value as Record<symbol, unknown>)[FUTURE_CORE] !== undefined) {
    throw new Unsaveable('is a future (await it before the checkpoint, or keep its value instead)');
  }
  if (seen.has(value)) return seen.get(value);
  const member = (v: unknown, step: string): unknown => {
    try {
      return encode(v, codec, seen);
    } catch (error) {
      if (error instanceof Unsaveable) error.path.push(step);
      throw error;
    }
  };
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    seen.set(value, out);
    for (let i = 0; i < value.length; i++) out.push(member(value[i], `[${i}]`));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    seen.set(value, out);
    for (const [k, v] of value) out.set(member(k, '<key>'), member(v, `.get(${String(k)})`));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    seen.set(value, out);
    for (const v of value) out.add(member(v, '<element>'));
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    for (const key of Object.keys(value))
      out[key] = member((value as Record<string, unknown>)[key], `.${key}`);
    return out;
  }
  // Dates, typed arrays, errors, class instances: structured clone decides (class instances
  // become plain objects, as through postMessage).
  seen.set(value, value);
  return value;
}

function refRecord(target: Addressable, codec: StateCodec): RefRecord {
  codec.remember(target);
  return { $ma: 'ref', node: target.node ?? codec.localNode, id: target.id, className: target.className };
}

function decode(value: unknown, codec: StateCodec): unknown {
  if (value === null || typeof value !== 'object') return value;
  const record = value as Partial<RefRecord>;
  if (record.$ma === 'ref' && typeof record.id === 'number') {
    return codec.stubFor(record.node ?? codec.localNode, record.id, record.className ?? 'Object');
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = decode(value[i], codec);
    return value;
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => [decode(k, codec), decode(v, codec)] as const);
    value.clear();
    for (const [k, v] of entries) value.set(k, v);
    return value;
  }
  if (value instanceof Set) {
    const items = [...value].map((v) => decode(v, codec));
    value.clear();
    for (const v of items) value.add(v);
    return value;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key of Object.keys(value)) {
      (value as Record<string, unknown>)[key] = decode((value as Record<string, unknown>)[key], codec);
    }
  }
  return value;
}
