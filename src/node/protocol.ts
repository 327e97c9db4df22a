/**
 * The wire protocol between nodes (isolates that host active objects): the messages, as one
 * discriminated union. A link sends them in batches: one `postMessage` of a `Wire[]` per
 * destination per turn.
 *
 * Identities:
 * - An object is named by its global id: node `k` numbers the objects it creates from
 *   `k * 2^32 + 1`, so an id is unique in the whole system and says who created it, not
 *   where it lives; a reference carries both (`node`, `id`).
 * - A call is named by its key `[origin, rid]`: the calling node and its call counter. The
 *   same key names the call's future everywhere it travels.
 *
 * Values: structured clone (postMessage) does the copying; `codec.ts` first replaces active
 * references, futures and errors by the `Encoded*` records below, and flags the message
 * (`enc`) so that the receiver walks only values that contain one.
 */
import { MessagePort } from 'node:worker_threads';
import type { ObserveMode, RequestEvents } from '../events.js';

export type NodeId = number;

/**
 * A batch is one flat array of entries, each a tag and its fields:
 * - `CALL, rid, id, method, args, enc`: the `call` message;
 * - `VALUE, origin, rid, ok, value, enc`: the `value` message for future `[origin, rid]`;
 * - `OTHER, message`: any other `Wire` message, as an object.
 * The two hot messages are flat because structured clone writes every object's keys: flat
 * tuples cost far less (`npm run build && node dist/bench/wire-format.js`: raw postMessage,
 * lockstep batches of 100, 2 cores: 461k messages/s as objects, 1232k as flat tuples).
 */
export const CALL = 1;
export const VALUE = 2;
export const OTHER = 3;
/**
 * `FTCALL, rid, id, method, args, enc, key`: a call made by a request of a recoverable object
 * (src/node/recovery.ts), with its deterministic `key` (`caller:dseq:n`, the n-th call of the
 * caller's delivery `dseq`): the same in a replay, so the receiver answers a replayed call
 * with the first one's result instead of running it twice.
 */
export const FTCALL = 4;
/**
 * `FTLOG, id, dseq, from, rid, method, args, enc, key`: host to main, a delivery to a
 * recoverable object, journaled before it runs (src/node/recovery.ts). Flat, like CALL: one
 * per delivery, so its cost is the journal's cost.
 */
export const FTLOG = 5;

/** Nodes per system: future keys pack `rid * MAX_NODES + origin` into one exact number. */
export const MAX_NODES = 1024;
export const numericKey = (origin: NodeId, rid: number): number => rid * MAX_NODES + origin;
export type FutureKey = readonly [origin: NodeId, rid: number];

export const MAIN_NODE: NodeId = 0;
/** Object ids of node k start at k * ID_STRIDE + 1. */
export const ID_STRIDE = 2 ** 32;

