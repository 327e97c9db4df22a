/**
 * Outside tests of docs/fault-tolerance.md "Recovery of a dead worker's objects": a bank of
 * accounts with @Checkpoint on three worker nodes, transfers that withdraw locally and then
 * deposit on another worker (a keyed call), while workers die one at a time or overlapping.
 * Checked: every future settles, money is conserved, no ledger entry is applied twice, no
 * transfer is half done, final balances are exactly what the transfers imply.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Active,
  createWorkerNode,
  type MultiactiveEvent,
  newActive,
  shutdown,
  type WorkerNode,
  workerNodes,
} from '../../../src/index.js';
import { Account } from './fixtures/bank.js';
import { nextEvent, record, settle, tempDir, within } from './helpers.js';

const tmp = tempDir('bank');
process.env.OFT_BANK_DIR = tmp.dir;

afterEach(async () => {
  await within(shutdown({ timeoutMs: 5000 }), 20000, 'shutdown');
});

import { afterAll } from 'vitest';

afterAll(() => tmp.cleanup());

const LIMITS = { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 };
const INITIAL = 1_000_000;

interface Bank {
  nodes: WorkerNode[];
  accounts: Active<Account>[];
  nodeOf: number[]; // index of nodes[] hosting account i at creation
}

function makeBank(perNode = 2, nodeCount = 3): Bank {
  const nodes = Array.from({ length: nodeCount }, (_, i) =>
    createWorkerNode({ name: `bank-${i}`, resourceLimits: LIMITS }),
  );
  const accounts: Active<Account>[] = [];
  const nodeOf: number[] = [];
  for (let n = 0; n < nodeCount; n++)
    for (let k = 0; k < perNode; k++) {
      accounts.push(newActive(Account, [`acc${n}-${k}`, INITIAL], { node: nodes[n] }));
      nodeOf.push(n);
    }
  return { nodes, accounts, nodeOf };
}

interface Tx {
  id: string;
  from: number;
  to: number;
  n: number;
  f: PromiseLike<unknown>;
}

/** A transfer between accounts on different nodes. */
function pick(bank: Bank, i: number): { from: number; to: number } {
  const m = bank.accounts.length;
  const from = i % m;
  let to = (from + 1 + ((i * 7) % (m - 1))) % m;
  while (bank.nodeOf[to] === bank.nodeOf[from]) to = (to + 1) % m;
  return { from, to };
}

async function audit(bank: Bank, txs: Tx[], label: string) {
  const results = await within(
    Promise.all(txs.map((t) => settle(t.f))),
    40000,
    `${label}: every transfer future settles`,
  );
  const failed = results.map((r, i) => ({ r, t: txs[i] })).filter((x) => !x.r.ok);
  const snaps = await within(
    Promise.all(bank.accounts.map((a) => a.snapshot())),
    20000,
    `${label}: snapshots`,
  );
  const total = snaps.reduce((s, x) => s + x.balance, 0);
  // No ledger entry twice.
  for (const s of snaps) {
    const dups = s.ledger.filter((e, i) => s.ledger.indexOf(e) !== i);
    expect(dups, `${label}: duplicate ledger entries in ${s.name}`).toEqual([]);
  }
  // No transfer half done, and each one applied exactly once.
  const expected = bank.accounts.map(() => INITIAL);
  for (const t of txs) {
    const w = snaps[t.from]!.ledger.filter((e) => e === `w:${t.id}:${t.n}`).length;
    const d = snaps[t.to]!.ledger.filter((e) => e === `d:${t.id}:${t.n}`).length;
    expect({ id: t.id, w, d }, `${label}: transfer ${t.id} half done or repeated`).toEqual({
      id: t.id,
      w: d,
      d: w,
    });
    if (w === 1) {
      expected[t.from]! -= t.n;
      expected[t.to]! += t.n;
    }
  }
  expect(total, `${label}: money conserved`).toBe(INITIAL * bank.accounts.length);
  expect(
    snaps.map((s) => s.balance),
    `${label}: balances`,
  ).toEqual(expected);
  // Recovery promises the futures stay valid: none of these transfers should fail.
  expect(
    failed.map((x) => `${x.t!.id}: ${String((x.r as { error: unknown }).error)}`),
    `${label}: failed transfers`,
  ).toEqual([]);
  return snaps;
}

function nodeById(id: number): WorkerNode | undefined {
  return workerNodes().find((w) => w.id === id);
}

