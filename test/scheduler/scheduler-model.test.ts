/**
 * Property tests: the fast `Scheduler` against the naive `ReferenceModel` of SPEC §3–§5, and
 * the SPEC's invariants on the scheduler alone, over random small policies and random event
 * histories. The host plays the runtime: it may drain whenever asked (`autoDrain`), and from
 * inside `start`/`resume` finish the request, make it wait, submit another request or wake a
 * waiting one, re-entrantly, as src/active.ts does. Seeds are fixed (FC_SEED overrides, FC_RUNS
 * sets the run counts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OrderList } from '../../scheduler/order-list.js';
import type { Policy } from '../../scheduler/policy.js';
import {
  RequestState,
  requestStateNames,
  SchedRequest,
  Scheduler,
  type SchedulerHost,
} from '../../scheduler/scheduler.js';
import {
  appliesTo,
  childOf,
  fcParams,
  type Op,
  opArb,
  policyOf,
  policySpec,
  type StartReaction,
  type SubmitOp,
} from './arbitraries.js';
import { compatible, ModelRequest, ReferenceModel } from './reference-model.js';

class TestRequest extends SchedRequest {
  readonly id: number;
  constructor(id: number, groupId: number, group: string | undefined, args: unknown[]) {
    super(groupId, group, group ?? 'solo', args);
    this.id = id;
  }
}

/**
 * A host that records what the scheduler asks for. `check` sees every start and resume first
 * (invariants), then `react` plays the runtime (it may call back into the scheduler).
 */
class Recorder implements SchedulerHost<TestRequest> {
  readonly log: string[] = [];
  drainRequested = false;
  check: (request: TestRequest, resumed: boolean) => void = () => {};
  react: (request: TestRequest, resumed: boolean) => void = () => {};

  start(request: TestRequest): void {
    this.log.push(`start ${request.id}`);
    this.check(request, false);
    this.react(request, false);
  }

  resume(request: TestRequest): void {
    this.log.push(`resume ${request.id}`);
    this.check(request, true);
    this.react(request, true);
  }

  requestDrain(): void {
    this.drainRequested = true;
  }

  conditionFailed(): void {}
}

const TARGET = { name: 'the active object' };
const stateOf = (r: SchedRequest) => requestStateNames[r.state];

const groupOf = (policy: Policy, op: SubmitOp) =>
  op.group < 0 ? policy.groupCount : op.group % policy.groupCount;

function newReal(policy: Policy, op: SubmitOp, id: number): TestRequest {
  const g = groupOf(policy, op);
  const r = new TestRequest(id, g, policy.groupNames[g], [op.key]);
  r.held = op.held;
  return r;
}

function newModel(policy: Policy, op: SubmitOp, id: number): ModelRequest {
  const g = groupOf(policy, op);
  const name = policy.groupNames[g];
  return new ModelRequest(id, g, name, name ?? 'solo', [op.key], op.held);
}

/**
 * One side of a comparison (the scheduler or the model) as the runtime sees it, so that both
 * react the same way from inside `start`/`resume`.
 */
interface Side<R> {
  readonly requests: R[];
  readonly specs: SubmitOp[];
  state(r: R): string;
  submit(op: SubmitOp): void;
  finish(r: R): void;
  enterWait(r: R): void;
  wake(r: R): void;
}

function react<R>(side: Side<R>, r: R, id: number, kind: StartReaction): void {
  if (kind === 'finish') side.finish(r);
  else if (kind === 'wait') side.enterWait(r);
  else if (kind === 'spawn') side.submit(childOf(side.specs[id]!));
  else if (kind === 'wakeOldest') {
    const waiting = side.requests.find((x) => side.state(x) === 'waiting');
    if (waiting !== undefined) side.wake(waiting);
  }
}

function realSide(policy: Policy, real: Scheduler<TestRequest>, host: Recorder): Side<TestRequest> {
  const side: Side<TestRequest> = {
    requests: [],
    specs: [],
    state: stateOf,
    submit(op) {
      const r = newReal(policy, op, side.requests.length);
      side.requests.push(r);
      side.specs.push(op);
      real.submit(r);
    },
    finish: (r) => real.finish(r),
    enterWait: (r) => real.enterWait(r),
    wake: (r) => real.wake(r),
  };
  host.react = (r, resumed) =>
    react(side, r, r.id, resumed ? side.specs[r.id]!.onResume : side.specs[r.id]!.onStart);
  return side;
}

