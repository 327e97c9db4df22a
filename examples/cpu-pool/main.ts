/**
 * CPU-bound helpers: an active object runs a pure function on a piscina pool from inside a
 * request (`await waitFor(pool.run(args))`), so the request frees its slot while the pool
 * computes. On an object with a soft limit of 1, prints how long a `status()` call waits while
 * a computation is in flight, and how long four computations take when sent at once, with
 * `waitFor` and without it.
 *
 *   npx tsx examples/cpu-pool/main.ts
 */
import { pathToFileURL } from 'node:url';
import { type MultiactiveEvent, newActive, onEvent, shutdown } from 'multiactive';
import { Analyzer } from './analyzer.js';

/** Primes below this: ~40 ms of trial division here. */
export const LIMIT = 400_000;

export interface CpuPoolRun {
  /** The answer (primes below LIMIT), from the pool. */
  readonly primes: number;
  /** How long `status()` took while `countPrimes` computed (ms): with `waitFor`, and holding the slot. */
  readonly statusMsWithWaitFor: number;
  readonly statusMsHolding: number;
  /** Four computations sent at once (ms): with `waitFor` they share the pool's threads. */
  readonly fourMsWithWaitFor: number;
  readonly fourMsHolding: number;
  /** Every event of the run (the test reads the service intervals from it). */
  readonly events: readonly MultiactiveEvent[];
}

export async function main(print: (line: string) => void = console.log): Promise<CpuPoolRun> {
  const events: MultiactiveEvent[] = [];
  const stop = onEvent((e) => events.push(e));
  const analyzer = newActive(Analyzer, [2]);
  await analyzer.status(); // the pool has started

  // With waitFor: the computation waits by necessity, so status() gets the slot at once.
  const computing = analyzer.countPrimes(LIMIT);
  let t0 = performance.now();
  await analyzer.status();
  const statusMsWithWaitFor = performance.now() - t0;
  const primes = await computing;

  // Without it: countPrimesHolding keeps the only slot until the pool answers.
  const holding = analyzer.countPrimesHolding(LIMIT);
  t0 = performance.now();
  await analyzer.status();
  const statusMsHolding = performance.now() - t0;
  await holding;

  // Four at once: with waitFor all four reach the pool (two threads compute); holding the
  // slot, the soft limit of 1 lets one at a time reach it.
  const four = [LIMIT, LIMIT, LIMIT, LIMIT];
  t0 = performance.now();
  await Promise.all(four.map((limit) => analyzer.countPrimes(limit)));
  const fourMsWithWaitFor = performance.now() - t0;
  t0 = performance.now();
  await Promise.all(four.map((limit) => analyzer.countPrimesHolding(limit)));
  const fourMsHolding = performance.now() - t0;

  const after = await analyzer.status();
  await analyzer.close();
  stop();
  await shutdown();

  print(`${primes} primes below ${LIMIT.toLocaleString('en-US')}, counted on a piscina pool`);
  print(`status() while countPrimes computes, with waitFor:     ${statusMsWithWaitFor.toFixed(2)} ms`);
  print(`status() while countPrimesHolding computes (no waitFor): ${statusMsHolding.toFixed(2)} ms`);
  print(`4 computations sent at once, with waitFor:     ${fourMsWithWaitFor.toFixed(1)} ms`);
  print(`4 computations sent at once, holding the slot: ${fourMsHolding.toFixed(1)} ms`);
  print(`computed ${after.computed} times on ${after.poolThreads} pool threads`);
  return { primes, statusMsWithWaitFor, statusMsHolding, fourMsWithWaitFor, fourMsHolding, events };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
