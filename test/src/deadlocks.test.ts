/**
 * Deadlock detection on one thread (issue #4, SPEC §10): each classic deadlock is found and
 * named, with the rule that blocks it; the scenarios that complete are never reported, not
 * even in the middle of their run; `reject` breaks a deadlock with `DeadlockError`.
 *
 * Await tracking is on for the whole file (it needs async context; this file runs in its
 * own process). Everything here is driven by microtasks, so `settle()` (a few event-loop
 * turns) reaches the stuck state deterministically.
 */

import {
  type Active,
  configureDeadlocks,
  type Deadlock,
  DeadlockError,
  findDeadlocks,
  type MultiactiveEvent,
  newActive,
  onEvent,
  shutdown,
  waitGraph,
} from 'multiactive';
import { afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import {
  Account,
  CallbackHost,
  CallbackWorker,
  ClassicPinger,
  ClassicPonger,
  HardOne,
  Pinger,
  Ponger,
  SoftPlayer,
  Waiter,
} from '../fixtures/deadlocks.js';
import { settle } from '../support/trace.js';
import { captureWarnings } from '../support/warnings.js';

beforeAll(() => {
  configureDeadlocks({ trackAwaits: true });
});

afterEach(async () => {
  configureDeadlocks({ detect: false, reject: false });
  await shutdown({ immediate: true });
});

/** The one deadlock found now, or a failure listing what was found. */
async function theDeadlock(): Promise<Deadlock> {
  const found = await findDeadlocks();
  expect(found.map((d) => d.message)).toHaveLength(1);
  return found[0]!;
}

/** `Class#id.method` of each cycle step, starting from `first`'s step (cycles have no start). */
function cycleNames(deadlock: Deadlock, first: string): string[] {
  const names = deadlock.cycle.map((s) => `${s.request.className}.${s.request.method}`);
  const at = names.indexOf(first);
  expect(at, `${first} in ${names.join(' -> ')}`).toBeGreaterThanOrEqual(0);
  return [...names.slice(at), ...names.slice(0, at)];
}

describe('classic deadlocks are found and named', () => {
  it('undecorated ping-pong: a classic object cannot take the call back', async () => {
    const pinger = newActive(ClassicPinger);
    const ponger = newActive(ClassicPonger);
    void pinger.start(ponger);
    await settle();
    const d = await theDeadlock();
    expect(cycleNames(d, 'ClassicPinger.start')).toEqual([
      'ClassicPinger.start',
      'ClassicPonger.pong',
      'ClassicPinger.ping',
    ]);
    expect(d.cycle.map((s) => s.rule).sort()).toEqual(['awaits', 'awaits', 'incompatible']);
    const blocked = d.cycle.find((s) => s.request.method === 'ping')!;
    expect(blocked.state).toBe('queued');
    expect(blocked.text).toMatch(
      /^`ClassicPinger#\d+\.start` \(ungrouped, node 0\) blocks `ClassicPinger#\d+\.ping` \(ungrouped, node 0\): an ungrouped request is compatible with nothing$/,
    );
    expect(d.message).toMatch(/^Deadlock: 3 requests wait for each other in a cycle:\n {2}1\. /);
    expect(d.message).toContain('awaits the result of `ClassicPonger#');
  });

  it('ungrouped starter: startWithPong blocks ping', async () => {
    const pinger = newActive(Pinger);
    const ponger = newActive(Ponger);
    void pinger.startWithPong(ponger);
    await settle();
    const d = await theDeadlock();
    expect(cycleNames(d, 'Pinger.startWithPong')).toEqual([
      'Pinger.startWithPong',
      'Ponger.pong',
      'Pinger.ping',
    ]);
    expect(d.message).toMatch(
      /`Pinger#\d+\.startWithPong` \(ungrouped, node 0\) blocks `Pinger#\d+\.ping` \(group ping, node 0\): an ungrouped request is compatible with nothing/,
    );
  });

  it('hard limit 1 with a re-entrant call: the only slot is held by the awaiting request', async () => {
    const one = newActive(HardOne);
    void one.outer();
    await settle();
    const d = await theDeadlock();
    expect(cycleNames(d, 'HardOne.outer')).toEqual(['HardOne.outer', 'HardOne.inner']);
    const inner = d.cycle.find((s) => s.request.method === 'inner')!;
    expect(inner.state).toBe('ready');
    expect(inner.rule).toBe('limit');
    expect(inner.text).toContain('hard limit 1: a request awaiting a future keeps its slot');
  });

  it('a synchronous-style self-call on an incompatible group', async () => {
    const account = newActive(Account);
    void account.audit();
    await settle();
    const d = await theDeadlock();
    expect(cycleNames(d, 'Account.audit')).toEqual(['Account.audit', 'Account.deposit']);
    expect(d.cycle.find((s) => s.request.method === 'deposit')!.text).toContain(
      'group `write` is not compatible with group `read`',
    );
  });

  it('requests queued behind a cycle are listed as stuck on it, not as another deadlock', async () => {
    const pinger = newActive(ClassicPinger);
    const ponger = newActive(ClassicPonger);
    void pinger.start(ponger);
    void pinger.ping(); // queued behind the cycle's `ping`
    void pinger.ping();
    await settle();
    const d = await theDeadlock();
    expect(d.stuck.map((n) => n.method)).toEqual(['ping', 'ping']);
    expect(d.message).toContain('2 more requests wait on it');
  });
});

describe('no false reports', () => {
  it('ping-pong under a soft limit of 1 completes and is never reported', async () => {
    const events = recordDeadlockEvents();
    configureDeadlocks({ detect: true, intervalMs: 10 });
    const a = newActive(SoftPlayer);
    const b = newActive(SoftPlayer);
    await a.setPartner(b);
    await b.setPartner(a);
    // Check the graph at every turn while the rally runs.
    const rally = a.ping(40);
    let done = false;
    void rally.then(() => {
      done = true;
    });
    let checks = 0;
    while (!done) {
      expect(await findDeadlocks()).toEqual([]);
      checks++;
    }
    expect(await rally).toBe(40);
    expect(checks).toBeGreaterThan(3);
    expect(events()).toEqual([]);
  });

  it('a callback into a compatible group completes and is never reported', async () => {
    const events = recordDeadlockEvents();
    configureDeadlocks({ detect: true, intervalMs: 10 });
    const host = newActive(CallbackHost);
    const worker = newActive(CallbackWorker);
    const result = host.start(worker);
    await settle(1);
    expect(await findDeadlocks()).toEqual([]);
    expect(await result).toBe('worked, called back');
    expect(events()).toEqual([]);
  });

  it('a request awaiting a native promise (I/O, timer) is assumed to end: no report', async () => {
    const waiter = newActive(Waiter);
    const held = waiter.hold();
    const freed = waiter.free(); // ungrouped: blocked by `hold`, which waits on a native promise
    await settle();
    const graph = await waitGraph();
    const free = graph.requests.find((r) => r.request.method === 'free')!;
    expect(free.state).toBe('queued');
    expect(free.reason).toMatch(/`Waiter#\d+\.hold` \(group io, node 0\) blocks `Waiter#\d+\.free`/);
    const hold = graph.requests.find((r) => r.request.method === 'hold')!;
    expect(hold.edges).toEqual([]);
    expect(hold.reason).toMatch(/^running/);
    expect(await findDeadlocks()).toEqual([]);
    await shutdown({ immediate: true });
    await expect(held).rejects.toThrow();
    await expect(freed).rejects.toThrow();
  });
});

describe('reporting and breaking', () => {
  it('detection reports each deadlock once, as an event', async () => {
    const events = recordDeadlockEvents();
    const first = waitForEvent('deadlock.found');
    configureDeadlocks({ detect: true, intervalMs: 10 });
    const one = newActive(HardOne);
    void one.outer();
    const event = await first;
    expect(event.deadlock.cycle.map((s) => s.request.method).sort()).toEqual(['inner', 'outer']);
    // A second deadlock: the rounds that find it still see the first, and stay quiet on it.
    const second = waitForEvent('deadlock.found');
    const account = newActive(Account);
    void account.audit();
    expect((await second).deadlock.cycle.map((s) => s.request.method).sort()).toEqual(['audit', 'deposit']);
    expect(events()).toHaveLength(2);
  });

  it('reject: the queued request of the cycle fails with DeadlockError, which its awaiter sees', async () => {
    // Nobody listens to events, so the deadlock is also reported as a process warning.
    const warnings = captureWarnings('MULTIACTIVE_DEADLOCK');
    configureDeadlocks({ reject: true, intervalMs: 10 });
    const account = newActive(Account);
    const audit = account.audit();
    const error = await audit.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeadlockError);
    const deadlock = (error as DeadlockError).deadlock;
    expect(deadlock.cycle.map((s) => s.request.method).sort()).toEqual(['audit', 'deposit']);
    expect((error as Error).message).toContain('group `write` is not compatible with group `read`');
    // Reported before it was broken: one warning, the same text as the error.
    expect(warnings.map((w) => w.message)).toEqual([deadlock.message]);
    // The object is not harmed: it serves the next calls.
    expect(await account.deposit(5)).toBe(5);
  });

  it('reject across two objects: ping fails, start and pong see DeadlockError and end', async () => {
    const warnings = captureWarnings('MULTIACTIVE_DEADLOCK');
    configureDeadlocks({ reject: true, intervalMs: 10 });
    const pinger = newActive(ClassicPinger);
    const ponger = newActive(ClassicPonger);
    await expect(pinger.start(ponger)).rejects.toBeInstanceOf(DeadlockError);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/^Deadlock: \d+ requests wait for each other in a cycle/);
    expect(warnings[0]?.message).toContain('ClassicPonger');
    expect(await pinger.ping()).toBe('ping');
    expect(await findDeadlocks()).toEqual([]);
  });
});

