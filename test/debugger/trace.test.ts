/**
 * Trace files (written, read back), the Chrome trace export (its structure, lanes and flows),
 * the command line, and the page's model (which the page and the export share).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Alone,
  ArgumentError,
  Group,
  MemberOf,
  type MultiactiveEvent,
  newActive,
  onEvent,
  selfRef,
  terminate,
} from 'multiactive';
import { attachDebugger, readTrace, recordTrace, toChromeTrace } from 'multiactive/debugger';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cli } from '../../debugger/cli.js';
import { Model, modelFromTrace } from '../../debugger/page/model.js';

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

@Group('read', { selfCompatible: true })
class Shelf {
  @MemberOf('read') async look(ms: number): Promise<number> {
    await pause(ms); // a timer, not a future: the request keeps its slot
    return ms;
  }
  /** Calls itself through the queue, so the call has a caller (a compatible one: no deadlock). */
  @MemberOf('read') async tidy(): Promise<number> {
    return 1 + (await selfRef<Shelf>(this).count());
  }
  @MemberOf('read') count(): number {
    return 0;
  }
  /** Ungrouped: runs alone. */
  @Alone() broken(): void {
    throw new RangeError('out of shelf');
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiactive-trace-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a small scenario: two overlapping reads, then a tidy that calls the object itself, then a failure. */
async function scenario(): Promise<void> {
  const shelf = newActive(Shelf);
  await Promise.all([shelf.look(15), shelf.look(15)]);
  await shelf.tidy().catch(() => undefined);
  await shelf.broken().catch(() => undefined);
  await terminate(shelf);
}

async function recorded(): Promise<MultiactiveEvent[]> {
  const events: MultiactiveEvent[] = [];
  const stop = onEvent((event) => events.push(event));
  await scenario();
  stop();
  return events;
}

describe('trace files', () => {
  it('recordTrace writes every event as a JSON line, and readTrace reads them back', async () => {
    const path = join(dir, 'run.jsonl');
    const recording = recordTrace(path);
    await scenario();
    await recording.stop();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      type: 'trace.header',
      format: 'multiactive-trace',
      version: 1,
    });
    const trace = readTrace(readFileSync(path, 'utf8'));
    expect(trace.events).toHaveLength(lines.length - 1);
    expect(trace.events.filter((e) => e.type === 'request.started').map((e) => e.request.method)).toEqual([
      'look',
      'look',
      'tidy',
      'count',
      'broken',
    ]);
    const failure = trace.events.find((e) => e.type === 'request.finished' && !e.ok);
    expect(failure).toMatchObject({ error: { name: 'RangeError', message: 'out of shelf' } });
  });

  it('attachDebugger({ trace }) records the run until close', async () => {
    const path = join(dir, 'live.jsonl');
    const handle = await attachDebugger({ trace: path });
    await scenario();
    await handle.close();
    const trace = readTrace(readFileSync(path, 'utf8'));
    expect(trace.events.some((e) => e.type === 'object.created' && e.className === 'Shelf')).toBe(true);
  });

  it('refuses a trace path that cannot be written when attaching or starting, not when closing', async () => {
    const notAFolder = join(dir, 'a-file');
    writeFileSync(notAFolder, 'x');
    const cases: [string, RegExp][] = [
      [join(dir, 'missing-folder', 'run.jsonl'), /ENOENT/],
      [dir, /EISDIR/], // a directory
      [join(notAFolder, 'run.jsonl'), /ENOTDIR/],
    ];
    for (const [path, reason] of cases) {
      const error = await attachDebugger({ trace: path }).catch((e: unknown) => e);
      expect(error, path).toBeInstanceOf(ArgumentError);
      expect((error as Error).message).toContain(`Cannot write the trace file ${JSON.stringify(path)}`);
      expect((error as Error).message).toMatch(reason);
      expect(() => recordTrace(path)).toThrow(ArgumentError);
    }
    // Nothing was left attached: a trace that can be written still works afterwards.
    const path = join(dir, 'ok.jsonl');
    const handle = await attachDebugger({ trace: path });
    await handle.close();
    expect(readTrace(readFileSync(path, 'utf8')).header.format).toBe('multiactive-trace');
  });

  it('refuses a file that is not a trace, and skips a last line cut short', () => {
    expect(() => readTrace('{"type":"request.sent"}\n')).toThrow(ArgumentError);
    const header = JSON.stringify({ type: 'trace.header', format: 'multiactive-trace', version: 1 });
    expect(
      readTrace(`${header}\n{"type":"object.terminated","time":1,"objectId":1,"className":"A"}\n{"type":"req`)
        .events,
    ).toHaveLength(1);
  });
});

