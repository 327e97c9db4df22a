/**
 * Compile the declarations of an active class (and its parents) into a `Policy`: validate
 * everything once, number the groups, and build the tables the scheduler reads.
 *
 * Who calls it: the class-definition validation (the standard-mode class initializer, the
 * legacy last class decorator: see decorators.ts) and the runtime at `newActive`. The result
 * is cached per class, so the runtime pays the cost once per class. Time: O(G² + G·E + M)
 * for G groups, E priority edges and M methods; G is small (a handful of groups).
 *
 * Steps:
 * 1. Collect the classes of the chain that carry declarations, oldest ancestor first. None:
 *    the class is a classic active object (`classicPolicy`).
 * 2. Throw the first problem recorded while decorating (bad options, misplaced decorators).
 * 3. Number the groups in declaration order, parents first; a name declared twice throws.
 * 4. Resolve `@MemberOf`, `@Compatible` and `@Priority` names; an unknown name throws (the
 *    legacy class-definition check may defer it, see `validateDeclarations`).
 * 5. Compatibility: a `@Compatible` rule makes every pair of its distinct groups compatible
 *    (symmetric); two rules on one pair where either has a condition are ambiguous.
 * 6. Priority: edges level i -> level i+1 of every chain; each edge is checked as it is added,
 *    so a cycle is reported at the edge that closes it, with the cycle spelled out.
 *    `superPriority` implies edges from the super group to every non-super group.
 * 7. Threads: subclass `@ThreadConfig` options override the parent's, option by option; the
 *    pool grows to the reservations + 1 when they would fill it.
 *
 * `@Checkpoint` is not part of the `Policy` (checkpoints are the runtime's business; the
 * scheduler only serves the checkpoint request): `checkpointConfig` reads it, after the same
 * validation.
 */
import { type Condition, type ConditionalRule, classicPolicy, type Policy } from '../scheduler/policy.js';
import {
  type AbstractClass,
  type CheckpointDeclaration,
  type DeclaringClass,
  declarationChain,
  type GroupDeclaration,
  THREAD_CONFIG_DEFAULTS,
} from './declarations.js';
import { type DecoratorName, DefinitionError } from './errors.js';
import { classNameOf, didYouMean, nameList } from './format.js';

/**
 * Slots added above the reservations when `sum(minThreads) >= threadPoolSize`, so that at
 * least one slot is left for groups without a reservation. Value from the reference
 * (ProActive `THREAD_POOL_MARGIN`).
 */
export const RESERVATION_MARGIN = 1;

const compiled = new WeakMap<object, Policy>();
/** `null`: the class has no `@Checkpoint` in its chain. */
const checkpoints = new WeakMap<object, CheckpointConfig | null>();

/** A class's effective `@Checkpoint` (see `checkpointConfig`). */
export interface CheckpointConfig {
  readonly everyRequests: number | undefined;
  readonly everyMs: number | undefined;
  /** Most calls journaled between durable checkpoints (recoverable objects); `undefined`: the default. */
  readonly journalLimit: number | undefined;
  /** As given: a non-empty string, a store object, or undefined (the runtime's default). */
  readonly store: string | object | undefined;
  /** Bound on one store call, in ms (Infinity: none); undefined: the runtime's default. */
  readonly storeTimeoutMs: number | undefined;
  /** The decorator as written, for messages. */
  readonly source: string;
}

/**
 * The scheduling policy of `ctor`: its declarations merged with its parents', validated and
 * compiled. Cached per class (a WeakMap): the first call compiles, later calls are a lookup.
 * An undecorated class (no declarations anywhere in its chain) gets `classicPolicy`.
 *
 * @throws DefinitionError for an invalid declaration anywhere in the chain.
 */
export function compilePolicy(ctor: AbstractClass): Policy {
  const cached = compiled.get(ctor);
  if (cached !== undefined) return cached;
  const policy = buildPolicy(ctor, neverDefer);
  compiled.set(ctor, policy);
  warnUngrouped(ctor, policy);
  return policy;
}

/** The process warning code for methods left without a group in a class that declares groups. */
export const UNGROUPED_WARNING = 'MULTIACTIVE_UNGROUPED';

