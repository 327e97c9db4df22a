/**
 * A deadlock, found and shown: `npx tsx examples/deadlock/main.ts [--stay] [--port N]`.
 *
 * Attaches the web debugger, turns deadlock detection on, and starts the classic ping-pong
 * deadlock (ping-pong.ts). Prints the debugger's URL and, once detection reports the cycle, its
 * explanation. Then it ends the two objects and the server and exits, or, with `--stay`, keeps
 * serving the page until Ctrl-C.
 */
import { pathToFileURL } from 'node:url';
import { configureDeadlocks, type Deadlock, newActive, onEvent, terminate } from 'multiactive';
import { attachDebugger } from 'multiactive/debugger';
import { Pinger, Ponger } from './ping-pong.js';

export interface DeadlockDemo {
  readonly url: string;
  readonly deadlock: Deadlock;
  /** Ends the two objects (their requests are abandoned), detection and the debugger. */
  close(): Promise<void>;
}

export interface DeadlockDemoOptions {
  /** The debugger's port (`0`: any free port). @default 0 */
  port?: number;
  print?: (line: string) => void;
  /** Give up if no deadlock is reported within this time. @default 10_000 */
  timeoutMs?: number;
}

export async function runDeadlockDemo(options: DeadlockDemoOptions = {}): Promise<DeadlockDemo> {
  const print = options.print ?? console.log;
  const debug = await attachDebugger({ port: options.port ?? 0 });
  print(`multiactive debugger: ${debug.url}`);
  // Look often: the demo should find its deadlock at once (the default is every 500 ms).
  configureDeadlocks({ detect: true, intervalMs: 100 });

  let timer: NodeJS.Timeout | undefined;
  let stop = (): void => undefined;
  const found = new Promise<Deadlock>((resolve, reject) => {
    stop = onEvent((event) => {
      if (event.type === 'deadlock.found') resolve(event.deadlock);
    });
    timer = setTimeout(
      () => reject(new Error(`No deadlock reported within ${options.timeoutMs ?? 10_000} ms`)),
      options.timeoutMs ?? 10_000,
    );
  });

  const pinger = newActive(Pinger);
  const ponger = newActive(Ponger);
  print('Pinger.start awaits Ponger.pong, which awaits Pinger.ping, queued behind Pinger.start...');
  // Never settles while the cycle lasts; rejected when the objects are terminated.
  pinger.start(ponger).catch(() => undefined);

  const close = async (): Promise<void> => {
    configureDeadlocks({ detect: false });
    await terminate(pinger, { immediate: true });
    await terminate(ponger, { immediate: true });
    await debug.close();
  };
  try {
    const deadlock = await found;
    print('Deadlock found:');
    print(deadlock.message);
    return { url: debug.url, deadlock, close };
  } catch (error) {
    await close();
    throw error;
  } finally {
    stop();
    clearTimeout(timer);
  }
}

export async function main(
  args: readonly string[],
  print: (line: string) => void = console.log,
): Promise<void> {
  const portAt = args.indexOf('--port');
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 0;
  const demo = await runDeadlockDemo({ port, print });
  if (args.includes('--stay')) {
    print(`Serving ${demo.url} until Ctrl-C (open the Deadlocks tab).`);
    await new Promise((resolve) => process.once('SIGINT', resolve));
  }
  await demo.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.slice(2));
}