export type Wire =
  /** Construct an object here: `new (import(module)[exportName])(...args)`. */
  | {
      readonly t: 'create';
      readonly id: number;
      readonly module: string;
      readonly exportName: string;
      readonly className: string;
      readonly args: unknown[];
      readonly enc: boolean;
      /** Checkpoint options of `newActive` (docs/fault-tolerance.md), when given. */
      readonly checkpointKey?: string;
      readonly restore?: boolean;
      /** Recovery (src/node/recovery.ts): journaled deliveries to replay, in delivery order. */
      readonly replay?: readonly JournalEntry[];
    }
  // `call` (object `id`, `method`, `args` -> future `[from, rid]`) and `value` (future
  // `[origin, rid]` settled with `ok`, `value`) travel as flat entries: see CALL, VALUE.
  /** To a future's home: also send its value to node `to`. */
  | { readonly t: 'forward'; readonly key: FutureKey; readonly to: NodeId }
  /** From a future's home: too late for `forward` (the value is gone); you deliver it to `to`. */
  | { readonly t: 'late'; readonly key: FutureKey; readonly to: NodeId }
  /** Terminate object `id` (hosted here); answer with `value` to the future `[from, rid]`. */
  | { readonly t: 'terminate'; readonly rid: number; readonly id: number; readonly immediate: boolean }
  /** Main to worker: send your events to me (`on`, with these request events), or stop. */
  | { readonly t: 'observe'; readonly on: boolean; readonly requests: RequestEvents }
  /** Worker to main: events of its objects, times already on the main thread's clock. */
  | { readonly t: 'events'; readonly events: unknown[] }
  /** Main to worker: a direct channel to another worker. */
  | { readonly t: 'peer'; readonly node: NodeId; readonly port: MessagePort }
  /** Main to worker: send your part of the wait-for graph (src/waits.ts), as `waits.facts`. */
  | { readonly t: 'waits'; readonly rid: number }
  /** Worker to main: this node's part of the wait-for graph (plain data, see src/waits.ts). */
  | { readonly t: 'waits.facts'; readonly rid: number; readonly facts: unknown }
  /** Main to worker: break a deadlock at these requests (see `ActiveObject.breakDeadlock`). */
  | { readonly t: 'waits.break'; readonly ids: readonly number[]; readonly deadlock: unknown }
  /** Main to worker: record which futures requests await (deadlock detection on), or stop. */
  | { readonly t: 'waits.track'; readonly on: boolean }
  /** Host to main: a checkpoint of a recoverable object is durable (the journal is trimmed). */
  | {
      readonly t: 'ft.checkpointed';
      readonly id: number;
      readonly seq: number;
      readonly dseq: number;
      readonly pending: readonly number[];
    }
  /** Main to all: recovered object `id` now lives on node `to` (resend calls in flight to it). */
  | { readonly t: 'ft.moved'; readonly id: number; readonly to: NodeId }
  /**
   * Main to all: object `id` checkpointed past delivery `dseq`: results of the calls its
   * deliveries up to there made can be forgotten, except those of `pending` (delivered, not
   * started at the capture: they run afterwards, and a recovery from it replays them).
   */
  | { readonly t: 'ft.trim'; readonly id: number; readonly dseq: number; readonly pending: readonly number[] }
  /**
   * Worker to main: this node has work the main thread does not wait for (`on`: requests in
   * flight made here or by other workers, or calls in flight from here), or no longer has.
   * The main thread keeps the process alive while a worker is busy.
   */
  | { readonly t: 'node.busy'; readonly on: boolean }
  /**
   * Host to main, for recoverable object `id`: it is back (`ready`: created, restored, its
   * replay queued; `dseq` 0), or replayed delivery `dseq` runs (`active`), waits by necessity
   * (`waiting`) or ended (`done`). A delivery running when its node died during two replays is
   * quarantined (src/node/recovery.ts).
   */
  | {
      readonly t: 'ft.replay';
      readonly id: number;
      readonly dseq: number;
      readonly phase: 'ready' | 'active' | 'waiting' | 'done';
    }
  /**
   * Host to main, as the node ends by its own code (`process.exit()`, or an uncaught error):
   * the journaled delivery `dseq` of recoverable object `id` was running (its code, or code in
   * its async context) and is what ends it (src/node/recovery.ts, quarantine).
   */
  | {
      readonly t: 'ft.dying';
      readonly id: number;
      readonly dseq: number;
      /** The call had answered (code it left behind, such as a timer, ended the node). */
      readonly answered?: boolean;
    }
  /** Main to all: node `node` is handled; calls to its objects that were not recovered fail. */
  | {
      readonly t: 'ft.lost';
      readonly node: NodeId;
      readonly recovered: readonly number[];
      /** What happened to it, in words (`exited with code 3`), for the calls other nodes had in flight. */
      readonly reason?: string;
    };

/** The message of type `T` (one variant of `Wire`, by its tag). */
export type WireOf<T extends Wire['t']> = Extract<Wire, { t: T }>;

