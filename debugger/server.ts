/**
 * The debugger's HTTP server: serves the page (debugger/page/), pushes the event stream and
 * the wait-for graph to it over Server-Sent Events, and answers a few JSON requests. It sees
 * the application only through the package's public entry.
 *
 * Data flow:
 * 0. The subscription takes a sample of requests' events (`requests: 'sampled'`, see
 *    subscription.ts) and every request's only while needed: a page shows the timeline
 *    (`POST /api/view`), or a trace is recorded (`trace`, or `recordTrace` anywhere in the
 *    process). A switch puts a `debugger.mode` marker in the stream.
 * 1. Every event goes as it is (copied only if it carries a thrown value, see json-safe.ts)
 *    into a ring bounded by count (a page opened late sees the recent past) and, while a page
 *    is connected, into a batch pushed every `BATCH_MS`, also bounded by count: past
 *    `batchLimit` the oldest are dropped, and the push says how many (the page shows it). A
 *    page that does not show the timeline gets the lean stream (no steps of requests); when it
 *    comes back to the timeline, it first gets the steps it missed from the ring, and the
 *    time the ring no longer holds (`missing`), which the page marks.
 * 2. While at least one page is connected, `waitGraph()` is polled every `POLL_MS`, one poll at
 *    a time (the next is scheduled when the previous answered), and pushed.
 * 3. A page that connects gets `hello` (the server clock, its client id, the request mode), the
 *    ring in chunks, the deadlocks found so far and the last wait graph; then the live
 *    batches (the pending batch is pushed to the other pages first, so no event comes twice).
 *    On reconnection it gets all of it again and starts over (the page resets on `hello`).
 * 4. Each page's stream has a queue in front of its socket (page-stream.ts): after every push,
 *    a page that holds more than 16 MiB, then, while all pages hold more than
 *    `maxBufferedBytes`, the page behind for the longest, is dropped with the reason.
 *
 * Endpoints: `GET /` (the page) and its static files, `GET /api/events` (SSE), `POST
 * /api/view?client=&view=` (what a page shows), `GET /api/snapshot` (the same as one JSON),
 * `POST /api/deadlocks` (`findDeadlocks()` now), `GET /trace.jsonl` (the ring as a trace
 * file), `GET /trace.json` (the ring in Chrome trace format).
 *
 * Security (docs/debugger.md): loopback by default; any other address needs a token, which
 * every request must carry (`?token=`, `Authorization: Bearer`, or the HttpOnly SameSite cookie
 * the page gets when opened with `?token=`). Without a token, the `Host` header must name a
 * loopback address (a DNS-rebinding page cannot read the stream) and a POST must come from
 * the page's own origin. Every response carries a strict Content-Security-Policy: the page
 * runs only its own script files, and it builds the DOM with text nodes only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Deadlock,
  findDeadlocks,
  type MultiactiveEvent,
  type WaitGraph,
  waitGraph,
} from '../src/index.js';
import { toChromeTrace } from './chrome-trace.js';
import { Ring } from './event-ring.js';
import { jsonSafe, toJson } from './json-safe.js';
import { type DebuggerOptions, isLoopback, resolveOptions } from './options.js';
import { PageStream, type SseMessage, sseMessage } from './page-stream.js';
import { ModalSubscription, type ModeMarker, type RequestMode, type StreamEvent } from './subscription.js';
import { onRecordingChange, recordingInProgress, TRACE_FORMAT, TraceWriter } from './trace.js';

/** A running debugger. */
export interface DebuggerHandle {
  /** Where to point a browser (with `?token=` when a token is set). */
  readonly url: string;
  /** Stops listening, ends the pages' streams, finishes the trace file. Idempotent. */
  close(): Promise<void>;
  /** The pages' streams now (see `maxBufferedBytes`). */
  stats(): DebuggerStats;
}

