/**
 * The debugger's request modes: a sample of requests' events by default, every request's while
 * a page shows the timeline or a trace is recorded; the switch loses and repeats nothing; the
 * outgoing batch is bounded by count and says how many events it dropped. Everything talks to
 * 127.0.0.1 on a free port and is closed by the test that opened it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Group, MemberOf, type MultiactiveEvent, newActive, terminate } from 'multiactive';
import { attachDebugger, type DebuggerHandle, recordTrace } from 'multiactive/debugger';
import { afterEach, describe, expect, it } from 'vitest';
import { openSse, type SseClient, type SseMessage } from './support.js';

class Counter {
  n = 0;
  add(by: number): number {
    return (this.n += by);
  }
}

/** Self-compatible: many calls in flight at once wait for nothing (a small wait-for graph). */
@Group('g', { selfCompatible: true })
class Adder {
  n = 0;
  @MemberOf('g') add(by: number): number {
    return (this.n += by);
  }
}

type Streamed = MultiactiveEvent | { type: 'debugger.mode'; time: number; requests: string };

const open: DebuggerHandle[] = [];
const streams: SseClient[] = [];
async function attach(options: Parameters<typeof attachDebugger>[0] = {}): Promise<DebuggerHandle> {
  const handle = await attachDebugger(options);
  open.push(handle);
  return handle;
}
async function stream(url: string): Promise<{ sse: SseClient; hello: { client: string; requests: string } }> {
  const sse = await openSse(`${url}api/events`);
  streams.push(sse);
  const hello = await sse.waitFor((m) => m.event === 'hello');
  return { sse, hello: hello.data as { client: string; requests: string } };
}
afterEach(async () => {
  for (const sse of streams.splice(0)) sse.close();
  await Promise.all(open.splice(0).map((handle) => handle.close()));
});

async function setView(url: string, client: string, view: string): Promise<{ requests: string }> {
  const response = await fetch(`${url}api/view?client=${client}&view=${view}`, { method: 'POST' });
  expect(response.status).toBe(200);
  return (await response.json()) as { requests: string };
}

async function ring(url: string): Promise<Streamed[]> {
  return ((await (await fetch(`${url}api/snapshot`)).json()) as { events: Streamed[] }).events;
}

const markers = (events: Streamed[]): string[] =>
  events.flatMap((e) => (e.type === 'debugger.mode' ? [e.requests] : []));

const streamed = (messages: SseMessage[]): Streamed[] =>
  messages.filter((m) => m.event === 'events').flatMap((m) => (m.data as { events: Streamed[] }).events);

/**
 * `n` calls, at most `inFlight` at once (each batch sent in one synchronous loop). Not all at
 * once: the wait-for graph the server polls lists every queued request with what it waits
 * for, which for thousands queued on one object is a message too large for the stream.
 */
async function burst(
  counter: { add(by: number): PromiseLike<number> },
  n: number,
  inFlight = 500,
): Promise<void> {
  for (let done = 0; done < n; done += inFlight) {
    const calls: PromiseLike<number>[] = [];
    for (let i = done; i < Math.min(n, done + inFlight); i++) calls.push(counter.add(1));
    await Promise.all(calls);
  }
}

