/**
 * The compiled scheduling policy of one active class: plain data with small integer group ids.
 *
 * `decorators/compile.ts` builds it once per class from the decorators' declarations (and
 * throws `DefinitionError` for anything invalid); the scheduler only reads it. Group ids are
 * `0 .. groupCount-1`; the id `groupCount` stands for "no group" (an ungrouped method), which
 * is compatible with nothing and is never listed in the tables below.
 *
 * Compatibility is given from the side of the request being admitted, so it may be
 * asymmetric (the checkpoint group of the fault-tolerance issue is compatible with every group
 * one way only). Decorator-declared rules are symmetric.
 */

/** What a compatibility condition sees of a request. */
export interface RequestView {
  readonly method: string;
  readonly args: readonly unknown[];
  /** The group name, or `undefined` for an ungrouped method. */
  readonly group: string | undefined;
}

/**
 * `a` is the request being admitted, `b` one already dispatched or queued ahead of it,
 * `target` the object itself. `true` means compatible. A condition that throws means
 * incompatible (and the error is reported).
 */
export type Condition = (a: RequestView, b: RequestView, target: unknown) => boolean;

export interface ConditionalRule {
  /** The other group (may equal the admitted request's own group: a self condition). */
  readonly group: number;
  readonly condition: Condition;
}

export interface Policy {
  /** For messages only. */
  readonly className: string;
  /** `groupNames[id]`; its length is `groupCount`. */
  readonly groupNames: readonly string[];
  readonly groupCount: number;
  /**
   * `incompatible[g]`: the groups `h` such that a request of `g` is never compatible with a
   * request of `h` (group level). Contains `g` itself when `g` is not self-compatible.
   * Groups that are compatible only under a condition are in `conditional[g]` instead.
   */
  readonly incompatible: readonly (readonly number[])[];
  /** `conditional[g]`: groups compatible with `g` only when the condition holds. */
  readonly conditional: readonly (readonly ConditionalRule[])[];
  /**
   * `overtakes[g]`: the groups a request of `g` may be placed before in the ready order: a
   * path `g ->+ h` in the priority graph, or, for a super-priority `g`, every non-super group.
   */
  readonly overtakes: readonly (readonly number[])[];
  /** True when any group overtakes another (otherwise the ready order is plain FIFO). */
  readonly hasPriorities: boolean;
  readonly superPriority: readonly boolean[];
  /** Slots reserved per group (`@Group({ minThreads })`), 0 when none. */
  readonly minThreads: readonly number[];
  /** Cap on a group's requests in service, WBN included; `Infinity` when none. */
  readonly maxThreads: readonly number[];
  /** Initial limit (`@ThreadConfig({ threadPoolSize })`), already raised to reservations + 1. */
  readonly poolSize: number;
  /** Initial mode: `true` counts requests in wait-by-necessity against the limit. */
  readonly hardLimit: boolean;
  /** Method name -> group id. Methods absent from the map are ungrouped. */
  readonly methodGroup: ReadonlyMap<string, number>;
}

/** Group-level compatibility as the tables state it (conditions are not evaluated). */
export function groupsCompatible(policy: Policy, g: number, h: number): boolean | 'conditional' {
  if (g >= policy.groupCount || h >= policy.groupCount) return false;
  if (policy.incompatible[g]?.includes(h)) return false;
  if (policy.conditional[g]?.some((rule) => rule.group === h)) return 'conditional';
  return true;
}

/** The policy of an undecorated class: no groups, so one request at a time, FIFO. */
export function classicPolicy(className: string): Policy {
  return {
    className,
    groupNames: [],
    groupCount: 0,
    incompatible: [],
    conditional: [],
    overtakes: [],
    hasPriorities: false,
    superPriority: [],
    minThreads: [],
    maxThreads: [],
    poolSize: Number.POSITIVE_INFINITY,
    hardLimit: false,
    methodGroup: new Map(),
  };
}