export interface DebuggerStats {
  /** Pages connected to the live stream. */
  readonly pages: number;
  /**
   * Bytes written for the pages and not yet taken by them (queued in the server, or not yet
   * handed to the kernel), over all pages, those being dropped included.
   */
  readonly bufferedBytes: number;
  /** Pages dropped so far for holding too much (see `maxBufferedBytes`). */
  readonly droppedPages: number;
}

export interface AttachOptions extends DebuggerOptions {
  /**
   * `false`: the server does not keep the process alive (used when attached from the
   * environment, so a program that would have exited still does). @default true
   */
  keepAlive?: boolean;
}

// Pushing every ~100 ms keeps a page live to the eye while one busy second costs ten messages.
const BATCH_MS = 100;
// The wait graph asks every node; twice a second is live enough for a queue that is stuck.
const POLL_MS = 500;
// One page that holds more than this (or than `maxBufferedBytes`) is dropped (it reconnects and
// starts over) rather than growing the server's memory without bound.
const MAX_PAGE_BYTES = 16 << 20;
// A dropped page has this long to take the rest of its stream and the reason; then it is cut.
const DROP_GRACE_MS = 30_000;
// The ring goes to a new page in chunks so that no single SSE message is huge.
const CHUNK = 5_000;
const DEADLOCKS_KEPT = 100;
// Sends per push in the lean stream, at most (see `lean`): 5000 a second draw the Objects view's
// rates as well as more would, and bound the JSON the server writes per push.
const LEAN_SENDS = 500;