describe('the wait-for graph', () => {
  it('names every request in flight with its state and reason', async () => {
    const pinger = newActive(Pinger);
    const ponger = newActive(Ponger);
    void pinger.startWithPong(ponger);
    await settle();
    const graph = await waitGraph();
    expect(graph.nodes).toEqual([0]);
    const byMethod = new Map(graph.requests.map((r) => [r.request.method, r]));
    expect(byMethod.get('startWithPong')!.state).toBe('active');
    expect(byMethod.get('startWithPong')!.reason).toMatch(/awaits the result of `Ponger#\d+\.pong`/);
    expect(byMethod.get('pong')!.reason).toMatch(/awaits the result of `Pinger#\d+\.ping`/);
    expect(byMethod.get('ping')!.state).toBe('queued');
    expect(byMethod.get('ping')!.any).toBe(false);
    const objects = graph.objects.map((o) => o.className).sort();
    expect(objects).toEqual(['Pinger', 'Ponger']);
    const pingerUsage = graph.objects.find((o) => o.className === 'Pinger')!;
    expect(pingerUsage.limit).toBeNull();
    expect(pingerUsage.groups.map((g) => [g.name, g.queued, g.inService])).toEqual([
      ['ping', 1, 0],
      ['(ungrouped)', 0, 1],
    ]);
    // JSON-safe (the debugger sends it to a page).
    expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);
  });

  it('follows a returned future to the request that computes it', async () => {
    class Slow {
      slow(): Promise<number> {
        return new Promise(() => {}); // never ends; no known computation
      }
    }
    class Relay {
      forward(target: Active<Slow>): unknown {
        return target.slow(); // a returned future: adopted, not awaited
      }
    }
    class Client {
      async run(relay: Active<Relay>, target: Active<Slow>): Promise<unknown> {
        return await relay.forward(target);
      }
    }
    const target = newActive(Slow);
    const relay = newActive(Relay);
    void newActive(Client).run(relay, target);
    await settle();
    const graph = await waitGraph();
    const run = graph.requests.find((r) => r.request.method === 'run')!;
    // `forward` has finished; what `run` really waits for is `slow`.
    expect(graph.requests.map((r) => r.request.method).sort()).toEqual(['run', 'slow']);
    expect(run.edges.map((e) => [e.rule, e.to?.method])).toEqual([['awaits', 'slow']]);
    expect(await findDeadlocks()).toEqual([]);
  });
});