function modelSide(policy: Policy, model: ReferenceModel): Side<ModelRequest> {
  const side: Side<ModelRequest> = {
    requests: [],
    specs: [],
    state: (r) => r.state,
    submit(op) {
      const m = newModel(policy, op, side.requests.length);
      side.requests.push(m);
      side.specs.push(op);
      model.submit(m);
    },
    finish: (m) => model.finish(m),
    enterWait: (m) => model.enterWait(m),
    wake: (m) => model.wake(m),
  };
  model.onStart = (m) => react(side, m, m.id, side.specs[m.id]!.onStart);
  model.onResume = (m) => react(side, m, m.id, side.specs[m.id]!.onResume);
  return side;
}

/** The requests a picking event may apply to, by state name. */
function candidates<T extends { held: boolean }>(
  op: Extract<Op, { pick: number }>,
  all: readonly T[],
  state: (r: T) => string,
): T | undefined {
  const eligible = op.any
    ? all
    : all.filter((r) => appliesTo[op.op].includes(state(r)) && (op.op !== 'release' || r.held));
  return eligible.length === 0 ? undefined : eligible[op.pick % eligible.length];
}

function observeReal(real: Scheduler<TestRequest>, requests: readonly TestRequest[], host: Recorder) {
  const stats = real.stats();
  return {
    log: host.log,
    queued: real.queuedRequests().map((r) => r.id),
    ready: real.readyRequests().map((r) => r.id),
    states: requests.map(stateOf),
    limit: stats.limit,
    hardLimit: stats.hardLimit,
    counts: {
      queued: stats.queued,
      held: stats.held,
      ready: stats.ready,
      active: stats.active,
      waiting: stats.waiting,
    },
    groups: stats.groups.map((g) => ({
      queued: g.queued,
      held: g.held,
      ready: g.ready,
      inService: g.inService,
    })),
    hasRunnable: real.hasRunnable,
  };
}

function observeModel(
  model: ReferenceModel,
  requests: readonly ModelRequest[],
): ReturnType<typeof observeReal> {
  const groups = [];
  for (let g = 0; g <= model.policy.groupCount; g++) {
    groups.push({
      queued: model.queue.filter((r) => r.groupId === g).length,
      held: model.held(g),
      ready: model.ready.filter((r) => r.groupId === g).length,
      inService: model.inService(g),
    });
  }
  const woken = model.dispatched.some((r) => r.state === 'woken');
  return {
    log: model.log,
    queued: model.queue.map((r) => r.id),
    ready: model.ready.map((r) => r.id),
    states: requests.map((r) => r.state),
    limit: model.limit,
    hardLimit: model.hard,
    counts: {
      queued: model.queue.length,
      held: model.dispatched.filter((r) => r.state === 'held').length,
      ready: model.ready.length,
      active: model.active(),
      waiting: model.waiting(),
    },
    groups,
    hasRunnable: woken || model.ready.length > 0,
  };
}

/**
 * Apply `ops` to the scheduler and the model; after every event (every `compareEvery` events
 * and the last, for long histories) they must agree. With `autoDrain`, act like the runtime:
 * drain whenever the scheduler asked for it.
 */
