/**
 * The task piscina's workers run in the cross-worker benchmark (crossworker-bench.ts): the
 * same trivial work as `XCounter.inc` (a number in, a number out). Loaded by file name from
 * dist/bench/piscina-task.js (compiled JS: piscina's workers have no TypeScript loader).
 */
export default function increment(n: number): number {
  return n + 1;
}
