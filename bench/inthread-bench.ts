/**
 * Request round trip on one thread (issue #2): a call on an active object, its request
 * served, its future awaited. Sequential (one call in flight: `await a.inc()` in a loop) and
 * 100 in flight (`Promise.all` of 100 calls, repeated).
 *
 * Families, each run by run.ts in its own child process, each with the raw promise mailbox
 * as its paired baseline (so ratios compare within one process):
 * - `core`: multiactive without limits (one self-compatible group), an undecorated class
 *   (classic: one request at a time), and a request that awaits another object's call.
 *   Asynchronous context stays off in this process (checked).
 * - `wbn`: the same with wait-by-necessity accounting: a finite soft limit
 *   (`@ThreadConfig({ threadPoolSize: 4 })`) switches on AsyncLocalStorage for the whole
 *   process, for good; so this family runs apart, and its no-limit cases show what the
 *   process-wide switch costs objects that do not account waits.
 * - `nact`, `comedy`: the peers, in-memory (comedy patches globals on load: babel-polyfill).
 */
import { asyncContextEnabled } from '../src/context.js';
import { type Active, Group, MemberOf, newActive, ThreadConfig } from '../src/index.js';
import {
  type BenchCase,
  type CaseResult,
  inFlight,
  runSuite,
  type SuiteOptions,
  sequential,
} from './harness.js';

export type InThreadFamily = 'core' | 'wbn' | 'nact' | 'comedy';
export const IN_THREAD_FAMILIES: readonly InThreadFamily[] = ['core', 'wbn', 'nact', 'comedy'];

/** Calls per batch in the "in flight" cases. */
export const IN_FLIGHT = 100;
export const MAILBOX = 'raw promise mailbox';

// ------------------------------------------------------------------ the classes

@Group('g', { selfCompatible: true })
class Counter {
  n = 0;
  @MemberOf('g') inc(): number {
    return ++this.n;
  }
}

/** Undecorated: a classic active object. */
class ClassicCounter {
  n = 0;
  inc(): number {
    return ++this.n;
  }
}

/** A finite soft limit: waits by necessity are accounted (AsyncLocalStorage switches on). */
@ThreadConfig({ threadPoolSize: 4 })
class SoftCounter extends Counter {}

/** A request that awaits another active object's call (wait-by-necessity when accounted). */
@Group('g', { selfCompatible: true })
class Relay {
  private readonly back: Active<Counter>;
  constructor(back: Active<Counter>) {
    this.back = back;
  }
  @MemberOf('g') async relay(): Promise<number> {
    return await this.back.inc();
  }
}

@ThreadConfig({ threadPoolSize: 4 })
class SoftRelay extends Relay {}

// ------------------------------------------------------------------ the limit

const RESOLVED = Promise.resolve();

/**
 * The limit: a minimal actor. A queue array, one drain per microtask turn (scheduled once,
 * with a reaction on a settled promise like the library, not `queueMicrotask`, which wraps
 * every callback in an AsyncResource), one native promise per message resolved with the
 * method's result. No groups, no copies, no futures.
 */
class RawMailbox<T extends object> {
  private queue: unknown[] = []; // flat triples: method name, resolve, reject
  private next: unknown[] = [];
  private scheduled = false;
  private readonly target: T;

  constructor(target: T) {
    this.target = target;
  }

  call(method: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push(method, resolve, reject);
      if (!this.scheduled) {
        this.scheduled = true;
        RESOLVED.then(this.drain);
      }
    });
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = this.next;
    const target = this.target as Record<string, () => unknown>;
    for (let i = 0; i < queue.length; i += 3) {
      try {
        (queue[i + 1] as (value: unknown) => void)(target[queue[i] as string]!());
      } catch (error) {
        (queue[i + 2] as (error: unknown) => void)(error);
      }
    }
    queue.length = 0;
    this.next = queue;
  };
}

// ------------------------------------------------------------------ the family

export interface InThreadReport {
  readonly family: InThreadFamily;
  /** AsyncLocalStorage was on in this process while measuring. */
  readonly asyncContext: boolean;
  readonly sequential: readonly CaseResult[];
  readonly inFlight: readonly CaseResult[];
  /** Why a family could not run (e.g. a peer failed to load), as thrown. */
  readonly error?: string;
}

/** A case pair: the same call sequentially and 100 in flight. */
interface Subject {
  readonly name: string;
  readonly call: () => PromiseLike<unknown>;
}

