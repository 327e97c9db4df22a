/**
 * examples/chat keeps working: started as a child process on port 0 (it prints the port), two
 * SSE clients connect with node:http, messages are posted over HTTP, and both clients receive
 * every message, in the order posted; a late client resumes after a Last-Event-ID. Then the
 * child is stopped by its pid (SIGTERM) and must close and exit by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { get, type IncomingMessage, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { within } from '../support/within.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface SseEvent {
  event: string;
  id?: string | undefined;
  data: unknown;
}

/** An SSE client: the events received so far, and a wait for the n-th. */
function follow(url: string, headers: Record<string, string> = {}) {
  const events: SseEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  let buffer = '';
  let response: IncomingMessage | undefined;
  const req = get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    response = res;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue; // a comment
          const colon = line.indexOf(':');
          fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        if (!fields.has('data')) continue;
        events.push({
          event: fields.get('event') ?? 'message',
          id: fields.get('id'),
          data: JSON.parse(fields.get('data')!),
        });
        for (const w of waiters.filter((w) => events.length >= w.n)) w.resolve();
      }
    });
  });
  req.on('error', () => {}); // the server going away ends the stream
  return {
    events,
    status: () => response?.statusCode,
    received: (n: number) =>
      within(
        new Promise<void>((resolve) => (events.length >= n ? resolve() : waiters.push({ n, resolve }))),
        10_000,
        `${n} SSE events`,
      ),
    close: () => req.destroy(),
  };
}

function post(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

let child: ChildProcess | undefined;
afterEach(() => {
  // Whatever happened, the child does not outlive the test.
  if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null)
    process.kill(child.pid, 'SIGKILL');
  child = undefined;
});

describe('examples/chat', () => {
  it('serves a room over HTTP: two SSE clients get every posted message in order, then it stops on SIGTERM', async () => {
    child = spawn(process.execPath, ['--import', 'tsx', 'examples/chat/main.ts', '--port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = child;
    let stdout = '';
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const base = await within(
      new Promise<string>((resolve, reject) => {
        proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          const url = stdout.match(/^chat room listening on (http:\/\/127\.0\.0\.1:\d+\/)$/m)?.[1];
          if (url) resolve(url);
        });
        exited.then((code) => reject(new Error(`the chat exited (${code}) before listening: ${stderr}`)));
      }),
      15_000,
      'the chat server to listen',
    );

    const ann = follow(`${base}events`);
    const bob = follow(`${base}events`);
    try {
      await Promise.all([ann.received(1), bob.received(1)]); // both subscribed
      expect(ann.status()).toBe(200);
      expect(ann.events[0]).toMatchObject({ event: 'ready', data: { since: 0 } });
      expect(bob.events[0]).toMatchObject({ event: 'ready', data: { since: 0 } });

      const texts = ['hello', 'hi ann', 'how are you?', 'fine', 'bye'];
      for (const [i, text] of texts.entries()) {
        const reply = await post(`${base}messages`, { user: i % 2 ? 'bob' : 'ann', text });
        expect(reply).toEqual({ status: 201, body: { seq: i + 1, user: i % 2 ? 'bob' : 'ann', text } });
      }
      expect((await post(`${base}messages`, { user: 'ann' })).status).toBe(400);
      await Promise.all([ann.received(1 + texts.length), bob.received(1 + texts.length)]);
      const expected = texts.map((text, i) => ({
        event: 'message',
        id: String(i + 1),
        data: { seq: i + 1, user: i % 2 ? 'bob' : 'ann', text },
      }));
      expect(ann.events.slice(1)).toEqual(expected);
      expect(bob.events.slice(1)).toEqual(expected);

      // A late client resuming after message 3 gets 4 and 5, then what is posted next.
      const late = follow(`${base}events`, { 'last-event-id': '3' });
      try {
        await late.received(3);
        expect(late.events[0]).toMatchObject({ event: 'ready', data: { since: 3 } });
        await post(`${base}messages`, { user: 'carol', text: 'late' });
        await late.received(4);
        expect(late.events.slice(1).map((e) => e.id)).toEqual(['4', '5', '6']);
        await Promise.all([ann.received(7), bob.received(7)]);
        expect(ann.events.at(-1)).toEqual(bob.events.at(-1));
      } finally {
        late.close();
      }
    } finally {
      ann.close();
      bob.close();
    }

    process.kill(proc.pid!, 'SIGTERM');
    expect(await within(exited, 10_000, 'the chat to exit after SIGTERM')).toBe(0);
    expect(stdout).toMatch(/chat room closed\n$/);
  }, 30_000);
});
