/** Worker-thread nodes: the same active objects, placed across threads (SPEC §8). */

import { threadId } from 'node:worker_threads';
import { createWorkerNode, newActive, shutdown } from 'multiactive';
import { afterAll, describe, expect, it } from 'vitest';
import { Counter } from '../fixtures/workers.js';

afterAll(async () => {
  await shutdown({ immediate: true });
});

describe('worker nodes', () => {
  it('an object placed on a worker node serves calls there', async () => {
    const w = createWorkerNode();
    const c = newActive(Counter, [10], { node: w });
    expect(await c.inc(5)).toBe(15);
    expect(await c.where()).not.toBe(threadId);
  });
});