const pageDir = fileURLToPath(new URL('./page/', import.meta.url));
const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** A connected page: `view` is what it shows (`undefined` until it said). */
interface Client {
  readonly id: string;
  readonly stream: PageStream;
  view: string | undefined;
  /**
   * While it is not on the timeline (it gets the lean stream): from which event of the ring on
   * (`ring.total` then), and since when, so that the steps of requests it missed are sent when
   * it comes back (see `setView`).
   */
  leanFrom: number | undefined;
  leanSince: number;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/**
 * Starts the debugger's server for this process and resolves once it listens. Throws
 * `ArgumentError` for bad options (a non-loopback `host` without `token` among them).
 */
export async function attachDebugger(options: AttachOptions = {}): Promise<DebuggerHandle> {
  const {
    port,
    host,
    token,
    trace: tracePath,
    ringSize,
    batchLimit,
    maxBufferedBytes,
  } = resolveOptions(options);
  const pageLimit = Math.min(MAX_PAGE_BYTES, maxBufferedBytes);
  const keepAlive = options.keepAlive ?? true;
  const tokenHash = token === undefined ? undefined : sha256(token);

  const ring = new Ring<StreamEvent>(ringSize);
  const deadlocks = new Ring<StreamEvent>(DEADLOCKS_KEPT);
  const trace = tracePath === undefined ? undefined : new TraceWriter(tracePath);
  /** Connected pages, each with the view it shows (see `POST /api/view`). */
  const clients = new Map<ServerResponse, Client>();
  const clientsById = new Map<string, Client>();
  let nextClient = 1;
  /** Streams of dropped pages, until they close (what they still hold counts, see `stats`). */
  const leaving = new Set<PageStream>();
  let droppedPages = 0;
  // Events waiting for the next push: bounded by count, the oldest dropped first (see
  // `batchLimit`); how many were dropped goes with the push.
  const batch = new Ring<StreamEvent>(batchLimit);
  let batchTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;
  let lastGraph: { graph?: WaitGraph; error?: string } | undefined;
  let closed: Promise<void> | undefined;

  // Per event: a ring slot, a type check and, with a page connected, a batch slot. No copy
  // (jsonSafe copies only an event that carries a thrown value), no closure, no timer per event.
  const take = (event: MultiactiveEvent): void => {
    const safe = jsonSafe(event);
    ring.push(safe);
    if (safe.type === 'deadlock.found') deadlocks.push(safe);
    if (trace !== undefined) trace.event(safe);
    if (clients.size !== 0) toBatch(safe);
  };
  const subscription = new ModalSubscription(take, wantedMode());
  const stopWatchingRecordings = onRecordingChange(updateMode);

  function toBatch(event: StreamEvent): void {
    batch.push(event);
    if (batchTimer === undefined) {
      batchTimer = setTimeout(flushBatch, BATCH_MS);
      if (!keepAlive) batchTimer.unref();
    }
  }

  /**
   * Every request's events while they are needed: a trace is being recorded (this debugger's
   * own, or `recordTrace`, which makes the runtime build them all anyway), or a page shows the
   * timeline; a sample otherwise.
   */
  function wantedMode(): RequestMode {
    if (trace !== undefined || recordingInProgress()) return 'all';
    for (const client of clients.values()) if (client.view === 'timeline') return 'all';
    return 'sampled';
  }

  function updateMode(): void {
    if (closed !== undefined) return;
    if (!subscription.set(wantedMode())) return;
    const marker: ModeMarker = {
      type: 'debugger.mode',
      time: performance.now(),
      requests: subscription.mode,
    };
    ring.push(marker);
    if (clients.size !== 0) toBatch(marker);
  }

  function broadcast(name: string, data: unknown): void {
    const message = sseMessage(name, toJson(data));
    for (const client of clients.values()) client.stream.send(message);
    keepToBudget();
  }

  /**
   * After every push: a page that holds more than `pageLimit` is dropped; then, while all of
   * them together hold more than `maxBufferedBytes`, the one behind for the longest (the most
   * held among equals). Pages being dropped count too: past the budget, they are cut at once,
   * without waiting for them to take the reason. Time: O(pages), O(pages log pages) past it.
   */
  function keepToBudget(): void {
    let total = 0;
    for (const client of [...clients.values()]) {
      const held = client.stream.held;
      if (held > pageLimit) {
        drop(
          client,
          `this page read too slowly: ${mib(held)} were waiting for it, and a page may hold ${mib(pageLimit)}`,
        );
      }
    }
    for (const client of clients.values()) total += client.stream.held;
    for (const stream of leaving) total += stream.held;
    if (total <= maxBufferedBytes) return;
    const now = performance.now();
    const slowest = [...clients.values()].sort(
      (a, b) =>
        (a.stream.stalledSince ?? now) - (b.stream.stalledSince ?? now) || b.stream.held - a.stream.held,
    );
    for (const client of slowest) {
      if (total <= maxBufferedBytes) break;
      const before = client.stream.held;
      const behind = client.stream.stalledSince === undefined ? 0 : now - client.stream.stalledSince;
      drop(
        client,
        `the debugger's pages held ${mib(total)} unread in all, more than maxBufferedBytes (${mib(maxBufferedBytes)}); ` +
          `this page was the slowest (${mib(before)} waiting for it, behind for ${(behind / 1000).toFixed(1)} s)`,
      );
      total -= before - client.stream.held;
    }
    for (const stream of leaving) {
      if (total <= maxBufferedBytes) break;
      total -= stream.held;
      stream.destroy();
    }
  }

  function drop(client: Client, reason: string): void {
    if (!clients.has(client.stream.response)) return;
    forget(client);
    droppedPages++;
    leaving.add(client.stream);
    client.stream.drop(reason, DROP_GRACE_MS);
  }

  function forget(client: Client): void {
    clients.delete(client.stream.response);
    clientsById.delete(client.id);
    if (client.view === 'timeline') updateMode();
  }

  /**
   * Pushes the batch: every event to a page that shows the timeline, the lean stream to the
   * others (see `lean`). Each variant is turned into JSON once, whatever the number of pages.
   */
  function flushBatch(): void {
    if (batchTimer !== undefined) clearTimeout(batchTimer);
    batchTimer = undefined;
    if (batch.total === 0) return;
    const dropped = batch.dropped;
    const events = batch.toArray();
    batch.clear();
    let full: SseMessage | undefined;
    let thin: SseMessage | undefined;
    const now = performance.now();
    for (const client of clients.values()) {
      if (client.view === 'timeline')
        client.stream.send((full ??= sseMessage('events', toJson({ now, events, dropped }))));
      else
        client.stream.send((thin ??= sseMessage('events', toJson({ now, events: lean(events), dropped }))));
    }
    keepToBudget();
  }

  // One poll at a time, and only while a page is connected (waitGraph asks every node).
  function schedulePoll(delay: number): void {
    if (pollTimer !== undefined || polling || clients.size === 0 || closed) return;
    pollTimer = setTimeout(async () => {
      pollTimer = undefined;
      polling = true;
      try {
        const graph = await waitGraph();
        lastGraph = { graph };
        trace?.waits(graph);
      } catch (error) {
        lastGraph = { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
      } finally {
        polling = false;
      }
      if (!closed) {
        broadcast('waits', lastGraph);
        schedulePoll(POLL_MS);
      }
    }, delay);
    if (!keepAlive) pollTimer.unref();
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...securityHeaders,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    // What is waiting for the next push is in the ring too: push it to the other pages now,
    // so that this page gets each event once (in the backlog) and the batches after it.
    flushBatch();
    const stream = new PageStream(res);
    const client: Client = {
      id: `c${nextClient++}`,
      stream,
      view: undefined,
      leanFrom: ring.total,
      leanSince: performance.now(),
    };
    stream.send(
      sseMessage(
        'hello',
        toJson({
          now: performance.now(),
          total: ring.total,
          kept: ring.size,
          client: client.id,
          requests: subscription.mode,
        }),
      ),
    );
    // The ring as it is now, in chunks made as the page takes them (a page that does not read
    // costs no JSON, and no memory but this array of references).
    stream.sendLazily(chunks(ring.toArray(), undefined));
    // Deadlocks found before the ring's window still show (the page ignores repeats).
    if (deadlocks.size > 0)
      stream.send(
        sseMessage('events', toJson({ now: performance.now(), events: deadlocks.toArray(), dropped: 0 })),
      );
    if (lastGraph !== undefined) stream.send(sseMessage('waits', toJson(lastGraph)));
    clients.set(res, client);
    clientsById.set(client.id, client);
    keepToBudget();
    schedulePoll(0);
    req.on('close', () => {
      leaving.delete(stream);
      if (clients.get(res) === client) forget(client);
    });
  }

  /**
   * `POST /api/view?client=c1&view=timeline`: what the page shows now (`hidden`: nothing). A
   * page that comes back to the timeline first gets the steps of requests the lean stream left
   * out meanwhile, from the ring; if the ring no longer holds all of that time, the push says
   * which part is missing (`missing: { from, to }`), and the page marks it.
   */
  function setView(res: ServerResponse, url: URL): void {
    const client = clientsById.get(url.searchParams.get('client') ?? '');
    const view = url.searchParams.get('view') ?? '';
    if (!/^[a-z]{1,20}$/.test(view)) {
      text(res, 400, 'Bad Request: view=<name> expected\n');
      return;
    }
    if (client === undefined) {
      text(res, 404, 'Not found: no such page (it reconnected?)\n');
      return;
    }
    const wasTimeline = client.view === 'timeline';
    const isTimeline = view === 'timeline';
    // What waits for the next push goes in the form of the view it was taken for.
    if (wasTimeline !== isTimeline) flushBatch();
    if (isTimeline && client.leanFrom !== undefined) {
      const oldest = ring.total - ring.size;
      const kept = ring.toArray();
      const since = kept.slice(Math.max(0, client.leanFrom - oldest));
      const missing =
        client.leanFrom < oldest
          ? { from: client.leanSince, to: kept[0]?.time ?? performance.now() }
          : undefined;
      client.stream.sendLazily(chunks(since.filter(leftOut), missing));
      client.leanFrom = undefined;
    } else if (wasTimeline && !isTimeline) {
      client.leanFrom = ring.total;
      client.leanSince = performance.now();
    }
    client.view = view;
    updateMode();
    keepToBudget();
    json(res, 200, { requests: subscription.mode });
  }

  /** Whether the request carries the token (always true without one), and whether in its query. */
  function authorized(req: IncomingMessage, url: URL): { ok: boolean; viaQuery: boolean } {
    if (tokenHash === undefined) return { ok: true, viaQuery: false };
    const matches = (given: string | undefined | null): boolean =>
      typeof given === 'string' && given !== '' && timingSafeEqual(sha256(given), tokenHash);
    if (matches(url.searchParams.get('token'))) return { ok: true, viaQuery: true };
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && matches(header.slice('Bearer '.length)))
      return { ok: true, viaQuery: false };
    return { ok: matches(cookie(req, cookieName())), viaQuery: false };
  }

  function cookieName(): string {
    return `multiactive_debugger_${(server.address() as AddressInfo).port}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://debugger.invalid');
    if (tokenHash === undefined) {
      // DNS rebinding: a remote page whose name resolves to 127.0.0.1 sends its own Host.
      const hostname = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopback(hostname))
        return text(res, 403, 'Forbidden: open the debugger as http://127.0.0.1:<port>/\n');
      const origin = req.headers.origin;
      if (req.method === 'POST' && origin !== undefined && !isLoopbackOrigin(origin)) {
        return text(res, 403, 'Forbidden: cross-origin request\n');
      }
    }
    const auth = authorized(req, url);
    if (!auth.ok) {
      return text(res, 401, 'Unauthorized: open the URL the debugger printed (it carries ?token=...)\n');
    }
    const route = `${req.method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
        return staticFile(res, 'index.html', auth.viaQuery && token !== undefined ? token : undefined);
      case 'GET /api/events':
        return openStream(req, res);
      case 'POST /api/view':
        return setView(res, url);
      case 'GET /api/snapshot':
        return json(res, 200, {
          now: performance.now(),
          events: ring.toArray(),
          deadlocks: deadlocks.toArray(),
          waits: lastGraph ?? null,
        });
      case 'POST /api/deadlocks': {
        try {
          const found: Deadlock[] = await findDeadlocks();
          return json(res, 200, { deadlocks: found });
        } catch (error) {
          return json(res, 500, {
            error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
          });
        }
      }
      case 'GET /trace.json':
        return json(res, 200, toChromeTrace(ring.toArray()), 'multiactive-trace.json');
      case 'GET /trace.jsonl': {
        const header = {
          type: 'trace.header',
          format: TRACE_FORMAT,
          version: 1,
          startedAt: new Date().toISOString(),
        };
        const lines = [header, ...ring.toArray()].map((line) => toJson(line)).join('\n');
        res.writeHead(200, {
          ...securityHeaders,
          'Content-Type': 'application/x-ndjson',
          'Content-Disposition': 'attachment; filename="multiactive-trace.jsonl"',
        });
        res.end(`${lines}\n`);
        return;
      }
      default:
        if (req.method === 'GET' && /^\/[a-z0-9-]+\.(js|css|svg)$/.test(url.pathname)) {
          return staticFile(res, url.pathname.slice(1), undefined);
        }
        return text(res, 404, 'Not found\n');
    }
  }

  async function staticFile(res: ServerResponse, name: string, setToken: string | undefined): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(join(pageDir, name));
    } catch {
      return text(res, 404, 'Not found\n');
    }
    const headers: Record<string, string> = {
      ...securityHeaders,
      'Content-Type': contentTypes[extname(name)]!,
    };
    // The page's scripts, styles and streams cannot all carry `?token=`: a cookie carries it.
    if (setToken !== undefined) {
      headers['Set-Cookie'] =
        `${cookieName()}=${encodeURIComponent(setToken)}; HttpOnly; SameSite=Strict; Path=/`;
    }
    res.writeHead(200, headers);
    res.end(body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) text(res, 500, `Internal error: ${String(error)}\n`);
      else res.destroy();
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!keepAlive) socket.unref();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    subscription.close();
    stopWatchingRecordings();
    await trace?.close().catch(() => undefined);
    throw error;
  }
  if (!keepAlive) server.unref();

  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${host.replace(/^\[|\]$/g, '')}]` : host;
  const url = `http://${urlHost}:${address.port}/${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;

  return {
    url,
    close() {
      closed ??= (async () => {
        subscription.close();
        stopWatchingRecordings();
        if (batchTimer !== undefined) clearTimeout(batchTimer);
        if (pollTimer !== undefined) clearTimeout(pollTimer);
        for (const client of clients.values()) client.stream.end();
        clients.clear();
        clientsById.clear();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        await stopped;
        await trace?.close();
      })();
      return closed;
    },
    stats() {
      let bufferedBytes = 0;
      for (const client of clients.values()) bufferedBytes += client.stream.held;
      for (const stream of leaving) bufferedBytes += stream.held;
      return { pages: clients.size, bufferedBytes, droppedPages };
    },
  };
}

