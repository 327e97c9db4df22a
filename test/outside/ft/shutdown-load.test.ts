/**
 * Shutdown bounded while a recovery runs (nodes.md "A graceful shutdown is bounded"), and a
 * little load: 1500 transfers on three workers with kills in the middle.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type Active,
  createWorkerNode,
  NodeLostError,
  newActive,
  shutdown,
  TerminatedError,
} from '../../../src/index.js';
import { Account } from './fixtures/bank.js';
import { nextEvent, record, settle, tempDir, within } from './helpers.js';

const tmp = tempDir('sdl');
process.env.OFT_BANK_DIR = tmp.dir;
afterEach(async () => {
  await within(shutdown({ immediate: true }), 15000, 'final shutdown');
});
afterAll(() => tmp.cleanup());

describe('shutdown while recovery runs', () => {
  for (const mode of ['graceful', 'immediate'] as const)
    it(`${mode} shutdown on node.lost settles within its bound and every future settles`, async () => {
      const w1 = createWorkerNode();
      const w2 = createWorkerNode();
      const a = newActive(Account, ['a', 1000], { node: w1 });
      const b = newActive(Account, ['b', 1000], { node: w2 });
      await within(a.transfer('warm', b, 1), 10000, 'warm up');
      const fs = Array.from({ length: 50 }, (_, i) => settle(a.transfer(`s${i}`, b, 1)));
      const lost = nextEvent('node.lost', 10000);
      void w1.worker.terminate();
      await lost;
      const t0 = Date.now();
      await within(
        mode === 'graceful' ? shutdown({ timeoutMs: 1500 }) : shutdown({ immediate: true }),
        15000,
        'shutdown',
      );
      const took = Date.now() - t0;
      expect(took).toBeLessThan(mode === 'graceful' ? 1500 + 5000 : 5000);
      const rs = await within(Promise.all(fs), 5000, 'every future settles');
      for (const r of rs)
        if (!r.ok) {
          const e = r.error as Error;
          expect(
            // Across nodes these may arrive as a RemoteError carrying the name (nodes.md).
            e instanceof NodeLostError ||
              e instanceof TerminatedError ||
              ['NodeLostError', 'TerminatedError'].includes(e.name),
            String(e),
          ).toBe(true);
        }
      // Calls after shutdown reject at once.
      const late = await within(settle(a.snapshot()), 5000, 'late call');
      expect(late.ok).toBe(false);
    }, 40000);
});

describe('load', () => {
  it('1500 transfers on six accounts and three workers, with two kills in the middle: exactly once, conserved', async () => {
    const rec = record();
    const nodes = [createWorkerNode(), createWorkerNode(), createWorkerNode()];
    const accts: Active<Account>[] = [];
    for (let i = 0; i < 6; i++) accts.push(newActive(Account, [`L${i}`, 1_000_000], { node: nodes[i % 3] }));
    const txs: { id: string; from: number; to: number; n: number; f: Promise<unknown> }[] = [];
    const go = (count: number) => {
      for (let k = 0; k < count; k++) {
        const i = txs.length;
        const from = i % 6;
        const to = (from + 1 + (i % 2) * 3 + (i % 5 === 0 ? 1 : 0)) % 6; // other nodes only
        if (to % 3 === from % 3) continue;
        const id = `L${i}`;
        const n = 1 + (i % 17);
        txs.push({ id, from, to, n, f: Promise.resolve(accts[from]!.transfer(id, accts[to]!, n)) });
      }
    };
    go(500);
    void nodes[1]!.worker.terminate();
    go(500);
    const r = await nextEvent('object.recovered', 20000);
    expect(r.from).toBe(nodes[1]!.id);
    void nodes[2]!.worker.terminate();
    go(500);
    const results = await within(Promise.all(txs.map((t) => settle(t.f))), 45000, 'all transfers settle');
    const failed = results.filter((x) => !x.ok);
    const snaps = await within(Promise.all(accts.map((a) => a.snapshot())), 10000, 'snapshots');
    expect(snaps.reduce((s, x) => s + x.balance, 0)).toBe(6_000_000);
    for (const s of snaps) expect(new Set(s.ledger).size, `duplicates in ${s.name}`).toBe(s.ledger.length);
    const exp = accts.map(() => 1_000_000);
    for (const t of txs) {
      const w = snaps[t.from]!.ledger.includes(`w:${t.id}:${t.n}`);
      const d = snaps[t.to]!.ledger.includes(`d:${t.id}:${t.n}`);
      expect(w, `transfer ${t.id} half done`).toBe(d);
      if (w) {
        exp[t.from]! -= t.n;
        exp[t.to]! += t.n;
      }
    }
    expect(snaps.map((s) => s.balance)).toEqual(exp);
    expect(failed.map((f) => String((f as { error: unknown }).error))).toEqual([]);
    expect(rec.events.filter((e) => e.type === 'call.quarantined')).toEqual([]);
    rec.stop();
  }, 60000);
});
