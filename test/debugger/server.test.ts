/**
 * The debugger's server: options, binding, the token, the security headers, the event stream
 * (SSE), the snapshot, "find deadlocks now", and environment attachment. Everything talks to
 * 127.0.0.1 on a free port and is closed by the test that opened it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgumentError, configureDeadlocks, type MultiactiveEvent, newActive, terminate } from 'multiactive';
import { attachDebugger, attachFromEnv, type DebuggerHandle } from 'multiactive/debugger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { within } from '../support/within.js';
import { openPausableSse, openSse, type PausableSse, raw } from './support.js';

class Counter {
  n = 0;
  add(by: number): number {
    return (this.n += by);
  }
  fail(): never {
    throw new TypeError('boom <b>');
  }
}

const open: DebuggerHandle[] = [];
async function attach(options: Parameters<typeof attachDebugger>[0] = {}): Promise<DebuggerHandle> {
  const handle = await attachDebugger(options);
  open.push(handle);
  return handle;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((handle) => handle.close()));
});

describe('debugger options', () => {
  it.each([
    [{ port: -1 }, /`port` to be an integer from 0 to 65535.*`-1` \(number\)/],
    [{ port: 1.5 }, /`port`.*`1.5`/],
    [{ port: 70000 }, /`port`.*`70000`/],
    [{ port: '8080' as unknown as number }, /`port`.*"8080" \(string\)/],
    [{ host: '' }, /`host` to be a non-empty string/],
    [{ host: 42 as unknown as string }, /`host`.*`42` \(number\)/],
    [{ token: '' }, /`token` to be a non-empty string/],
    [{ ringSize: 0 }, /`ringSize` to be an integer >= 1/],
    [{ maxBufferedBytes: 0 }, /`maxBufferedBytes` to be an integer >= 1 \(bytes\)/],
    [{ maxBufferedBytes: 1.5 }, /`maxBufferedBytes`.*`1.5`/],
  ])('refuses %j with a named error', async (options, message) => {
    const error = await attachDebugger(options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses to bind beyond loopback without a token, and says what to do', async () => {
    const error = await attachDebugger({ host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as Error).message).toMatch(/`0\.0\.0\.0`.*Pass a `token`.*or bind 127\.0\.0\.1/);
  });
});

describe('the debugger server', () => {
  it('binds 127.0.0.1 on a free port by default and serves the page with a strict CSP', async () => {
    const { url } = await attach();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await page.text();
    // Scripts only as files (no inline code), so the CSP can forbid inline scripts.
    expect(html).toMatch(/<script type="module" src="app\.js"><\/script>/);
    expect(html.match(/<script[^>]*>/g)?.every((tag) => tag.includes(' src='))).toBe(true);

    const script = await fetch(`${url}app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('content-security-policy')).toBe(csp);
    expect((await fetch(`${url}../server.ts`)).status).toBe(404);
    expect((await fetch(`${url}requests.d.ts`)).status).toBe(404);
  });

  it('never builds the page from markup strings (no innerHTML, outerHTML, insertAdjacentHTML, document.write)', () => {
    const pageDir = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'debugger/page');
    const scripts = readdirSync(pageDir).filter((name) => name.endsWith('.js'));
    expect(scripts).toContain('app.js');
    for (const name of scripts) {
      const source = readFileSync(join(pageDir, name), 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
      expect(source, name).not.toMatch(
        /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/,
      );
    }
  });

  it('refuses a Host that is not loopback (DNS rebinding) and cross-origin POSTs', async () => {
    const { url } = await attach();
    expect((await raw(`${url}api/snapshot`, { headers: { Host: 'evil.example:80' } })).status).toBe(403);
    const post = await raw(`${url}api/deadlocks`, {
      method: 'POST',
      headers: { Origin: 'http://evil.example' },
    });
    expect(post.status).toBe(403);
    expect((await raw(`${url}api/snapshot`)).status).toBe(200);
  });

  it('with a token, answers 401 to every request without it and accepts ?token=, Bearer, and the page cookie', async () => {
    const token = 'sekret-42';
    const { url } = await attach({ token });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=sekret-42$/);
    const base = url.slice(0, url.indexOf('?'));
    for (const path of ['', 'app.js', 'api/snapshot', 'trace.json', 'api/events']) {
      expect((await raw(`${base}${path}`)).status, path).toBe(401);
    }
    expect((await raw(`${base}api/snapshot?token=wrong`)).status).toBe(401);
    expect((await raw(`${base}api/snapshot`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(
      401,
    );
    expect((await raw(`${base}api/snapshot`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(
      200,
    );

    const page = await raw(url);
    expect(page.status).toBe(200);
    const cookie = String(page.headers['set-cookie']?.[0] ?? '');
    expect(cookie).toMatch(/HttpOnly; SameSite=Strict; Path=\//);
    const pair = cookie.split(';')[0]!;
    expect((await raw(`${base}app.js`, { headers: { Cookie: pair } })).status).toBe(200);
  });

  it('streams events to a page over SSE, batched, after the recent past', async () => {
    const { url } = await attach();
    const counter = newActive(Counter);
    await counter.add(1); // before the page connects: it comes in the backlog
    const sse = await openSse(`${url}api/events`);
    try {
      const events = (): MultiactiveEvent[] =>
        sse.messages
          .filter((m) => m.event === 'events')
          .flatMap((m) => (m.data as { events: MultiactiveEvent[] }).events);
      const hello = await sse.waitFor((m) => m.event === 'hello');
      expect(events().some((e) => e.type === 'request.finished' && e.request.method === 'add')).toBe(true);

      // Not on the timeline: the live stream leaves out the steps of requests (the lean stream).
      const before = sse.messages.length;
      await counter.add(5);
      const pushed = (from: number): MultiactiveEvent[] =>
        sse.messages
          .slice(from)
          .filter((m) => m.event === 'events')
          .flatMap((m) => (m.data as { events: MultiactiveEvent[] }).events);
      await sse.waitFor(
        (m) => sse.messages.indexOf(m) >= before && pushed(before).some((e) => e.type === 'request.sent'),
      );
      expect(pushed(before).map((e) => e.type)).not.toContain('request.finished');

      // On the timeline: every event.
      const client = (hello.data as { client: string }).client;
      expect((await fetch(`${url}api/view?client=${client}&view=timeline`, { method: 'POST' })).status).toBe(
        200,
      );
      await counter.add(2);
      await counter.fail().catch(() => undefined);
      await sse.waitFor(
        (m) =>
          m.event === 'events' &&
          (m.data as { events: MultiactiveEvent[] }).events.some(
            (e) => e.type === 'request.finished' && e.request.method === 'fail',
          ),
      );
      const failed = events().find((e) => e.type === 'request.finished' && e.request.method === 'fail');
      // Thrown values arrive JSON-safe: name and message only.
      expect(failed).toMatchObject({ ok: false, error: { name: 'TypeError', message: 'boom <b>' } });
      expect(events().filter((e) => e.type === 'request.sent')).toHaveLength(4);

      // The wait-for graph is polled while a page is connected.
      const waits = await sse.waitFor((m) => m.event === 'waits');
      expect((waits.data as { graph: { nodes: number[] } }).graph.nodes).toContain(0);
    } finally {
      sse.close();
      await terminate(counter);
    }
  });

  it('keeps only the most recent events (a bounded ring) and serves them as a snapshot and a trace', async () => {
    const { url } = await attach({ ringSize: 5 });
    const counter = newActive(Counter);
    for (let i = 0; i < 4; i++) await counter.add(i);
    const snapshot = (await (await fetch(`${url}api/snapshot`)).json()) as { events: MultiactiveEvent[] };
    expect(snapshot.events).toHaveLength(5);
    expect(snapshot.events.at(-1)).toMatchObject({ type: 'request.finished', ok: true });
    const lines = (await (await fetch(`${url}trace.jsonl`)).text()).trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'trace.header', format: 'multiactive-trace' });
    expect(lines).toHaveLength(6);
    await terminate(counter);
  });

  it('finds deadlocks on request (none here)', async () => {
    const { url } = await attach();
    const response = await fetch(`${url}api/deadlocks`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ deadlocks: [] });
  });

  it('holds at most maxBufferedBytes for pages that stop reading, drops the slowest saying why, and serves a page that reads', async () => {
    const budget = 4 << 20;
    const debug = await attach({ maxBufferedBytes: budget });
    const base = debug.url;
    // Big events: a failed request carries its error's message (64 KiB here) to the timeline.
    const big = 'x'.repeat(64 << 10);
    class Noisy {
      fail(i: number): never {
        throw new Error(`${i} ${big}`);
      }
    }
    const onTimeline = (client: string) =>
      fetch(`${base}api/view?client=${client}&view=timeline`, { method: 'POST' });
    const healthy = await openSse(`${base}api/events`);
    const paused: PausableSse[] = [];
    const noisy = newActive(Noisy);
    try {
      const hello = await healthy.waitFor((m) => m.event === 'hello');
      expect((await onTimeline((hello.data as { client: string }).client)).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        const page = await openPausableSse(`${base}api/events`);
        paused.push(page);
        expect((await onTimeline(page.client)).status).toBe(200);
        page.pause();
      }
      const failedAt = (i: number) => (m: { event: string; data: unknown }) =>
        m.event === 'events' &&
        (m.data as { events: MultiactiveEvent[] }).events.some(
          (e) =>
            e.type === 'request.finished' &&
            !e.ok &&
            (e.error as { message: string }).message.startsWith(`${i} `),
        );
      let most = 0;
      let call = 0;
      // Rounds of 10 failures (640 KiB of events for each page on the timeline), each waited
      // for at the page that reads, until the three that do not are dropped, and one round more.
      for (let round = 0; round < 100 && debug.stats().droppedPages < 3; round++) {
        await Promise.all(Array.from({ length: 10 }, () => noisy.fail(call++).catch(() => undefined)));
        await healthy.waitFor(failedAt(call - 1), 10_000);
        const { bufferedBytes } = debug.stats();
        most = Math.max(most, bufferedBytes);
        expect(bufferedBytes).toBeLessThanOrEqual(budget);
      }
      expect(debug.stats()).toMatchObject({ pages: 1, droppedPages: 3 });
      // The measure is alive: the pages that stopped reading did hold what was written for them.
      expect(most).toBeGreaterThan(budget / 4);

      // The page that reads keeps getting every push, and was never told to go.
      await noisy.fail(call++).catch(() => undefined);
      await healthy.waitFor(failedAt(call - 1), 10_000);
      expect(healthy.messages.some((m) => m.event === 'dropped')).toBe(false);

      // A dropped page, once it reads again, gets what was already on its way, then why it was dropped.
      for (const page of paused) {
        const text = await within(page.resumeToEnd(), 10_000, 'a dropped stream to end');
        const dropped = /event: dropped\ndata: (.*)\n\n$/.exec(text);
        expect(dropped, text.slice(-300)).not.toBeNull();
        expect((JSON.parse(dropped![1]!) as { reason: string }).reason).toMatch(
          /maxBufferedBytes \(4\.0 MiB\).*this page was the slowest|this page read too slowly: .* a page may hold 4\.0 MiB/,
        );
      }
    } finally {
      for (const page of paused) page.close();
      healthy.close();
      await terminate(noisy);
    }
  }, 60_000);

  it('stops listening on close, and close can be called twice', async () => {
    const handle = await attachDebugger();
    await handle.close();
    await handle.close();
    await expect(fetch(handle.url)).rejects.toThrow();
  });
});

describe('attachFromEnv', () => {
  it('does nothing without MULTIACTIVE_DEBUG', () => {
    expect(attachFromEnv({})).toBeUndefined();
    expect(attachFromEnv({ MULTIACTIVE_DEBUG: ' ' })).toBeUndefined();
  });

  it('refuses a value that is not a port, naming the variable', async () => {
    await expect(attachFromEnv({ MULTIACTIVE_DEBUG: 'yes' })).rejects.toThrow(
      /Expected MULTIACTIVE_DEBUG to be a port number \(0: any free port\), got "yes"/,
    );
    await expect(
      attachFromEnv({ MULTIACTIVE_DEBUG: '0', MULTIACTIVE_DEBUG_HOST: '0.0.0.0' }),
    ).rejects.toBeInstanceOf(ArgumentError);
  });

  it('attaches on the given port, prints the URL to stderr and turns deadlock detection on', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const handle = (await attachFromEnv({ MULTIACTIVE_DEBUG: '0', MULTIACTIVE_DEBUG_TOKEN: 't0k' }))!;
      open.push(handle);
      expect(handle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=t0k$/);
      expect(write).toHaveBeenCalledWith(`multiactive debugger: ${handle.url}\n`);
      expect((await fetch(handle.url)).status).toBe(200);
    } finally {
      write.mockRestore();
      configureDeadlocks({ detect: false });
    }
  });
});
