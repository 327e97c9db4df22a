/**
 * Active classes for the worker example. Exported from their own module: worker nodes import
 * a class from the module it is defined in (captured when its decorators run).
 */
import { type Active, Group, MemberOf, ThreadConfig } from 'multiactive';

/** Counts primes in ranges: CPU-bound, so real parallelism comes from several nodes. */
@Group('count', { selfCompatible: true })
@ThreadConfig({ threadPoolSize: 1 })
export class PrimeCounter {
  served = 0;
  @MemberOf('count') count(from: number, to: number): number {
    let found = 0;
    for (let n = Math.max(2, from); n < to; n++) {
      let prime = true;
      for (let d = 2; d * d <= n; d++) {
        if (n % d === 0) {
          prime = false;
          break;
        }
      }
      if (prime) found++;
    }
    this.served++;
    return found;
  }
  @MemberOf('count') stats(): { served: number } {
    return { served: this.served };
  }
}

/** Sums results as they arrive; lives on one worker, fed by counters on others. */
@Group('add', { selfCompatible: false })
export class Totals {
  total = 0;
  @MemberOf('add') add(amount: number): number {
    this.total += amount;
    return this.total;
  }
  /** Asks a counter (on another node) directly: the call goes worker to worker. */
  @MemberOf('add') async addCount(counter: Active<PrimeCounter>, from: number, to: number): Promise<number> {
    return this.add(await counter.count(from, to));
  }
}
