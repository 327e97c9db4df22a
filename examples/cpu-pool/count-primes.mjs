/**
 * The CPU-bound task the pool runs: a pure function of its argument (it shares nothing with
 * the caller, so it can run in any thread). A plain .mjs file: piscina loads it by file name in
 * its own worker threads, where no TypeScript loader runs.
 *
 * Counts the primes below `limit` by trial division. Time: O(limit * sqrt(limit)).
 * @param {number} limit
 * @returns {number}
 */
export default function countPrimes(limit) {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}
