/**
 * An active object that hands its CPU-bound work to a piscina pool. The object keeps its
 * state and its scheduling (groups, limits); the pool's threads do the computing.
 *
 * Under a soft limit, a request that awaits `waitFor(pool.run(...))` is in wait-by-necessity
 * while the pool computes: its slot is free, so other requests of the object are served
 * meanwhile. Awaiting `pool.run(...)` directly keeps the slot (like a thread blocked in I/O):
 * `countPrimesHolding` is here to show the difference.
 */
import { Compatible, Group, MemberOf, ThreadConfig, waitFor } from 'multiactive';
import { Piscina } from 'piscina';

/** The task file, next to this module (piscina imports it in each of its threads). */
const TASK = new URL('./count-primes.mjs', import.meta.url).href;

@Group('compute', { selfCompatible: true })
@Group('status', { selfCompatible: true })
@Compatible(['compute', 'status'])
@ThreadConfig({ threadPoolSize: 1 }) // a soft limit of 1: one request active at a time
export class Analyzer {
  private readonly pool: Piscina<number, number>;
  private computed = 0;

  /** `threads`: the pool's size (CPU-bound work: up to one per core). */
  constructor(threads: number) {
    this.pool = new Piscina({ filename: TASK, minThreads: threads, maxThreads: threads });
  }

  /** The documented way: the request waits by necessity while the pool computes. */
  @MemberOf('compute') async countPrimes(limit: number): Promise<number> {
    const count = await waitFor(this.pool.run(limit));
    this.computed++; // back in the object: a slot was given to this request again
    return count;
  }

  /** For contrast: awaiting the pool's promise directly holds the slot until it settles. */
  @MemberOf('compute') async countPrimesHolding(limit: number): Promise<number> {
    const count = await this.pool.run(limit);
    this.computed++;
    return count;
  }

  @MemberOf('status') status(): { computed: number; poolThreads: number } {
    return { computed: this.computed, poolThreads: this.pool.threads.length };
  }

  /** Stop the pool's threads (the object itself needs no closing). */
  @MemberOf('status') async close(): Promise<void> {
    await this.pool.destroy();
  }
}
