/**
 * One object's checkpointing (docs/fault-tolerance.md): when to take the next checkpoint, the writes in
 * flight, and who waits for them. The checkpoint itself is a request of the object (see
 * `Scheduler.submitCheckpoint` and `ActiveObject.runSpecial`); this is its bookkeeping.
 *
 * Protocol, per checkpoint:
 *   1. Due (every N requests served, every T ms if any request was served, or on demand):
 *      a checkpoint request is submitted, unless one is pending (then it is joined).
 *   2. It starts when no request is in service; the state is captured and serialized then,
 *      synchronously, so it holds exactly the requests that finished before it.
 *   3. The request finishes at once: the object serves again while the bytes are written.
 *   4. Writes happen one at a time, in sequence order; when checkpoint k is durable, whoever
 *      waited for it is told and `checkpoint.taken` is emitted. A failed write rejects them
 *      and emits `checkpoint.failed`; the next checkpoint tries again. Captures made while a
 *      write is under way are coalesced: only the newest waits, and it answers the waiters of
 *      those it replaced (so `checkpoint.taken` may skip sequence numbers under load).
 *   5. Numbering: a write's sequence number is given when the write starts, one above the
 *      last. Before the first write of an object that was not restored, the store is asked
 *      for the numbers already under its key, and numbering goes on above the highest: an
 *      object that reuses a key (a later run, an explicit `checkpointKey`) always writes
 *      checkpoints newer than the old ones, so a restore never picks an old one over them.
 *   6. Every store call is bounded (`storeTimeoutMs`): one that throws, returns something
 *      other than a promise, rejects, or has not settled by then fails that checkpoint (or
 *      that restore) with a `CheckpointError`; the object goes on. A write that timed out may
 *      still land later; it is older than any write started after it.
 *   7. End: when the object ends, no checkpoint is taken any more; if its key is one the
 *      runtime chose (nobody can restore it), its checkpoints are removed from the store
 *      (`remove`, if the store has it) once the writes under way are done.
 */
import { CheckpointError, describe } from '../errors.js';
import type { CheckpointStore, StoredCheckpoint } from './store.js';

/**
 * How long the runtime waits for one call of a checkpoint store before failing it
 * (`@Checkpoint({ storeTimeoutMs })`). A `FileStore` write of a few megabytes takes
 * milliseconds (its fsync about 2 ms here); 30 s leaves room for large states on slow or
 * network disks while keeping a store that hangs (a dead NFS server, a custom store that
 * never answers) from holding checkpoints and restores forever.
 */
export const DEFAULT_STORE_TIMEOUT_MS = 30_000;

export interface CheckpointInfo {
  /** The object's checkpoint key. */
  readonly key: string;
  /** Its sequence number (above every checkpoint already stored under the key). */
  readonly seq: number;
  /** Size of the serialized state. */
  readonly bytes: number;
}

/**
 * Which deliveries a checkpoint holds (for recovery): every journaled delivery up to `dseq`,
 * except `pending` (delivered, not started when the state was captured: they are replayed).
 */
export interface CheckpointMeta {
  readonly dseq: number;
  readonly pending: number[];
  /**
   * Results of keyed calls (made by recoverable callers) that the state holds: a caller that
   * replays such a call gets this result, not a second run. `[key, ok, value]`.
   */
  keyed?: [string, boolean, unknown][];
}

