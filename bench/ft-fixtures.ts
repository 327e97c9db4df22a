/**
 * The classes the fault-tolerance benchmarks (ft-bench.ts) create, in-thread and on worker
 * nodes. They live in their own module, exported and decorated, because a worker node
 * locates a class by (module URL, export name): the decorators capture this compiled
 * module's URL (dist/bench/ft-fixtures.js) when it loads. No test imports here.
 *
 * The file store's directory is read from `$MULTIACTIVE_FT_BENCH_DIR` when the first
 * checkpoint is written or read, not when the class is defined: the bench makes a temporary
 * directory and sets the variable before it creates any object or worker (a worker copies
 * the environment when it starts).
 */
import {
  Checkpoint,
  type CheckpointStore,
  FileStore,
  Group,
  MemberOf,
  MemoryStore,
  type StoredCheckpoint,
  selfRef,
} from '../src/index.js';
import { ACTIVE_OBJECT } from '../src/symbols.js';

/** The variable naming the file store's directory (set by ft-bench.ts). */
export const FT_DIR_VARIABLE = 'MULTIACTIVE_FT_BENCH_DIR';

/** Requests between two checkpoints in the throughput cases (issue 5). */
export const EVERY_REQUESTS = 1000;

/**
 * Numbers in a `Ledger`'s state: a packed array of doubles, which `v8.serialize` writes as
 * 9 bytes each (a tag and 8 bytes), so ~100 KB of checkpoint (measured: see the report).
 */
export const LEDGER_NUMBERS = 11_200;

/**
 * A `FileStore` in `$MULTIACTIVE_FT_BENCH_DIR`, made when first used. Every call is passed
 * straight on (no extra promise).
 */
class BenchFileStore implements CheckpointStore {
  private inner: FileStore | undefined;

  private store(): FileStore {
    if (this.inner === undefined) {
      const dir = process.env[FT_DIR_VARIABLE];
      if (dir === undefined || dir === '') {
        throw new Error(`ft-fixtures: set $${FT_DIR_VARIABLE} to a directory before the first checkpoint`);
      }
      this.inner = new FileStore(dir);
    }
    return this.inner;
  }

  put(key: string, seq: number, data: Uint8Array): Promise<void> {
    return this.store().put(key, seq, data);
  }

  latest(key: string): Promise<StoredCheckpoint | undefined> {
    return this.store().latest(key);
  }

  list(key: string): Promise<number[]> {
    return this.store().list(key);
  }
}

/** One per thread (this module is loaded once per thread). */
const fileStore = new BenchFileStore();
const memoryStore = new MemoryStore();

/** Checkpoints captured so far by the object behind `self` (0 without `@Checkpoint`). */
function capturedOf(self: object): number {
  const obj = (selfRef(self) as unknown as Record<symbol, { checkpoints?: { seq: number } }>)[ACTIVE_OBJECT];
  return obj?.checkpoints?.seq ?? 0;
}

/**
 * The throughput subject: ~100 KB of state (`values`), one mutating request (`add`). One
 * group, not self-compatible (a writer): requests run one at a time, which is what a
 * mutating request asks for; no limits are declared, so no AsyncLocalStorage.
 */
@Group('state')
export class Ledger {
  values: number[];
  applied = 0;

  constructor(numbers: number) {
    this.values = new Array<number>(numbers);
    for (let i = 0; i < numbers; i++) this.values[i] = i + 0.5;
  }

  /** Adds `x` to one slot; returns how many adds were applied. */
  @MemberOf('state') add(i: number, x: number): number {
    const values = this.values;
    const k = i % values.length;
    values[k] = values[k]! + x;
    return ++this.applied;
  }

  /** Checkpoints captured so far (the bench waits until that many are durable). */
  @MemberOf('state') captured(): number {
    return capturedOf(this);
  }
}

/** (b) A checkpoint every 1000 requests, in a `FileStore` (write, fsync, rename). */
@Checkpoint({ everyRequests: EVERY_REQUESTS, store: fileStore })
export class FileLedger extends Ledger {}

/** (c) A checkpoint every 1000 requests, in a `MemoryStore` (capture and copy only). */
@Checkpoint({ everyRequests: EVERY_REQUESTS, store: memoryStore })
export class MemoryLedger extends Ledger {}

/**
 * `@Checkpoint` that never fires during a round (every 10^9 requests): on a worker node its
 * deliveries are journaled to the main thread all the same. It separates the journal's cost
 * from the checkpoints' (the bench replaces the object every round, so the journal, never
 * trimmed, stays one round long).
 */
@Checkpoint({ everyRequests: 1_000_000_000, store: memoryStore })
export class JournaledLedger extends Ledger {}

/** Numbers in a `BigLedger` after `build`: ~10 MB of checkpoint. */
export const BIG_NUMBERS = 1_120_000;

/**
 * Requests before the recovery subject's only checkpoint: `build` and 19,999 adds. The 10,000
 * adds after it stay in the journal (a second checkpoint would come at 40,000).
 */
export const BIG_EVERY = 20_000;

/** The recovery subject: ~10 MB of state, built by one request, checkpointed once. */
@Checkpoint({ everyRequests: BIG_EVERY, store: fileStore })
@Group('state')
export class BigLedger {
  values: number[] = [];
  applied = 0;

  @MemberOf('state') build(numbers: number): number {
    const values = new Array<number>(numbers);
    for (let i = 0; i < numbers; i++) values[i] = i + 0.5;
    this.values = values;
    return ++this.applied;
  }

  @MemberOf('state') add(i: number, x: number): number {
    const values = this.values;
    const k = i % values.length;
    values[k] = values[k]! + x;
    return ++this.applied;
  }

  /** Requests applied and the sum of the state (exact: halves and small integers). */
  @MemberOf('state') read(): { applied: number; sum: number } {
    let sum = 0;
    const values = this.values;
    for (let i = 0; i < values.length; i++) sum += values[i]!;
    return { applied: this.applied, sum };
  }
}
