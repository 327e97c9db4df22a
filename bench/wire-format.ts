/**
 * Why `call`/`value` messages travel as flat tuples (src/node/protocol.ts): raw postMessage
 * between the main thread and one worker, lockstep batches of 100 messages, each message
 * either an object (`{ t: 'call', rid, id, method, args, enc }`) or a flat tuple in one array.
 *
 *   npm run build && node dist/bench/wire-format.js
 *
 * Prints messages/s per layout, median of 5 rounds after a warm-up, interleaved.
 */
import { Worker } from 'node:worker_threads';

const ECHO = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (batch) => {
  if (batch.length > 0 && typeof batch[0] === 'object') {
    parentPort.postMessage(batch.map((m) => ({ t: 'value', key: [0, m.rid], ok: true, value: m.rid, enc: false })));
  } else {
    const out = [];
    for (let i = 0; i < batch.length; i += 6) out.push(2, 0, batch[i + 1], true, batch[i + 1], false);
    parentPort.postMessage(out);
  }
});`;

const worker = new Worker(ECHO, { eval: true });
let reply: (value: unknown) => void = () => {};
worker.on('message', (message) => reply(message));
const roundTrip = (batch: unknown[]): Promise<unknown> =>
  new Promise((resolve) => {
    reply = resolve;
    worker.postMessage(batch);
  });

const layouts: Record<string, (from: number) => unknown[]> = {
  objects: (from) =>
    Array.from({ length: 100 }, (_, j) => ({
      t: 'call',
      rid: from + j,
      id: 1,
      method: 'inc',
      args: [],
      enc: false,
    })),
  'flat tuples': (from) => {
    const batch: unknown[] = [];
    for (let j = 0; j < 100; j++) batch.push(1, from + j, 1, 'inc', null, false);
    return batch;
  },
};

const N = 200_000;
const results: Record<string, number[]> = { objects: [], 'flat tuples': [] };
for (let round = 0; round < 6; round++) {
  for (const [name, make] of Object.entries(layouts)) {
    const started = performance.now();
    for (let i = 0; i < N; i += 100) await roundTrip(make(i));
    if (round > 0) results[name]!.push(N / ((performance.now() - started) / 1000));
  }
}
for (const [name, rounds] of Object.entries(results)) {
  const median = [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)]!;
  console.log(
    `${name.padEnd(12)} ${(median / 1e3).toFixed(0)}k messages/s (lockstep batches of 100, median of 5)`,
  );
}
await worker.terminate();