interface Deferred {
  readonly promise: Promise<CheckpointInfo>;
  resolve(info: CheckpointInfo): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: (info: CheckpointInfo) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<CheckpointInfo>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting (periodic checkpoints): failures are reported as events instead.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

type Done = (info: CheckpointInfo, error: unknown) => void;

export interface CheckpointsOptions {
  readonly everyRequests: number | undefined;
  readonly everyMs: number | undefined;
  /** @default DEFAULT_STORE_TIMEOUT_MS */
  readonly storeTimeoutMs?: number | undefined;
  /** The runtime chose the key: remove the object's checkpoints when it ends (step 7). */
  readonly removeAtEnd?: boolean;
  /** Told when removing them failed (they stay in the store). */
  readonly removeFailed?: (error: unknown) => void;
}

/** Ends under way: the writes in progress of ended objects, then their checkpoints' removal. */
const pendingEnds = new Set<Promise<void>>();

/**
 * Settles when the objects ended so far have finished their checkpoint writes and removed the
 * checkpoints of keys the runtime chose (bounded: every store call is, by `storeTimeoutMs`).
 * A worker node's shutdown waits for it before its thread is ended.
 */
export function endsSettled(): Promise<void> {
  return pendingEnds.size === 0
    ? Promise.resolve()
    : Promise.allSettled([...pendingEnds]).then(() => undefined);
}

export class Checkpoints {
  readonly key: string;
  readonly store: CheckpointStore;
  readonly everyRequests: number;
  readonly everyMs: number | undefined;
  readonly storeTimeoutMs: number;
  private readonly removeAtEnd: boolean;
  private readonly removeFailed: ((error: unknown) => void) | undefined;
  /** The sequence number of the last write started (or of the checkpoint restored). */
  seq = 0;
  /** `seq` is above every checkpoint of the key in the store (step 5). */
  private numbered = false;
  /** Requests finished since the last capture. */
  served = 0;
  /** Waiters of the checkpoint pending (submitted, not captured yet). */
  next: Deferred | undefined;
  /** A write is under way; `queued` is the newest capture waiting for it (older ones are dropped). */
  private writing = false;
  private queued:
    | { readonly data: Uint8Array; readonly waiters: Deferred[]; readonly done: Done }
    | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The object ended (step 7). */
  private ended = false;

  constructor(key: string, store: CheckpointStore, options: CheckpointsOptions) {
    this.key = key;
    this.store = store;
    this.everyRequests = options.everyRequests ?? Number.POSITIVE_INFINITY;
    this.everyMs = options.everyMs;
    this.storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.removeAtEnd = options.removeAtEnd === true;
    this.removeFailed = options.removeFailed;
  }

  /** Submits a checkpoint (set by the object). */
  private due: (() => void) | undefined;

  /** A periodic checkpoint is due: `everyRequests` served, and no write under way. */
  get dueByCount(): boolean {
    return this.served >= this.everyRequests && !this.writing;
  }

  /**
   * Start the timer (`due` submits a checkpoint). Unref'd: it never keeps a process alive.
   * `due` is also called when a write ends and enough requests were served meanwhile: periodic
   * checkpoints follow the store's pace, so a slow store means fewer captures, not a queue.
   */
  startTimer(due: () => void): void {
    this.due = due;
    if (this.everyMs === undefined) return;
    // setInterval takes at most 2^31-1 ms (about 24.8 days); longer periods are capped there.
    this.timer = setInterval(
      () => {
        if (this.served > 0) due();
      },
      Math.min(this.everyMs, 2 ** 31 - 1),
    );
    this.timer.unref();
  }

  stopTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A promise for the pending checkpoint's durability (creating its waiters). */
  waitNext(): Promise<CheckpointInfo> {
    return (this.next ??= deferred()).promise;
  }

  /**
   * Steps 2-5 after a capture: write `data` as the next checkpoint, after the writes before
   * it. `done` is told the outcome (for events).
   */
  write(data: Uint8Array, done: Done): void {
    this.served = 0;
    const waiters = this.next === undefined ? [] : [this.next];
    this.next = undefined;
    if (this.writing) {
      // A write is under way: this capture waits, and replaces any capture that waited
      // before it (whose waiters now wait for this newer one). Memory and fsyncs stay bounded
      // by the store's speed, not by the request rate.
      this.queued = { data, waiters: [...(this.queued?.waiters ?? []), ...waiters], done };
      return;
    }
    void this.startWrite(data, waiters, done);
  }

  private async startWrite(data: Uint8Array, waiters: Deferred[], done: Done): Promise<void> {
    this.writing = true;
    let info: CheckpointInfo = { key: this.key, seq: this.seq + 1, bytes: data.byteLength };
    let failure: unknown;
    try {
      if (!this.numbered) {
        // Step 5: above whatever the key holds already.
        const stored = await this.call(`Checkpoint ${info.seq} of ${this.key} was not written`, 'list', () =>
          this.store.list(this.key),
        );
        this.seq = Math.max(this.seq, highest(this.key, stored));
        this.numbered = true;
        info = { ...info, seq: this.seq + 1 };
      }
      this.seq = info.seq;
      await this.call(`Checkpoint ${info.seq} of ${this.key} was not written`, 'put', () =>
        this.store.put(this.key, info.seq, data),
      );
    } catch (error) {
      failure = error;
    }
    try {
      for (const w of waiters) {
        if (failure === undefined) w.resolve(info);
        else w.reject(failure);
      }
      done(info, failure);
    } finally {
      this.writeNext();
    }
  }

