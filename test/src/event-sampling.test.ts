/**
 * Request events on demand (issue #4: an attached debugger must stay cheap): a listener asks
 * for every request's events, a sample of them, or none. A sampled request carries all its
 * events; under load the sample shrinks in powers of two, and each sampled request says how
 * many it stands for.
 */
import { ArgumentError, type MultiactiveEvent, newActive, onEvent, shutdown, waitGraph } from 'multiactive';
import { afterEach, describe, expect, it } from 'vitest';

afterEach(async () => {
  await shutdown({ immediate: true });
});

class Echo {
  echo(n: number): number {
    return n;
  }
}

class Caller {
  async viaEcho(echo: Echo & { echo(n: number): PromiseLike<number> }, n: number): Promise<number> {
    return await echo.echo(n);
  }
}

function collect(requests: 'all' | 'sampled' | 'none'): { events: MultiactiveEvent[]; stop: () => void } {
  const events: MultiactiveEvent[] = [];
  const stop = onEvent((e) => events.push(e), { requests });
  return { events, stop };
}

describe('request events on demand', () => {
  it("'none': object events only", async () => {
    const { events, stop } = collect('none');
    const echo = newActive(Echo);
    await echo.echo(1);
    stop();
    expect(events.map((e) => e.type)).toEqual(['object.created']);
  });

  it("'sampled': every request while few, each with all its events; fewer under load, scaled by `sample`", async () => {
    const { events, stop } = collect('sampled');
    const echo = newActive(Echo);
    for (let i = 0; i < 10; i++) await echo.echo(i);
    const few = events.filter((e) => e.type === 'request.sent').length;
    expect(few).toBe(10);
    const burst = Array.from({ length: 20_000 }, (_, i) => echo.echo(i));
    await Promise.all(burst);
    stop();
    const sent = events.filter(
      (e): e is Extract<MultiactiveEvent, { type: 'request.sent' }> => e.type === 'request.sent',
    );
    expect(sent.length).toBeLessThan(20_010);
    expect(sent.length).toBeGreaterThan(2000);
    const samples = sent.map((e) => e.sample);
    expect(Math.max(...samples)).toBeGreaterThan(1);
    for (const s of samples) expect(Math.log2(s) % 1).toBe(0);
    // Estimated total from the sample: within a factor of 2 of the truth.
    const estimate = samples.reduce((a, b) => a + b, 0);
    expect(estimate).toBeGreaterThan(10_000);
    expect(estimate).toBeLessThan(40_000);
    // Every sampled request has its whole life.
    const finished = new Set(
      events
        .filter((e) => e.type === 'request.finished')
        .map((e) => (e as { request: { requestId: number } }).request.requestId),
    );
    for (const e of sent) expect(finished.has(e.request.requestId)).toBe(true);
  });

  it("'all' wins over 'sampled' while both listen", async () => {
    const sampled = collect('sampled');
    const all = collect('all');
    const echo = newActive(Echo);
    await Promise.all(Array.from({ length: 5000 }, (_, i) => echo.echo(i)));
    all.stop();
    sampled.stop();
    expect(all.events.filter((e) => e.type === 'request.sent')).toHaveLength(5000);
    expect(sampled.events.filter((e) => e.type === 'request.sent')).toHaveLength(5000);
  });

  it('request.sent names the calling object; waitGraph counts what each object served', async () => {
    const { events, stop } = collect('all');
    const echo = newActive(Echo);
    const caller = newActive(Caller);
    await caller.viaEcho(echo as never, 7);
    stop();
    const sent = events.filter(
      (e): e is Extract<MultiactiveEvent, { type: 'request.sent' }> => e.type === 'request.sent',
    );
    const byMethod = new Map(sent.map((e) => [e.request.method, e]));
    expect(byMethod.get('viaEcho')!.callerObjectId).toBeUndefined();
    expect(byMethod.get('echo')!.callerObjectId).toBe(byMethod.get('viaEcho')!.request.objectId);
    const graph = await waitGraph();
    const served = new Map(graph.objects.map((o) => [o.className, o.served]));
    expect(served.get('Echo')).toBe(1);
    expect(served.get('Caller')).toBe(1);
  });

  it('rejects an unknown mode', () => {
    expect(() => onEvent(() => {}, { requests: 'some' as never })).toThrow(ArgumentError);
  });
});