/**
 * Run one family. `only`: keep the cases whose name contains it (and the baseline), e.g. to
 * profile one case with `node --cpu-prof dist/bench/run.js --family core --only classic`.
 */
export async function runInThreadFamily(
  family: InThreadFamily,
  quick: boolean,
  only?: string,
): Promise<InThreadReport> {
  const options: SuiteOptions = quick
    ? { rounds: 3, warmup: 1, budgetMs: 30, initialOps: 2_000, baseline: MAILBOX }
    : { rounds: 9, warmup: 2, budgetMs: 150, initialOps: 20_000, baseline: MAILBOX };
  const mailbox = new RawMailbox(new ClassicCounter());
  const subjects: Subject[] = [{ name: MAILBOX, call: () => mailbox.call('inc') }];
  let cleanup: () => Promise<void> = async () => {};

  if (family === 'core' || family === 'wbn') {
    const counter = newActive(Counter);
    const classic = newActive(ClassicCounter);
    const relay = newActive(Relay, [newActive(Counter)]);
    subjects.push(
      { name: 'multiactive, 1 group, no limits', call: () => counter.inc() },
      { name: 'multiactive, undecorated (classic)', call: () => classic.inc() },
    );
    if (family === 'wbn') {
      const soft = newActive(SoftCounter);
      subjects.push({ name: 'multiactive, soft limit 4 (WBN accounted)', call: () => soft.inc() });
    }
    subjects.push({ name: 'relay: awaits another object, no limits', call: () => relay.relay() });
    if (family === 'wbn') {
      const softRelay = newActive(SoftRelay, [newActive(Counter)]);
      subjects.push({ name: 'relay: awaits another object, soft limit 4', call: () => softRelay.relay() });
    }
    if (asyncContextEnabled() !== (family === 'wbn')) {
      throw new Error(
        `${family}: AsyncLocalStorage is ${asyncContextEnabled() ? 'on' : 'off'}, unexpectedly`,
      );
    }
  } else if (family === 'nact') {
    const nact = await import('nact');
    const system = nact.start();
    interface Inc {
      readonly sender: import('nact').Ref<number>;
    }
    const actor = nact.spawn(
      system,
      (state: number, msg: Inc) => {
        const n = state + 1;
        nact.dispatch(msg.sender, n);
        return n;
      },
      'counter',
      { initialState: 0 },
    );
    // nact requires a timeout per query (it arms a timer for each). Short, so that a lost
    // answer fails the run at once: nact 7.6's temporary reference ids are 32-bit random
    // numbers (`(Math.random() * Number.MAX_SAFE_INTEGER) | 0`, lib/references.js), so two
    // queries in flight can collide, and then one of them is never answered.
    const query = (sender: import('nact').Ref<number>): Inc => ({ sender });
    subjects.push({ name: 'nact 7 (spawn + query)', call: () => nact.query(actor, query, 5_000) });
    cleanup = async () => nact.stop(system);
  } else {
    const comedy = await import('comedy');
    // `test: true`: silent logging, no configuration file read or watched.
    const system = comedy.createSystem({ test: true });
    const root = await system.rootActor();
    const actor = await root.createChild(ComedyCounter, { mode: 'in-memory' });
    subjects.push({ name: 'comedy 2 (in-memory, sendAndReceive)', call: () => actor.sendAndReceive('inc') });
    cleanup = () => system.destroy();
  }

  if (only !== undefined) {
    const kept = subjects.filter((s) => s.name === MAILBOX || s.name.includes(only));
    subjects.splice(0, subjects.length, ...kept);
  }
  // Every subject answers before anything is timed.
  for (const s of subjects) {
    const value = await s.call();
    if (typeof value !== 'number') throw new Error(`${s.name} answered ${String(value)}, not a number`);
  }
  const seqCases: BenchCase[] = subjects.map((s) => sequential(s.name, s.call));
  const seqResults = await runSuite(seqCases, options);
  const flightCases: BenchCase[] = subjects.map((s) => inFlight(s.name, IN_FLIGHT, s.call));
  const flightResults = await runSuite(flightCases, options);
  const asyncContext = asyncContextEnabled();
  await cleanup();
  return { family, asyncContext, sequential: seqResults, inFlight: flightResults };
}

/** A comedy actor definition: each method answers the message of its name. */
class ComedyCounter {
  n = 0;
  inc(): number {
    return ++this.n;
  }
}