  private writeNext(): void {
    this.writing = false;
    const queued = this.queued;
    this.queued = undefined;
    if (queued !== undefined) void this.startWrite(queued.data, queued.waiters, queued.done);
    else if (this.ended) this.removeAll();
    else if (this.served >= this.everyRequests) this.due?.();
  }

  /** A capture failed: the waiters of this checkpoint learn why. */
  failed(error: unknown): void {
    const waiters = this.next;
    this.next = undefined;
    waiters?.reject(error);
  }

  /** The newest checkpoint of the key (a restore), bounded like every store call (step 6). */
  async latest(): Promise<StoredCheckpoint | undefined> {
    const stored = await this.call(`${this.key} could not be restored`, 'latest', () =>
      this.store.latest(this.key),
    );
    if (stored === undefined) return undefined;
    const { seq, data } = (stored ?? {}) as Partial<StoredCheckpoint>;
    if (!Number.isSafeInteger(seq) || !(data instanceof Uint8Array)) {
      throw new CheckpointError(
        this.key,
        `${this.key} could not be restored: the store's \`latest\` gave ${describe(stored)}, not undefined or ` +
          '{ key, seq, data } with an integer `seq` and a Uint8Array `data`',
      );
    }
    return stored as StoredCheckpoint;
  }

  /** The object was restored from checkpoint `seq` (the newest): numbering goes on from there. */
  restoredFrom(seq: number): void {
    this.seq = seq;
    this.numbered = true;
  }

  /** Step 7: the object ended. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopTimer();
    if (this.removeAtEnd && typeof this.store.remove === 'function') {
      // A worker's shutdown waits for it (`endsSettled`): its thread ends right after.
      const ending = new Promise<void>((resolve) => {
        this.endingDone = resolve;
      });
      pendingEnds.add(ending);
      void ending.then(() => pendingEnds.delete(ending));
    }
    if (!this.writing) this.removeAll();
  }

  /** Resolves the end's promise (the writes under way done, the checkpoints removed). */
  private endingDone: (() => void) | undefined;

  private removeAll(): void {
    const store = this.store;
    const done = (): void => this.endingDone?.();
    if (!this.removeAtEnd || typeof store.remove !== 'function') {
      done();
      return;
    }
    this.call(`The checkpoints of ${this.key} were not removed`, 'remove', () => store.remove!(this.key))
      .catch((error: unknown) => this.removeFailed?.(error))
      .finally(done);
  }

  /**
   * One store call, made safe (step 6): it always settles, within `storeTimeoutMs`, and fails
   * only with a `CheckpointError` whose message starts with `failure`.
   */
  private call(failure: string, method: string, invoke: () => unknown): Promise<unknown> {
    const key = this.key;
    const fail = (why: string, cause?: unknown): CheckpointError =>
      new CheckpointError(key, `${failure}: ${why}`, cause === undefined ? undefined : { cause });
    let result: unknown;
    try {
      result = invoke();
    } catch (error) {
      return Promise.reject(fail(`the store's \`${method}\` threw: ${String(error)}`, error));
    }
    if (
      result === null ||
      (typeof result !== 'object' && typeof result !== 'function') ||
      typeof (result as { then?: unknown }).then !== 'function'
    ) {
      return Promise.reject(
        fail(
          `the store's \`${method}\` returned ${describe(result)}, not a promise (a checkpoint store ` +
            'returns a promise from every method: declare them async)',
        ),
      );
    }
    const ms = this.storeTimeoutMs;
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(ms)
        ? setTimeout(
            () =>
              reject(
                fail(
                  `the store's \`${method}\` did not settle within ${ms} ms (\`storeTimeoutMs\` of @Checkpoint); ` +
                    'the object goes on (check the store, or give it more time)',
                ),
              ),
            ms,
          )
        : undefined;
      Promise.resolve(result).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof CheckpointError ? error : fail(String(error), error));
        },
      );
    });
  }
}

/** The highest number `list` gave (0 for none), or a CheckpointError if it is not a list of numbers. */
function highest(key: string, stored: unknown): number {
  if (!Array.isArray(stored) || !stored.every((n) => Number.isSafeInteger(n) && (n as number) >= 0)) {
    throw new CheckpointError(
      key,
      `Checkpoints of ${key} could not be numbered: the store's \`list\` gave ${describe(stored)}, not an array of ` +
        'sequence numbers',
    );
  }
  let max = 0;
  for (const n of stored as number[]) if (n > max) max = n;
  return max;
}
