/**
 * docs/fault-tolerance.md: "a checkpoint never deadlocks an object". Two objects call each
 * other back (a chain of depth n alternates between them), with checkpoints due after every
 * request, under soft limits, no limit and a hard limit; on one thread and on workers; with
 * on-demand checkpoints asked for during the chains.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { control, createWorkerNode, newActive, shutdown } from '../../../src/index.js';
import * as L from './fixtures/liveness.js';
import { record, within } from './helpers.js';

afterEach(async () => {
  await within(shutdown({ timeoutMs: 3000 }), 15000, 'shutdown');
});

type Name = 'SoftOne' | 'Unlimited' | 'Hard' | 'SoftTwo';
const pairs: [Name, Name][] = [
  ['SoftOne', 'SoftOne'],
  ['SoftOne', 'Unlimited'],
  ['SoftOne', 'Hard'],
  ['Unlimited', 'Hard'],
  ['Hard', 'Hard'],
  ['SoftTwo', 'Unlimited'],
  ['SoftTwo', 'SoftOne'],
];

describe('checkpoints never deadlock callbacks', () => {
  for (const where of ['local', 'workers'] as const)
    for (const [x, y] of pairs) {
      // Two chains at once under a hard limit of 16 (a chain of depth 12 holds 7 slots of each object), eight otherwise.
      const width = x === 'Hard' || y === 'Hard' ? 2 : 8;
      for (const ck of [false, true])
        it(`${where}: ${x}${ck ? '' : 'Plain'} <-> ${y}${ck ? '' : 'Plain'}, chains of depth 1..12, ${width} at once${ck ? ', checkpoint after every request' : ' (control, no checkpoints)'}`, async () => {
          const classes = L as unknown as Record<string, typeof L.SoftOne>;
          const rec = record();
          const nodes = where === 'workers' ? [createWorkerNode(), createWorkerNode()] : [];
          const a = newActive(
            classes[ck ? x : `${x}Plain`]!,
            [],
            where === 'workers' ? { node: nodes[0] } : {},
          );
          const b = newActive(
            classes[ck ? y : `${y}Plain`]!,
            [],
            where === 'workers' ? { node: nodes[1] } : {},
          );
          await a.setPeer(b as never);
          await b.setPeer(a as never);
          const fs: Promise<number>[] = [];
          for (let round = 0; round < 3; round++)
            for (let i = 0; i < width; i++) {
              const n = 1 + ((i * 5 + round) % 12);
              fs.push(Promise.resolve((i % 2 ? a : b).ping(n, `${round}.${i}`)));
            }
          // On-demand checkpoints while the chains run (local objects only: control() is per node).
          const extra = where === 'local' && ck ? [control(a).checkpoint(), control(b).checkpoint()] : [];
          const got = await within(Promise.all(fs), 20000, `${x}<->${y} chains complete`);
          const expected: number[] = [];
          for (let round = 0; round < 3; round++)
            for (let i = 0; i < width; i++) expected.push(1 + ((i * 5 + round) % 12));
          expect(got).toEqual(expected);
          await within(Promise.all(extra), 5000, 'on-demand checkpoints resolve');
          const ca = await a.count();
          const cb = await b.count();
          // Each chain of depth n makes n+1 pings, n of them with a second hit.
          const hits = expected.reduce((s, n) => s + 2 * n + 1, 0);
          expect(ca + cb).toBe(hits);
          const taken = rec.events.filter((e) => e.type === 'checkpoint.taken').length;
          expect(taken > 2, 'checkpoints were taken iff declared').toBe(ck);
          rec.stop();
        }, 40000);
    }
});
