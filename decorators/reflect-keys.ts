/**
 * Legacy mode + reflect-metadata: publish the declarations under documented keys, for tools
 * built on `Reflect.getMetadata` (NestJS-style introspection). Written only when
 * `Reflect.defineMetadata` exists, i.e. reflect-metadata (or a compatible polyfill) is loaded;
 * this module never imports it. Standard decorators keep their data in `Symbol.metadata`
 * instead and write nothing here.
 *
 * Own or inherited: the class keys hold the EFFECTIVE declarations (the parents' first, then
 * the class's own), rewritten each time a class decorator of this library is applied. Since
 * `Reflect.getMetadata` walks the class chain, a subclass without class decorators of its own
 * reads its parent's lists, which are then its effective lists too. So
 * `Reflect.getMetadata(key, Cls)` always answers "what applies to Cls", never "what Cls added".
 * `memberOf` is stored per method on the prototype that declares it; `getMetadata` walks the
 * prototype chain, which matches the rule that an override without `@MemberOf` keeps the
 * parent's group.
 *
 * The data are copies: changing them changes nothing. Written before validation, so a class
 * whose definition threw may carry invalid data.
 */
import { declarationChain, THREAD_CONFIG_DEFAULTS } from './declarations.js';

/** The `Reflect.getMetadata` keys written in legacy mode. */
export const REFLECT_METADATA_KEYS = Object.freeze({
  /** `Reflect.getMetadata(groups, Cls)`: `GroupMetadata[]`, declaration order, parents first. */
  groups: 'multiactive:groups',
  /** `CompatibleMetadata[]`, one per `@Compatible`, parents first. */
  compatible: 'multiactive:compatible',
  /** `PriorityMetadata[]`: one chain per `@Priority`, parents first. */
  priority: 'multiactive:priority',
  /** `ThreadConfigMetadata`: the effective options (subclass over parent over defaults). */
  threadConfig: 'multiactive:threadConfig',
  /**
   * `CheckpointMetadata`: the nearest `@Checkpoint` of the class chain; not written while the
   * chain has none (then `getMetadata` returns `undefined`).
   */
  checkpoint: 'multiactive:checkpoint',
  /** `Reflect.getMetadata(memberOf, Cls.prototype, method)`: the group name. */
  memberOf: 'multiactive:memberOf',
} as const);

export interface GroupMetadata {
  readonly name: string;
  readonly selfCompatible: boolean;
  readonly minThreads: number;
  readonly maxThreads: number;
  readonly superPriority: boolean;
  readonly hasCondition: boolean;
}

export interface CompatibleMetadata {
  readonly groups: readonly string[];
  readonly hasCondition: boolean;
}

/** One `@Priority` chain, highest level first; every level is an array of group names. */
export type PriorityMetadata = readonly (readonly string[])[];

export interface ThreadConfigMetadata {
  readonly threadPoolSize: number;
  readonly hardLimit: boolean;
}

/**
 * The effective `@Checkpoint`. A store object is not copied (it is live, with connections):
 * `store` holds a directory path only, `hasStoreObject` says whether a store object was given.
 */
export interface CheckpointMetadata {
  readonly everyRequests: number | undefined;
  readonly everyMs: number | undefined;
  readonly journalLimit: number | undefined;
  /** The directory of the file store when given as a path, else `undefined`. */
  readonly store: string | undefined;
  readonly hasStoreObject: boolean;
}

interface ReflectWithMetadata {
  defineMetadata?: (key: string, value: unknown, target: object, property?: string | symbol) => void;
}

const reflect = Reflect as unknown as ReflectWithMetadata;

/** Rewrite the class keys of `cls` with its effective declarations. No-op without reflect-metadata. */
export function writeClassMetadata(cls: Function): void {
  if (typeof reflect.defineMetadata !== 'function') return;
  const chain = declarationChain(cls);
  const groups: GroupMetadata[] = chain.flatMap(({ declarations }) =>
    declarations.groups.map((group) => ({
      name: group.name,
      selfCompatible: group.selfCompatible,
      minThreads: group.minThreads,
      maxThreads: group.maxThreads,
      superPriority: group.superPriority,
      hasCondition: group.condition !== undefined,
    })),
  );
  const compatible: CompatibleMetadata[] = chain.flatMap(({ declarations }) =>
    declarations.compatible.map((rule) => ({
      groups: [...rule.groups],
      hasCondition: rule.condition !== undefined,
    })),
  );
  const priority: PriorityMetadata[] = chain.flatMap(({ declarations }) =>
    declarations.priority.map((declaration) => declaration.levels.map((level) => [...level])),
  );
  let threadPoolSize: number = THREAD_CONFIG_DEFAULTS.threadPoolSize;
  let hardLimit: boolean = THREAD_CONFIG_DEFAULTS.hardLimit;
  for (const { declarations } of chain) {
    threadPoolSize = declarations.threadConfig?.threadPoolSize ?? threadPoolSize;
    hardLimit = declarations.threadConfig?.hardLimit ?? hardLimit;
  }
  const threadConfig: ThreadConfigMetadata = { threadPoolSize, hardLimit };
  let checkpoint: CheckpointMetadata | undefined;
  for (const { declarations } of chain) {
    const declared = declarations.checkpoint;
    if (declared === undefined) continue;
    checkpoint = {
      everyRequests: declared.everyRequests,
      everyMs: declared.everyMs,
      journalLimit: declared.journalLimit,
      store: typeof declared.store === 'string' ? declared.store : undefined,
      hasStoreObject: typeof declared.store === 'object',
    };
  }
  reflect.defineMetadata(REFLECT_METADATA_KEYS.groups, groups, cls);
  reflect.defineMetadata(REFLECT_METADATA_KEYS.compatible, compatible, cls);
  reflect.defineMetadata(REFLECT_METADATA_KEYS.priority, priority, cls);
  reflect.defineMetadata(REFLECT_METADATA_KEYS.threadConfig, threadConfig, cls);
  if (checkpoint !== undefined) reflect.defineMetadata(REFLECT_METADATA_KEYS.checkpoint, checkpoint, cls);
}

/** Record `method`'s group on the prototype that declares it. No-op without reflect-metadata. */
export function writeMemberMetadata(prototype: object, method: string, group: string): void {
  if (typeof reflect.defineMetadata !== 'function') return;
  reflect.defineMetadata(REFLECT_METADATA_KEYS.memberOf, group, prototype, method);
}
