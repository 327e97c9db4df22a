/**
 * The debugger demos keep working: examples/deadlock (finds its deadlock, prints it, exits) and
 * `npm start -- --debug --deadlock` (traffic on the page, and a multiactive deadlock found).
 */
import { type MultiactiveEvent, onEvent } from 'multiactive';
import { describe, expect, it } from 'vitest';
import { main as deadlockMain } from '../../examples/deadlock/main.js';
import { debugDemo } from '../../examples/peer/debug.js';

describe('examples/deadlock', () => {
  it('prints the debugger URL and the deadlock it finds, then ends its objects and server', async () => {
    const printed: string[] = [];
    await deadlockMain(['--port', '0'], (line) => printed.push(line));
    const url = printed[0]?.match(/^multiactive debugger: (http:\/\/127\.0\.0\.1:\d+\/)$/)?.[1];
    expect(url).toBeDefined();
    const report = printed.join('\n');
    expect(report).toMatch(/Deadlock: 3 requests wait for each other in a cycle/);
    expect(report).toMatch(
      /`Pinger#\d+\.start` \(ungrouped, node 0\) blocks `Pinger#\d+\.ping` \(ungrouped, node 0\): an ungrouped request is compatible with nothing/,
    );
    await expect(fetch(url!)).rejects.toThrow(); // the server is closed
  });
});

describe('npm start -- --debug --deadlock', () => {
  it('serves the debugger with live traffic between objects, and finds the replicas deadlock', async () => {
    const printed: string[] = [];
    // A copy between replicas: b's request calls a. Seen once the traffic loop has run a round.
    let copied!: () => void;
    const copiedOnce = new Promise<void>((resolve) => (copied = resolve));
    const stop = onEvent((event: MultiactiveEvent) => {
      if (event.type === 'request.finished' && event.request.method === 'copyFrom' && event.ok) copied();
    });
    const demo = await debugDemo({ deadlock: true, port: 0, print: (line) => printed.push(line) });
    try {
      expect(printed[0]).toBe(`multiactive debugger: ${demo.url}`);
      const deadlock = await demo.deadlockFound;
      expect(deadlock.cycle.map((step) => `${step.request.method}:${step.rule}`)).toEqual([
        'put:awaits',
        'copyFrom:awaits',
        'get:incompatible',
      ]);
      expect(printed.join('\n')).toMatch(/group `lookup` is not compatible with group `routing`/);

      await copiedOnce;
      const snapshot = (await (await fetch(`${demo.url}api/snapshot`)).json()) as {
        events: MultiactiveEvent[];
      };
      const sent = snapshot.events.filter((e) => e.type === 'request.sent');
      // The copy's `get` was sent from inside `copyFrom`: the graph draws an object-to-object arrow.
      expect(sent.some((e) => e.request.method === 'get' && e.callerRequestId !== undefined)).toBe(true);
      expect(snapshot.events.some((e) => e.type === 'deadlock.found')).toBe(true);
    } finally {
      stop();
      await demo.close();
    }
    await expect(fetch(demo.url)).rejects.toThrow();
  });
});
