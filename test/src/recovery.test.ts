/**
 * Recovery of a dead worker's objects (issue #5, SPEC §9): real faults (process.exit inside
 * the worker, an uncaught error outside requests, worker.terminate() from outside). The
 * object comes back from its last checkpoint on a fresh worker, the deliveries after it are
 * replayed in order, callers' futures stay valid and settle once, nothing is applied twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createWorkerNode,
  type MultiactiveEvent,
  NodeLostError,
  newActive,
  onEvent,
  QuarantineError,
  shutdown,
  type WorkerNode,
  workerNodes,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Account,
  Agent,
  Brittle,
  Fuse,
  Killer,
  Ledger,
  Phoenix,
  StoreSwitch,
  Tally,
  Teller,
} from '../fixtures/recovery.js';
import { objectIdOf } from '../support/node-trace.js';

const module = new URL('../fixtures/recovery.ts', import.meta.url);
let dir: string;
const events: MultiactiveEvent[] = [];
let stop: () => void;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiactive-recovery-'));
  process.env.MULTIACTIVE_CHECKPOINT_DIR = dir;
  stop = onEvent((e) => {
    if (
      e.type === 'node.lost' ||
      e.type === 'object.recovered' ||
      e.type === 'requests.replayed' ||
      e.type === 'call.quarantined' ||
      e.type === 'journal.full' ||
      e.type === 'object.unrecoverable'
    )
      events.push(e);
  });
});
afterAll(async () => {
  stop();
  await shutdown({ immediate: true });
  rmSync(dir, { recursive: true, force: true });
});

function waitFor(type: MultiactiveEvent['type'], count: number, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => events.filter((e) => e.type === type).length >= count;
    if (check()) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`fewer than ${count} ${type} events within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = onEvent(() => {
      if (!check()) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Resolves when some object's checkpoint number `seq` is durable (events come from workers). */
