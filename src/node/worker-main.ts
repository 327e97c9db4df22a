/**
 * The main module of a worker-thread node (loaded by the bootstrap in placement.ts). It sets
 * the node's identity, links it to the main thread and to the other workers, and hosts the
 * objects other nodes create here: it imports each class from its module and constructs it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RequestState } from '../../scheduler/index.js';
import { ActiveObject, Request, setLocalNode, shutdown } from '../active.js';
import { endsSettled } from '../checkpoint/checkpoints.js';
import { currentWaiter, enableAsyncContext, setAwaitTracking } from '../context.js';
import { ArgumentError } from '../errors.js';
import { onEvent } from '../events.js';
import '../index.js'; // the public API and its hooks, as user modules will import them
import { Link } from './link.js';
import { ID_STRIDE, MAIN_NODE, type WorkerInit } from './protocol.js';
import { node } from './runtime.js';

const init = workerData as WorkerInit;
if (parentPort === null) throw new Error('multiactive: worker-main runs only in a worker thread');
setLocalNode(init.node, init.node * ID_STRIDE);

const onBatch = node.onBatch.bind(node);
// The parent port keeps this thread alive until the main thread ends it.
node.addLink(new Link(MAIN_NODE, parentPort, onBatch, { keepAlive: true, onUnsendable: node.onUnsendable }));

node.onPeer = (peer, port) => {
  node.addLink(new Link(peer, port, onBatch, { onUnsendable: node.onUnsendable }));
  port.on('close', () => node.peerClosed(peer));
};

// When this node ends by its own code (process.exit(), an uncaught error), say which journaled
// call of a recoverable object was running (its code, or code in its async context): the main
// thread quarantines a call that ends its node twice (src/node/recovery.ts). Posted from the
// handlers, it reaches the main thread before the worker's 'exit'. A node terminated from
// outside, or out of memory, runs no handler and blames no call.
let dyingSaid = false;
const sayDying = (): void => {
  if (dyingSaid) return;
  dyingSaid = true;
  const running = currentWaiter();
  if (!(running instanceof Request) || running.dseq === 0 || !running.obj.recoverable) return;
  // A call that has ended (code it left behind, a timer, runs now) answered already: its effects
  // may have been seen, so it is not quarantined (that would undo them): the object is given up.
  const answered = running.state === RequestState.Done || running.state === RequestState.Cancelled;
  const main = node.links.get(MAIN_NODE);
  main?.send({ t: 'ft.dying', id: running.obj.id, dseq: running.dseq, ...(answered ? { answered } : {}) });
  main?.flush();
};
process.on('exit', sayDying);
process.on('uncaughtExceptionMonitor', sayDying);

// The checkpoints of objects with keys the runtime chose are removed before the thread ends
// (the main thread terminates it once this settles).
node.shutdownLocal = (immediate) => shutdown({ immediate }).then(endsSettled);

// Events go to the main thread while it observes: batched per turn, on its clock, with
// errors reduced to what can be cloned.
const clockShift = performance.timeOrigin - init.timeOrigin;
let stopForwarding: (() => void) | undefined;
node.onObserve = (mode) => {
  stopForwarding?.();
  stopForwarding = undefined;
  if (!mode.on) return;
  const main = node.linkTo(MAIN_NODE);
  // Subscribed as the main thread's listeners are: this node produces only what they want.
  stopForwarding = onEvent(
    (event) => {
      const sent: Record<string, unknown> = { ...event, time: event.time + clockShift };
      if ('error' in event && event.error !== undefined) sent.error = plainError(event.error);
      main.send({ t: 'events', events: [sent] });
    },
    { requests: mode.requests },
  );
};
if (init.observed.on) node.onObserve(init.observed);
if (init.trackAwaits) setAwaitTracking(true);
for (const [id, at] of init.moved) node.movedTo.set(id, at);

function plainError(error: unknown): unknown {
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  try {
    return structuredClone(error);
  } catch {
    return String(error);
  }
}

node.construct = async (message, args) => {
  const module = (await import(message.module)) as Record<string, unknown>;
  let ctor = module[message.exportName];
  if (typeof ctor !== 'function') {
    ctor = Object.values(module).find(
      (value) => typeof value === 'function' && value.name === message.className,
    );
  }
  if (typeof ctor !== 'function') {
    throw new ArgumentError(
      `${message.className} is not exported by ${message.module}: worker nodes import classes by module and name. ` +
        'Export the class (or pass { exportName } to newActive if it is exported under another name).',
    );
  }
  const options = {
    ...(message.checkpointKey === undefined ? {} : { checkpointKey: message.checkpointKey }),
    ...(message.restore === undefined ? {} : { restore: message.restore }),
  };
  const obj = new ActiveObject(ctor as new (...a: never[]) => object, args, options, message.id, true);
  // Created by the main thread, with checkpoints: recoverable (src/node/recovery.ts). Its
  // deliveries are journaled there, and its durable checkpoints trim the journal.
  if (obj.checkpoints !== undefined && Math.floor(message.id / ID_STRIDE) === MAIN_NODE) {
    obj.recoverable = true;
    // Its calls carry deterministic keys, which needs to know the calling request after awaits.
    node.hostsRecoverable = true;
    enableAsyncContext();
    obj.keyedResults = () => node.keyedResultsOf(obj.id);
    // Its journal entry leaves before it starts: a request that ends the node at once (a
    // synchronous process.exit) is journaled, so it is replayed (and can be quarantined).
    obj.beforeJournaledStart = () => node.links.get(MAIN_NODE)?.flush();
    obj.replayProgress = (dseq, phase) => {
      const main = node.links.get(MAIN_NODE);
      // At once: what the main thread believes running when the node dies counts against it
      // (see recovery.ts, step 4).
      main?.send({ t: 'ft.replay', id: obj.id, dseq, phase });
      main?.flush();
    };
    obj.onCheckpointDurable = (info, meta) => {
      // The main thread drops the journal entries this checkpoint holds.
      obj.journalBase = Math.max(obj.journalBase, meta.dseq - meta.pending.length);
      obj.journalFull = false;
      node.links.get(MAIN_NODE)?.send({
        t: 'ft.checkpointed',
        id: obj.id,
        seq: info.seq,
        dseq: meta.dseq,
        pending: meta.pending,
      });
    };
    const replay = message.replay;
    if (replay !== undefined) {
      // Recovery: the journaled deliveries the restored state lacks go first, in order.
      // Once it is back (restored, its replay queued), the main thread knows it made progress.
      const ready = (): void => {
        node.links.get(MAIN_NODE)?.send({ t: 'ft.replay', id: obj.id, dseq: 0, phase: 'ready' });
      };
      if (obj.restored !== undefined) {
        obj.afterRestore = (meta) => {
          node.replayInto(obj, replay, meta);
          ready();
        };
        await obj.restored;
      } else {
        node.replayInto(obj, replay, { dseq: 0, pending: [] });
        ready();
      }
    }
  }
  return obj;
};
