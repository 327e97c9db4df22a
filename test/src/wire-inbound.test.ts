/**
 * What arrives on a node's ports is checked before it is handled (issue 9, item 8): a worker's
 * own code can post anything there. A malformed message, or one that node may not send, is
 * dropped with a `message.dropped` event and the nodes go on serving; a node settles only the
 * futures of calls it was asked to run.
 */
import { createWorkerNode, type MultiactiveEvent, newActive, onEvent, shutdown } from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Forwarder, Poster } from '../fixtures/posters.js';
import { Gate } from '../fixtures/scenarios.js';
import { Counter } from '../fixtures/workers.js';
import { within } from '../support/within.js';

const dropped: Extract<MultiactiveEvent, { type: 'message.dropped' }>[] = [];
let stop: () => void;
beforeAll(() => {
  stop = onEvent((e) => {
    if (e.type === 'message.dropped') dropped.push(e);
  });
});
afterAll(async () => {
  stop();
  await shutdown({ immediate: true });
});

// Tags of the flat batch entries (protocol.ts): CALL 1, VALUE 2, OTHER 3, FTCALL 4, FTLOG 5.
const VALUE = 2;
const OTHER = 3;

/**
 * Resolves when the main thread has dropped the marker message a test posts last: every message
 * posted before it on that port was handled by then (one port, in order).
 */
function markerDropped(): Promise<void> {
  return within(
    new Promise<void>((resolve) => {
      const off = onEvent((e) => {
        if (e.type !== 'message.dropped' || !e.reason.includes('the end of the spoofs')) return;
        off();
        resolve();
      });
    }),
    10_000,
    'the marker message being dropped',
  );
}

describe('messages a worker posts on its own', () => {
  it('malformed ones are dropped with an event; both nodes go on serving', async () => {
    const w = createWorkerNode();
    const poster = newActive(Poster, [], { node: w });
    const local = newActive(Counter);
    const before = dropped.length;
    const garbage = [
      null,
      42,
      'text',
      { t: 'create' },
      [],
      [1],
      [1, 'rid', 'id', 'm', null, false],
      [VALUE, 0],
      [OTHER, null],
      [OTHER, { t: 'no such message' }],
      [OTHER, { t: 'forward', key: 'not a key', to: 0 }],
      [99, 1, 2, 3],
      [5, 'journal', 1],
    ];
    expect(await poster.post(garbage)).toBe(garbage.length);
    // The next call's answer leaves the worker after every message it posted: all handled.
    expect(await poster.ping()).toBe('pong');
    expect(await local.inc(1)).toBe(1);
    expect(dropped.length - before).toBe(garbage.length - 1); // `[]` is an empty batch: nothing in it
    expect(dropped.slice(before).every((e) => e.from === w.id && e.node === 0)).toBe(true);
    expect(dropped[before]!.reason).toMatch(/not a batch/);
  });

  it('a spoofed value does not settle a call it was not asked to run', async () => {
    const [w1, w2] = [createWorkerNode(), createWorkerNode()];
    const poster = newActive(Poster, [], { node: w1 });
    const gate = newActive(Gate, [], { node: w2 });
    expect(await gate.ready()).toBe(true);
    const waiting = gate.wait(); // in flight on w2 until the gate opens
    // Values for every call number the main thread may have used, as if w1 computed them (w1
    // may settle its own calls so, `post` among them: it runs them), then a marker that is
    // dropped: once it is, every spoof before it was handled (one port, in order).
    const spoofs: unknown[] = Array.from({ length: 300 }, (_, rid) => [
      VALUE,
      0,
      rid,
      true,
      'spoofed',
      false,
    ]);
    spoofs.push([OTHER, { t: 'the end of the spoofs' }]);
    const marked = markerDropped();
    void poster.post(spoofs);
    await marked;
    gate.open('the real value');
    expect(await waiting).toBe('the real value');
    expect(await poster.ping()).toBe('pong');
  });

  it('a spoofed value does not settle a future received from another node, before or after it arrives', async () => {
    const [w1, w2, w3] = [createWorkerNode(), createWorkerNode(), createWorkerNode()];
    const poster = newActive(Poster, [], { node: w1 });
    const gate = newActive(Gate, [], { node: w2 });
    const forwarder = newActive(Forwarder, [], { node: w3 });
    expect(await gate.ready()).toBe(true);
    expect(await poster.ping()).toBe('pong');
    // Values for every future w3 may have numbered, as if w1 computed them: some arrive
    // before the future does (kept aside, then not believed), some after (dropped).
    const spoofs = (): unknown[] => [
      ...Array.from({ length: 50 }, (_, rid) => [VALUE, w3.id, rid, true, 'spoofed', false]),
      [OTHER, { t: 'the end of the spoofs' }],
    ];
    let marked = markerDropped();
    void poster.post(spoofs());
    await marked;
    // A future computed on w2, handed to the main thread by w3.
    const { future: passed } = (await forwarder.pass(gate)) as { future: PromiseLike<unknown> };
    marked = markerDropped();
    void poster.post(spoofs());
    await marked;
    gate.open('the real value');
    expect(await passed).toBe('the real value');
  });

  it("messages only the main thread sends are not believed from a worker ('ft.lost', 'ft.moved', a whole-node 'terminate')", async () => {
    const [w1, w2] = [createWorkerNode(), createWorkerNode()];
    const poster = newActive(Poster, [], { node: w1 });
    const counter = newActive(Counter, [], { node: w2 });
    expect(await counter.inc(1)).toBe(1);
    const before = dropped.length;
    await poster.post([
      [OTHER, { t: 'ft.lost', node: w2.id, recovered: [] }],
      [OTHER, { t: 'ft.moved', id: 1, to: w1.id }],
      [OTHER, { t: 'terminate', rid: 1, id: 0, immediate: true }],
      [
        OTHER,
        { t: 'create', id: 1, module: 'file:///x.js', exportName: 'X', className: 'X', args: [], enc: false },
      ],
    ]);
    expect(await poster.ping()).toBe('pong');
    expect(await counter.inc(1)).toBe(2);
    expect(dropped.length - before).toBe(4);
  });
});
