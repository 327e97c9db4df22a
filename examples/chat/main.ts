/**
 * A chat room over HTTP with server-sent events: `npm run example:chat` (or
 * `npx tsx examples/chat/main.ts --port 3000`; the port comes from `--port`, else `$PORT`,
 * else 3000; `--port 0` picks a free one). Only node:http, no framework.
 *
 * The Room is an active object with a read/write policy: `history` and `stats` are reads and
 * overlap each other; `post`, `subscribe` and `unsubscribe` are writes and run alone, so a
 * message is numbered, stored and sent to every subscriber in one step, and a new subscriber
 * gets the backlog and then every later message, none missed or doubled. Each SSE connection is
 * a Subscriber, a classic active object (one request at a time, in arrival order) that writes
 * to its HTTP response: the Room's calls to it arrive in the order the Room made them, so every
 * client sees the messages in the room's order.
 *
 *   curl -N http://127.0.0.1:3000/events                              # follow the room (SSE)
 *   curl -N -H 'Last-Event-ID: 2' http://127.0.0.1:3000/events        # ... after message 2
 *   curl -d '{"user":"ann","text":"hello"}' http://127.0.0.1:3000/messages   # post (JSON body)
 *   curl http://127.0.0.1:3000/messages                               # the history, as JSON
 *
 * Each SSE event is `event: message`, `id: <seq>`, `data: {"seq","user","text"}`; a connection
 * first gets `event: ready` once it is subscribed. Ctrl-C (SIGINT) or SIGTERM closes the
 * server and ends the objects.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Active, Group, MemberOf, newActive, Priority, shutdown, terminate } from 'multiactive';

export interface Message {
  readonly seq: number;
  readonly user: string;
  readonly text: string;
}

/** One SSE connection. Created with `{ copy: false }`: its response object is not copyable. */
export class Subscriber {
  private readonly res: ServerResponse;
  constructor(res: ServerResponse) {
    this.res = res;
  }
  send(event: string, data: unknown, id?: number): void {
    if (this.res.writableEnded || this.res.destroyed) return;
    this.res.write(
      `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`,
    );
  }
}

@Group('read', { selfCompatible: true })
@Group('write')
@Priority('write', 'read') // a queued post goes before queued history reads
export class Room {
  private readonly messages: Message[] = [];
  private readonly subscribers = new Map<number, Active<Subscriber>>();

  @MemberOf('write') post(user: string, text: string): Message {
    const message = { seq: this.messages.length + 1, user, text };
    this.messages.push(message);
    for (const subscriber of this.subscribers.values()) subscriber.send('message', message, message.seq);
    return message;
  }

  /** Sends `ready`, then the messages after `since`; later posts follow. */
  @MemberOf('write') subscribe(id: number, subscriber: Active<Subscriber>, since: number): void {
    subscriber.send('ready', { subscriber: id, since });
    for (const message of this.messages.slice(Math.max(0, since))) {
      subscriber.send('message', message, message.seq);
    }
    this.subscribers.set(id, subscriber);
  }

  @MemberOf('write') unsubscribe(id: number): boolean {
    return this.subscribers.delete(id);
  }

  @MemberOf('read') history(since = 0): Message[] {
    return this.messages.slice(Math.max(0, since));
  }

  @MemberOf('read') stats(): { messages: number; subscribers: number } {
    return { messages: this.messages.length, subscribers: this.subscribers.size };
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > limit) reject(new Error('too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(value)}\n`);
}

/** Serves the room on `port` (0: any free port). Resolves once listening. */
export async function startChat(
  port: number,
  host = '127.0.0.1',
): Promise<{ url: string; close: () => Promise<void> }> {
  const room = newActive(Room);
  let nextId = 1;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      if (req.method === 'GET' && url.pathname === '/events') {
        const since = Number(req.headers['last-event-id'] ?? url.searchParams.get('since') ?? 0) || 0;
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
        res.write(': connected\n\n');
        const id = nextId++;
        const subscriber = newActive(Subscriber, [res], { copy: false });
        req.on('close', () => {
          // The client went away: stop sending to it. (Refused once the room itself has ended.)
          room
            .unsubscribe(id)
            .then(() => terminate(subscriber))
            .catch(() => {});
        });
        await room.subscribe(id, subscriber, since);
      } else if (req.method === 'POST' && url.pathname === '/messages') {
        let body: { user?: unknown; text?: unknown };
        try {
          body = JSON.parse(await readBody(req, 64 * 1024));
        } catch {
          return json(res, 400, { error: 'expected a JSON body {"user": "...", "text": "..."}' });
        }
        if (typeof body.user !== 'string' || typeof body.text !== 'string' || body.text === '') {
          return json(res, 400, { error: 'expected a JSON body {"user": "...", "text": "..."}' });
        }
        json(res, 201, await room.post(body.user, body.text));
      } else if (req.method === 'GET' && url.pathname === '/messages') {
        json(res, 200, await room.history(Number(url.searchParams.get('since') ?? 0) || 0));
      } else if (req.method === 'GET' && url.pathname === '/stats') {
        json(res, 200, await room.stats());
      } else {
        json(res, 404, { error: 'GET /events, POST /messages, GET /messages, GET /stats' });
      }
    } catch (error) {
      if (!res.headersSent) json(res, 500, { error: String(error) });
      else res.end();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const { port: actual } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${actual}/`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // the SSE streams never end by themselves
      await closed;
      await shutdown();
    },
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { port: { type: 'string' }, host: { type: 'string' } } });
  const port = Number(values.port ?? process.env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`not a port: ${values.port ?? process.env.PORT}`);
    process.exit(2);
  }
  const chat = await startChat(port, values.host ?? '127.0.0.1');
  console.log(`chat room listening on ${chat.url}`);
  let closing = false;
  const stop = () => {
    if (closing) return;
    closing = true;
    chat.close().then(() => console.log('chat room closed'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