/**
 * What a page that does not show the timeline needs of the live stream: everything but the
 * steps of requests (`request.admitted`, `started`, `waiting`, `resumed`, `finished`,
 * `cancelled`), which only the timeline draws. The Objects view counts calls from
 * `request.sent` and `call.remote`; the Object and Deadlocks views read the wait-for graph and
 * the deadlock events. Turning events into JSON is most of the server's work per event: this
 * sends about a quarter of them, and at most `LEAN_SENDS` sends. Time: O(events).
 */
function lean(events: readonly StreamEvent[]): StreamEvent[] {
  let sends = 0;
  for (const event of events) if (event.type === 'request.sent') sends++;
  // Past LEAN_SENDS sends in one push, one in `stride` goes, standing for itself and the ones
  // it replaces (their `sample`s added up): the total count stays exact, per edge it is an
  // estimate (the page shows "≈" once a send stands for more than one call).
  const stride = Math.ceil(sends / LEAN_SENDS);
  const out: StreamEvent[] = [];
  let skipped = 0;
  let weight = 0;
  let seen = 0;
  for (const event of events) {
    const type = event.type;
    if (type === 'request.sent') {
      weight += event.sample;
      skipped++;
      seen++;
      if (skipped < stride && seen < sends) continue;
      out.push(weight === event.sample ? event : { ...event, sample: weight });
      skipped = 0;
      weight = 0;
    } else if (!type.startsWith('request.')) out.push(event);
  }
  return out;
}