describe('the debugger request modes', () => {
  it('samples by default, takes every request while a page shows the timeline, and samples again after', async () => {
    const { url } = await attach({ ringSize: 200_000 });
    const { hello } = await stream(url);
    expect(hello.requests).toBe('sampled');
    const counter = newActive(Counter);
    try {
      // Sampled: past ~2000 requests a second, only some are observed, each standing for more.
      const n = 20_000;
      await burst(counter, n);
      const sampledSends = (await ring(url)).filter((e) => e.type === 'request.sent');
      expect(sampledSends.length).toBeLessThan(n);
      expect(sampledSends.some((e) => e.sample > 1)).toBe(true);

      // The timeline on screen: every request, each standing for itself.
      expect(await setView(url, hello.client, 'timeline')).toEqual({ requests: 'all' });
      const before = (await ring(url)).length;
      await burst(counter, 3_000);
      const all = (await ring(url)).slice(before);
      const sends = all.filter((e) => e.type === 'request.sent');
      expect(sends).toHaveLength(3_000);
      expect(sends.every((e) => e.sample === 1)).toBe(true);
      expect(all.filter((e) => e.type === 'request.finished')).toHaveLength(3_000);

      expect(await setView(url, hello.client, 'graph')).toEqual({ requests: 'sampled' });
      expect(markers(await ring(url))).toEqual(['all', 'sampled']);
    } finally {
      await terminate(counter);
    }
  });

  it('goes back to sampling when the page that showed the timeline goes away or is hidden', async () => {
    const { url } = await attach();
    const first = await stream(url);
    const second = await stream(url);
    await setView(url, first.hello.client, 'timeline');
    expect((await setView(url, second.hello.client, 'graph')).requests).toBe('all'); // the first still shows it
    expect(await setView(url, second.hello.client, 'timeline')).toEqual({ requests: 'all' });
    expect(await setView(url, second.hello.client, 'hidden')).toEqual({ requests: 'all' });
    first.sse.close();
    await second.sse.waitFor(
      (m) =>
        m.event === 'events' &&
        (m.data as { events: Streamed[] }).events.some(
          (e) => e.type === 'debugger.mode' && e.requests === 'sampled',
        ),
    );
    const third = await stream(url);
    expect(third.hello.requests).toBe('sampled');
    // An unknown page or a malformed view is refused, and changes nothing.
    expect((await fetch(`${url}api/view?client=nobody&view=timeline`, { method: 'POST' })).status).toBe(404);
    expect(
      (await fetch(`${url}api/view?client=${third.hello.client}&view=<b>`, { method: 'POST' })).status,
    ).toBe(400);
    expect(markers(await ring(url))).toEqual(['all', 'sampled']);
  });

  it('takes every request while a trace is recorded: its own, or recordTrace anywhere in the process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'multiactive-sampling-'));
    try {
      const plain = await attach();
      const { hello } = await stream(plain.url);
      expect(hello.requests).toBe('sampled');
      const recording = recordTrace(join(dir, 'run.jsonl'));
      expect((await stream(plain.url)).hello.requests).toBe('all');
      await recording.stop();
      await recording.stop(); // twice: counted once
      expect((await stream(plain.url)).hello.requests).toBe('sampled');
      expect(markers(await ring(plain.url))).toEqual(['all', 'sampled']);

      const tracing = await attach({ trace: join(dir, 'live.jsonl') });
      const live = await stream(tracing.url);
      expect(live.hello.requests).toBe('all');
      expect(await setView(tracing.url, live.hello.client, 'graph')).toEqual({ requests: 'all' });
    } finally {
      // Close first: the trace file lives in `dir`.
      for (const sse of streams.splice(0)) sse.close();
      await Promise.all(open.splice(0).map((handle) => handle.close()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loses and repeats no event across switches', async () => {
    const { url } = await attach({ ringSize: 100_000 });
    const { sse, hello } = await stream(url);
    const made: number[] = [];
    const counters: { add(by: number): PromiseLike<number> }[] = [];
    try {
      for (let round = 0; round < 6; round++) {
        // Switch while requests are in flight: the POST's answer comes while they run.
        const switching = setView(url, hello.client, round % 2 === 0 ? 'timeline' : 'graph');
        const counter = newActive(Counter);
        counters.push(counter);
        const calls = [burst(counter, 300), switching, burst(counters[0]!, 300)];
        await Promise.all(calls);
      }
      await setView(url, hello.client, 'graph');
      const last = counters.at(-1)!;
      await last.add(0);
      const events = await ring(url);
      for (const e of events)
        if (e.type === 'object.created' && e.className === 'Counter') made.push(e.objectId);
      expect(made).toHaveLength(counters.length);
      expect(new Set(made).size).toBe(counters.length);
      const seen = new Set<string>();
      for (const e of events) {
        if (!('request' in e)) continue;
        const key = `${e.type}:${e.request.requestId}`;
        expect(seen.has(key), key).toBe(false);
        seen.add(key);
      }
      expect(markers(events)).toEqual(['all', 'sampled', 'all', 'sampled', 'all', 'sampled']);
      // The page got the same events, each once: the backlog, then the batches.
      // (Not on the timeline at the end: the page gets the lean stream, without requests' steps.)
      const lastEvent = events.findLast((e) => e.type === 'request.sent' || !e.type.startsWith('request.'))!;
      await sse.waitFor((m) =>
        streamed([m]).some((e) => e.type === lastEvent.type && e.time === lastEvent.time),
      );
      const page = streamed(sse.messages);
      const pageKeys = page.map((e) => ('request' in e ? `${e.type}:${e.request.requestId}` : undefined));
      const defined = pageKeys.filter((k) => k !== undefined);
      expect(new Set(defined).size).toBe(defined.length);
    } finally {
      for (const counter of counters) await terminate(counter);
    }
  });
});

describe('the lean stream (a page off the timeline)', () => {
  it('sends at most 500 sends per push, standing for all of them, and no steps of requests', async () => {
    const { url } = await attach();
    const { sse } = await stream(url);
    const counter = newActive(Adder);
    try {
      const before = sse.messages.length;
      await burst(counter, 1_500, 1_500); // 1500 sends within one push (every one sampled: few so far)
      const sends = (): Extract<Streamed, { type: 'request.sent' }>[] =>
        streamed(sse.messages.slice(before)).filter(
          (e): e is Extract<Streamed, { type: 'request.sent' }> => e.type === 'request.sent',
        );
      const total = (): number => sends().reduce((n, e) => n + e.sample, 0);
      await sse.waitFor(() => total() >= 1_500);
      const pushes = sse.messages.slice(before).filter((m) => m.event === 'events');
      for (const push of pushes) {
        const events = (push.data as { events: Streamed[] }).events;
        expect(events.filter((e) => e.type === 'request.sent').length).toBeLessThanOrEqual(500);
        expect(events.some((e) => e.type !== 'request.sent' && e.type.startsWith('request.'))).toBe(false);
      }
      expect(total()).toBe(1_500);
      expect(sends().some((e) => e.sample > 1)).toBe(true);
    } finally {
      await terminate(counter);
    }
  });
});

describe('the outgoing batch', () => {
  it('is bounded by count: the oldest are dropped, and the push says how many', async () => {
    const { url } = await attach({ batchLimit: 10 });
    const { sse, hello } = await stream(url);
    await setView(url, hello.client, 'timeline'); // every event, not the lean stream
    const counter = newActive(Counter);
    try {
      await burst(counter, 40); // ~200 events within one batch period
      const push = await sse.waitFor(
        (m) => m.event === 'events' && (m.data as { dropped: number }).dropped > 0,
      );
      const { events, dropped } = push.data as { events: Streamed[]; dropped: number };
      expect(events).toHaveLength(10);
      // The newest are kept: the burst's last requests finished within the push.
      const finished = events.filter((e) => e.type === 'request.finished');
      expect(finished.length).toBeGreaterThan(0);
      // At least sent, started and finished per request.
      expect(events.length + dropped).toBeGreaterThanOrEqual(40 * 3);
      // The ring is bounded by its own count, not the batch's.
      expect((await ring(url)).length).toBeGreaterThan(10);
    } finally {
      await terminate(counter);
    }
  });

  it('refuses a batchLimit that is not a positive integer', async () => {
    await expect(attachDebugger({ batchLimit: 0 })).rejects.toThrow(/`batchLimit` to be an integer >= 1/);
  });
});