/** One delivery to a recoverable object, as the main thread journals it (wire form). */
export interface JournalEntry {
  /** Delivery number at the object (1, 2, ...; continues across recoveries). */
  readonly dseq: number;
  readonly from: NodeId;
  readonly rid: number;
  readonly method: string | number;
  /** As they came on the wire (encoded if `enc`). */
  readonly args: unknown[];
  readonly enc: boolean;
  /** Its deterministic key, for a call made by a recoverable object (FTCALL). */
  readonly key?: string;
  /**
   * Set by the main thread on a call it quarantined (src/node/recovery.ts): the new host does
   * not run it, answers a resend or a repeated key with a `QuarantineError` of this message.
   */
  readonly quarantined?: string;
}

/** What a worker receives in `workerData`. */
export interface WorkerInit {
  readonly node: NodeId;
  /** URL of the worker's main module (src/node/worker-main.{ts,js}). */
  readonly main: string;
  /** URL of tsx's ESM API, when TypeScript sources must be loaded; `undefined` otherwise. */
  readonly tsx: string | undefined;
  /** The main thread's `performance.timeOrigin`: events are sent on its clock. */
  readonly timeOrigin: number;
  /** Whether the main thread observes events right now, and which request events. */
  readonly observed: ObserveMode;
  /** Whether requests record the futures they await (deadlock detection is on). */
  readonly trackAwaits: boolean;
  /** Recovered objects and the nodes they live on now (src/node/recovery.ts). */
  readonly moved: readonly (readonly [number, NodeId])[];
}

/** An active reference on the wire. */
export interface EncodedRef {
  readonly $ma: 'ref';
  readonly node: NodeId;
  readonly id: number;
  readonly className: string;
  /** The main thread recovers it if its node dies: calls to it wait for the recovery. */
  readonly recoverable?: true;
}

/** A future on the wire: where its value will come from (`home`) and its key. */
export interface EncodedFuture {
  readonly $ma: 'future';
  readonly home: NodeId;
  readonly key: FutureKey;
}

/** An error on the wire: name, message, stack and cause survive (the class does not). */
export interface EncodedError {
  readonly $ma: 'error';
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly cause: unknown;
  readonly hasCause: boolean;
  /** Own enumerable data fields (e.g. `code`, `argumentIndex`). */
  readonly fields: Record<string, unknown>;
  /** One of the library's errors (a `MultiactiveError`): rebuilt as its class. */
  readonly own?: true;
}

export type Encoded = EncodedRef | EncodedFuture | EncodedError;

// ------------------------------------------------------------ checking what arrives

/**
 * Every message a node receives is checked here before it is handled: a worker's own code
 * can post anything on the port its node uses (`parentPort.postMessage(null)`), so nothing
 * that arrives is trusted to have the shape its tag promises. A message that fails is
 * dropped (the node reports it and goes on serving). Time: O(fields) per message, O(entries)
 * for the lists inside (replay, pending).
 */
type Check = (value: unknown) => boolean;

const isNumber: Check = (v) => typeof v === 'number';
const isString: Check = (v) => typeof v === 'string';
const isBoolean: Check = (v) => typeof v === 'boolean';
const isArray: Check = (v) => Array.isArray(v);
const anything: Check = () => true;
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const listOf =
  (check: Check): Check =>
  (v) =>
    Array.isArray(v) && v.every(check);
const isKey: Check = (v) => Array.isArray(v) && v.length === 2 && isNumber(v[0]) && isNumber(v[1]);
const isMethod: Check = (v) => typeof v === 'string' || typeof v === 'number';
export const isJournalEntry: Check = (v) =>
  v !== null &&
  typeof v === 'object' &&
  fieldsProblem(v as Record<string, unknown>, {
    dseq: isNumber,
    from: isNumber,
    rid: isNumber,
    method: isMethod,
    args: isArray,
    enc: isBoolean,
    key: optional(isString),
    quarantined: optional(isString),
  }) === undefined;

