/**
 * Why a request waits (docs/deadlocks.md): the scheduler's side of the wait-for graph. Pure, like the
 * scheduler: given one object's requests in flight, it names, for one request, the requests
 * it waits for and the rule that makes it wait. Nothing here is on a hot path: it runs when
 * someone asks (deadlock detection, the debugger), in O(requests in flight) per request.
 *
 * The rules mirror the scheduler's decisions (scheduler.ts, stages 1-3):
 * - queued: blocked by every dispatched request it is not compatible with, and by every
 *   incompatible request queued ahead of it (a request never overtakes an incompatible
 *   one). It needs all of them gone: an AND wait.
 * - ready (admitted, no slot yet): blocked by the requests holding the slots it needs:
 *   every slot taken (`limit`), its group at `maxThreads` (`max-threads`), or the free
 *   slots reserved for other groups (`reservation`). Any one of them leaving will do: an OR
 *   wait. With a free slot and nothing refusing it, it is about to start: no edge.
 * - woken (its awaited value arrived): waits for a slot like a ready request, under a soft
 *   limit only (under a hard limit it kept its slot).
 * Waits on futures (in service, or held for future arguments) are the runtime's part.
 */
import { groupsCompatible, type Policy } from './policy.js';
import { RequestState, type Schedulable, type Scheduler } from './scheduler.js';

export type SchedulerWaitRule =
  | 'checkpoint'
  | 'incompatible'
  | 'queued-ahead'
  | 'condition'
  | 'limit'
  | 'max-threads'
  | 'reservation';

export interface Blocker<R> {
  readonly request: R;
  readonly rule: SchedulerWaitRule;
  /** Why, in words, without the two requests' names (the caller adds them). */
  readonly why: string;
}

export interface WaitExplanation<R> {
  /** `true`: any one blocker leaving lets it move on (slots); `false`: it needs all of them gone. */
  readonly any: boolean;
  readonly blockers: readonly Blocker<R>[];
  /** More blockers exist than are listed (lists are capped at `MAX_BLOCKERS`). */
  readonly truncated: boolean;
  /**
   * A second rule that refuses it at the same time (`any` waits only: all slots taken, or
   * reserved, and its group at `maxThreads`): it needs one of `blockers` AND one of these.
   */
  readonly also?: { readonly blockers: readonly Blocker<R>[]; readonly truncated: boolean };
}

/**
 * Blockers listed per request, at most. Leaving some out can only hide a deadlock (an AND
 * wait then looks less blocked), never invent one; 32 keeps a 10k-deep queue's graph small.
 */
export const MAX_BLOCKERS = 32;

const { Queued, Held, Ready, Active, Waiting, Woken } = RequestState;

const NONE: WaitExplanation<never> = { any: false, blockers: [], truncated: false };

function dispatched(state: RequestState): boolean {
  return state === Held || state === Ready || state === Active || state === Waiting || state === Woken;
}

function inService(state: RequestState): boolean {
  return state === Active || state === Waiting || state === Woken;
}

/**
 * Why `request` cannot go on, given `inFlight` (every request of its object that is in
 * flight, in any order) and `target` (the instance, for compatibility conditions).
 * Time: O(|inFlight|) plus the conditions evaluated.
 */
export function explainWait<R extends Schedulable>(
  scheduler: Scheduler<R>,
  request: R,
  inFlight: readonly R[],
  target: unknown,
): WaitExplanation<R> {
  const state = request.state;
  const checkpoint = scheduler.checkpoint;
  if (checkpoint !== null) {
    if (request === checkpoint) {
      // It needs every request in service gone (docs/fault-tolerance.md).
      if (state !== Ready) return NONE;
      const blockers = inFlight
        .filter((r) => r !== request && inService(r.state))
        .slice(0, MAX_BLOCKERS)
        .map((r) => ({
          request: r,
          rule: 'checkpoint' as const,
          why: 'a checkpoint starts only when no request is in service',
        }));
      return { any: false, blockers, truncated: false };
    }
    if ((state === Queued || state === Ready) && scheduler.checkpointHolds) {
      return {
        any: false,
        blockers: [
          {
            request: checkpoint,
            rule: 'checkpoint',
            why: 'a checkpoint is pending: nothing is admitted or started until it has run',
          },
        ],
        truncated: false,
      };
    }
  }
  if (state === Queued) return explainQueued(scheduler.policy, request, inFlight, target);
  if (state === Ready) return explainSlot(scheduler, request, inFlight, false);
  if (state === Woken && !scheduler.hardLimit) return explainSlot(scheduler, request, inFlight, true);
  return NONE;
}

function explainQueued<R extends Schedulable>(
  policy: Policy,
  request: R,
  inFlight: readonly R[],
  target: unknown,
): WaitExplanation<R> {
  const blockers: Blocker<R>[] = [];
  let truncated = false;
  for (const other of inFlight) {
    if (other === request) continue;
    const ahead = other.state === Queued && other.seq < request.seq;
    if (!ahead && !dispatched(other.state)) continue;
    const why = incompatibility(policy, request, other, target);
    if (why === undefined) continue;
    if (blockers.length === MAX_BLOCKERS) {
      truncated = true;
      break;
    }
    blockers.push(
      ahead
        ? {
            request: other,
            rule: 'queued-ahead',
            why: `it is queued ahead, and ${why.text} (a request never overtakes an incompatible one)`,
          }
        : { request: other, rule: why.rule, why: why.text },
    );
  }
  // Arrival order reads best (the oldest blocker first).
  blockers.sort((a, b) => a.request.seq - b.request.seq);
  return { any: false, blockers, truncated };
}