describe('options', () => {
  it('rejects bad options with named errors', () => {
    expect(() => configureDeadlocks({ intervalMs: 0 })).toThrow(
      /`intervalMs` to be an integer >= 10, got `0`/,
    );
    expect(() => configureDeadlocks({ detect: 'yes' as unknown as boolean })).toThrow(
      /`detect` to be a boolean/,
    );
    expect(() => configureDeadlocks({ every: 5 } as never)).toThrow(
      /Unknown configureDeadlocks option `every`/,
    );
    expect(() => configureDeadlocks(null as never)).toThrow(/expects an options object/);
  });
});

// ------------------------------------------------------------ helpers

function recordDeadlockEvents(): () => MultiactiveEvent[] {
  const seen: MultiactiveEvent[] = [];
  const stop = onEvent((e) => {
    if (e.type === 'deadlock.found') seen.push(e);
  });
  onTestFinished(stop);
  return () => seen;
}

function waitForEvent<T extends MultiactiveEvent['type']>(
  type: T,
  timeoutMs = 5000,
): Promise<Extract<MultiactiveEvent, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = onEvent((e) => {
      if (e.type !== type) return;
      clearTimeout(timer);
      stop();
      resolve(e as Extract<MultiactiveEvent, { type: T }>);
    });
  });
}
