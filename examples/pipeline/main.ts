/**
 * A pipeline of active objects: `npm run example:pipeline` (or `npx tsx examples/pipeline/main.ts`).
 *
 * Three stages, each an active object: a Source that "downloads" documents (a timer stands for
 * the network), a Digester that hashes each document on a piscina pool (CPU work, in
 * examples/pipeline/digest.mjs), and a Sink that collects the results. The Digester has a soft
 * limit of ONE request active at a time, yet it keeps many documents in flight: inside
 * `digest(id)` it awaits the Source's future and then `waitFor(pool.run(...))`, and a request
 * awaiting a future waits by necessity and gives its slot back (docs/guide.md section 5,
 * docs/cpu-helpers.md). Its last step returns the Sink's future rather than awaiting it, so
 * it holds no slot for that either.
 *
 * Prints the throughput, how many digest requests were in service at once against how many
 * were ever active at once (read from the event stream), and checks every result against a
 * digest computed here.
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import {
  type Active,
  Group,
  MemberOf,
  type MultiactiveEvent,
  newActive,
  onEvent,
  shutdown,
  ThreadConfig,
  waitFor,
} from 'multiactive';
import { Piscina } from 'piscina';

const TASK = new URL('./digest.mjs', import.meta.url).href;
const ROUNDS = 2000;

/** What digest.mjs computes, written again here to check the pool's results. */
function digestOf({ text, rounds }: { text: string; rounds: number }): string {
  let value = text;
  for (let i = 0; i < rounds; i++) value = createHash('sha256').update(value).digest('hex');
  return value;
}

/** Stage 1: fetches documents. Downloads overlap (no limit); each takes ~3 ms. */
@Group('fetch', { selfCompatible: true })
export class Source {
  @MemberOf('fetch') async fetch(id: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 3));
    return `document ${id}: ${'lorem ipsum '.repeat(1 + (id % 5))}`;
  }
}

/** Stage 2: hashes documents on a pool. One request active at a time (a soft limit). */
@Group('digest', { selfCompatible: true })
@Group('admin', { selfCompatible: true })
@ThreadConfig({ threadPoolSize: 1 })
export class Digester {
  private readonly pool: Piscina<{ text: string; rounds: number }, string>;
  private readonly source: Active<Source>;
  private readonly sink: Active<Sink>;
  private digested = 0;

  constructor(source: Active<Source>, sink: Active<Sink>, threads: number) {
    this.source = source;
    this.sink = sink;
    this.pool = new Piscina({ filename: TASK, minThreads: threads, maxThreads: threads });
  }

  @MemberOf('digest') async digest(id: number): Promise<number> {
    const text = await this.source.fetch(id); // a future: the slot is free while it downloads
    const hex = await waitFor(this.pool.run({ text, rounds: ROUNDS })); // free while the pool hashes
    this.digested++; // back with the slot: the object's state is safe to touch
    return this.sink.add(id, hex); // returned, not awaited: the request ends now
  }

  @MemberOf('admin') async close(): Promise<number> {
    await this.pool.destroy();
    return this.digested;
  }
}

/** Stage 3: collects results. A classic active object: one request at a time, in order. */
export class Sink {
  private readonly results: Record<number, string> = {};
  private count = 0;
  add(id: number, hex: string): number {
    this.results[id] = hex;
    return ++this.count;
  }
  collected(): Record<number, string> {
    return this.results;
  }
}

export interface PipelineRun {
  readonly documents: number;
  readonly results: Record<number, string>;
  /** The digests computed on this thread, for comparison. */
  readonly expected: Record<number, string>;
  /** Most digest requests in service at once, and most active (in service, not waiting by necessity). */
  readonly maxInService: number;
  readonly maxActive: number;
  readonly digested: number;
  readonly ms: number;
}

export async function main(
  print: (line: string) => void = console.log,
  documents = 32,
): Promise<PipelineRun> {
  // Follow the digest requests: in service from started to finished, active unless waiting.
  let inService = 0;
  let active = 0;
  let maxInService = 0;
  let maxActive = 0;
  const stop = onEvent((e: MultiactiveEvent) => {
    if (!('request' in e) || e.request.method !== 'digest') return;
    if (e.type === 'request.started') {
      inService++;
      active++;
    } else if (e.type === 'request.waiting') active--;
    else if (e.type === 'request.resumed') active++;
    else if (e.type === 'request.finished') {
      inService--;
      active--;
    }
    maxInService = Math.max(maxInService, inService);
    maxActive = Math.max(maxActive, active);
  });

  const sink = newActive(Sink);
  const digester = newActive(Digester, [newActive(Source), sink, 2]);
  const started = performance.now();
  const counts = await Promise.all(Array.from({ length: documents }, (_, id) => digester.digest(id)));
  const ms = performance.now() - started;
  const results = await sink.collected();
  const digested = await digester.close();
  stop();
  await shutdown();

  const expected: Record<number, string> = {};
  for (let id = 0; id < documents; id++) {
    expected[id] = digestOf({
      text: `document ${id}: ${'lorem ipsum '.repeat(1 + (id % 5))}`,
      rounds: ROUNDS,
    });
  }
  const correct = Object.keys(expected).filter((id) => results[Number(id)] === expected[Number(id)]).length;
  print(`${documents} documents through source -> digester -> sink in ${ms.toFixed(0)} ms`);
  print(
    `throughput: ${((documents / ms) * 1000).toFixed(0)} documents/s (SHA-256 x ${ROUNDS} each, a pool of 2)`,
  );
  print(
    `digest requests in service at once: up to ${maxInService}; active at once: up to ${maxActive} (soft limit 1)`,
  );
  print(
    `results: ${Object.keys(results).length} collected, ${correct} correct, last count ${Math.max(...counts)}`,
  );
  return { documents, results, expected, maxInService, maxActive, digested, ms };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
