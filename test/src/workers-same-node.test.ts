/**
 * References between objects of one worker node work like any other (issue 9, item 12): a
 * reference to an object on worker N, handed to another object on N (by the main thread, or
 * before the object exists there), is called like a reference from anywhere else.
 */
import { type Active, createWorkerNode, newActive, shutdown, workerNodes } from 'multiactive';
import { afterAll, describe, expect, it } from 'vitest';
import { Counter, RingNode, RingSink, sinkReached } from '../fixtures/workers.js';
import { within } from '../support/within.js';

afterAll(async () => {
  await shutdown({ immediate: true });
});

describe('references between objects of one worker node', () => {
  it('a reference given to an object of the same node, once both exist, is called there', async () => {
    const w = createWorkerNode();
    const a = newActive(Counter, [10], { node: w });
    const b = newActive(Counter, [0], { node: w });
    expect(await a.inc(0)).toBe(10);
    expect(await b.inc(0)).toBe(0);
    expect(await b.addFrom(a, 5)).toBe(15); // a: 15, then b adds 15
    expect(await a.inc(0)).toBe(15);
  });

  it('a reference given before its object exists on that node is called once it does', async () => {
    const w = createWorkerNode();
    // Both made in one turn: b's call carrying a's reference may arrive while a is still
    // being created there (its module is being imported).
    const a = newActive(Counter, [1], { node: w });
    const b = newActive(Counter, [0], { node: w });
    expect(await b.addFrom(a, 1)).toBe(2);
  });

  it('a ring of 50 objects per worker, passed fire-and-forget, reaches its end', async () => {
    const nodes = [createWorkerNode(), createWorkerNode()];
    const ring: Active<RingNode>[] = Array.from({ length: 100 }, (_, i) =>
      newActive(RingNode, [], { node: nodes[Math.floor(i / 50)]! }),
    );
    // Linked as soon as made, while the objects are still being created on their nodes.
    ring.forEach((node, i) => void node.link(ring[(i + 1) % ring.length]!));
    const reached = new Promise<void>((resolve) => sinkReached.set('ring', resolve));
    const sink = newActive(RingSink, ['ring']);
    void ring[0]!.pass(250, sink);
    await within(reached, 10_000, 'the ring');
    expect(workerNodes().length).toBeGreaterThanOrEqual(2);
  });
});
