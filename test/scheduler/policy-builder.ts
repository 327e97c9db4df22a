/**
 * Builds a `Policy` for scheduler tests straight from a declaration shaped like the decorators
 * (SPEC §2), without depending on `decorators/`: group names, self-compatibility, `@Compatible`
 * rules, `@Priority` chains, thread limits. Test helper only: invalid input throws a plain Error.
 *
 * Tables (see scheduler/policy.ts): `incompatible[g]` holds every group h not compatible with g
 * at group level, `conditional[g]` the groups compatible with g under a condition, `overtakes[g]`
 * the transitive closure of the priority chains, plus every non-super group for a
 * super-priority group (no non-super group overtakes a super one).
 */
import type { Condition, ConditionalRule, Policy } from '../../scheduler/policy.js';

export interface GroupDecl {
  readonly name: string;
  readonly selfCompatible?: boolean;
  /** Self condition (`@Group({ condition })`); needs `selfCompatible`. */
  readonly condition?: Condition;
  readonly minThreads?: number;
  readonly maxThreads?: number;
  readonly superPriority?: boolean;
}

export interface CompatibleDecl {
  /** Every pair of distinct listed groups is compatible, both ways. */
  readonly groups: readonly string[];
  readonly condition?: Condition;
}

export interface PolicyDecl {
  readonly className?: string;
  readonly groups: readonly GroupDecl[];
  readonly compatible?: readonly CompatibleDecl[];
  /**
   * One-way compatibility `[from, to]`: a request of `from` may be admitted beside requests of
   * `to`, not the reverse (the checkpoint group's kind of rule; policy.ts allows it).
   */
  readonly oneWay?: readonly (readonly [string, string])[];
  /** `@Priority` chains, highest level first; a level is a group name or an array of names. */
  readonly priorities?: readonly (readonly (string | readonly string[])[])[];
  /** Default Infinity; raised to the sum of reservations + 1 when they reach it (SPEC §5). */
  readonly poolSize?: number;
  readonly hardLimit?: boolean;
}

export function buildPolicy(decl: PolicyDecl): Policy {
  const names = decl.groups.map((g) => g.name);
  const n = names.length;
  const id = (name: string): number => {
    const g = names.indexOf(name);
    if (g < 0) throw new Error(`unknown group ${name}`);
    return g;
  };

  // compat[g][h]: false, true, or the condition under which a request of g is compatible with h.
  const compat: (boolean | Condition)[][] = Array.from({ length: n }, () => new Array(n).fill(false));
  decl.groups.forEach((group, g) => {
    if (group.condition && !group.selfCompatible)
      throw new Error(`${group.name}: condition without selfCompatible`);
    if (group.selfCompatible) compat[g]![g] = group.condition ?? true;
  });
  for (const rule of decl.compatible ?? []) {
    for (const a of rule.groups)
      for (const b of rule.groups) if (a !== b) compat[id(a)]![id(b)] = rule.condition ?? true;
  }
  for (const [from, to] of decl.oneWay ?? []) compat[id(from)]![id(to)] = true;

  const incompatible: number[][] = [];
  const conditional: ConditionalRule[][] = [];
  for (let g = 0; g < n; g++) {
    incompatible.push([]);
    conditional.push([]);
    for (let h = 0; h < n; h++) {
      const c = compat[g]![h]!;
      if (c === false) incompatible[g]!.push(h);
      else if (c !== true) conditional[g]!.push({ group: h, condition: c });
    }
  }

  // Priority graph: an edge from every group of a level to every group of the next level.
  const above: boolean[][] = Array.from({ length: n }, () => new Array(n).fill(false));
  for (const chain of decl.priorities ?? []) {
    const levels = chain.map((level) => (typeof level === 'string' ? [level] : level).map(id));
    for (let i = 0; i + 1 < levels.length; i++)
      for (const hi of levels[i]!) for (const lo of levels[i + 1]!) above[hi]![lo] = true;
  }
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) if (above[i]![k] && above[k]![j]) above[i]![j] = true;
  for (let g = 0; g < n; g++) if (above[g]![g]) throw new Error(`priority cycle through ${names[g]}`);

  const superPriority = decl.groups.map((g) => g.superPriority === true);
  const overtakes: number[][] = [];
  for (let g = 0; g < n; g++) {
    const list: number[] = [];
    for (let h = 0; h < n; h++) {
      if (h === g) continue;
      // As decorators/compile.ts: a super group overtakes every non-super group, and another
      // super group only along a declared chain; an edge into a super group from a non-super
      // one (a cycle there) is dropped here.
      if (superPriority[h] ? superPriority[g] && above[g]![h] : superPriority[g] || above[g]![h])
        list.push(h);
    }
    overtakes.push(list);
  }

  const maxThreads = decl.groups.map((g) => g.maxThreads ?? Number.POSITIVE_INFINITY);
  const minThreads = decl.groups.map((g, i) => Math.min(g.minThreads ?? 0, maxThreads[i]!));
  const reserved = minThreads.reduce((a, b) => a + b, 0);
  const requested = decl.poolSize ?? Number.POSITIVE_INFINITY;

  return {
    className: decl.className ?? 'Test',
    groupNames: names,
    groupCount: n,
    incompatible,
    conditional,
    overtakes,
    hasPriorities: overtakes.some((list) => list.length > 0),
    superPriority,
    minThreads,
    maxThreads,
    poolSize: reserved >= requested ? reserved + 1 : requested,
    hardLimit: decl.hardLimit ?? false,
    methodGroup: new Map(names.map((name, g) => [name, g])),
  };
}
