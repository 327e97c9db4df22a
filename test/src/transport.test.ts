/**
 * The transport contract (src/node/transport.ts), checked against every transport the runtime
 * has: the loopback (in-process) and a MessagePort pair (what links between worker threads use;
 * a Worker is the same port seen from the main thread). Cluster mode's transport will be added
 * to the list and must pass the same cases.
 */
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { LoopbackPort, type Transport } from '../../src/node/transport.js';
import { within } from '../support/within.js';

interface Pair {
  readonly sender: Transport;
  readonly receiver: Transport;
  readonly end: () => void;
}

const transports: Record<string, () => Pair> = {
  loopback: () => {
    const port = new LoopbackPort();
    return { sender: port, receiver: port, end: () => port.close() };
  },
  'MessagePort pair': () => {
    const { port1, port2 } = new MessageChannel();
    return {
      sender: port1,
      receiver: port2,
      end: () => {
        port1.close();
        port2.close();
      },
    };
  },
};

/**
 * The receiver's one listener (a transport has one: its link): resolves with the first `count`
 * batches; `each` sees every batch as it arrives.
 */
function receive(
  receiver: Transport,
  count: number,
  each?: (batch: unknown[]) => void,
): Promise<unknown[][]> {
  return new Promise((resolve) => {
    const got: unknown[][] = [];
    receiver.on('message', (batch) => {
      each?.(batch);
      got.push(batch);
      if (got.length === count) resolve(got);
    });
  });
}

describe.each(Object.entries(transports))('transport contract: %s', (_name, make) => {
  it('delivers every batch once, whole and in order, as copies, in a later turn than the send', async () => {
    const { sender, receiver, end } = make();
    try {
      let sending = true;
      let reentrant = 0;
      const got = receive(receiver, 200, () => {
        if (sending) reentrant++; // delivered inside postMessage: never
      });
      const sent: unknown[][] = [];
      const shared = { n: 0 };
      for (let i = 0; i < 200; i++) {
        const batch = [1, i, 'm', [shared, new Map([[i, i]])]];
        sent.push(structuredClone(batch));
        sender.postMessage(batch);
        shared.n++; // a change after the send is not seen: the batch was copied when sent
      }
      sending = false;
      const batches = await within(got, 5000, 'the 200 batches');
      expect(batches).toEqual(sent);
      expect(reentrant).toBe(0);
    } finally {
      end();
    }
  });

  it('throws at once for a batch that cannot be copied, and sends nothing of it', async () => {
    const { sender, receiver, end } = make();
    try {
      const got = receive(receiver, 2);
      sender.postMessage([1, 'before']);
      expect(() => sender.postMessage([1, 'bad', () => 0])).toThrow(/could not be cloned/);
      sender.postMessage([1, 'after']);
      expect(await within(got, 5000, 'the two good batches')).toEqual([
        [1, 'before'],
        [1, 'after'],
      ]);
    } finally {
      end();
    }
  });

  it('delivers nothing after close', async () => {
    const { sender, receiver, end } = make();
    const seen: unknown[][] = [];
    const first = receive(receiver, 1, (batch) => seen.push(batch));
    sender.postMessage([1, 'first']);
    await within(first, 5000, 'the first batch');
    end();
    try {
      sender.postMessage([1, 'late']);
    } catch {
      // A closed MessagePort drops silently; either way, nothing arrives.
    }
    // Two full turns of the event loop: a loopback delivers on the next one, a port before.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([[1, 'first']]);
  });
});
