/**
 * The transport: what carries a node's batches to one peer node. A `Link` (link.ts) batches
 * messages and keeps the process alive while calls wait; underneath, it needs only this. The
 * shape is the one structured-clone channels already have (comlink's `Endpoint` is the model),
 * so a worker thread's `Worker` and `MessagePort` are transports as they are; the loopback below
 * is the in-process one; a network transport (cluster mode) implements the same contract.
 *
 * Contract, for one transport between this node and its peer:
 *
 * 1. `postMessage(batch, transfer?)` sends one batch: an array of flat entries (protocol.ts).
 *    It copies the batch at once with structured clone's rules and throws synchronously, having
 *    sent nothing, if the batch cannot be copied (the link then sends its entries one by one
 *    and fails only the call whose value is refused). `transfer`: ports that move with it.
 * 2. Order: batches are delivered to the peer's `'message'` listener in the order they were
 *    sent, each exactly once, whole, in a later turn than the send (never re-entrantly). There
 *    is no order between different pairs of nodes: a node A's batches to B and to C, and C's to
 *    B, race (the runtime's protocols, e.g. the future forwarding of runtime.ts, allow for it).
 * 3. Loss: a transport does not retry. A batch is lost only with its peer, and a peer that is
 *    gone is gone for good (node ids are never reused): every call in flight to it fails with
 *    `NodeLostError`, or, for objects that recover (fault-tolerance.md), waits for the main
 *    thread's word of where the object lives now and is sent again.
 * 4. Death: the main thread decides that a node is gone (for worker threads, from the Worker's
 *    `exit` and `error` events, placement.ts) and tells every node why (`ft.lost`). A peer
 *    transport's own `close` between two workers says that everything the peer sent on it has
 *    arrived: its end then fails the calls in flight, with the main thread's reason (waiting
 *    for it at most a second). A network transport has no such event: it detects death by a
 *    timeout and reports it the same way (cluster mode).
 * 5. Liveness: `ref()` / `unref()` say whether the transport keeps the process alive (the link
 *    holds it while something waits on the peer); `close()` ends it, and nothing is delivered
 *    after (a Worker is ended with `terminate()` instead, by placement).
 */
import type { Transferable } from 'node:worker_threads';

export interface Transport {
  postMessage(batch: unknown, transfer?: readonly Transferable[]): void;
  on(event: 'message', listener: (batch: unknown[]) => void): unknown;
  ref(): void;
  unref(): void;
  close?(): void;
}

/**
 * The transport of a node's link to itself: a reference to an object of this node that is not
 * known here as a local object yet (it is still being created, or the reference came back
 * from another node) is called through it, like an object of another node. Batches are
 * copied (structured clone, as between nodes) and delivered in a later turn, in order: the
 * contract above, within one thread (tests use it as the in-process transport).
 */
export class LoopbackPort implements Transport {
  private listener: ((batch: unknown[]) => void) | undefined;
  on(_event: 'message', listener: (batch: unknown[]) => void): this {
    this.listener = listener;
    return this;
  }
  postMessage(batch: unknown): void {
    const copy = structuredClone(batch) as unknown[];
    setImmediate(() => this.listener?.(copy));
  }
  ref(): void {}
  unref(): void {}
  close(): void {
    this.listener = undefined;
  }
}
