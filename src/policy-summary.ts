/**
 * A plain-data description of a compiled policy, for viewers (`object.created` events, the
 * debugger's object view). Built once per class, when someone observes.
 */
import { groupsCompatible, type Policy } from '../scheduler/index.js';
import type { PolicySummary } from './shapes.js';

const summaries = new WeakMap<Policy, PolicySummary>();

/** Time: O(groups² + methods), once per class. */
export function policySummary(policy: Policy, methods: readonly string[]): PolicySummary {
  let summary = summaries.get(policy);
  if (summary !== undefined) return summary;
  const names = policy.groupNames;
  const groups = names.map((name, g) => ({
    name,
    compatible: names.filter((_, h) => groupsCompatible(policy, g, h) === true),
    conditional: names.filter((_, h) => groupsCompatible(policy, g, h) === 'conditional'),
    minThreads: policy.minThreads[g] ?? 0,
    maxThreads: finite(policy.maxThreads[g] ?? Number.POSITIVE_INFINITY),
    superPriority: policy.superPriority[g] === true,
    methods: methods.filter((m) => policy.methodGroup.get(m) === g),
  }));
  // The priority order is stored transitively closed; show only its direct edges.
  const priorities: [string, string][] = [];
  for (let g = 0; g < policy.groupCount; g++) {
    const lower = policy.overtakes[g] ?? [];
    for (const h of lower) {
      const implied = lower.some((k) => k !== h && (policy.overtakes[k] ?? []).includes(h));
      if (!implied) priorities.push([names[g]!, names[h]!]);
    }
  }
  summary = {
    groups,
    ungroupedMethods: methods.filter((m) => !policy.methodGroup.has(m)),
    priorities,
    limit: finite(policy.poolSize),
    hardLimit: policy.hardLimit,
  };
  summaries.set(policy, summary);
  return summary;
}

export function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}
