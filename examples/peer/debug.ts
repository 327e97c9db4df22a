/**
 * `npm start -- --debug [--deadlock] [--port N]`: the demo with the web debugger attached.
 *
 * Keeps traffic going so the page has something to show: every `ROUND_MS`, a burst on a Peer
 * (lookups overlapping, routing alone) and a copy between two replicas (an object calling
 * another). With `--deadlock`, two more replicas deadlock (replication.ts): detection finds the
 * cycle, the page shows it, and the explanation is printed here.
 */
import { configureDeadlocks, type Deadlock, newActive, onEvent, shutdown } from 'multiactive';
import { attachDebugger } from 'multiactive/debugger';
import { Peer } from './peer.js';
import { Replica } from './replication.js';

// Slow enough to read on the page, busy enough that rates and the timeline move.
const ROUND_MS = 400;

export interface DebugDemoOptions {
  /** Also run the deadlocking replicas. */
  deadlock: boolean;
  /** The debugger's port (`0`: any free port). @default 0 */
  port?: number;
  print?: (line: string) => void;
}

export interface DebugDemo {
  readonly url: string;
  /** Resolves with the deadlock once detection reports it (only with `deadlock: true`). */
  readonly deadlockFound: Promise<Deadlock>;
  /** Stops the traffic, drops every request in flight, closes the debugger. */
  close(): Promise<void>;
}

export async function debugDemo(options: DebugDemoOptions): Promise<DebugDemo> {
  const print = options.print ?? console.log;
  const debug = await attachDebugger({ port: options.port ?? 0 });
  print(`multiactive debugger: ${debug.url}`);

  let stopWatching = (): void => undefined;
  const deadlockFound = new Promise<Deadlock>((resolve) => {
    stopWatching = onEvent((event) => {
      if (event.type !== 'deadlock.found') return;
      print('Deadlock found (see the Deadlocks tab):');
      print(event.deadlock.message);
      resolve(event.deadlock);
    });
  });

  let running = true;
  let wake = (): void => undefined;
  const traffic = (async () => {
    const peer = newActive(Peer, ['p1']);
    const [a, b] = [newActive(Replica), newActive(Replica)];
    for (let round = 0; running; round++) {
      const key = `k${round % 10}`;
      await Promise.all([
        peer.add(key, `v${round}`),
        peer.get(key),
        peer.get('k0'),
        peer.log(`round ${round}`),
      ]);
      await a.put(key, `v${round}`);
      await b.copyFrom(a, key); // b's request calls a: an arrow from b to a in the graph
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, ROUND_MS);
      });
    }
  })();

  if (options.deadlock) {
    configureDeadlocks({ detect: true });
    const [c, d] = [newActive(Replica), newActive(Replica)];
    print(
      'Starting c.put(k, v, d): it awaits d.copyFrom(c, k), which awaits c.get(k), queued behind c.put...',
    );
    c.put('k', 'v', d).catch(() => undefined); // settles only when shut down
  }

  return {
    url: debug.url,
    deadlockFound,
    async close() {
      running = false;
      wake();
      stopWatching();
      configureDeadlocks({ detect: false });
      // Immediate: the deadlocked requests can only be dropped.
      await shutdown({ immediate: true });
      await traffic.catch(() => undefined);
      await debug.close();
    },
  };
}
