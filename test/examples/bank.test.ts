/**
 * examples/bank keeps working, and shows what it claims: a worker killed with transfers in
 * flight, its accounts recovered on a fresh worker, and at the end the printed total is
 * conserved, no ledger entry is applied twice and no transfer is half done.
 */
import { workerNodes } from 'multiactive';
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/bank/main.js';

describe('examples/bank', () => {
  it('conserves the total through a worker kill, applying every transfer once, whole or not at all', async () => {
    const printed: string[] = [];
    const run = await main((line) => printed.push(line));
    const text = printed.join('\n');

    // Printed: the kill, the recovery of the killed worker's two accounts, and the totals.
    expect(printed[0]).toMatch(/^killing worker node \d+ \(hosts bob and erin\) with transfers in flight$/);
    expect(text).toMatch(/^node \d+ lost \(/m);
    expect(text.match(/Account#\d+ recovered on node \d+/g)).toHaveLength(2);
    expect(text).toContain('total: 3000 (before: 3000), conserved');
    expect(text).toContain('entries applied twice: 0; transfers half done: 0');
    const applied = run.outcomes.filter(Boolean).length;
    expect(text).toContain(`transfers: 60 sent, ${applied} applied, ${60 - applied} refused (funds short)`);

    // The state behind the lines: the balances add up, each applied transfer is in exactly
    // two ledgers (its withdrawal and its deposit), a refused one in none.
    expect(run.recovered).toBe(2);
    expect(run.outcomes).toHaveLength(60);
    expect(applied).toBeGreaterThan(0);
    expect(run.statements.reduce((sum, s) => sum + s.balance, 0)).toBe(3000);
    const entries = run.statements.flatMap((s) => s.ledger);
    expect(new Set(entries).size).toBe(entries.length);
    expect(entries).toHaveLength(2 * applied);
    for (const [n, ok] of run.outcomes.entries()) {
      expect(entries.includes(`-t${n}`), `t${n}`).toBe(ok);
      expect(entries.includes(`+t${n}`), `t${n}`).toBe(ok);
    }
    for (const s of run.statements) {
      const line = printed.find((l) => l.startsWith(s.name));
      expect(line).toMatch(new RegExp(`balance +${s.balance} `));
    }
    expect(workerNodes()).toEqual([]);
  }, 30_000);
});
