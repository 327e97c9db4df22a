/**
 * Active objects on worker-thread nodes: `npx tsx examples/workers/main.ts`.
 *
 * Two PrimeCounter objects on two worker nodes count primes in parallel; a Totals object on
 * a third node adds up counts, asking the counters directly (worker to worker); a future
 * computed on one worker is passed to another as an argument. Then everything shuts down.
 */
import { pathToFileURL } from 'node:url';
import { createWorkerNode, newActive, shutdown } from 'multiactive';
import { PrimeCounter, Totals } from './primes.js';

export async function main(
  print: (line: string) => void = console.log,
): Promise<{ total: number; check: number }> {
  const [a, b, c] = [createWorkerNode(), createWorkerNode(), createWorkerNode()];
  const left = newActive(PrimeCounter, [], { node: a });
  const right = newActive(PrimeCounter, [], { node: b });
  const totals = newActive(Totals, [], { node: c });

  const limit = 2_000_000;
  const half = limit / 2;
  const started = performance.now();
  // The two halves are counted at the same time, on two threads.
  const [low, high] = await Promise.all([left.count(0, half), right.count(half, limit)]);
  const parallelMs = performance.now() - started;
  print(`primes below ${limit}: ${low} + ${high} = ${low + high} (two workers, ${parallelMs.toFixed(0)} ms)`);

  // Totals (node c) asks the counters on nodes a and b itself: no hop through this thread.
  await totals.addCount(left, 0, 1000);
  await totals.addCount(right, 1000, 2000);
  // A future computed on node a, passed to node c: c receives the value from a directly.
  const total = await totals.add(left.count(2000, 3000));
  const check = (await left.count(0, 3000)) as number;
  print(`primes below 3000, summed on a third worker: ${total} (direct count: ${check})`);
  print(`served: left ${(await left.stats()).served}, right ${(await right.stats()).served}`);

  await shutdown(); // ends the three workers; nothing keeps the process alive afterwards
  return { total, check };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