/**
 * The instance methods of `cls` (own and inherited, nearest first) that run alone without
 * having been told to: no group in `policy` and no `@Alone()` in force. Empty for a class that
 * declares no group (a classic active object: every method runs alone, by design). The
 * checkpoint hooks `checkpoint()` and `restore(state)` of a class with `@Checkpoint` are the
 * runtime's, never requests of their own, so they are left out. Time: O(methods + chain).
 *
 * @internal
 */
export function ungroupedMethods(cls: Function, policy: Policy): string[] {
  if (policy.groupCount === 0) return [];
  const chain = declarationChain(cls);
  const alone = new Set<string>();
  let checkpointed = false;
  for (const { declarations } of chain) {
    for (const method of declarations.members.keys()) alone.delete(method);
    for (const method of declarations.alone.keys()) alone.add(method);
    if (declarations.checkpoint !== undefined) checkpointed = true;
  }
  const found = new Set<string>();
  for (
    let proto: unknown = cls.prototype;
    typeof proto === 'object' && proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || key === 'then' || found.has(key)) continue;
      if (checkpointed && (key === 'checkpoint' || key === 'restore')) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor === undefined || typeof descriptor.value !== 'function') continue;
      found.add(key);
    }
  }
  return [...found].filter((method) => !policy.methodGroup.has(method) && !alone.has(method));
}

/**
 * Once per class (at its compilation, which is cached): a `MULTIACTIVE_UNGROUPED` process
 * warning naming the class, its methods without a group and its groups, since such a method
 * silently runs alone. `@Alone()` (or `alone` in `defineActive`) says it is intended.
 */
function warnUngrouped(cls: Function, policy: Policy): void {
  const methods = ungroupedMethods(cls, policy);
  if (methods.length === 0) return;
  const host = (globalThis as { process?: { emitWarning?: (message: string, options: object) => void } })
    .process;
  if (typeof host?.emitWarning !== 'function') return;
  const className = policy.className;
  const one = methods.length === 1;
  const list = methods.map((method) => `\`${method}\``).join(', ');
  host.emitWarning(
    `multiactive: ${className}: ${one ? 'method' : 'methods'} ${list} ${one ? 'has' : 'have'} no group, so ` +
      `${one ? 'it runs' : 'they run'} alone (compatible with no other request) although ${className} ` +
      `declares groups ${nameList(policy.groupNames)}. Put ${one ? 'it' : 'each'} in a group with ` +
      `@MemberOf('${policy.groupNames[0]}'), or mark ${one ? 'it' : 'each'} @Alone() if running alone is ` +
      'intended (with defineActive: list it under `memberOf` or `alone`).',
    { code: UNGROUPED_WARNING },
  );
}

/**
 * The class's checkpoint configuration: the nearest `@Checkpoint` in its class chain (a
 * subclass's replaces its parent's as a whole), or `undefined` when the chain has none. The
 * whole chain is validated first, by `compilePolicy`, so a class whose policy would throw
 * throws here too. Cached per class (a WeakMap). For the runtime (`@Checkpoint` semantics).
 * Time: O(depth of the class chain) on the first call, then a lookup.
 *
 * @throws DefinitionError for an invalid declaration anywhere in the chain.
 */
export function checkpointConfig(ctor: AbstractClass): CheckpointConfig | undefined {
  const cached = checkpoints.get(ctor);
  if (cached !== undefined) return cached ?? undefined;
  compilePolicy(ctor);
  let nearest: CheckpointDeclaration | undefined;
  // Oldest ancestor first: the last one found is the nearest.
  for (const { declarations } of declarationChain(ctor)) nearest = declarations.checkpoint ?? nearest;
  const config =
    nearest === undefined
      ? undefined
      : Object.freeze({
          everyRequests: nearest.everyRequests,
          everyMs: nearest.everyMs,
          journalLimit: nearest.journalLimit,
          store: nearest.store,
          storeTimeoutMs: nearest.storeTimeoutMs,
          source: nearest.source,
        });
  checkpoints.set(ctor, config ?? null);
  return config;
}