/** Why `a` (being admitted) is not compatible with `b`, or `undefined` if it is. */
function incompatibility<R extends Schedulable>(
  policy: Policy,
  a: R,
  b: R,
  target: unknown,
): { rule: 'incompatible' | 'condition'; text: string } | undefined {
  const g = a.groupId;
  const h = b.groupId;
  if (g >= policy.groupCount || h >= policy.groupCount) {
    return { rule: 'incompatible', text: 'an ungrouped request is compatible with nothing' };
  }
  const level = groupsCompatible(policy, g, h);
  if (level === true) return undefined;
  const gName = policy.groupNames[g];
  const hName = policy.groupNames[h];
  if (level === false) {
    return {
      rule: 'incompatible',
      text:
        g === h
          ? `group \`${gName}\` is not compatible with itself`
          : `group \`${gName}\` is not compatible with group \`${hName}\``,
    };
  }
  const rule = policy.conditional[g]!.find((r) => r.group === h)!;
  let holds: boolean;
  try {
    holds = rule.condition(a, b, target) === true;
  } catch {
    holds = false;
  }
  if (holds) return undefined;
  return {
    rule: 'condition',
    text: `the compatibility condition of group \`${gName}\` with group \`${hName}\` is false for these two requests`,
  };
}

function explainSlot<R extends Schedulable>(
  scheduler: Scheduler<R>,
  request: R,
  inFlight: readonly R[],
  woken: boolean,
): WaitExplanation<R> {
  const policy = scheduler.policy;
  const limit = scheduler.limit;
  const hard = scheduler.hardLimit;
  const stats = scheduler.stats();
  const used = hard ? stats.active + stats.waiting : stats.active;
  // Who holds a slot: under a hard limit every request in service, else those not in WBN.
  const holdsSlot = (r: R): boolean => (hard ? inService(r.state) : r.state === Active);
  const mode = hard
    ? `hard limit ${limit}: a request awaiting a future keeps its slot`
    : `limit ${limit}: requests awaiting a future give their slot back`;
  const limitWhy = `it holds one of the ${limit} slots, all taken (${mode})`;
  if (woken) {
    // A woken request resumes as soon as a slot is free (no group rule applies to it).
    return used >= limit ? slotHolders(inFlight, request, holdsSlot, 'limit', limitWhy) : NONE;
  }
  // The scheduler's test (slotFree, then mayStart): a free slot beyond those reserved for
  // other groups' minThreads, and the group below its maxThreads. Super priority skips both
  // group rules; a request failing both rules needs one holder from each (`also`).
  const g = request.groupId;
  const ungrouped = g >= policy.groupCount;
  const superPriority = !ungrouped && policy.superPriority[g] === true;
  const usage = stats.groups;
  let reservedForOthers = 0;
  const reservedFor: string[] = [];
  if (!superPriority) {
    for (let h = 0; h < policy.groupCount; h++) {
      if (h === g) continue;
      const unused = Math.max(0, (policy.minThreads[h] ?? 0) - usage[h]!.inService);
      if (unused > 0) reservedFor.push(`\`${policy.groupNames[h]}\``);
      reservedForOthers += unused;
    }
  }
  const slotsOk = limit - used > reservedForOthers;
  const capOk = ungrouped || superPriority || usage[g]!.inService < policy.maxThreads[g]!;
  if (slotsOk && capOk) return NONE; // about to start
  let slots: WaitExplanation<R> | undefined;
  if (!slotsOk) {
    // A holder helps only if its leaving frees a slot nobody re-reserves: not one of a group
    // still within its own minThreads (unless it is the request's own group).
    const protectedGroup = (k: number): boolean =>
      reservedForOthers > 0 &&
      k !== g &&
      k < policy.groupCount &&
      usage[k]!.inService <= (policy.minThreads[k] ?? 0);
    slots =
      used >= limit
        ? slotHolders(inFlight, request, (r) => holdsSlot(r) && !protectedGroup(r.groupId), 'limit', limitWhy)
        : slotHolders(
            inFlight,
            request,
            (r) => holdsSlot(r) && !protectedGroup(r.groupId),
            'reservation',
            `it holds a slot, and the free ones are reserved for group${reservedFor.length === 1 ? '' : 's'} ${reservedFor.join(', ')} (minThreads)`,
          );
  }
  let capped: WaitExplanation<R> | undefined;
  if (!capOk) {
    capped = slotHolders(
      inFlight,
      request,
      (r) => r.groupId === g && inService(r.state),
      'max-threads',
      `group \`${policy.groupNames[g]}\` is capped at maxThreads ${policy.maxThreads[g]}, and it is one of them`,
    );
  }
  if (slots !== undefined && capped !== undefined) {
    return { ...slots, also: { blockers: capped.blockers, truncated: capped.truncated } };
  }
  return (slots ?? capped)!;
}

function slotHolders<R extends Schedulable>(
  inFlight: readonly R[],
  request: R,
  holds: (r: R) => boolean,
  rule: SchedulerWaitRule,
  why: string,
): WaitExplanation<R> {
  const blockers: Blocker<R>[] = [];
  let truncated = false;
  for (const other of inFlight) {
    if (other === request || !holds(other)) continue;
    if (blockers.length === MAX_BLOCKERS) {
      truncated = true;
      break;
    }
    blockers.push({ request: other, rule, why });
  }
  blockers.sort((a, b) => a.request.seq - b.request.seq);
  return { any: true, blockers, truncated };
}
