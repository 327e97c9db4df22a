/**
 * What a checkpoint holds (docs/fault-tolerance.md): the object's own fields (structured clone), or what its
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
import { CheckpointError } from '../errors.js';
import {
  MemberFailed,
  NOT_RECORD,
  PathError,
  prepare,
  Revive,
  refusal,
  type TransformHooks,
  type Walker,
} from '../values/walk.js';

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

/** Checkpoints refuse futures (their value is not known yet); v8.serialize decides the rest. */
const FUTURE_ADVICE = ' (await it before the checkpoint, or keep its value instead)';

function checkSerializable(value: object): void {
  try {
    serialize(value);
  } catch (error) {
    throw refusal(value, error);
  }
}

/** References become `RefRecord`s; the copy goes to `v8.serialize`, which copies the leaves. */
class CheckpointHooks implements TransformHooks {
  readonly serialized = true;
  readonly packArrays = true;
  private readonly codec: StateCodec;
  constructor(codec: StateCodec) {
    this.codec = codec;
  }
  reference(_value: object, target: object): RefRecord {
    const t = target as Addressable;
    this.codec.remember(t);
    return { $ma: 'ref', node: t.node ?? this.codec.localNode, id: t.id, className: t.className };
  }
  future(): never {
    throw new PathError('a future', FUTURE_ADVICE);
  }
  error(error: Error, w: Walker): unknown {
    return w.standardError(error);
  }
  checkHost(value: object): void {
    checkSerializable(value);
  }
}

const META = 'its checkpoint metadata';
const STATE = 'its state';

/**
 * Serialize `state` of object `key`, with `meta` (plain data) beside it: the bytes hold
 * `{ meta, state }`. A state without references is serialized as it is; one with references
 * is copied once with them replaced (src/values/walk.ts). Time: O(size of the state).
 */
export function encodeState(key: string, meta: unknown, state: unknown, codec: StateCodec): Uint8Array {
  let parts: readonly unknown[];
  try {
    parts = prepare([meta, state], new CheckpointHooks(codec));
  } catch (failed) {
    const error = failed instanceof MemberFailed ? failed.error : failed;
    if (!(error instanceof PathError)) throw error;
    const at =
      error.path === '' ? ((failed as MemberFailed).index === 0 ? META : STATE) : `\`${error.path}\``;
    throw new CheckpointError(key, `${key} cannot be checkpointed: ${at} is ${error.what}${error.advice}.`, {
      cause: error,
    });
  }
  const encoded = { meta: parts[0], state: parts[1] };
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

/** The `{ meta, state }` of checkpoint bytes, with references made stubs again. */
export function decodeState(data: Uint8Array, codec: StateCodec): unknown {
  const revive = Revive.take({
    record(o) {
      const record = o as Partial<RefRecord>;
      if (record.$ma !== 'ref' || typeof record.id !== 'number') return NOT_RECORD;
      return codec.stubFor(record.node ?? codec.localNode, record.id, record.className ?? 'Object');
    },
  });
  try {
    return revive.value(deserialize(data));
  } finally {
    revive.release();
  }
}
