/**
 * Helpers for the debugger's tests: a small Server-Sent Events client over node:http (so a
 * test sees exactly what the page gets) and a raw HTTP request with chosen headers.
 */
import { type IncomingHttpHeaders, request } from 'node:http';

export interface SseMessage {
  readonly event: string;
  readonly data: unknown;
}

export interface SseClient {
  readonly messages: SseMessage[];
  /** Resolves with the first message (already received or to come) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (message: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: 'text/event-stream', ...headers } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`SSE: status ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      const messages: SseMessage[] = [];
      const waiters = new Set<() => void>();
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data !== '') messages.push({ event, data: JSON.parse(data) });
          end = buffer.indexOf('\n\n');
        }
        for (const wake of [...waiters]) wake();
      });
      resolve({
        messages,
        waitFor(match, timeoutMs = 5_000) {
          return new Promise((found, fail) => {
            const check = (): void => {
              const message = messages.find(match);
              if (message === undefined) return;
              waiters.delete(check);
              clearTimeout(timer);
              found(message);
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              fail(
                new Error(
                  `SSE: no matching message within ${timeoutMs} ms (got ${messages.map((m) => m.event).join(', ')})`,
                ),
              );
            }, timeoutMs);
            waiters.add(check);
            check();
          });
        },
        close() {
          req.destroy();
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request with exactly these headers (fetch would not let a test set `Host`). */
export function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** An SSE connection whose reading the test controls: it stops reading on `pause()`. */
export interface PausableSse {
  /** The page id from `hello`. */
  readonly client: string;
  /** Everything received so far, as text. */
  text(): string;
  /** Stops reading from the socket (the server's writes back up). */
  pause(): void;
  /** Reads again; resolves with everything received once the server ends the stream. */
  resumeToEnd(): Promise<string>;
  close(): void;
}

/** Opens `/api/events` and resolves once `hello` came (reading goes on until `pause()`). */
export function openPausableSse(url: string): Promise<PausableSse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`SSE: status ${res.statusCode}`));
        return;
      }
      res.setEncoding('utf8');
      let received = '';
      let said = false;
      const ended = new Promise<string>((done, fail) => {
        res.on('end', () => done(received));
        res.on('error', fail);
        res.on('close', () => done(received));
      });
      ended.catch(() => undefined);
      res.on('data', (chunk: string) => {
        received += chunk;
        const hello = /event: hello\ndata: (.*)\n\n/.exec(received);
        if (!said && hello !== null) {
          said = true;
          resolve({
            client: (JSON.parse(hello[1]!) as { client: string }).client,
            text: () => received,
            pause: () => res.pause(),
            resumeToEnd: () => {
              res.resume();
              return ended;
            },
            close: () => req.destroy(),
          });
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}