/**
 * Validate without caching. Used by the legacy class-definition check, which cannot always be
 * sure it runs after the class's last decorator (see decorators.ts): `deferUnknownGroup(name)`
 * returns true for a group name that a decorator still to come may declare; such a reference is
 * then left to `compilePolicy`. Nothing is cached, so an incomplete view never becomes the
 * class's policy.
 *
 * @internal
 */
export function validateDeclarations(cls: Function, deferUnknownGroup: (name: string) => boolean): void {
  buildPolicy(cls, deferUnknownGroup);
}

/**
 * Whether `cls`'s policy is compiled (and cached) already: its declarations can no longer change.
 *
 * @internal
 */
export function isCompiled(cls: Function): boolean {
  return compiled.has(cls);
}

function neverDefer(): boolean {
  return false;
}

interface PairRule {
  readonly condition: Condition | undefined;
  readonly source: string;
  readonly owner: Function;
}

interface EdgeOrigin {
  readonly source: string;
  readonly owner: Function;
}

function buildPolicy(cls: Function, deferUnknownGroup: (name: string) => boolean): Policy {
  const className = classNameOf(cls);
  // 1. The declaring classes, oldest first.
  const chain = declarationChain(cls);
  if (chain.length === 0) return classicPolicy(className);

  // 2. Problems recorded while decorating, in source order, oldest class first.
  for (const { cls: owner, declarations } of chain) {
    const problem = declarations.problems[0];
    if (problem !== undefined)
      throw new DefinitionError(classNameOf(owner), problem.decorator, problem.detail);
  }

  // 3. Groups.
  const groups: GroupDeclaration[] = [];
  const declaredBy: Function[] = [];
  const ids = new Map<string, number>();
  for (const { cls: owner, declarations } of chain) {
    for (const group of declarations.groups) {
      const previous = ids.get(group.name);
      if (previous !== undefined) throw duplicateGroup(owner, group, declaredBy[previous] ?? owner);
      ids.set(group.name, groups.length);
      groups.push(group);
      declaredBy.push(owner);
    }
  }
  const groupNames = groups.map((group) => group.name);
  const groupCount = groups.length;

  // 4. Name resolution.
  const resolve = (owner: Function, decorator: DecoratorName, source: string, name: string) => {
    const id = ids.get(name);
    if (id !== undefined || deferUnknownGroup(name)) return id;
    const ownerName = classNameOf(owner);
    throw new DefinitionError(
      ownerName,
      decorator,
      `${source} names an unknown group \`${name}\`.${didYouMean(name, groupNames)} Declare it with ` +
        `@Group('${name}', ...) on ${ownerName} or a parent class; known groups: ${nameList(groupNames)}.`,
    );
  };

  const methodGroup = new Map<string, number>();
  for (const { cls: owner, declarations } of chain) {
    for (const member of declarations.members.values()) {
      const id = resolve(owner, '@MemberOf', member.source, member.group);
      // A subclass's declaration replaces the parent's; an override without @MemberOf keeps it.
      if (id !== undefined) methodGroup.set(member.method, id);
    }
    for (const alone of declarations.alone.values()) {
      const member = declarations.members.get(alone.method);
      if (member !== undefined) {
        throw new DefinitionError(
          classNameOf(owner),
          '@Alone',
          `${alone.source}: the method is also a member of group \`${member.group}\` (${member.source}). ` +
            'A method either belongs to a group or runs alone: keep one of the two.',
        );
      }
      // On an override: out of the parent's group.
      methodGroup.delete(alone.method);
    }
  }

  // 5. Compatibility.
  const pairRules = compatiblePairs(chain, groupCount, groupNames, resolve);
  const incompatible: number[][] = [];
  const conditional: ConditionalRule[][] = [];
  for (let g = 0; g < groupCount; g++) {
    const never: number[] = [];
    const when: ConditionalRule[] = [];
    for (let h = 0; h < groupCount; h++) {
      if (h === g) {
        const group = groups[g];
        if (group === undefined || !group.selfCompatible) never.push(h);
        else if (group.condition !== undefined) when.push({ group: h, condition: group.condition });
        continue;
      }
      const rule = pairRules.get(pairKey(g, h, groupCount));
      if (rule === undefined) never.push(h);
      else if (rule.condition !== undefined) when.push({ group: h, condition: rule.condition });
    }
    incompatible.push(never);
    conditional.push(when);
  }

  // 6. Priority.
  const superPriority = groups.map((group) => group.superPriority);
  const successors = priorityGraph(chain, groupNames, superPriority, resolve);
  const overtakes = successors.map((_, g) => {
    const reach = reachable(successors, g);
    if (superPriority[g]) {
      for (let h = 0; h < groupCount; h++) if (h !== g && !superPriority[h]) reach.add(h);
    }
    return [...reach].sort((a, b) => a - b);
  });

  // 7. Threads.
  let threadPoolSize: number = THREAD_CONFIG_DEFAULTS.threadPoolSize;
  let hardLimit: boolean = THREAD_CONFIG_DEFAULTS.hardLimit;
  for (const { declarations } of chain) {
    const config = declarations.threadConfig;
    if (config?.threadPoolSize !== undefined) threadPoolSize = config.threadPoolSize;
    if (config?.hardLimit !== undefined) hardLimit = config.hardLimit;
  }
  const reserved = groups.reduce((sum, group) => sum + group.minThreads, 0);
  const poolSize = reserved >= threadPoolSize ? reserved + RESERVATION_MARGIN : threadPoolSize;

  return {
    className,
    groupNames,
    groupCount,
    incompatible,
    conditional,
    overtakes,
    hasPriorities: overtakes.some((list) => list.length > 0),
    superPriority,
    minThreads: groups.map((group) => group.minThreads),
    maxThreads: groups.map((group) => group.maxThreads),
    poolSize,
    hardLimit,
    methodGroup,
  };
}

