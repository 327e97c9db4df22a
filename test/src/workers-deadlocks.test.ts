/**
 * Deadlock detection across nodes (issue #4): a cycle through two worker nodes, and through
 * the main thread and a worker, is found, confirmed and named with each request's node; with
 * `reject` it is broken and the error reaches the caller on the main thread; a rally between
 * two workers that completes is never reported.
 *
 * The stuck state is reached on other threads, so tests wait for the event that completes it
 * (the `request.sent` of the call that closes the cycle) before asking.
 */

import {
  configureDeadlocks,
  createWorkerNode,
  type Deadlock,
  DeadlockError,
  findDeadlocks,
  type MultiactiveEvent,
  newActive,
  onEvent,
  shutdown,
  terminate,
  type WorkerNode,
} from 'multiactive';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClassicPinger, ClassicPonger, SoftPlayer } from '../fixtures/deadlocks.js';

const module = new URL('../fixtures/deadlocks.ts', import.meta.url);

let w1: WorkerNode;
let w2: WorkerNode;
let stopListening: () => void;
beforeAll(() => {
  // Events flow from the workers while someone listens (the tests wait on them).
  stopListening = onEvent(() => {});
  w1 = createWorkerNode(); // before tracking is switched on: told by message
  configureDeadlocks({ trackAwaits: true });
  w2 = createWorkerNode(); // after: told at creation
});
/** Objects of the current test: terminated at once after it (their deadlocks with them). */
const created: object[] = [];
function track<T extends object>(active: T): T {
  created.push(active);
  return active;
}
afterEach(async () => {
  configureDeadlocks({ detect: false, reject: false });
  await Promise.all(created.splice(0).map((o) => terminate(o, { immediate: true })));
});
afterAll(async () => {
  stopListening();
  await shutdown({ immediate: true });
});

function waitForEvent(
  match: (e: MultiactiveEvent) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<MultiactiveEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = onEvent((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      stop();
      resolve(e);
    });
  });
}

const pingSent = () =>
  waitForEvent((e) => e.type === 'request.sent' && e.request.method === 'ping', 'request.sent of ping');

function steps(d: Deadlock): string[] {
  return d.cycle.map((s) => `${s.request.className}.${s.request.method}@${s.request.node}`).sort();
}

describe('deadlocks across nodes', () => {
  it('finds a cycle through two worker nodes and names each node', async () => {
    const pinger = track(newActive(ClassicPinger, [], { node: w1, module }));
    const ponger = track(newActive(ClassicPonger, [], { node: w2, module }));
    const sent = pingSent();
    void pinger.start(ponger);
    await sent;
    const found = await findDeadlocks();
    expect(found).toHaveLength(1);
    expect(steps(found[0]!)).toEqual([
      `ClassicPinger.ping@${w1.id}`,
      `ClassicPinger.start@${w1.id}`,
      `ClassicPonger.pong@${w2.id}`,
    ]);
    expect(found[0]!.message).toContain(`(ungrouped, node ${w2.id}) awaits the result of`);
    expect(found[0]!.message).toContain('an ungrouped request is compatible with nothing');
  });

  it('finds a cycle through the main thread and a worker', async () => {
    const pinger = track(newActive(ClassicPinger));
    const ponger = track(newActive(ClassicPonger, [], { node: w1, module }));
    const sent = pingSent();
    void pinger.start(ponger);
    await sent;
    const found = await findDeadlocks();
    expect(found.map(steps)).toEqual([
      ['ClassicPinger.ping@0', 'ClassicPinger.start@0', `ClassicPonger.pong@${w1.id}`],
    ]);
  });

  it('reject: the error crosses both workers and reaches the caller, and the objects go on', async () => {
    configureDeadlocks({ reject: true, intervalMs: 20 });
    const pinger = track(newActive(ClassicPinger, [], { node: w1, module }));
    const ponger = track(newActive(ClassicPonger, [], { node: w2, module }));
    const error = await pinger.start(ponger).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DeadlockError);
    expect((error as Error).name).toBe('DeadlockError');
    expect((error as Error).message).toMatch(/^Deadlock: 3 requests wait for each other in a cycle/);
    expect(
      ((error as { deadlock?: Deadlock }).deadlock?.cycle ?? []).map((s) => s.request.method).sort(),
    ).toEqual(['ping', 'pong', 'start']);
    expect(await pinger.ping()).toBe('ping');
  });

  it('a rally between two workers under a soft limit completes and is never reported', async () => {
    const reports: MultiactiveEvent[] = [];
    const stop = onEvent((e) => {
      if (e.type === 'deadlock.found') reports.push(e);
    });
    configureDeadlocks({ detect: true, intervalMs: 10 });
    const a = track(newActive(SoftPlayer, [], { node: w1 }));
    const b = track(newActive(SoftPlayer, [], { node: w2 }));
    await a.setPartner(b);
    await b.setPartner(a);
    const rally = a.ping(200);
    let done = false;
    void rally.then(() => {
      done = true;
    });
    let checks = 0;
    while (!done) {
      expect(await findDeadlocks()).toEqual([]);
      checks++;
    }
    expect(await rally).toBe(200);
    stop();
    expect(checks).toBeGreaterThan(0);
    expect(reports).toEqual([]);
  });
});
