/**
 * The runtime's named errors. Every library error extends `MultiactiveError` (declared with
 * `DefinitionError` in decorators/errors.ts) and carries a message that says what to change.
 */
import { MultiactiveError } from '../decorators/errors.js';
import type { Deadlock } from './shapes.js';

export { DefinitionError, MultiactiveError } from '../decorators/errors.js';

/** A value given to a call (or returned by one) cannot be copied (docs/semantics.md). */
export class CopyError extends MultiactiveError {
  /** 0-based argument index, or `undefined` for a result. */
  readonly argumentIndex: number | undefined;
  /** Where inside the value the culprit sits, e.g. `.options.onDone`; empty at top level. */
  readonly path: string;
  constructor(
    message: string,
    argumentIndex: number | undefined,
    path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.argumentIndex = argumentIndex;
    this.path = path;
  }
}

/** The object was terminated: the call was refused, or dropped from the queue. */
export class TerminatedError extends MultiactiveError {}

/** The constructor of an active object threw; every call on it rejects with this error. */
export class ConstructionError extends MultiactiveError {}

/**
 * A request was part of a deadlock (docs/deadlocks.md) and deadlock detection was configured to
 * break it (`configureDeadlocks({ reject: true })`). The message lists the cycle.
 */
export class DeadlockError extends MultiactiveError {
  readonly deadlock: Deadlock;
  constructor(deadlock: Deadlock) {
    super(deadlock.message);
    this.deadlock = deadlock;
  }
}

/**
 * A call to a recoverable object was quarantined: it ended its node in its run and again in its
 * replay (or was running in replays at three deaths by memory), so it is taken to be what
 * kills the node. It is not run again; the
 * object goes on from the state before it. Effects it had on other objects before its node
 * died stay (a recovery replays a call, it cannot undo what the call did elsewhere).
 */
export class QuarantineError extends MultiactiveError {
  /** The object the call was made to. */
  readonly objectId: number;
  readonly method: string;
  /** Its delivery number at the object. */
  readonly delivery: number;
  constructor(message: string, objectId: number, method: string, delivery: number) {
    super(message);
    this.objectId = objectId;
    this.method = method;
    this.delivery = delivery;
  }
}

/**
 * A call to a recoverable object was refused: the calls journaled since its last durable
 * checkpoint reached its `journalLimit` (its checkpoints keep failing, or cannot keep up).
 * Nothing of the call ran; calls are accepted again once a checkpoint is durable.
 */
export class JournalFullError extends MultiactiveError {}

/** A runtime API was given a bad value (e.g. `control(o).setLimit(0)`). */
export class ArgumentError extends MultiactiveError {}

/** A checkpoint could not be written, found or read back intact. */
export class CheckpointError extends MultiactiveError {
  /** The object's checkpoint key. */
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}

/** A node this one was talking to is gone (worker exited, crashed, or was terminated). */
export class NodeLostError extends MultiactiveError {
  /** The node that is gone (a `NodeId`). */
  readonly node: number;
  constructor(node: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.node = node;
  }
}

/**
 * An application's error (or a built-in one) thrown on another node, rebuilt from the wire: the
 * original name, message, stack, cause and data fields, and `node`. It does not extend
 * `MultiactiveError` on purpose: that class marks the library's own errors (which cross nodes
 * as their own classes), and this one carries the application's.
 */
export class RemoteError extends Error {
  /** The node the error was thrown on (a `NodeId`). */
  readonly node: number;
  constructor(message: string, node: number) {
    super(message);
    this.node = node;
  }
}

/** Describe a value for an error message: `` `0` (number) ``. */
export function describe(value: unknown): string {
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value);
  else if (typeof value === 'function') shown = `function ${value.name || '(anonymous)'}`;
  else if (typeof value === 'symbol' || typeof value === 'bigint') shown = String(value);
  else if (value === null || typeof value !== 'object') shown = String(value);
  else shown = Object.prototype.toString.call(value).slice(8, -1);
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${shown}\` (${type})`;
}
