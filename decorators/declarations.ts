/**
 * The plain data the decorators record, and where it is stored for each class.
 *
 * Decorators only record (house pattern 1); `compile.ts` validates and compiles once. One
 * `ClassDeclarations` record holds what the decorators written on ONE class declared (never
 * its parents'); the compiler walks the class chain itself.
 *
 * Where the record lives:
 * - TC39 standard decorators: an own property, under a private symbol, of the class's
 *   `context.metadata` object, which TypeScript then stores as `Cls[Symbol.metadata]`. Method
 *   decorators run before the class exists, so this is the only place they can share with the
 *   class decorators. A subclass's metadata object inherits prototypically from its parent's,
 *   and a subclass with no decorators at all has no own `Symbol.metadata` (it inherits the
 *   static property), so only OWN properties are read.
 * - `experimentalDecorators`: a module-level WeakMap keyed by the class's `prototype` (what a
 *   legacy method decorator receives; a class decorator reaches it as `ctor.prototype`).
 *
 * Invariant: every array is in source order (top to bottom). Class decorators are applied
 * bottom to top in both modes, so they `unshift`; member decorators are applied in source
 * order, so they `push`.
 */
import type { Condition } from '../scheduler/policy.js';
import type { DecoratorName } from './errors.js';
import { metadataSymbol } from './metadata.js';

export interface GroupDeclaration {
  readonly name: string;
  readonly selfCompatible: boolean;
  readonly condition: Condition | undefined;
  readonly minThreads: number;
  readonly maxThreads: number;
  readonly superPriority: boolean;
  /** The decorator as written, for messages: `@Group('lookup')`. */
  readonly source: string;
}

export interface CompatibleDeclaration {
  /** Distinct group names, in the order written. */
  readonly groups: readonly string[];
  readonly condition: Condition | undefined;
  readonly source: string;
}

export interface PriorityDeclaration {
  /** One chain, highest level first; each level is one or more group names. */
  readonly levels: readonly (readonly string[])[];
  readonly source: string;
}

export interface ThreadConfigDeclaration {
  /** `undefined`: not given here, inherited (or the default). */
  readonly threadPoolSize: number | undefined;
  readonly hardLimit: boolean | undefined;
  readonly source: string;
}

/**
 * `@Checkpoint`: when the runtime takes checkpoints and where it writes them (docs/fault-tolerance.md). Only
 * recorded and validated here; the runtime reads it through `checkpointConfig`.
 */
export interface CheckpointDeclaration {
  /** `undefined`: no request-count trigger. */
  readonly everyRequests: number | undefined;
  /** `undefined`: no timer trigger. */
  readonly everyMs: number | undefined;
  /** `undefined`: the runtime's default. */
  readonly journalLimit: number | undefined;
  /** A non-empty directory path, a store object, or `undefined` (the runtime's default store). */
  readonly store: string | object | undefined;
  /** `undefined`: the runtime's bound on one store call. */
  readonly storeTimeoutMs: number | undefined;
  readonly source: string;
}

export interface MemberDeclaration {
  readonly method: string;
  readonly group: string;
  readonly source: string;
}

/** `@Alone()`: the method runs alone, on purpose. */
export interface AloneDeclaration {
  readonly method: string;
  readonly source: string;
}

/**
 * A declaration error found while recording, before the class name was known (a standard
 * method decorator never sees its class) or kept to be thrown once all the class's decorators
 * have been applied. Thrown by the compiler, naming the class that carries it.
 */
export interface RecordedProblem {
  readonly decorator: DecoratorName;
  readonly detail: string;
}

export interface ClassDeclarations {
  readonly groups: GroupDeclaration[];
  readonly compatible: CompatibleDeclaration[];
  readonly priority: PriorityDeclaration[];
  threadConfig: ThreadConfigDeclaration | undefined;
  /** The class's own `@Checkpoint`; a subclass's replaces its parent's as a whole. */
  checkpoint: CheckpointDeclaration | undefined;
  /** Method name -> membership declared on this class. */
  readonly members: Map<string, MemberDeclaration>;
  /** Method name -> `@Alone()` declared on this class. */
  readonly alone: Map<string, AloneDeclaration>;
  readonly problems: RecordedProblem[];
  /** Standard mode: the class-definition validation is registered (once per class). */
  validationRegistered: boolean;
}