function checkpointTaken(seq: number | undefined, timeoutMs = 10_000, objectId?: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no checkpoint ${seq} within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = onEvent((e) => {
      if (e.type !== 'checkpoint.taken' || (seq !== undefined && e.seq !== seq)) return;
      if (objectId !== undefined && e.objectId !== objectId) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function onNode(w: WorkerNode) {
  return { tally: newActive(Tally, [], { node: w }), killer: newActive(Killer, [], { node: w, module }) };
}

describe('recovery of a dead worker node', () => {
  it('process.exit inside the worker: state back from the checkpoint, later deliveries replayed, calls go on', async () => {
    const w = createWorkerNode();
    const { tally, killer } = onNode(w);
    const durable = checkpointTaken(2);
    for (let i = 1; i <= 12; i++) expect(await tally.add(1, i)).toBe(i); // checkpoints after 5 and 10
    await durable; // the second checkpoint is on disk before the crash
    const lost = events.filter((e) => e.type === 'node.lost').length;
    await killer.exit(3).then(
      () => undefined,
      () => undefined,
    );
    await waitFor('node.lost', lost + 1);
    // Made once the node is gone: it waits for the recovery, then runs after the replay.
    expect(await tally.add(1, 13)).toBe(13);
    const state = await tally.read();
    expect(state.total).toBe(13);
    expect(state.applied).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    // It came back from its second checkpoint (taken after 10 to 12 requests: a periodic
    // checkpoint waits for the previous write), not from scratch: the replay started there
    // and replayed exactly the deliveries after it, up to the 12th.
    const replay = events.filter((e) => e.type === 'requests.replayed').at(-1) as Extract<
      MultiactiveEvent,
      { type: 'requests.replayed' }
    >;
    expect(replay.fromDseq).toBeGreaterThanOrEqual(10);
    expect(replay.fromDseq + replay.count).toBe(12);
    const lostEvent = events.filter((e) => e.type === 'node.lost').at(-1) as Extract<
      MultiactiveEvent,
      { type: 'node.lost' }
    >;
    expect(lostEvent.node).toBe(w.id);
    expect(lostEvent.reason).toBe('exited with code 3');
    // The loss is told before the recoveries it caused.
    const lostAt = events.indexOf(lostEvent);
    const recoveredAt = events.findIndex((e) => e.type === 'object.recovered' && e.from === w.id);
    expect(lostEvent.recovered.length).toBeGreaterThan(0);
    expect(recoveredAt).toBeGreaterThan(lostAt);
  });

  it('calls in flight when the worker is terminated from outside: every future settles once, each applied once, in order', async () => {
    const w = createWorkerNode();
    const { tally } = onNode(w);
    await tally.add(0, 0);
    const futures = Array.from({ length: 40 }, (_, i) => tally.add(1, i + 1));
    await futures[9]; // some served, some in flight
    await w.worker.terminate();
    const values = await Promise.all(futures);
    // Sequential adds of 1: the k-th delivered returns k, whatever happened in between.
    expect(values).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const state = await tally.read();
    expect(state.applied).toEqual([0, ...Array.from({ length: 40 }, (_, i) => i + 1)]);
  });

  it('an uncaught error outside requests kills the worker; the object is recovered, repeatedly', async () => {
    const w = createWorkerNode();
    const made = onNode(w);
    const tally = made.tally;
    let killer = made.killer;
    let expected = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 7; i++) {
        expected++;
        expect(await tally.add(1, expected)).toBe(expected);
      }
      const lost = events.filter((e) => e.type === 'node.lost').length;
      await killer.throwOutside().then(
        () => undefined,
        () => undefined,
      );
      await waitFor('node.lost', lost + 1);
      expected++;
      const got = await tally.add(1, expected);
      if (got !== expected) console.log('MISMATCH', JSON.stringify(await tally.read()));
      expect(got).toBe(expected);
      // The killer was not recoverable: place a new one where the tally lives now.
      const recovered = events.filter((e) => e.type === 'object.recovered').at(-1) as Extract<
        MultiactiveEvent,
        { type: 'object.recovered' }
      >;
      killer = newActive(Killer, [], { node: recovered.node, module });
    }
    const state = await tally.read();
    expect(state.applied).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
  });

  it("the reference's scenario: two agents call each other; killing one mid-way changes no result", async () => {
    /** Ten rounds; in each, both agents start a `doStuff(2)` (4 calls to the peer, 4 each back). */
    async function run(
      killInRound: number | undefined,
    ): Promise<{ results: number[]; a: unknown; b: unknown; killed: number }> {
      const w1 = createWorkerNode();
      const w2 = createWorkerNode();
      const a = newActive(Agent, [], { node: w1 });
      const b = newActive(Agent, [], { node: w2 });
      const killer = newActive(Killer, [], { node: w1, module });
      await a.setPeer(b);
      await b.setPeer(a);
      const results: number[] = [];
      for (let round = 1; round <= 10; round++) {
        const both = [a.doStuff(2), b.doStuff(2)];
        // Mid-round: the agents' requests are in flight, some served, some not.
        if (round === killInRound) void killer.exit(9);
        results.push(...(await Promise.all(both)));
      }
      return { results, a: await a.totals(), b: await b.totals(), killed: w1.id };
    }
    const clean = await run(undefined);
    const faulty = await run(6);
    const recoveredFrom = events.filter((e) => e.type === 'object.recovered' && e.from === faulty.killed);
    expect(recoveredFrom).toHaveLength(1); // agent a, from the killed node
    expect({ ...faulty, killed: 0 }).toEqual({ ...clean, killed: 0 });
    expect(clean.results).toHaveLength(20);
  });

  it('bank transfers between accounts on different workers under repeated kills: money is conserved, nothing applied twice', async () => {
    const hosts = [createWorkerNode(), createWorkerNode(), createWorkerNode()];
    const accounts = [0, 1, 2, 3].map((i) => newActive(Account, [1000], { node: hosts[i % 2]! }));
    const teller = newActive(Teller, [], { node: hosts[2]! });
    const total = 4000;
    const ids = [teller, accounts[0]!, accounts[1]!].map(objectIdOf);
    const initial = new Map([
      [ids[0]!, hosts[2]!.id],
      [ids[1]!, hosts[0]!.id],
      [ids[2]!, hosts[1]!.id],
    ]);
    /** Where object `id` lives now: its last recovery's node, or where it was placed. */
    const hostOf = (id: number): number => {
      const moves = events.filter(
        (e): e is Extract<MultiactiveEvent, { type: 'object.recovered' }> =>
          e.type === 'object.recovered' && e.objectId === id,
      );
      return moves.at(-1)?.node ?? initial.get(id)!;
    };
    const transfers: PromiseLike<boolean>[] = [];
    let kills = 0;
    for (let batch = 0; batch < 10; batch++) {
      for (let i = 0; i < 12; i++) {
        const n = batch * 12 + i;
        const from = accounts[n % 4]!;
        const to = accounts[(n * 7 + 1) % 4 === n % 4 ? (n + 1) % 4 : (n * 7 + 1) % 4]!;
        transfers.push(teller.transfer(`t${n}`, from, to, 10 + (n % 50)));
      }
      if (batch % 2 === 1) {
        // Kill a node that hosts one of them, while transfers are in flight, from outside
        // (like an OOM killer): the teller's node, then the accounts' nodes in turn.
        const victimId = ids[kills % ids.length]!;
        const where = hostOf(victimId);
        const victim = workerNodes().find((w) => w.id === where)!;
        const lost = events.filter((e) => e.type === 'node.lost').length;
        await transfers[transfers.length - 6]; // half the batch is through, the rest in flight
        await victim.worker.terminate();
        await waitFor('node.lost', lost + 1);
        kills++;
      }
    }
    const outcomes = await Promise.all(transfers);
    expect(outcomes).toHaveLength(120);
    expect(kills).toBe(5);
    const statements = await Promise.all(accounts.map((a) => a.statement()));
    expect(statements.reduce((sum, s) => sum + s.balance, 0)).toBe(total);
    const applied = statements.flatMap((s) => s.applied);
    expect(new Set(applied).size).toBe(applied.length); // no withdrawal or deposit twice
    for (let n = 0; n < 120; n++) {
      const withdrawn = applied.includes(`-t${n}`);
      expect(withdrawn, `t${n}`).toBe(outcomes[n]);
      expect(applied.includes(`+t${n}`), `t${n}`).toBe(withdrawn); // never half a transfer
    }
  });

  it('calls made by deliveries that were pending at a checkpoint are not applied twice when their caller is recovered', async () => {
    // a's first checkpoint (the only durable one: the store refuses the later ones) is taken
    // after t1, with t2 and t3 delivered but not started. They start afterwards and deposit on
    // b; then a's worker dies: a comes back from that checkpoint and replays t2 and t3, whose
    // deposits b must answer from their first run, although a's checkpoint became durable
    // (and receivers were told to forget a's calls up to it) after they were made.
    const [wa, wb] = [createWorkerNode(), createWorkerNode()];
    const a = newActive(Ledger, [100], { node: wa });
    const b = newActive(Ledger, [100], { node: wb });
    const killer = newActive(Killer, [], { node: wa, module });
    const durable = checkpointTaken(1, 10_000, objectIdOf(a));
    const done = await Promise.all(['t1', 't2', 't3'].map((id) => a.transfer(id, b, 10)));
    expect(done).toEqual([true, true, true]);
    await durable;
    const lost = events.filter((e) => e.type === 'node.lost').length;
    await killer.exit(4).then(
      () => undefined,
      () => undefined,
    );
    await waitFor('node.lost', lost + 1);
    // a's statement is served after its replay, whose deposits b has answered by then.
    const sa = await a.statement();
    const sb = await b.statement();
    expect(sa).toEqual({ balance: 70, applied: ['-t1', '-t2', '-t3'] });
    expect(sb).toEqual({ balance: 130, applied: ['+t1', '+t2', '+t3'] });
  });

  it("a dead worker's replacement is made with its options (heap limits), and its death is said in words", async () => {
    const w = createWorkerNode({ resourceLimits: { maxOldGenerationSizeMb: 96 } });
    const { tally, killer } = onNode(w);
    expect(await tally.heapLimitMb()).toBe(96);
    const lost = events.filter((e) => e.type === 'node.lost').length;
    await killer.throwOutside();
    await waitFor('node.lost', lost + 1);
    expect(await tally.heapLimitMb()).toBe(96);
    const event = events.filter((e) => e.type === 'node.lost').at(-1) as Extract<
      MultiactiveEvent,
      { type: 'node.lost' }
    >;
    expect(event.reason).toBe('crashed (Error: an uncaught error outside any request)');
  });

  it('a call that ends its node each time it runs is quarantined once it has ended it twice; the object goes on without it', async () => {
    const w = createWorkerNode();
    const fuse = newActive(Fuse, [], { node: w });
    expect(await fuse.add(1)).toBe(1);
    const lost = events.filter((e) => e.type === 'node.lost').length;
    const blown = fuse.blow(7);
    const after = fuse.add(10); // queued behind it, on the same node
    const error = await blown.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(QuarantineError);
    expect((error as QuarantineError).method).toBe('blow');
    expect((error as Error).message).toMatch(
      /Fuse#\d+\.blow \(delivery 2\) was quarantined: it ended its node, 2 times/,
    );
    // Its first run and its first replay each ended a node (each named it as it died); no more.
    expect(events.filter((e) => e.type === 'node.lost').length - lost).toBe(2);
    expect(await after).toBe(11);
    expect(await fuse.add(100)).toBe(111);
    const quarantined = events.filter((e) => e.type === 'call.quarantined');
    expect(quarantined.at(-1)).toMatchObject({ method: 'blow', delivery: 2, className: 'Fuse' });
  });

  it('an object whose every new node dies before it makes progress is given up after 8 tries, its callers told', async () => {
    const w = createWorkerNode();
    const phoenix = newActive(Phoenix, [], { node: w });
    const killer = newActive(Killer, [], { node: w, module });
    const durable = checkpointTaken(1, 10_000, objectIdOf(phoenix));
    expect(await phoenix.inc()).toBe(1);
    await durable;
    const lost = events.filter((e) => e.type === 'node.lost').length;
    await killer.exit(3).then(
      () => undefined,
      () => undefined,
    );
    await waitFor('node.lost', lost + 1); // made afterwards, the call waits for the recovery
    const error = await phoenix.inc().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NodeLostError);
    // The kill, then 8 new nodes that died restoring it.
    expect(events.filter((e) => e.type === 'node.lost').length - lost).toBe(9);
    expect(events.filter((e) => e.type === 'object.unrecoverable').at(-1)).toMatchObject({
      objectId: objectIdOf(phoenix),
    });
  }, 30_000);

  it('a journal whose checkpoints keep failing is bounded: full, it refuses calls (JournalFullError) until a checkpoint is durable', async () => {
    const w = createWorkerNode();
    const brittle = newActive(Brittle, [], { node: w });
    const mend = newActive(StoreSwitch, [], { node: w, module });
    for (let i = 1; i <= 10; i++) expect(await brittle.add(1)).toBe(i); // checkpoints fail from the 5th on
    const refused = await brittle.add(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as Error).name).toBe('JournalFullError');
    expect((refused as Error).message).toMatch(/10 calls are journaled since its last durable checkpoint/);
    expect(events.filter((e) => e.type === 'journal.full').at(-1)).toMatchObject({
      objectId: objectIdOf(brittle),
      limit: 10,
    });
    await mend.heal();
    // A refused call asks for a checkpoint too (at most every 20 ms); once one is durable,
    // calls are accepted again. Calls until then are refused and do nothing.
    const durable = checkpointTaken(undefined, 10_000, objectIdOf(brittle));
    let accepted: number | undefined;
    const deadline = performance.now() + 10_000;
    while (accepted === undefined) {
      accepted = await brittle.add(5).then(
        (total) => total,
        (error: Error) => {
          if (error.name !== 'JournalFullError' || performance.now() > deadline) throw error;
          return undefined;
        },
      );
    }
    await durable;
    expect(accepted).toBe(15); // the refused calls did nothing
  });

  it('out of memory: a worker with a small heap dies of it, and its object comes back', async () => {
    const w = createWorkerNode({ resourceLimits: { maxOldGenerationSizeMb: 48 } });
    const { tally, killer } = onNode(w);
    for (let i = 1; i <= 7; i++) await tally.add(1, i);
    const lost = events.filter((e) => e.type === 'node.lost').length;
    await killer.exhaustMemory();
    await waitFor('node.lost', lost + 1, 30_000);
    const event = events.filter((e) => e.type === 'node.lost').at(-1) as Extract<
      MultiactiveEvent,
      { type: 'node.lost' }
    >;
    expect(event.node).toBe(w.id);
    expect(event.reason).toMatch(/out of memory|ERR_WORKER_OUT_OF_MEMORY/i);
    expect(await tally.add(1, 8)).toBe(8);
    expect((await tally.read()).applied).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  }, 40_000);
});
