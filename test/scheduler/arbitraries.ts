/**
 * fast-check generators for scheduler tests: small random policies (as plain data, so a
 * counterexample prints readably) and random sequences of runtime events.
 */
import fc from 'fast-check';
import type { Condition, Policy } from '../../scheduler/policy.js';
import { buildPolicy, type CompatibleDecl, type GroupDecl } from './policy-builder.js';

/** Pure conditions on the first argument (the "key"). */
export const conditions = {
  differentKey: (a, b) => a.args[0] !== b.args[0],
  sameParity: (a, b) => (Number(a.args[0]) + Number(b.args[0])) % 2 === 0,
  /** Asymmetric on purpose: the admitted request must not have the larger key. */
  notLarger: (a, b) => Number(a.args[0]) <= Number(b.args[0]),
  throwsOnKey2: (a, b) => {
    if (a.args[0] === 2 || b.args[0] === 2) throw new Error('condition failed on key 2');
    return a.args[0] !== b.args[0];
  },
} satisfies Record<string, Condition>;
export type ConditionName = keyof typeof conditions;

export type PairRule = 'incompatible' | 'compatible' | ConditionName | 'oneWay' | 'otherWay';
export type SelfRule = 'incompatible' | 'compatible' | ConditionName;

export interface PolicySpec {
  readonly groups: number;
  readonly self: readonly SelfRule[];
  /** Rule for each pair i < j, in the order (0,1), (0,2), ..., (1,2), ... */
  readonly pairs: readonly PairRule[];
  /** A random topological order, and for each pair i < j in it, an edge order[i] -> order[j]. */
  readonly order: readonly number[];
  readonly edges: readonly boolean[];
  readonly superPriority: readonly boolean[];
  readonly minThreads: readonly number[];
  readonly maxThreads: readonly number[];
  readonly poolSize: number;
  readonly hardLimit: boolean;
}

const conditionName = fc.constantFrom<ConditionName>(
  'differentKey',
  'sameParity',
  'notLarger',
  'throwsOnKey2',
);
/** True with probability about p (integers are drawn without fast-check's bias to small values). */
const rarely = (p: number) => fc.noBias(fc.integer({ min: 0, max: 999 })).map((x) => x < p * 1000);

export const policySpec: fc.Arbitrary<PolicySpec> = fc.integer({ min: 1, max: 4 }).chain((n) => {
  const pairCount = (n * (n - 1)) / 2;
  return fc.record({
    groups: fc.constant(n),
    self: fc.array(
      fc.oneof(
        { arbitrary: fc.constant<SelfRule>('incompatible'), weight: 4 },
        { arbitrary: fc.constant<SelfRule>('compatible'), weight: 4 },
        { arbitrary: conditionName, weight: 2 },
      ),
      { minLength: n, maxLength: n },
    ),
    pairs: fc.array(
      fc.oneof(
        { arbitrary: fc.constant<PairRule>('incompatible'), weight: 8 },
        { arbitrary: fc.constant<PairRule>('compatible'), weight: 7 },
        { arbitrary: conditionName, weight: 3 },
        { arbitrary: fc.constantFrom<PairRule>('oneWay', 'otherWay'), weight: 1 },
      ),
      { minLength: pairCount, maxLength: pairCount },
    ),
    order: fc.shuffledSubarray(
      Array.from({ length: n }, (_, i) => i),
      { minLength: n, maxLength: n },
    ),
    edges: fc.array(rarely(0.4), { minLength: pairCount, maxLength: pairCount }),
    superPriority: fc.array(rarely(0.12), { minLength: n, maxLength: n }),
    minThreads: fc.array(fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 2), { minLength: n, maxLength: n }),
    maxThreads: fc.array(fc.constantFrom(1, 2, 3, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY), {
      minLength: n,
      maxLength: n,
    }),
    poolSize: fc.constantFrom(1, 2, 3, 4, Number.POSITIVE_INFINITY),
    hardLimit: fc.boolean(),
  });
});

export function policyOf(spec: PolicySpec): Policy {
  const name = (g: number) => `g${g}`;
  const groups: GroupDecl[] = [];
  for (let g = 0; g < spec.groups; g++) {
    const self = spec.self[g]!;
    groups.push({
      name: name(g),
      selfCompatible: self !== 'incompatible',
      ...(self in conditions ? { condition: conditions[self as ConditionName] } : {}),
      superPriority: spec.superPriority[g]!,
      minThreads: spec.minThreads[g]!,
      maxThreads: spec.maxThreads[g]!,
    });
  }
  const compatible: CompatibleDecl[] = [];
  const oneWay: [string, string][] = [];
  const priorities: string[][] = [];
  let k = 0;
  for (let i = 0; i < spec.groups; i++) {
    for (let j = i + 1; j < spec.groups; j++, k++) {
      const rule = spec.pairs[k]!;
      if (rule === 'compatible') compatible.push({ groups: [name(i), name(j)] });
      else if (rule === 'oneWay') oneWay.push([name(i), name(j)]);
      else if (rule === 'otherWay') oneWay.push([name(j), name(i)]);
      else if (rule !== 'incompatible')
        compatible.push({ groups: [name(i), name(j)], condition: conditions[rule] });
      if (spec.edges[k]) priorities.push([name(spec.order[i]!), name(spec.order[j]!)]);
    }
  }
  return buildPolicy({
    className: 'Random',
    groups,
    compatible,
    oneWay,
    priorities,
    poolSize: spec.poolSize,
    hardLimit: spec.hardLimit,
  });
}

