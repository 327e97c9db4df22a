/**
 * Wait-by-necessity detection through the request's async context (SPEC §5): awaiting a
 * future anywhere in a request's async call tree releases its slot under a soft limit;
 * awaiting anything else keeps it.
 */
import {
  type Active,
  control,
  Group,
  MemberOf,
  type MultiactiveEvent,
  newActive,
  onEvent,
  ThreadConfig,
} from 'multiactive';
import { describe, expect, it } from 'vitest';
import { gate, settle, type Trace, traceEachTest } from '../support/trace.js';

let trace: Trace;
traceEachTest((t) => {
  trace = t;
});

@Group('g', { selfCompatible: true })
class Source {
  private gates = new Map<string, ReturnType<typeof gate<number>>>();
  #get(key: string) {
    let g = this.gates.get(key);
    if (g === undefined) this.gates.set(key, (g = gate<number>()));
    return g;
  }
  @MemberOf('g') value(key: string): Promise<number> {
    return this.#get(key).promise;
  }
  @MemberOf('g') open(key: string, value: number): void {
    this.#get(key).open(value);
  }
}

@Group('w', { selfCompatible: true })
@ThreadConfig({ threadPoolSize: 1 })
class Worker {
  log: string[] = [];
  async #helper(source: Active<Source>, key: string): Promise<number> {
    return await source.value(key); // deep in the async call tree
  }
  @MemberOf('w') async nested(source: Active<Source>): Promise<number> {
    this.log.push('nested:start');
    const v = await this.#helper(source, 'a');
    this.log.push('nested:end');
    return v;
  }
  @MemberOf('w') async both(source: Active<Source>): Promise<number> {
    this.log.push('both:start');
    const [x, y] = await Promise.all([source.value('x'), source.value('y')]);
    this.log.push('both:end');
    return x + y;
  }
  @MemberOf('w') async io(until: Active<Source>): Promise<void> {
    this.log.push('io:start');
    // Not a future: a native promise (like I/O) keeps the slot.
    await new Promise<void>((resolve) => setTimeout(resolve, 20));
    void until;
    this.log.push('io:end');
  }
  @MemberOf('w') quick(): string {
    this.log.push('quick');
    return 'quick';
  }
  @MemberOf('w') read(): string[] {
    return this.log;
  }
}

describe('wait-by-necessity', () => {
  it('awaiting a future in a nested async helper releases the slot', async () => {
    const s = newActive(Source);
    const w = newActive(Worker);
    const v = w.nested(s);
    await trace.until(() => trace.count('request.waiting') === 1, 'nested to wait');
    expect(await w.quick()).toBe('quick');
    await s.open('a', 5);
    expect(await v).toBe(5);
    expect(await w.read()).toEqual(['nested:start', 'quick', 'nested:end']);
  });

  it('Promise.all of two futures keeps the request waiting until both arrive', async () => {
    const s = newActive(Source);
    const w = newActive(Worker);
    const v = w.both(s);
    await trace.until(() => trace.count('request.waiting') === 1, 'both to wait');
    await s.open('x', 1);
    await settle();
    // One value arrived: the request resumed, found y still pending, and waits again.
    expect(control(w).stats()).toMatchObject({ active: 0, waiting: 1 });
    expect(await w.quick()).toBe('quick');
    await s.open('y', 2);
    expect(await v).toBe(3);
    expect(await w.read()).toEqual(['both:start', 'quick', 'both:end']);
  });

  it('awaiting a native promise keeps the slot (no wait-by-necessity)', async () => {
    const s = newActive(Source);
    const w = newActive(Worker);
    const io = w.io(s);
    const quick = w.quick();
    await Promise.all([io, quick]);
    expect(await w.read()).toEqual(['io:start', 'io:end', 'quick']);
    expect(trace.count('request.waiting')).toBe(0);
  });

  it('a soft limit of 1 with a self-compatible group is cooperative scheduling', async () => {
    @Group('task', { selfCompatible: true })
    @ThreadConfig({ threadPoolSize: 1 })
    class Cog {
      log: string[] = [];
      @MemberOf('task') async task(name: string, source: Active<Source>): Promise<void> {
        this.log.push(`${name}:1`);
        await source.value(name);
        this.log.push(`${name}:2`);
      }
      @MemberOf('task') read(): string[] {
        return this.log;
      }
    }
    const s = newActive(Source);
    const cog = newActive(Cog);
    const a = cog.task('a', s);
    const b = cog.task('b', s);
    await trace.until(() => trace.count('request.waiting') === 2, 'both tasks to wait');
    await s.open('b', 0);
    await b;
    await s.open('a', 0);
    await a;
    expect(await cog.read()).toEqual(['a:1', 'b:1', 'b:2', 'a:2']);
    expect(trace.maxConcurrent('active', (r) => r.method === 'task')).toBe(1);
  });
});

describe('conditions that throw', () => {
  it('count as incompatible and are reported as an event', async () => {
    @Group('p', {
      selfCompatible: true,
      condition: (a) => {
        if (a.args[0] === 'boom') throw new Error('condition failed');
        return true;
      },
    })
    class Picky {
      @MemberOf('p') async put(key: string): Promise<string> {
        await new Promise((r) => setImmediate(r));
        return key;
      }
    }
    const events: MultiactiveEvent[] = [];
    const stop = onEvent((e) => events.push(e));
    const p = newActive(Picky);
    const results = await Promise.all([p.put('ok'), p.put('boom'), p.put('fine')]);
    stop();
    expect(results).toEqual(['ok', 'boom', 'fine']);
    const failed = events.filter((e) => e.type === 'condition.failed');
    expect(failed.length).toBeGreaterThan(0);
    const first = failed[0]!;
    expect(first.type === 'condition.failed' && (first.error as Error).message).toBe('condition failed');
    // The condition throws only when 'boom' is the request being admitted: 'fine' is
    // admitted beside 'ok' (and beside the queued 'boom'); 'boom' runs alone, last.
    const ids = trace.events.filter((e) => e.type === 'request.sent').map((e) => e.request.requestId);
    const [ok, boom, fine] = ids;
    const pairs = trace
      .overlaps(
        (iv) => iv.method === 'put',
        (iv) => iv.method === 'put',
      )
      .map(([x, y]) => [x.requestId, y.requestId].sort());
    expect(pairs).toEqual([[ok, fine].sort()]);
    expect(trace.startOrder().length).toBe(3);
    expect(trace.intervals().map((iv) => iv.requestId)).toEqual([ok, fine, boom]);
  });
});