/** `@Group` options left out take these values. */
export const GROUP_DEFAULTS = Object.freeze({
  selfCompatible: false,
  minThreads: 0,
  maxThreads: Number.POSITIVE_INFINITY,
  superPriority: false,
});

/** `@ThreadConfig` options declared nowhere in the class chain take these values. */
export const THREAD_CONFIG_DEFAULTS = Object.freeze({
  threadPoolSize: Number.POSITIVE_INFINITY,
  hardLimit: false,
});

/** Any class, abstract or not, whatever its constructor parameters. */
export type AbstractClass = abstract new (...args: never[]) => unknown;

const RECORD = Symbol('multiactive.declarations');
const legacyRecords = new WeakMap<object, ClassDeclarations>();

/** A record with nothing declared. */
export function emptyDeclarations(): ClassDeclarations {
  return {
    groups: [],
    compatible: [],
    priority: [],
    threadConfig: undefined,
    checkpoint: undefined,
    members: new Map(),
    alone: new Map(),
    problems: [],
    validationRegistered: false,
  };
}

function isDeclarations(value: unknown): value is ClassDeclarations {
  return typeof value === 'object' && value !== null && 'members' in value && 'problems' in value;
}

/** Standard mode: this class's record in `context.metadata`, created on first use. */
export function declarationsInMetadata(metadata: DecoratorMetadataObject): ClassDeclarations {
  const own = Object.hasOwn(metadata, RECORD) ? metadata[RECORD] : undefined;
  if (isDeclarations(own)) return own;
  const created = emptyDeclarations();
  // Own, non-enumerable: invisible to code that enumerates the metadata of other libraries.
  Object.defineProperty(metadata, RECORD, { value: created, enumerable: false, configurable: true });
  return created;
}

/** Legacy mode: the record of the class whose prototype is `prototype`, created on first use. */
export function declarationsForPrototype(prototype: object): ClassDeclarations {
  let record = legacyRecords.get(prototype);
  if (record === undefined) {
    record = emptyDeclarations();
    legacyRecords.set(prototype, record);
  }
  return record;
}

/** `defineActive`: make `declarations` the record of `cls` (which has none of its own). */
export function installDeclarations(cls: Function, declarations: ClassDeclarations): void {
  legacyRecords.set(cls.prototype as object, declarations);
}

/** `defineActive`, when the spec did not compile: `cls` has no record again. */
export function uninstallDeclarations(cls: Function): void {
  legacyRecords.delete(cls.prototype as object);
}

/** The record of declarations written on `cls` itself (either mode), if any. */
export function ownDeclarations(cls: Function): ClassDeclarations | undefined {
  const prototype: unknown = cls.prototype;
  if (typeof prototype === 'object' && prototype !== null) {
    const legacy = legacyRecords.get(prototype);
    if (legacy !== undefined) return legacy;
  }
  if (!Object.hasOwn(cls, metadataSymbol)) return undefined;
  const metadata: unknown = (cls as unknown as Record<symbol, unknown>)[metadataSymbol];
  if (typeof metadata !== 'object' || metadata === null || !Object.hasOwn(metadata, RECORD)) return undefined;
  const own: unknown = (metadata as Record<symbol, unknown>)[RECORD];
  return isDeclarations(own) ? own : undefined;
}

export interface DeclaringClass {
  readonly cls: Function;
  readonly declarations: ClassDeclarations;
}

/**
 * The classes of `cls`'s chain that carry declarations, oldest ancestor first (the order in
 * which declarations are merged). Time: O(depth of the class chain).
 */
export function declarationChain(cls: Function): DeclaringClass[] {
  const chain: DeclaringClass[] = [];
  let current: unknown = cls;
  while (typeof current === 'function' && current !== Function.prototype) {
    const declarations = ownDeclarations(current);
    if (declarations !== undefined) chain.push({ cls: current, declarations });
    current = Object.getPrototypeOf(current);
  }
  return chain.reverse();
}
