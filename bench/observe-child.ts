/**
 * One process of the `observe` family (started by observe-bench.ts): switches on one
 * set-up, makes the objects, then runs the case-rounds its parent asks for and answers each
 * with its duration. The parent interleaves the rounds of every set-up's process, so that
 * the machine's drift hits them alike; only one process works at a time.
 *
 * The same compiled module also runs beside the build of an older commit (copied next to
 * its dist/src): it imports the package as a namespace and reaches what the older build
 * lacks (`configureDeadlocks`) only in set-ups that the older build never runs.
 *
 *   node --expose-gc dist/bench/observe-child.js --setup none   (an IPC channel is required)
 */
import { performance } from 'node:perf_hooks';
import { asyncContextEnabled } from '../src/context.js';
import * as lib from '../src/index.js';
import { ObsCounter, ObsRelay } from './observe-fixtures.js';
import {
  DEBUGGER_SETUPS,
  type FromChild,
  OBS_IN_FLIGHT,
  SETTLE_MS,
  type Setup,
  type ToChild,
  WORKLOADS,
} from './observe-shared.js';

/** The debugger's entry, loaded by URL (it is optional, and absent from older builds). */
interface DebuggerEntry {
  attachDebugger(options: { port?: number; host?: string }): Promise<{ url: string; close(): Promise<void> }>;
}

const setup = process.argv[process.argv.indexOf('--setup') + 1] as Setup;

function send(message: FromChild): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send!(message, (error: Error | null) => (error ? reject(error) : resolve())),
  );
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('observe-child runs under observe-bench.ts (IPC needed)');
  // 1. The set-up, before any object exists (as an application would configure it).
  let close: () => Promise<void> = async () => {};
  let url: string | undefined;
  if (setup === 'events') lib.onEvent(() => {});
  else if (setup === 'events-sampled') lib.onEvent(() => {}, { requests: 'sampled' });
  else if (setup === 'track') lib.configureDeadlocks({ trackAwaits: true });
  else if (setup === 'detect') lib.configureDeadlocks({ detect: true });
  else if (DEBUGGER_SETUPS.includes(setup)) {
    const entry = new URL('../debugger/index.js', import.meta.url).href;
    const { attachDebugger } = (await import(entry)) as DebuggerEntry;
    const handle = await attachDebugger({ port: 0, host: '127.0.0.1' });
    if (setup === 'debugger+detect') lib.configureDeadlocks({ detect: true });
    url = handle.url;
    close = () => handle.close();
  } else if (setup !== 'none') throw new Error(`unknown set-up ${String(setup)}`);

  // 2. The objects, and the workloads in the order of WORKLOADS.
  const counter = lib.newActive(ObsCounter);
  const relay = lib.newActive(ObsRelay, [lib.newActive(ObsCounter)]);
  const remote = lib.newActive(ObsCounter, [], { node: lib.createWorkerNode() });
  // One function per workload, each with its own call site: a loop shared by several
  // workloads sees several targets, and how V8 then compiles it varies from process to
  // process (measured: one workload bimodal across processes, ~1.4 M vs ~0.6 M ops/s).
  const batch: PromiseLike<number>[] = new Array(OBS_IN_FLIGHT);
  const runs: ((ops: number) => Promise<void>)[] = [
    async (ops) => {
      for (let i = 0; i < ops; i++) await counter.inc();
    },
    async (ops) => {
      for (let done = 0; done < ops; done += OBS_IN_FLIGHT) {
        for (let j = 0; j < OBS_IN_FLIGHT; j++) batch[j] = counter.inc();
        await Promise.all(batch);
      }
    },
    async (ops) => {
      for (let i = 0; i < ops; i++) await relay.relay();
    },
    async (ops) => {
      for (let done = 0; done < ops; done += OBS_IN_FLIGHT) {
        for (let j = 0; j < OBS_IN_FLIGHT; j++) batch[j] = relay.relay();
        await Promise.all(batch);
      }
    },
    async (ops) => {
      for (let done = 0; done < ops; done += OBS_IN_FLIGHT) {
        for (let j = 0; j < OBS_IN_FLIGHT; j++) batch[j] = remote.inc();
        await Promise.all(batch);
      }
    },
  ];
  if (runs.length !== WORKLOADS.length) throw new Error('observe-child: one run function per workload');
  // Every object answers before anything is timed (this also waits for the worker to load).
  for (const value of [await counter.inc(), await relay.relay(), await remote.inc()]) {
    if (typeof value !== 'number') throw new Error(`a call answered ${String(value)}, not a number`);
  }
  const settles = setup === 'events' || setup === 'events-sampled' || DEBUGGER_SETUPS.includes(setup);

  // 3. Case-rounds, one at a time, as the parent asks.
  process.on('message', (message: ToChild) => {
    void (async () => {
      try {
        if (message.t === 'stop') {
          await close();
          await lib.shutdown();
          await send({ t: 'stopped' });
          process.exit(0);
        }
        globalThis.gc?.();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await runs[message.workload]!(message.ops);
        const ms = performance.now() - t0;
        let settleBusyMs = 0;
        if (settles) {
          const before = performance.eventLoopUtilization();
          await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
          settleBusyMs = performance.eventLoopUtilization(before).active;
        }
        const cpu = process.cpuUsage(cpu0);
        await send({ t: 'done', ms: ms + settleBusyMs, settleBusyMs, cpuMs: (cpu.user + cpu.system) / 1000 });
      } catch (error) {
        await send({
          t: 'error',
          message: error instanceof Error ? (error.stack ?? error.message) : String(error),
        });
      }
    })();
  });
  await send({ t: 'ready', asyncContext: asyncContextEnabled(), ...(url === undefined ? {} : { url }) });
}

main().catch(async (error: unknown) => {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (process.send !== undefined) await send({ t: 'error', message: text }).catch(() => undefined);
  process.stderr.write(`observe-child (${setup}): ${text}\n`);
  process.exit(1);
});