describe('the Chrome trace export', () => {
  it('gives complete events per object lane, a process per node, and send -> start flows with matching ids', async () => {
    const events = await recorded();
    const { traceEvents } = toChromeTrace(events);
    const complete = traceEvents.filter((e) => e.ph === 'X' && e.cat === 'request');
    expect(complete.map((e) => e.name).sort()).toEqual(['broken', 'count', 'look', 'look', 'tidy']);
    for (const e of complete) {
      expect(e.pid).toBe(0);
      expect(e.ts).toBeGreaterThanOrEqual(0);
      expect(e.dur).toBeGreaterThan(0);
    }
    // The two reads overlapped: each on its own lane (thread).
    const looks = complete.filter((e) => e.name === 'look');
    expect(looks[0]!.tid).not.toBe(looks[1]!.tid);
    expect(traceEvents).toContainEqual(expect.objectContaining({ ph: 'M', name: 'process_name', pid: 0 }));
    const threadNames = traceEvents
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => e.args?.name);
    expect(threadNames).toEqual(
      expect.arrayContaining(['(main script)', expect.stringMatching(/^Shelf#\d+ · lane 1$/)]),
    );

    const starts = traceEvents.filter((e) => e.ph === 's');
    const ends = traceEvents.filter((e) => e.ph === 'f');
    expect(starts).toHaveLength(5);
    expect(ends.map((e) => e.id).sort()).toEqual(starts.map((e) => e.id).sort());
    for (const start of starts) {
      const end = ends.find((e) => e.id === start.id)!;
      expect(end.ts).toBeGreaterThanOrEqual(start.ts!);
      expect(end.bp).toBe('e');
      // A flow binds to a slice: the end lands where a request's slice starts.
      expect(complete.some((x) => x.tid === end.tid && x.ts === end.ts)).toBe(true);
    }
    // `count` was sent by `tidy`: its flow starts on tidy's lane, not on the main script's.
    const countSlice = complete.find((e) => e.name === 'count')!;
    const tidySlice = complete.find((e) => e.name === 'tidy')!;
    const countFlow = starts.find((e) => e.id === countSlice.args?.requestId)!;
    expect(countFlow.tid).toBe(tidySlice.tid);
    expect(JSON.parse(JSON.stringify({ traceEvents }))).toEqual({ traceEvents });
  });

  it('is served by the live server as /trace.json', async () => {
    const handle = await attachDebugger();
    try {
      await scenario();
      const response = await fetch(`${handle.url}trace.json`);
      expect(response.headers.get('content-disposition')).toMatch(/attachment/);
      const body = (await response.json()) as { traceEvents: { ph: string }[] };
      expect(body.traceEvents.filter((e) => e.ph === 'X').length).toBeGreaterThan(5);
    } finally {
      await handle.close();
    }
  });

  it('converts a trace file from the command line', async () => {
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.json');
    const recording = recordTrace(input);
    await scenario();
    await recording.stop();
    const printed: string[] = [];
    expect(cli(['to-chrome', input, output], (line) => printed.push(line))).toBe(0);
    expect(printed[0]).toMatch(/out\.json: \d+ trace events from \d+ events/);
    const chrome = JSON.parse(readFileSync(output, 'utf8')) as { traceEvents: unknown[] };
    expect(chrome.traceEvents.length).toBeGreaterThan(10);
    expect(cli(['to-perfetto'], () => undefined)).toBe(2);
  });
});

describe("the page's model", () => {
  it('puts overlapping requests on separate lanes, counts calls between objects, and reads trace files', async () => {
    const events = await recorded();
    const model = new Model();
    for (const event of JSON.parse(JSON.stringify(events)) as MultiactiveEvent[]) model.add(event);
    const records = [...model.tracker.requests.values()];
    const looks = records.filter((r) => r.method === 'look');
    expect(looks.map((r) => r.lane).sort()).toEqual([0, 1]);
    expect(records.find((r) => r.method === 'tidy')?.lane).toBe(0);
    const [object] = [...model.objects.values()];
    expect(object?.name).toMatch(/^Shelf#\d+$/);
    expect(object?.policy?.groups.map((g) => g.name)).toEqual(['read']);
    const edges = [...model.edges.values()].map((e) => [e.from, e.to === object?.objectId, e.count]);
    // Four calls from the main script, one from the object to itself (tidy -> count).
    expect(edges).toEqual(
      expect.arrayContaining([
        ['main', true, 4],
        [object?.objectId, true, 1],
      ]),
    );

    const header = JSON.stringify({ type: 'trace.header', format: 'multiactive-trace', version: 1 });
    const fromFile = modelFromTrace([header, ...events.map((e) => JSON.stringify(e))].join('\n'));
    expect(fromFile.tracker.requests.size).toBe(model.tracker.requests.size);
    expect(() => modelFromTrace('{}')).toThrow(/Not a multiactive trace/);
  });

  it('attributes a call from another node to its caller through the sender call.remote, in either order', () => {
    const ref = (requestId: number, objectId: number, method: string) => ({
      requestId,
      objectId,
      className: objectId === 1 ? 'A' : 'B',
      method,
      group: undefined,
    });
    for (const remoteFirst of [true, false]) {
      const model = new Model();
      model.add({
        type: 'request.sent',
        time: 1,
        request: ref(10, 1, 'go'),
        callerRequestId: undefined,
        via: undefined,
      });
      model.add({ type: 'request.started', time: 2, request: ref(10, 1, 'go') });
      const remote = {
        type: 'call.remote',
        time: 3,
        node: 0,
        rid: 7,
        to: 1,
        objectId: 2,
        method: 'work',
        callerRequestId: 10,
      };
      const sent = {
        type: 'request.sent',
        time: 4,
        request: ref(11, 2, 'work'),
        callerRequestId: undefined,
        via: { node: 0, rid: 7 },
      };
      for (const event of remoteFirst ? [remote, sent] : [sent, remote]) model.add(event);
      expect(model.edges.get('1->2')?.count, `call.remote ${remoteFirst ? 'first' : 'second'}`).toBe(1);
    }
  });

  it('counts a call from another node at its sender (call.remote names the caller object and the sample), once', () => {
    const model = new Model();
    model.add({
      type: 'call.remote',
      time: 3,
      node: 1,
      rid: 7,
      to: 2,
      objectId: 20,
      method: 'work',
      callerRequestId: undefined,
      callerObjectId: 10,
      sample: 4,
    });
    // The receiver's side of the same call (and of another, unsampled at the sender): not counted again.
    model.add({
      type: 'request.sent',
      time: 4,
      request: { requestId: 99, objectId: 20, className: 'B', method: 'work', group: undefined },
      callerRequestId: undefined,
      callerObjectId: undefined,
      via: { node: 1, rid: 7 },
      sample: 1,
    });
    expect(model.edges.get('10->20')?.count).toBe(4);
    expect(model.edges.get('10->20')?.approx).toBe(true);
    expect([...model.edges.keys()]).toEqual(['10->20']);
  });

  it('scales edge counts and rates by the sample each send stands for, and marks them approximate', () => {
    const ref = (requestId: number, objectId: number) => ({
      requestId,
      objectId,
      className: 'C',
      method: 'm',
      group: undefined,
    });
    const model = new Model();
    const sent = (requestId: number, time: number, sample: number, callerObjectId: number | undefined) =>
      model.add({
        type: 'request.sent',
        time,
        request: ref(requestId, 2),
        callerRequestId: undefined,
        callerObjectId,
        via: undefined,
        sample,
      });
    // Exact while every request is observed...
    sent(1, 1000, 1, 1);
    sent(2, 1100, 1, 1);
    const edge = model.edges.get('1->2')!;
    expect(edge).toMatchObject({ count: 2, approx: false });
    expect(model.rateApprox(edge)).toBe(false);
    // ... an estimate once a send stands for 8: its caller object named by the sender.
    sent(3, 1200, 8, 1);
    expect(edge).toMatchObject({ count: 10, approx: true });
    expect(model.rate(edge)).toBeCloseTo(10 / 5);
    expect(model.rateApprox(edge)).toBe(true);
    // Sends outside the rate window leave the rate (and its "≈") but not the count.
    sent(4, 1200 + 6000, 1, 1);
    expect(edge.count).toBe(11);
    expect(model.rate(edge)).toBeCloseTo(1 / 5);
    expect(model.rateApprox(edge)).toBe(false);
    expect(edge.approx).toBe(true);
    // No caller object and no caller request: the main script.
    sent(5, 7300, 4, undefined);
    expect(model.edges.get('main->2')).toMatchObject({ count: 4, approx: true });
    // The header's "sampled 1 in N": the latest sample per node over the rate window.
    expect(model.sampleNow()).toBe(4);
  });

  it('ends requests in flight where the debugger goes back to sampling, and takes their real end if it comes', () => {
    const ref = (requestId: number) => ({
      requestId,
      objectId: 1,
      className: 'C',
      method: 'm',
      group: undefined,
    });
    const model = new Model();
    model.add({ type: 'debugger.mode', time: 0, requests: 'all' });
    for (const id of [1, 2]) {
      model.add({
        type: 'request.sent',
        time: id,
        request: ref(id),
        callerRequestId: undefined,
        via: undefined,
        sample: 1,
      });
      model.add({ type: 'request.started', time: id + 1, request: ref(id) });
    }
    model.add({ type: 'debugger.mode', time: 10, requests: 'sampled' });
    expect(model.requestMode).toBe('sampled');
    const [one, two] = [model.tracker.requests.get(1)!, model.tracker.requests.get(2)!];
    expect(one).toMatchObject({ end: 10, cut: true });
    expect(two.segments.at(-1)?.end).toBe(10);
    // Request 2 was sampled: its finish still comes, and is its real end.
    model.add({ type: 'request.finished', time: 12, request: ref(2), ok: true, error: undefined });
    expect(two).toMatchObject({ end: 12, cut: false, ok: true });
    expect(two.segments.at(-1)?.end).toBe(12);
  });

  it('counts what each object served, exactly, from the wait-for graph', () => {
    const model = new Model();
    const graph = (time: number, served: number) => ({
      graph: {
        time,
        nodes: [0],
        objects: [
          {
            objectId: 7,
            className: 'C',
            name: 'C#7',
            node: 0,
            limit: 1,
            hardLimit: false,
            active: 1,
            waiting: 0,
            groups: [],
            served,
          },
        ],
        requests: [],
      },
    });
    model.setWaits(graph(1000, 100));
    const object = model.objects.get(7)!;
    expect(object.served).toBe(100);
    expect(model.servedRate(object)).toBeUndefined(); // one poll: no rate yet
    model.setWaits(graph(1500, 400));
    expect(object.served).toBe(400);
    expect(model.servedRate(object)).toBeCloseTo(600);
    // An object the graph no longer lists (nothing in flight): its rate goes stale, its count stays.
    model.setWaits({ graph: { time: 5000, nodes: [0], objects: [], requests: [] } });
    expect(model.servedRate(object)).toBeUndefined();
    expect(object.served).toBe(400);
  });
});