/** The steps of requests that the lean stream leaves out (see `lean`). */
function leftOut(event: StreamEvent): boolean {
  return event.type.startsWith('request.') && event.type !== 'request.sent';
}

/**
 * `events` messages of at most `CHUNK` events each, made one at a time (as a page takes them).
 * The first carries `missing` when given (a replay that could not cover all the time it should);
 * with no events, one message still goes if there is a `missing` to say.
 */
function* chunks(
  events: readonly StreamEvent[],
  missing: { from: number; to: number } | undefined,
): Generator<string> {
  for (let i = 0; i < events.length || (i === 0 && missing !== undefined); i += CHUNK) {
    const body: Record<string, unknown> = {
      now: performance.now(),
      events: events.slice(i, i + CHUNK),
      dropped: 0,
    };
    if (i === 0 && missing !== undefined) body.missing = missing;
    yield sseMessage('events', toJson(body)).text;
  }
}

function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    return isLoopback(new URL(origin).hostname);
  } catch {
    return false; // `null` (a sandboxed frame, a file) or garbage
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(value.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...securityHeaders, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function json(res: ServerResponse, status: number, body: unknown, download?: string): void {
  const headers: Record<string, string> = { ...securityHeaders, 'Content-Type': 'application/json' };
  if (download !== undefined) headers['Content-Disposition'] = `attachment; filename="${download}"`;
  res.writeHead(status, headers);
  res.end(toJson(body));
}
