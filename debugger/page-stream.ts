/**
 * One page's Server-Sent Events stream, with a queue of its own in front of the socket, so that
 * the server knows, and bounds, what a page that reads slowly (or not at all) holds.
 *
 * A message goes to the socket at once while the socket keeps up (`writableNeedDrain` false);
 * otherwise it waits in the queue, shared with the other pages (the same string), and the
 * stream notes since when it has been behind (`stalledSince`). The socket's `drain` moves the
 * queue on. A long sequence (the ring sent to a page that connects) is queued as an iterator
 * and turned into messages only as the page takes them: it costs no memory while it waits.
 *
 * `held` is what this page keeps in the process now: the queue's bytes plus what the socket has
 * not yet handed to the kernel (`writableLength`). `drop` forgets the queue, ends the stream
 * with the reason (an SSE comment and a `dropped` event, after what the socket already holds),
 * and destroys it if the page has not taken that within `graceMs`.
 */
import type { ServerResponse } from 'node:http';

/** An SSE message ready to write, with its size in bytes. */
export interface SseMessage {
  readonly text: string;
  readonly bytes: number;
}

export function sseMessage(name: string, json: string): SseMessage {
  const text = `event: ${name}\ndata: ${json}\n\n`;
  return { text, bytes: Buffer.byteLength(text) };
}

type Item = SseMessage | Iterator<string>;

export class PageStream {
  private queue: Item[] = [];
  private head = 0;
  private queuedBytes = 0;
  private ending = false;
  /** Since when (performance.now()) output has been waiting for this page; `undefined`: it keeps up. */
  stalledSince: number | undefined;

  constructor(private readonly res: ServerResponse) {
    res.on('drain', () => this.pump());
  }

  get response(): ServerResponse {
    return this.res;
  }

  /** Cuts the stream now (what it held is freed). */
  destroy(): void {
    this.ending = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.res.destroy();
  }

  /** Bytes this page holds in the process: queued, and written but not yet taken by the socket. */
  get held(): number {
    return this.queuedBytes + (this.res.destroyed ? 0 : this.res.writableLength);
  }

  send(message: SseMessage): void {
    if (this.ending) return;
    if (this.head === this.queue.length && !this.res.writableNeedDrain) {
      this.res.write(message.text);
      return;
    }
    this.queue.push(message);
    this.queuedBytes += message.bytes;
    this.stalledSince ??= performance.now();
  }

  /** Sends the messages `messages` yields (SSE text), each made only when the page takes it. */
  sendLazily(messages: Iterator<string>): void {
    if (this.ending) return;
    this.queue.push(messages);
    this.pump();
  }

  /** Ends the stream after what is queued (the server closes). */
  end(): void {
    if (this.ending) return;
    this.ending = true;
    this.res.end();
  }

  /** Ends the stream now, telling the page why; destroys it if not taken within `graceMs`. */
  drop(reason: string, graceMs: number): void {
    if (this.ending) return;
    this.ending = true;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    const line = reason.replace(/[\r\n]+/g, ' ');
    this.res.end(`: dropped: ${line}\nevent: dropped\ndata: ${JSON.stringify({ reason: line })}\n\n`);
    const timer = setTimeout(() => this.res.destroy(), graceMs);
    timer.unref();
    this.res.once('close', () => clearTimeout(timer));
  }

  private pump(): void {
    while (this.head < this.queue.length && !this.res.writableNeedDrain && !this.ending) {
      const item = this.queue[this.head]!;
      if ('text' in item) {
        this.head++;
        this.queuedBytes -= item.bytes;
        this.res.write(item.text);
      } else {
        const next = item.next();
        if (next.done) this.head++;
        else this.res.write(next.value);
      }
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      this.stalledSince = undefined;
    } else {
      this.stalledSince ??= performance.now();
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
    }
  }
}
