/**
 * Classes and functions that the cross-worker benchmarks (crossworker-bench.ts) place on
 * worker nodes or load in plain workers. They live in their own module because workers
 * locate classes by (module URL, export name): these are exported and decorated, so their
 * module URL is captured when the compiled module (dist/bench/crossworker-fixtures.js)
 * loads. Plain workers (raw postMessage, comlink) import `burn` from the same module, so
 * every side runs the same compiled function.
 */
import { BroadcastChannel } from 'node:worker_threads';
import { Fifo } from '../scheduler/fifo.js';
import { type Active, Group, MemberOf } from '../src/index.js';

/** The round-trip subject: one self-compatible group, no limits (no AsyncLocalStorage). */
@Group('g', { selfCompatible: true })
export class XCounter {
  n = 0;
  @MemberOf('g') inc(): number {
    return ++this.n;
  }
}

/**
 * Pure CPU work: `iterations` steps of xorshift32 plus an add, all in int32, nothing
 * allocated. About 1 ns per step here (calibrated by the speedup family at start-up).
 * Time: O(iterations).
 */
export function burn(iterations: number): number {
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x = (x + i) | 0;
  }
  return x;
}

/** The speedup subject: a CPU-bound request (`burn`) on a self-compatible group. */
@Group('g', { selfCompatible: true })
export class Burner {
  @MemberOf('g') burn(iterations: number): number {
    return burn(iterations);
  }
}

/**
 * Worker to worker: placed on one worker node, it drives calls to an `XCounter` on another
 * node and times them itself (the main thread's round trip to the driver is not counted).
 * Requests between workers go over their direct channel, never through the main thread.
 */
@Group('g', { selfCompatible: true })
export class Driver {
  private readonly target: Active<XCounter>;
  constructor(target: Active<XCounter>) {
    this.target = target;
  }

  /** `n` calls, one at a time; returns the elapsed milliseconds. */
  @MemberOf('g') async sequential(n: number): Promise<number> {
    const target = this.target;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await target.inc();
    return performance.now() - t0;
  }

  /** `n` calls in batches of `k` (`Promise.all`); returns the elapsed milliseconds. */
  @MemberOf('g') async batches(n: number, k: number): Promise<number> {
    const target = this.target;
    const batch: PromiseLike<number>[] = new Array(k);
    const t0 = performance.now();
    for (let done = 0; done < n; done += k) {
      for (let j = 0; j < k; j++) batch[j] = target.inc();
      await Promise.all(batch);
    }
    return performance.now() - t0;
  }
}

// ------------------------------------------------------------------ raw postMessage in a node's thread

/**
 * Raw `postMessage` between the very threads a multiactive case uses. A round trip costs one
 * wake-up per side, and that cost depends on where the OS runs the two threads (here, in a
 * VM: ~19 µs per round trip on one core, ~45 µs across two, measured with `taskset`), so a
 * raw baseline on other threads can be in the other regime. A `BroadcastChannel` (same cost
 * as a `MessagePort` here) reaches a worker node's thread without touching the node's own
 * channel: `RawEcho` answers on it from inside the node, `RawDriver` drives it from another
 * node. Channel names must be unique per pair: every other instance of a name receives.
 */
function echoOn(channel: BroadcastChannel): void {
  channel.onmessage = (event) => {
    const m = (event as MessageEvent).data as number | number[];
    if (typeof m === 'number') channel.postMessage(m + 1);
    else {
      for (let i = 0; i < m.length; i++) m[i] = m[i]! + 1;
      channel.postMessage(m);
    }
  };
  channel.unref();
}

/** The calling side of a raw channel: one reply per message, in order (a FIFO of resolvers). */
export class RawRequester {
  private readonly resolvers = new Fifo<(value: unknown) => void>();
  private readonly channel: BroadcastChannel;

  constructor(name: string) {
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (event) => this.onMessage((event as MessageEvent).data);
    this.channel.unref();
  }

  request(message: unknown): Promise<unknown> {
    return new Promise((resolve) => {
      this.resolvers.push(resolve);
      this.channel.postMessage(message);
    });
  }

  close(): void {
    this.channel.close();
  }

  private onMessage(m: unknown): void {
    this.resolvers.shift()?.(m);
  }
}

/** Placed on a worker node: answers raw messages on `channel` from that node's thread. */
@Group('g', { selfCompatible: true })
export class RawEcho {
  private readonly channel: BroadcastChannel;
  constructor(channel: string) {
    this.channel = new BroadcastChannel(channel);
    echoOn(this.channel);
  }
  /** Answers once the echo listens (calls queue behind the construction). */
  @MemberOf('g') ready(): boolean {
    return true;
  }
  @MemberOf('g') close(): void {
    this.channel.close();
  }
}

/** Placed on a worker node: drives raw round trips to a `RawEcho` on another node, timed here. */
@Group('g', { selfCompatible: true })
export class RawDriver {
  private readonly requester: RawRequester;
  constructor(channel: string) {
    this.requester = new RawRequester(channel);
  }

  /**
   * `n` messages: one at a time, `k` per message (batched), or `k` separate messages in
   * flight (awaited together); returns the elapsed ms.
   */
  @MemberOf('g') async drive(
    run: 'sequential' | 'batched' | 'separate',
    n: number,
    k: number,
  ): Promise<number> {
    const requester = this.requester;
    const t0 = performance.now();
    if (run === 'sequential') {
      for (let i = 0; i < n; i++) await requester.request(i);
    } else if (run === 'batched') {
      const batch = new Array<number>(k).fill(0);
      for (let done = 0; done < n; done += k) await requester.request(batch);
    } else {
      const batch: Promise<unknown>[] = new Array(k);
      for (let done = 0; done < n; done += k) {
        for (let j = 0; j < k; j++) batch[j] = requester.request(j);
        await Promise.all(batch);
      }
    }
    return performance.now() - t0;
  }

  @MemberOf('g') close(): void {
    this.requester.close();
  }
}
