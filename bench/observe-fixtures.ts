/**
 * The classes the `observe` family measures (bench/observe-bench.ts). They live in their own
 * module, exported and decorated, because a worker node locates a class by (module URL,
 * export name). The family also runs this compiled module against an older build of the
 * package (copied next to that build's dist/src, so `../src/index.js` is the old runtime):
 * it must use only API that both builds have.
 */
import { type Active, Group, MemberOf } from '../src/index.js';

/** The round-trip subject: one self-compatible group, no limits. */
@Group('g', { selfCompatible: true })
export class ObsCounter {
  n = 0;
  @MemberOf('g') inc(): number {
    return ++this.n;
  }
}

/**
 * A request that calls another active object and awaits its future: where await tracking
 * does its work (one recorded await per request, and async context across the `await`).
 */
@Group('g', { selfCompatible: true })
export class ObsRelay {
  private readonly back: Active<ObsCounter>;
  constructor(back: Active<ObsCounter>) {
    this.back = back;
  }
  @MemberOf('g') async relay(): Promise<number> {
    return await this.back.inc();
  }
}