function compareWithModel(
  policy: Policy,
  ops: readonly Op[],
  autoDrain: boolean,
  compareEvery = 1,
): Scheduler {
  const host = new Recorder();
  const real = new Scheduler<TestRequest>(policy, host, TARGET);
  const model = new ReferenceModel(policy, TARGET);
  const realRequests = realSide(policy, real, host);
  const modelRequests = modelSide(policy, model);
  const reals = realRequests.requests;
  const models = modelRequests.requests;
  for (const [step, op] of ops.entries()) {
    let realResult: unknown;
    let modelResult: unknown;
    switch (op.op) {
      case 'submit':
        realRequests.submit(op);
        modelRequests.submit(op);
        break;
      case 'drain':
        host.drainRequested = false;
        realResult = real.drain(op.budget);
        modelResult = model.drain(op.budget);
        // A drain that used its whole budget is called again by the runtime.
        if (realResult === op.budget) host.drainRequested = true;
        break;
      case 'setLimit':
        real.setLimit(op.limit);
        model.setLimit(op.limit);
        break;
      case 'setHardLimit':
        real.setHardLimit(op.hard);
        model.setHardLimit(op.hard);
        break;
      default: {
        const m = candidates(op, models, (x) => x.state);
        if (m === undefined) break;
        const r = reals[m.id]!;
        if (op.op === 'cancel') {
          realResult = real.cancel(r);
          modelResult = model.cancel(m);
        } else {
          real[op.op](r);
          model[op.op](m);
        }
      }
    }
    const where = `after step ${step}: ${JSON.stringify(op)}`;
    expect(realResult, where).toBe(modelResult);
    if (step % compareEvery === 0 || step === ops.length - 1)
      expect(observeReal(real, reals, host), where).toEqual(observeModel(model, models));
    if (!host.drainRequested) {
      expect(model.canProgress(), `${where}: a request could start but requestDrain was not called`).toBe(
        false,
      );
    } else if (autoDrain) {
      host.drainRequested = false;
      expect(real.drain(), `${where}: drain`).toBe(model.drain());
      expect(observeReal(real, reals, host), `${where}: drain`).toEqual(observeModel(model, models));
    }
  }
  return real;
}

const inServiceStates: readonly RequestState[] = [
  RequestState.Active,
  RequestState.Waiting,
  RequestState.Woken,
];
const dispatchedStates: readonly RequestState[] = [RequestState.Held, RequestState.Ready, ...inServiceStates];

/** Apply `ops` to the scheduler alone and check the SPEC's invariants throughout. */
function checkInvariants(policy: Policy, ops: readonly Op[], autoDrain: boolean): void {
  const host = new Recorder();
  const real = new Scheduler<TestRequest>(policy, host, TARGET);
  const n = policy.groupCount;
  const compat = (a: TestRequest, b: TestRequest) => compatible(policy, a, b, TARGET);
  const used = (s: ReturnType<typeof real.stats>) => (s.hardLimit ? s.active + s.waiting : s.active);

  const side = realSide(policy, real, host);
  const requests = side.requests;
  host.check = (y, resumed) => {
    const s = real.stats();
    if (resumed) {
      if (!s.hardLimit) expect(s.active, `resume ${y.id}: over the soft limit`).toBeLessThanOrEqual(s.limit);
      return;
    }
    // SPEC §5: soft limit counts active requests, hard limit every request in service.
    expect(used(s), `start ${y.id}: over the ${s.hardLimit ? 'hard' : 'soft'} limit`).toBeLessThanOrEqual(
      s.limit,
    );
    const g = y.groupId;
    if (g === n || !policy.superPriority[g]) {
      if (g < n)
        expect(s.groups[g]!.inService, `start ${y.id}: over maxThreads`).toBeLessThanOrEqual(
          policy.maxThreads[g]!,
        );
      let othersUnused = 0;
      for (let h = 0; h < n; h++)
        if (h !== g) othersUnused += Math.max(0, policy.minThreads[h]! - s.groups[h]!.inService);
      expect(
        s.limit - used(s),
        `start ${y.id}: took a slot reserved for another group`,
      ).toBeGreaterThanOrEqual(othersUnused);
    }
    // SPEC §4.1: incompatible requests start in arrival order (the earlier one has ended).
    for (const x of requests) {
      if (x.seq < y.seq && !compat(y, x)) {
        expect(['done', 'cancelled'], `start ${y.id} before ${x.id} ended`).toContain(stateOf(x));
      }
    }
  };

  for (const op of ops) {
    switch (op.op) {
      case 'submit':
        side.submit(op);
        break;
      case 'drain':
        real.drain(op.budget);
        break;
      case 'setLimit':
        real.setLimit(op.limit);
        break;
      case 'setHardLimit':
        real.setHardLimit(op.hard);
        break;
      default: {
        const r = candidates(op, requests, stateOf);
        if (r !== undefined) real[op.op](r);
      }
    }
    if (autoDrain && host.drainRequested) {
      host.drainRequested = false;
      real.drain();
    }

    const inService = requests.filter((r) => inServiceStates.includes(r.state));
    const dispatched = requests.filter((r) => dispatchedStates.includes(r.state));
    // Two requests in service are compatible (the later arrival with the earlier one).
    for (const x of inService)
      for (const y of inService)
        if (x.seq < y.seq) expect(compat(y, x), `${x.id} and ${y.id} overlap`).toBe(true);
    // A dispatched request is compatible with everything dispatched or queued ahead of it.
    for (const y of dispatched) {
      for (const x of requests) {
        if (x.seq < y.seq && (x.state === RequestState.Queued || dispatchedStates.includes(x.state)))
          expect(compat(y, x), `${y.id} admitted beside or before ${x.id}`).toBe(true);
      }
    }
    // maxThreads is never exceeded by a non-super group.
    const stats = real.stats();
    for (let g = 0; g < n; g++)
      if (!policy.superPriority[g])
        expect(stats.groups[g]!.inService).toBeLessThanOrEqual(policy.maxThreads[g]!);
    // The ready list is a linear extension of the priority order.
    const ready = real.readyRequests();
    for (let i = 0; i < ready.length; i++) {
      for (let j = i + 1; j < ready.length; j++) {
        const gi = ready[i]!.groupId;
        const gj = ready[j]!.groupId;
        const overtakes = gj < n && policy.overtakes[gj]!.includes(gi);
        expect(overtakes, `ready ${ready[j]!.id} should be before ${ready[i]!.id}`).toBe(false);
      }
    }
  }
}

