/**
 * examples/cache keeps working, and shows what it claims: gets of any keys overlap (of one key
 * too), requests of other keys run beside a put, and nothing of key k runs beside a put of k.
 * Checked on the cache's own record of starts and ends, by counting, and against what it printed.
 */
import { describe, expect, it } from 'vitest';
import { main, type Step } from '../../examples/cache/main.js';

/** After each step of the record: how many requests of each op and key are in service. */
function* states(record: readonly Step[]): Generator<Map<string, number>> {
  const live = new Map<string, number>();
  for (const { op, key, phase } of record) {
    const name = `${op}:${key}`;
    live.set(name, (live.get(name) ?? 0) + (phase === 'start' ? 1 : -1));
    expect(live.get(name)).toBeGreaterThanOrEqual(0);
    yield live;
  }
}

describe('examples/cache', () => {
  it('overlaps gets, runs other keys beside a put, and never a request of k beside a put of k', async () => {
    const printed: string[] = [];
    const run = await main((line) => printed.push(line));
    expect(run.record).toHaveLength(2 * 48);

    let inService = 0;
    let getsOfOneKey = 0;
    let besideAPut = 0;
    for (const live of states(run.record)) {
      const count = (op: string, key: string) => live.get(`${op}:${key}`) ?? 0;
      const keys = ['a', 'b', 'c', 'd'];
      inService = Math.max(
        inService,
        [...live.values()].reduce((a, b) => a + b, 0),
      );
      for (const k of keys) {
        getsOfOneKey = Math.max(getsOfOneKey, count('get', k));
        // Exclusion: at most one put of k, and then no get of k.
        expect(count('put', k)).toBeLessThanOrEqual(1);
        if (count('put', k) === 1) {
          expect(count('get', k)).toBe(0);
          const others = keys
            .filter((j) => j !== k)
            .reduce((n, j) => n + count('get', j) + count('put', j), 0);
          besideAPut = Math.max(besideAPut, others);
        }
      }
    }
    expect(inService).toBeGreaterThan(1);
    expect(getsOfOneKey).toBeGreaterThan(1);
    expect(besideAPut).toBeGreaterThan(0);
    expect(run.overlap).toEqual({ inService, getsOfOneKey, besideAPut, conflicts: 0 });

    // Requests of one key keep their arrival order: each get saw the last put sent before it.
    for (const read of run.reads) expect(read.got).toBe(read.expected);
    expect(run.values).toEqual(run.lastPut);

    expect(printed).toContain(`most requests in service at once: ${inService}`);
    expect(printed).toContain(`most gets of one key at once: ${getsOfOneKey}`);
    expect(printed).toContain(`most requests of other keys beside a put: ${besideAPut}`);
    expect(printed).toContain('requests of key k beside a put of k: 0');
    expect(printed).toContain('gets that returned the last value put before them: 36 of 36');
  });
});
