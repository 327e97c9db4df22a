/** examples/workers keeps working: counts on two workers, sums on a third, then shuts down. */
import { workerNodes } from 'multiactive';
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/workers/main.js';

describe('examples/workers', () => {
  it('counts primes on two worker nodes, sums on a third, and ends every worker', async () => {
    const printed: string[] = [];
    const { total, check } = await main((line) => printed.push(line));
    expect(total).toBe(430);
    expect(check).toBe(430);
    expect(printed[0]).toMatch(/^primes below 2000000: 78498 \+ 70435 = 148933/);
    expect(workerNodes()).toEqual([]);
  }, 30_000);
});