describe('the scheduler against the reference model', () => {
  it('makes the same decisions as the naive model on short histories', () => {
    fc.assert(
      fc.property(
        policySpec,
        fc.array(opArb, { minLength: 10, maxLength: 60, size: 'max' }),
        fc.boolean(),
        (spec, ops, autoDrain) => {
          compareWithModel(policyOf(spec), ops, autoDrain);
        },
      ),
      fcParams(500),
    );
  });

  it('makes the same decisions as the naive model on long histories', () => {
    fc.assert(
      fc.property(
        policySpec,
        fc.array(opArb, { minLength: 100, maxLength: 250, size: 'max' }),
        fc.boolean(),
        (spec, ops, autoDrain) => {
          compareWithModel(policyOf(spec), ops, autoDrain);
        },
      ),
      fcParams(300),
    );
  });
});

/** All groups compatible, one slot: submissions pile up in the ready list, ordered by priority. */
const burstPolicySpec = policySpec.map((spec) => ({
  ...spec,
  self: spec.self.map(() => 'compatible' as const),
  pairs: spec.pairs.map(() => 'compatible' as const),
  minThreads: spec.minThreads.map(() => 0),
  poolSize: 1,
}));
const burstOp: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 40,
    arbitrary: fc.record({
      op: fc.constant('submit' as const),
      group: fc.nat(3),
      key: fc.constant(0),
      held: fc.constant(false),
      onStart: fc.constant('none' as const),
      onResume: fc.constant('none' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'drain' as const, budget: 1 }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('finish' as const), pick: fc.nat(1000), any: fc.constant(false) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat(1000), any: fc.constant(false) }),
  },
);

describe('the scheduler against the reference model on long ready lists', () => {
  it('keeps the model ready order through bursts of hundreds of prioritized requests', () => {
    let relabelled = false; // the order list's relabelling path must have run
    fc.assert(
      fc.property(
        burstPolicySpec,
        fc.array(burstOp, { minLength: 300, maxLength: 900, size: 'max' }),
        (spec, ops) => {
          const real = compareWithModel(policyOf(spec), ops, false, 20);
          relabelled ||= ((real as unknown as { order: OrderList | null }).order?.relabels ?? 0) > 0;
        },
      ),
      fcParams(60),
    );
    expect(relabelled).toBe(true);
  });
});

describe('scheduler invariants on random histories', () => {
  it('never overlaps incompatible requests, keeps their arrival order, and respects every limit', () => {
    fc.assert(
      fc.property(
        policySpec,
        fc.array(opArb, { minLength: 1, maxLength: 150, size: 'max' }),
        fc.boolean(),
        (spec, ops, autoDrain) => {
          checkInvariants(policyOf(spec), ops, autoDrain);
        },
      ),
      fcParams(300),
    );
  });
});
