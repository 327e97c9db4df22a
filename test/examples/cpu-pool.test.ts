/**
 * examples/cpu-pool keeps working, and shows what it claims: inside a request,
 * `await waitFor(pool.run(...))` frees the request's slot while the pool computes, so under a
 * soft limit of 1 another request of the same object is served meanwhile; awaiting the pool's
 * promise directly holds the slot. Read from the event stream of the run.
 */
import type { MultiactiveEvent } from 'multiactive';
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/cpu-pool/main.js';

type RequestEvent = Extract<MultiactiveEvent, { request: unknown }>;

/** Index in `events` of the first event of `type` for request `id`. */
function at(events: readonly MultiactiveEvent[], type: MultiactiveEvent['type'], id: number): number {
  return events.findIndex((e) => e.type === type && (e as RequestEvent).request.requestId === id);
}

/** The request ids in the order they were sent, with their methods. */
function sent(events: readonly MultiactiveEvent[]): { id: number; method: string }[] {
  return events
    .filter((e): e is Extract<MultiactiveEvent, { type: 'request.sent' }> => e.type === 'request.sent')
    .map((e) => ({ id: e.request.requestId, method: e.request.method }));
}

/** The most requests of `method` in service at once (started, not finished; waits count). */
function maxInService(events: readonly MultiactiveEvent[], method: string): number {
  let current = 0;
  let max = 0;
  for (const e of events) {
    if (!('request' in e) || e.request.method !== method) continue;
    if (e.type === 'request.started') max = Math.max(max, ++current);
    else if (e.type === 'request.finished') current--;
  }
  return max;
}

describe('examples/cpu-pool', () => {
  it('serves status() while the pool computes under waitFor, and not while a request holds its slot', async () => {
    const lines: string[] = [];
    const run = await main((line) => lines.push(line));
    expect(run.primes).toBe(33_860); // primes below 400,000
    const order = sent(run.events);
    const next = (method: string): { compute: number; status: number } => {
      const i = order.findIndex((r) => r.method === method);
      const status = order.slice(i + 1).find((r) => r.method === 'status');
      expect(i).toBeGreaterThanOrEqual(0);
      expect(status).toBeDefined();
      return { compute: order[i]!.id, status: status!.id };
    };
    const events = run.events;

    // With waitFor: countPrimes starts, waits by necessity, and status() starts before it finishes.
    const free = next('countPrimes');
    const waiting = at(events, 'request.waiting', free.compute);
    expect(at(events, 'request.started', free.compute)).toBeLessThan(waiting);
    expect(waiting).toBeLessThan(at(events, 'request.started', free.status));
    expect(at(events, 'request.finished', free.status)).toBeLessThan(
      at(events, 'request.finished', free.compute),
    );

    // Holding the slot: no wait by necessity, and status() starts only after the computation.
    const held = next('countPrimesHolding');
    expect(at(events, 'request.waiting', held.compute)).toBe(-1);
    expect(at(events, 'request.finished', held.compute)).toBeLessThan(
      at(events, 'request.started', held.status),
    );

    // Four sent at once: with waitFor they are all in service together (the pool computes
    // them two by two); holding the slot, the soft limit of 1 serves them one at a time.
    expect(maxInService(events, 'countPrimes')).toBe(4);
    expect(maxInService(events, 'countPrimesHolding')).toBe(1);

    expect(run.statusMsWithWaitFor).toBeLessThan(run.statusMsHolding);
    expect(lines[0]).toContain('33860 primes');
  });
});