type Resolve = (
  owner: Function,
  decorator: DecoratorName,
  source: string,
  name: string,
) => number | undefined;

function pairKey(g: number, h: number, groupCount: number): number {
  return g < h ? g * groupCount + h : h * groupCount + g;
}

function duplicateGroup(owner: Function, group: GroupDeclaration, first: Function): DefinitionError {
  const ownerName = classNameOf(owner);
  const detail =
    first === owner
      ? `${group.source} declares group \`${group.name}\` twice. A group is declared once: remove one ` +
        'of the two declarations, or rename one.'
      : `${group.source} declares group \`${group.name}\`, which the parent class ${classNameOf(first)} ` +
        `already declares. A subclass inherits its parent's groups: remove this @Group (methods join ` +
        `the inherited group with @MemberOf('${group.name}')), or choose another name.`;
  return new DefinitionError(ownerName, '@Group', detail);
}

/** Step 5: pair key -> the rule that makes the pair compatible. Time: O(Σ |rule|²). */
function compatiblePairs(
  chain: readonly DeclaringClass[],
  groupCount: number,
  groupNames: readonly string[],
  resolve: Resolve,
): Map<number, PairRule> {
  const rules = new Map<number, PairRule>();
  for (const { cls: owner, declarations } of chain) {
    for (const rule of declarations.compatible) {
      const ids: number[] = [];
      for (const name of rule.groups) {
        const id = resolve(owner, '@Compatible', rule.source, name);
        if (id !== undefined) ids.push(id);
      }
      for (let i = 0; i < ids.length; i++) {
        for (let j = i + 1; j < ids.length; j++) {
          const g = ids[i] ?? 0;
          const h = ids[j] ?? 0;
          const key = pairKey(g, h, groupCount);
          const existing = rules.get(key);
          if (existing === undefined) {
            rules.set(key, { condition: rule.condition, source: rule.source, owner });
          } else if (existing.condition !== undefined || rule.condition !== undefined) {
            const where = existing.owner === owner ? '' : ` (on ${classNameOf(existing.owner)})`;
            const a = groupNames[g];
            const b = groupNames[h];
            throw new DefinitionError(
              classNameOf(owner),
              '@Compatible',
              `${rule.source} and ${existing.source}${where} both make groups \`${a}\` and \`${b}\` ` +
                'compatible and one of them has a condition, so which rule applies is ambiguous. ' +
                `Declare the pair \`${a}\`/\`${b}\` in one @Compatible only (split the other rule).`,
            );
          }
        }
      }
    }
  }
  return rules;
}

