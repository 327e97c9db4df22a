/**
 * A link: this node's connection to one other node, over a transport (transport.ts: a Worker
 * seen from the main thread, the parent port seen from a worker, a MessagePort between two
 * workers, or the loopback to itself).
 *
 * Batching: `send` appends to the outgoing batch; the batch leaves in one `postMessage` at the
 * end of the current turn (a microtask), so a burst of calls costs one structured clone and
 * one wake-up of the receiver. Order is kept: one batch array, one FIFO port.
 *
 * Liveness: a link keeps the process alive only while something waits on it (`hold` /
 * `release`, counted): an idle runtime never keeps the process alive, and a pending call on
 * a worker does.
 */
import type { MessagePort } from 'node:worker_threads';
import { CALL, FTCALL, FTLOG, type NodeId, OTHER, VALUE, type Wire } from './protocol.js';
import type { Transport } from './transport.js';

/** What a link sends on: a Worker (seen from the main thread), a MessagePort, or a loopback. */
type Endpoint = Transport;

const RESOLVED = Promise.resolve();

/** What a value's entry says of where it comes from, for a message (a request's future). */
export interface ValueSource {
  readonly description: string;
}

/**
 * Told of a batch entry that structured clone refuses (`entry`: its tag and fields, see
 * protocol.ts; `source`: the value's, when its sender gave one). Returns the entry to send
 * in its place, or `undefined` to send nothing.
 */
export type Unsendable = (
  from: Link,
  entry: unknown[],
  error: unknown,
  source: ValueSource | undefined,
) => unknown[] | undefined;

/** Fields per entry, tag included, by tag (see protocol.ts). */
const ENTRY_SIZE: Record<number, number> = { [CALL]: 6, [VALUE]: 6, [OTHER]: 2, [FTCALL]: 7, [FTLOG]: 9 };

export class Link {
  readonly node: NodeId;
  private readonly endpoint: Endpoint;
  /** Flat entries: see `CALL`, `VALUE`, `OTHER` in protocol.ts. */
  private batch: unknown[] = [];
  private flushScheduled = false;
  private holds = 0;
  private closed = false;
  private readonly flushNow = (): void => this.flush();

  private readonly keepAlive: boolean;
  private readonly onUnsendable: Unsendable | undefined;
  /** Flat pairs (index of a VALUE entry in `batch`, its source), for `onUnsendable` only. */
  private sources: unknown[] = [];

  constructor(
    node: NodeId,
    endpoint: Endpoint,
    onBatch: (from: Link, batch: unknown[]) => void,
    options?: { keepAlive?: boolean; onUnsendable?: Unsendable },
  ) {
    this.node = node;
    this.endpoint = endpoint;
    this.keepAlive = options?.keepAlive === true;
    this.onUnsendable = options?.onUnsendable;
    endpoint.on('message', (batch: unknown[]) => onBatch(this, batch));
    if (!this.keepAlive) endpoint.unref();
  }

  /** A rare message, as an object. */
  send(message: Wire): void {
    if (this.closed) return;
    this.batch.push(OTHER, message);
    this.schedule();
  }

  /** The hot messages go as flat tuples: structured clone of objects costs twice as much. */
  /** A journal entry for the main thread (see `FTLOG`). */
  sendLog(
    id: number,
    dseq: number,
    from: NodeId,
    rid: number,
    method: string | number,
    args: unknown[] | null,
    enc: boolean,
    key: string | undefined,
  ): void {
    if (this.closed) return;
    this.batch.push(FTLOG, id, dseq, from, rid, method, args, enc, key);
    this.schedule();
  }

  /** A call with a deterministic key (see `FTCALL`). */
  sendKeyedCall(
    rid: number,
    id: number,
    method: string | number,
    args: unknown[] | null,
    enc: boolean,
    key: string,
  ): void {
    if (this.closed) return;
    this.batch.push(FTCALL, rid, id, method, args, enc, key);
    this.schedule();
  }

  sendCall(rid: number, id: number, method: string | number, args: unknown[] | null, enc: boolean): void {
    if (this.closed) return;
    this.batch.push(CALL, rid, id, method, args, enc);
    this.schedule();
  }

  /** `source`: given with a value that is not a primitive, for a message if it cannot be sent. */
  sendValue(
    origin: NodeId,
    rid: number,
    ok: boolean,
    value: unknown,
    enc: boolean,
    source?: ValueSource,
  ): void {
    if (this.closed) return;
    if (source !== undefined) this.sources.push(this.batch.length, source);
    this.batch.push(VALUE, origin, rid, ok, value, enc);
    this.schedule();
  }

  private schedule(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      RESOLVED.then(this.flushNow);
    }
  }

  /** Send a message carrying a transferable (a MessagePort) at once, outside the batch. */
  sendTransfer(message: Wire, transfer: MessagePort[]): void {
    this.flush();
    this.endpoint.postMessage([OTHER, message], transfer);
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0 || this.closed) return;
    const batch = this.batch;
    const sources = this.sources;
    this.batch = [];
    if (sources.length !== 0) this.sources = [];
    try {
      this.endpoint.postMessage(batch);
    } catch {
      // Nothing was sent (postMessage clones the whole message first).
      this.flushEach(batch, sources);
    }
  }

  /**
   * The slow path of a batch structured clone refused (a value the codec could not tell,
   * e.g. one changed after its call): each entry goes as its own batch, in order, and an
   * entry that still fails goes to `onUnsendable`, which fails that one call; the others
   * arrive as they would have. Time: O(entries) postMessages.
   */
  private flushEach(batch: unknown[], sources: unknown[]): void {
    let s = 0;
    for (let i = 0; i < batch.length; ) {
      const size = ENTRY_SIZE[batch[i] as number] ?? batch.length - i;
      const entry = batch.slice(i, i + size);
      let source: ValueSource | undefined;
      while (s < sources.length && (sources[s] as number) < i) s += 2;
      if (sources[s] === i) source = sources[s + 1] as ValueSource;
      i += size;
      try {
        this.endpoint.postMessage(entry);
      } catch (error) {
        const instead = this.onUnsendable?.(this, entry, error, source);
        if (instead === undefined) {
          if (this.onUnsendable === undefined) this.dropped(entry, error);
          continue;
        }
        try {
          this.endpoint.postMessage(instead);
        } catch (again) {
          this.dropped(instead, again);
        }
      }
    }
  }

  private dropped(entry: unknown[], error: unknown): void {
    process.emitWarning(
      `multiactive: a message (tag ${String(entry[0])}) to node ${this.node} cannot be copied and was dropped: ${String(error)}`,
      { code: 'MULTIACTIVE_WIRE' },
    );
  }

  /** Something now waits on this link: keep the process alive. */
  hold(): void {
    if (this.holds++ === 0 && !this.closed && !this.keepAlive) this.endpoint.ref();
  }

  release(): void {
    if (--this.holds === 0 && !this.closed && !this.keepAlive) this.endpoint.unref();
  }

  close(): void {
    this.closed = true;
    this.batch = [];
    this.endpoint.unref();
    this.endpoint.close?.();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
