/**
 * A link: this node's connection to one other node (a Worker seen from the main thread, the
 * parent port seen from a worker, or a MessagePort between two workers).
 *
 * Batching: `send` appends to the outgoing batch; the batch leaves in one `postMessage` at the
 * end of the current turn (a microtask), so a burst of calls costs one structured clone and
 * one wake-up of the receiver. Order is kept: one batch array, one FIFO port.
 *
 * Liveness: a link keeps the process alive only while something waits on it (`hold` /
 * `release`, counted): an idle runtime never keeps the process alive, and a pending call on
 * a worker does.
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import { CALL, FTCALL, FTLOG, type NodeId, OTHER, VALUE, type Wire } from './protocol.js';

/** What a link sends on: a Worker (seen from the main thread), a MessagePort, or a loopback. */
type Endpoint = Worker | MessagePort | LoopbackPort;

const RESOLVED = Promise.resolve();

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

  constructor(
    node: NodeId,
    endpoint: Endpoint,
    onBatch: (from: Link, batch: unknown[]) => void,
    options?: { keepAlive?: boolean },
  ) {
    this.node = node;
    this.endpoint = endpoint;
    this.keepAlive = options?.keepAlive === true;
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

  sendValue(origin: NodeId, rid: number, ok: boolean, value: unknown, enc: boolean): void {
    if (this.closed) return;
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
    this.batch = [];
    this.endpoint.postMessage(batch);
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
    if ('close' in this.endpoint) this.endpoint.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/**
 * The port of a node's link to itself: a reference to an object of this node that is not
 * known here as a local object yet (it is still being created, or the reference came back
 * from another node) is called through it, like an object of another node. Batches are
 * copied (structured clone, as between nodes) and delivered in a later turn, in order.
 */
export class LoopbackPort {
  private listener: ((batch: unknown) => void) | undefined;
  on(_event: 'message', listener: (batch: unknown) => void): this {
    this.listener = listener;
    return this;
  }
  postMessage(batch: unknown): void {
    const copy = structuredClone(batch);
    setImmediate(() => this.listener?.(copy));
  }
  ref(): void {}
  unref(): void {}
  close(): void {
    this.listener = undefined;
  }
}