/**
 * What the runtime does from inside `host.start` / `host.resume`, as src/active.ts does: a
 * synchronous method finishes at once, a method may await a future at once, call its own
 * object (a new request), or settle a future that a waiting request awaits (wake it).
 */
export type StartReaction = 'none' | 'finish' | 'wait' | 'spawn' | 'wakeOldest';
export type ResumeReaction = 'none' | 'finish' | 'wait';

export interface SubmitOp {
  readonly op: 'submit';
  /** -1: an ungrouped method; otherwise taken modulo the group count. */
  readonly group: number;
  readonly key: number;
  readonly held: boolean;
  readonly onStart: StartReaction;
  readonly onResume: ResumeReaction;
}

/** The request a 'spawn' reaction submits: the next group, same key, no reactions. */
export function childOf(parent: SubmitOp): SubmitOp {
  return {
    op: 'submit',
    group: parent.group + 1,
    key: parent.key,
    held: false,
    onStart: 'none',
    onResume: 'none',
  };
}

/**
 * One runtime event. `pick` chooses among the requests the event applies to (those in the
 * right state, or any request when `any` is set, to exercise the guards); no-op if none.
 */
export type Op =
  | SubmitOp
  | {
      readonly op: 'release' | 'enterWait' | 'wake' | 'finish' | 'cancel';
      readonly pick: number;
      readonly any: boolean;
    }
  | { readonly op: 'drain'; readonly budget: number | undefined }
  | { readonly op: 'setLimit'; readonly limit: number }
  | { readonly op: 'setHardLimit'; readonly hard: boolean };

const pickOp = (op: 'release' | 'enterWait' | 'wake' | 'finish' | 'cancel') =>
  fc.record({ op: fc.constant(op), pick: fc.nat(1000), any: rarely(0.08) });

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 22,
    arbitrary: fc.record({
      op: fc.constant('submit' as const),
      group: fc.oneof({ arbitrary: fc.nat(3), weight: 20 }, { arbitrary: fc.constant(-1), weight: 1 }),
      key: fc.nat(2),
      held: rarely(0.1),
      onStart: fc.oneof(
        { arbitrary: fc.constant<StartReaction>('none'), weight: 12 },
        { arbitrary: fc.constantFrom<StartReaction>('finish', 'wait', 'spawn', 'wakeOldest'), weight: 4 },
      ),
      onResume: fc.oneof(
        { arbitrary: fc.constant<ResumeReaction>('none'), weight: 4 },
        { arbitrary: fc.constantFrom<ResumeReaction>('finish', 'wait'), weight: 1 },
      ),
    }),
  },
  {
    weight: 18,
    arbitrary: fc.record({
      op: fc.constant('drain' as const),
      budget: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 5 },
        { arbitrary: fc.constantFrom(1, 2), weight: 1 },
      ),
    }),
  },
  { weight: 8, arbitrary: pickOp('enterWait') },
  { weight: 8, arbitrary: pickOp('wake') },
  { weight: 18, arbitrary: pickOp('finish') },
  { weight: 3, arbitrary: pickOp('cancel') },
  { weight: 5, arbitrary: pickOp('release') },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('setLimit' as const),
      limit: fc.constantFrom(1, 2, 3, 4, Number.POSITIVE_INFINITY),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('setHardLimit' as const), hard: fc.boolean() }) },
);

/** Which requests (by state name, as in `requestStateNames`) each picking event applies to. */
export const appliesTo: Record<'release' | 'enterWait' | 'wake' | 'finish' | 'cancel', readonly string[]> = {
  release: ['queued', 'held'],
  enterWait: ['active'],
  wake: ['waiting'],
  finish: ['active', 'waiting', 'woken'],
  cancel: ['queued', 'held', 'ready'],
};

/** fast-check settings: a fixed seed (override with FC_SEED) so failures reproduce. */
export function fcParams<T>(numRuns: number): fc.Parameters<T> {
  const seed = Number(process.env['FC_SEED'] ?? 20_160_101);
  return { numRuns: Number(process.env['FC_RUNS'] ?? numRuns), seed };
}