/**
 * Step 6: the priority DAG as successor lists (insertion order, no duplicates). Each edge is
 * checked when added: a self edge, a non-super group above a super group (super groups already
 * go first: that is a cycle with the implied edge), or a path back from its head closes a cycle.
 * Time: O(E·(G + E)).
 */
function priorityGraph(
  chain: readonly DeclaringClass[],
  groupNames: readonly string[],
  superPriority: readonly boolean[],
  resolve: Resolve,
): number[][] {
  const successors: number[][] = groupNames.map(() => []);
  const origins = new Map<number, EdgeOrigin>();
  const groupCount = groupNames.length;
  const name = (id: number) => groupNames[id] ?? String(id);
  for (const { cls: owner, declarations } of chain) {
    for (const declaration of declarations.priority) {
      const levels = declaration.levels.map((level) => {
        const ids: number[] = [];
        for (const group of level) {
          const id = resolve(owner, '@Priority', declaration.source, group);
          if (id !== undefined) ids.push(id);
        }
        return ids;
      });
      for (let i = 0; i + 1 < levels.length; i++) {
        for (const u of levels[i] ?? []) {
          for (const v of levels[i + 1] ?? []) {
            const fail = (detail: string) => new DefinitionError(classNameOf(owner), '@Priority', detail);
            if (superPriority[v] && !superPriority[u]) {
              throw fail(
                `${declaration.source} places \`${name(u)}\` above \`${name(v)}\`, but \`${name(v)}\` has ` +
                  `superPriority, so it already goes before every non-super group: priority cycle ` +
                  `\`${name(u)} -> ${name(v)} -> ${name(u)}\`. Remove \`${name(u)}\` from the levels above ` +
                  `\`${name(v)}\`, or change the groups' superPriority.`,
              );
            }
            const back = u === v ? [u] : findPath(successors, v, u);
            if (back !== undefined) {
              const cycle = [u, ...back].map(name).join(' -> ');
              const others = [...new Set(cycleOrigins(back, origins, groupCount))].join('; ');
              throw fail(
                `${declaration.source} closes a priority cycle \`${cycle}\`. The priority graph must be ` +
                  'acyclic: remove this chain or another edge of the cycle' +
                  (others === '' ? '.' : ` (the other edges come from ${others}).`),
              );
            }
            const row = successors[u];
            if (row !== undefined && !row.includes(v)) {
              row.push(v);
              origins.set(u * groupCount + v, { source: declaration.source, owner });
            }
          }
        }
      }
    }
  }
  return successors;
}

/** Where the edges `path[0] -> path[1] -> ... -> path[last]` were declared. */
function cycleOrigins(path: readonly number[], origins: Map<number, EdgeOrigin>, n: number): string[] {
  const found: string[] = [];
  for (let i = 0; i + 1 < path.length; i++) {
    const origin = origins.get((path[i] ?? 0) * n + (path[i + 1] ?? 0));
    if (origin !== undefined) found.push(`${origin.source} on ${classNameOf(origin.owner)}`);
  }
  return found;
}

/** A path `from -> ... -> to` (both included) by depth-first search in edge order, if any. */
function findPath(
  successors: readonly (readonly number[])[],
  from: number,
  to: number,
): number[] | undefined {
  const visited = new Set<number>();
  const path: number[] = [];
  const visit = (node: number): boolean => {
    visited.add(node);
    path.push(node);
    if (node === to) return true;
    for (const next of successors[node] ?? []) {
      if (!visited.has(next) && visit(next)) return true;
    }
    path.pop();
    return false;
  };
  return visit(from) ? path : undefined;
}

/** Every node reachable from `from` by one or more edges. */
function reachable(successors: readonly (readonly number[])[], from: number): Set<number> {
  const seen = new Set<number>();
  const stack = [...(successors[from] ?? [])];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push(...(successors[node] ?? []));
  }
  return seen;
}
