/**
 * A cache with a per-key readers/writer policy: `npm run example:cache`
 * (or `npx tsx examples/cache/main.ts`).
 *
 * Reads of any keys overlap; a write of key k excludes the reads and writes of k, and only
 * those: reads and writes of other keys go on beside it. No lock in the code: the class
 * declares it with two groups and one condition on the requests' arguments,
 *
 *   @Group('read', { selfCompatible: true })                          // reads overlap
 *   @Group('write', { selfCompatible: true, condition: otherKeys })   // writes of other keys overlap
 *   @Compatible(['read', 'write'], otherKeys)                         // a read and a write of other keys
 *
 * and the object's scheduler admits each request only next to compatible ones. Each request
 * spends ~5 ms at a slow backend (a timer), so the concurrency is visible: the cache records
 * every start and end, and prints how many requests overlapped, how many reads of one key ran
 * together, how many requests of other keys ran beside a write, and how often a request of
 * key k ran beside a write of k (never).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Compatible, Group, MemberOf, newActive, type RequestView, shutdown } from 'multiactive';

/** Two requests of the cache may overlap only if their first arguments (the keys) differ. */
const otherKeys = (a: RequestView, b: RequestView): boolean => a.args[0] !== b.args[0];

/** One line of the cache's record: a request of `op` on `key` started or ended. */
export interface Step {
  readonly op: 'get' | 'put';
  readonly key: string;
  readonly phase: 'start' | 'end';
}

/** What the cache measured, from its record. */
export interface Overlap {
  /** Most requests in service at once. */
  readonly inService: number;
  /** Most gets of one key in service at once. */
  readonly getsOfOneKey: number;
  /** Most requests of other keys in service beside one put. */
  readonly besideAPut: number;
  /** Starts of a request of key k while a put of k was in service, or of a put of k beside a request of k. */
  readonly conflicts: number;
}

@Group('read', { selfCompatible: true })
@Group('write', { selfCompatible: true, condition: otherKeys })
@Group('stats', { selfCompatible: true })
@Compatible(['read', 'write'], otherKeys)
@Compatible(['read', 'stats'])
@Compatible(['write', 'stats'])
export class Cache {
  private readonly values = new Map<string, string>();
  private readonly record: Step[] = [];
  private readonly delayMs: number;

  constructor(delayMs: number) {
    this.delayMs = delayMs;
  }

  @MemberOf('read') async get(key: string): Promise<string | undefined> {
    this.record.push({ op: 'get', key, phase: 'start' });
    await sleep(this.delayMs); // the backend's latency (a plain promise: the request stays in service)
    const value = this.values.get(key);
    this.record.push({ op: 'get', key, phase: 'end' });
    return value;
  }

  @MemberOf('write') async put(key: string, value: string): Promise<void> {
    this.record.push({ op: 'put', key, phase: 'start' });
    await sleep(this.delayMs); // written through to the backend
    this.values.set(key, value);
    this.record.push({ op: 'put', key, phase: 'end' });
  }

  @MemberOf('stats') snapshot(): { values: Record<string, string>; record: Step[] } {
    return { values: Object.fromEntries(this.values), record: this.record };
  }
}

/** Replays the record and measures it (the test does the same from the record itself). */
export function measure(record: readonly Step[]): Overlap {
  const live: Step[] = [];
  let inService = 0;
  let getsOfOneKey = 0;
  let besideAPut = 0;
  let conflicts = 0;
  for (const step of record) {
    if (step.phase === 'end') {
      live.splice(
        live.findIndex((s) => s.op === step.op && s.key === step.key),
        1,
      );
      continue;
    }
    const sameKey = live.filter((s) => s.key === step.key);
    if (sameKey.some((s) => s.op === 'put') || (step.op === 'put' && sameKey.length > 0)) conflicts++;
    live.push(step);
    inService = Math.max(inService, live.length);
    getsOfOneKey = Math.max(getsOfOneKey, live.filter((s) => s.op === 'get' && s.key === step.key).length);
    for (const put of live.filter((s) => s.op === 'put'))
      besideAPut = Math.max(besideAPut, live.filter((s) => s.key !== put.key).length);
  }
  return { inService, getsOfOneKey, besideAPut, conflicts };
}

export interface CacheRun {
  readonly overlap: Overlap;
  readonly record: readonly Step[];
  /** Each get's key, the value it returned, and the last value put to that key before it was sent. */
  readonly reads: readonly { key: string; got: string | undefined; expected: string | undefined }[];
  /** The value each key holds at the end, and the last value sent for it. */
  readonly values: Record<string, string>;
  readonly lastPut: Record<string, string>;
  readonly puts: number;
}

export async function main(print: (line: string) => void = console.log): Promise<CacheRun> {
  const delayMs = 5;
  const cache = newActive(Cache, [delayMs]);
  const keys = ['a', 'b', 'c', 'd'];
  const lastPut: Record<string, string> = {};
  const calls: PromiseLike<unknown>[] = [];
  const gets: { key: string; value: PromiseLike<string | undefined>; expected: string | undefined }[] = [];
  let puts = 0;
  // 48 requests sent at once, one in four a put, over four keys.
  for (let n = 0; n < 48; n++) {
    const key = keys[(n + Math.floor(n / 4)) % keys.length]!;
    if (n % 4 === 1) {
      lastPut[key] = `${key}${++puts}`;
      calls.push(cache.put(key, lastPut[key]));
    } else {
      const value = cache.get(key);
      gets.push({ key, value, expected: lastPut[key] });
      calls.push(value);
    }
  }
  const started = performance.now();
  await Promise.all(calls);
  const ms = performance.now() - started;
  const reads = await Promise.all(
    gets.map(async ({ key, value, expected }) => ({ key, got: await value, expected })),
  );
  const { values, record } = await cache.snapshot();
  const overlap = measure(record);
  await shutdown();

  // Requests of one key are never admitted out of arrival order (they are incompatible), so
  // each get returns the last value put to its key before it was sent.
  const fresh = reads.filter((r) => r.got === r.expected).length;
  print(
    `${calls.length} requests (${gets.length} gets, ${puts} puts) on keys ${keys.join(', ')}, ~${delayMs} ms each`,
  );
  print(`served in ${ms.toFixed(0)} ms (one at a time: at least ${calls.length * delayMs} ms)`);
  print(`most requests in service at once: ${overlap.inService}`);
  print(`most gets of one key at once: ${overlap.getsOfOneKey}`);
  print(`most requests of other keys beside a put: ${overlap.besideAPut}`);
  print(`requests of key k beside a put of k: ${overlap.conflicts}`);
  print(`gets that returned the last value put before them: ${fresh} of ${reads.length}`);
  print(`final values: ${keys.map((k) => `${k}=${values[k]}`).join(' ')}`);
  return { overlap, record, reads, values, lastPut, puts };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