/** The fields of every `Wire` variant and their checks (a new variant must be added here). */
const WIRE_FIELDS: { readonly [T in Wire['t']]: Readonly<Record<string, Check>> } = {
  create: {
    id: isNumber,
    module: isString,
    exportName: isString,
    className: isString,
    args: isArray,
    enc: isBoolean,
    checkpointKey: optional(isString),
    restore: optional(isBoolean),
    replay: optional(listOf(isJournalEntry)),
  },
  forward: { key: isKey, to: isNumber },
  late: { key: isKey, to: isNumber },
  terminate: { rid: isNumber, id: isNumber, immediate: isBoolean },
  observe: { on: isBoolean, requests: (v) => v === 'all' || v === 'sampled' || v === 'none' },
  events: {
    events: listOf(
      (e) =>
        e !== null &&
        typeof e === 'object' &&
        isString((e as { type?: unknown }).type) &&
        isNumber((e as { time?: unknown }).time),
    ),
  },
  peer: { node: isNumber, port: (v) => v instanceof MessagePort },
  waits: { rid: isNumber },
  'waits.facts': { rid: isNumber, facts: anything },
  'waits.break': { ids: listOf(isNumber), deadlock: anything },
  'waits.track': { on: isBoolean },
  'ft.checkpointed': { id: isNumber, seq: isNumber, dseq: isNumber, pending: listOf(isNumber) },
  'ft.moved': { id: isNumber, to: isNumber },
  'ft.trim': { id: isNumber, dseq: isNumber, pending: listOf(isNumber) },
  'ft.lost': { node: isNumber, recovered: listOf(isNumber), reason: optional(isString) },
  'node.busy': { on: isBoolean },
  'ft.dying': { id: isNumber, dseq: isNumber, answered: optional(isBoolean) },
  'ft.replay': {
    id: isNumber,
    dseq: isNumber,
    phase: (v) => v === 'ready' || v === 'active' || v === 'waiting' || v === 'done',
  },
};

/** Messages only the main thread sends (a worker receiving one from another worker drops it). */
export const FROM_MAIN_ONLY: ReadonlySet<Wire['t']> = new Set<Wire['t']>([
  'observe',
  'peer',
  'waits',
  'waits.break',
  'waits.track',
  'ft.moved',
  'ft.trim',
  'ft.lost',
]);

/** Messages only the main thread receives. */
export const TO_MAIN_ONLY: ReadonlySet<Wire['t']> = new Set<Wire['t']>([
  'events',
  'waits.facts',
  'ft.checkpointed',
  'ft.replay',
  'ft.dying',
  'node.busy',
]);

function fieldsProblem(
  value: Record<string, unknown>,
  fields: Readonly<Record<string, Check>>,
): string | undefined {
  for (const name in fields) {
    if (!fields[name]!(value[name])) return `field \`${name}\` is ${describeField(value[name])}`;
  }
  return undefined;
}

function describeField(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array not of the expected shape';
  return typeof value === 'object'
    ? 'an object not of the expected shape'
    : `${typeof value} ${String(value)}`;
}

/** Why `message` (an OTHER entry) is not a well-formed `Wire` message, or undefined if it is. */
export function wireProblem(message: unknown): string | undefined {
  if (message === null || typeof message !== 'object') return `a message that is ${describeField(message)}`;
  const t = (message as { t?: unknown }).t;
  if (typeof t !== 'string' || !Object.hasOwn(WIRE_FIELDS, t)) {
    return `a message of unknown type ${typeof t === 'string' ? JSON.stringify(t.slice(0, 40)) : describeField(t)}`;
  }
  const problem = fieldsProblem(message as Record<string, unknown>, WIRE_FIELDS[t as Wire['t']]);
  return problem === undefined ? undefined : `a '${t}' message whose ${problem}`;
}

/** What a value is, for a report about a malformed message. */
export function kindOf(value: unknown): string {
  return describeField(value);
}