describe('bank on three workers under worker deaths', () => {
  it('sequential kills of every documented kind during transfers: exactly once, conserved, all settle', async () => {
    const bank = makeBank();
    const rec = record();
    const txs: Tx[] = [];
    let seq = 0;
    const burst = (count: number) => {
      for (let i = 0; i < count; i++) {
        const id = `t${seq++}`;
        const { from, to } = pick(bank, seq);
        const n = 1 + (seq % 13);
        txs.push({ id, from, to, n, f: bank.accounts[from]!.transfer(id, bank.accounts[to]!, n) });
      }
    };
    /** One kill transfer, recorded like the others. */
    const killTx = (from: number, how: 'sync' | 'nextTurn' | 'afterDeposit') => {
      const id = `k${seq++}`;
      const { to } = pick(bank, from);
      const t = bank.nodeOf[to] === bank.nodeOf[from] ? (from + 2) % bank.accounts.length : to;
      txs.push({
        id,
        from,
        to: t,
        n: 100,
        f: bank.accounts[from]!.transfer(id, bank.accounts[t]!, 100, {
          token: join(tmp.dir, `tok-${id}`),
          how,
        }),
      });
    };
    const recovered = (count: number) =>
      within(
        new Promise<void>((resolve) => {
          const check = () => {
            if (rec.events.filter((e) => e.type === 'object.recovered').length >= count) resolve();
            else setTimeout(check, 20);
          };
          check();
        }),
        30000,
        `${count} object.recovered events`,
      );

    burst(30);
    // 1. worker.terminate() from outside, with transfers in flight.
    await bank.nodes[0]!.worker.terminate();
    burst(30);
    await recovered(2); // two accounts per node
    // 2. process.exit() synchronously inside a transfer, after its withdrawal.
    killTx(2, 'sync');
    burst(30);
    await recovered(4);
    // 3. process.exit() on the next turn, after the deposit was sent (a keyed call in flight).
    killTx(4, 'nextTurn');
    burst(30);
    await recovered(6);
    // 4. process.exit() after the deposit came back.
    killTx(1, 'afterDeposit');
    burst(30);
    await recovered(8);
    // 5. running out of memory (the documented resourceLimits).
    const oom = settle(bank.accounts[3]!.oomOnce(join(tmp.dir, 'tok-oom')));
    burst(30);
    await recovered(10);
    expect(await within(oom, 20000, 'oomOnce settles')).toEqual({ ok: true, value: 'survived' });
    burst(30);
    await audit(bank, txs, 'sequential');
    const lost = rec.events.filter(
      (e): e is Extract<MultiactiveEvent, { type: 'node.lost' }> => e.type === 'node.lost',
    );
    expect(lost.length).toBe(5);
    expect(rec.events.filter((e) => e.type === 'call.quarantined')).toEqual([]);
    expect(rec.events.filter((e) => e.type === 'object.unrecoverable')).toEqual([]);
    rec.stop();
  }, 90000);

  it('overlapping kills: a second node as the first is lost, then the fresh node as it is created', async () => {
    const bank = makeBank();
    const rec = record();
    const txs: Tx[] = [];
    let seq = 0;
    const burst = (count: number) => {
      for (let i = 0; i < count; i++) {
        const id = `o${seq++}`;
        const { from, to } = pick(bank, seq);
        const n = 1 + (seq % 11);
        txs.push({ id, from, to, n, f: bank.accounts[from]!.transfer(id, bank.accounts[to]!, n) });
      }
    };
    burst(40);
    // Kill node 1; when its loss is reported, kill node 2 from outside.
    const firstLost = nextEvent('node.lost', 15000, (e) => e.node === bank.nodes[0]!.id);
    void bank.nodes[0]!.worker.terminate();
    await firstLost;
    void bank.nodes[1]!.worker.terminate();
    burst(40);
    // Kill the fresh node of the first recovery seen next, as soon as it is reported.
    const fresh = await nextEvent('object.recovered', 20000);
    const freshNode = nodeById(fresh.node);
    expect(freshNode, 'the fresh node is listed by workerNodes()').toBeDefined();
    void freshNode?.worker.terminate();
    burst(40);
    await audit(bank, txs, 'overlapping');
    rec.stop();
  }, 90000);

  it('the fresh node killed while it replays (on requests.replayed), repeatedly', async () => {
    const bank = makeBank();
    const rec = record();
    const txs: Tx[] = [];
    let seq = 0;
    const burst = (count: number) => {
      for (let i = 0; i < count; i++) {
        const id = `r${seq++}`;
        const { from, to } = pick(bank, seq);
        const n = 1 + (seq % 7);
        txs.push({ id, from, to, n, f: bank.accounts[from]!.transfer(id, bank.accounts[to]!, n) });
      }
    };
    burst(60);
    for (let round = 0; round < 3; round++) {
      const recov = nextEvent('object.recovered', 20000);
      const replayed = nextEvent('requests.replayed', 20000);
      const victim =
        round === 0
          ? bank.nodes[2]
          : nodeById(
              (rec.events.filter((e) => e.type === 'object.recovered').at(-1) as { node: number }).node,
            );
      expect(victim).toBeDefined();
      void victim!.worker.terminate();
      burst(20);
      const r = await recov;
      await replayed;
      // Kill the node that just replayed (only if it is still the live host).
      if (round < 2) void nodeById(r.node)?.worker.terminate();
      burst(20);
    }
    await audit(bank, txs, 'replay kills');
    rec.stop();
  }, 90000);

  it('replacement workers keep the createWorkerNode options (resourceLimits)', async () => {
    const bank = makeBank(1, 2);
    const before = (await within(bank.accounts[0]!.limits(), 10000, 'limits')) as Record<string, number>;
    expect(before.maxOldGenerationSizeMb).toBe(LIMITS.maxOldGenerationSizeMb);
    const rec = nextEvent('object.recovered', 20000);
    await bank.nodes[0]!.worker.terminate();
    const r = await rec;
    expect(r.from).toBe(bank.nodes[0]!.id);
    const after = (await within(bank.accounts[0]!.limits(), 10000, 'limits after')) as Record<string, number>;
    expect(after).toEqual(before);
    // And the name.
    const node = nodeById(r.node);
    expect(node).toBeDefined();
  }, 40000);
});
