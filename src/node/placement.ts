/**
 * Placement (docs/nodes.md): where `newActive` puts an object, worker-thread nodes, the automatic
 * pool, references to objects on other nodes, and shutting the workers down.
 *
 * - `createWorkerNode()` starts a worker thread that hosts active objects. Workers are
 *   connected to each other directly (a MessageChannel per pair, made by the main thread),
 *   so requests between workers never pass through the main thread.
 * - `newActive(Cls, args, { node })`: `node` is a `NodeHandle`, a node id, `'auto'` (the
 *   pool: one worker per core, created on first use, round-robin), or `'local'` (default).
 * - The class is located in the worker by its module URL, captured when its decorators ran
 *   (or given as `{ module, exportName }`), and its export name (by default its class name).
 * - An idle runtime never keeps the process alive: links hold the process only while calls
 *   are in flight.
 */

import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { MessageChannel, type ResourceLimits, Worker } from 'node:worker_threads';
import { checkpointConfig, compilePolicy, originOf } from '../../decorators/index.js';
import {
  allocateObjectId,
  checkShutdownOptions,
  getLocalNode,
  methodsOf,
  setPlacementHooks,
  stubClass,
} from '../active.js';
import { defaultCheckpointKey } from '../checkpoint/keys.js';
import { awaitTracking } from '../context.js';
import { copyArguments } from '../copy.js';
import { ArgumentError, describe } from '../errors.js';
import { localMode, onObservedChange } from '../events.js';
import { NamedFutureCore } from '../future.js';
import { ACTIVE_OBJECT } from '../symbols.js';
import { Link } from './link.js';
import { MAIN_NODE, MAX_NODES, type NodeId, type WorkerInit } from './protocol.js';
import { abandonNode, forgetRecoverable, recoverNode, registerRecoverable } from './recovery.js';
import { node } from './runtime.js';

/** A node objects can be placed on. */
export interface NodeHandle {
  readonly id: NodeId;
  readonly kind: 'main' | 'worker';
}

/** Where `newActive` places an object. */
export type Placement = 'local' | 'auto' | { readonly id: NodeId } | NodeId;

// ------------------------------------------------------------ remote objects

/** The caller's side of an object that lives on another node. */
export class RemoteObject {
  readonly remote = true;
  /** Where it lives (changes if it is recovered on another node). */
  node: NodeId;
  /** Its class has `@Checkpoint` and the main thread journals its deliveries: calls survive its node. */
  recoverable = false;
  readonly id: number;
  readonly className: string;
  readonly name: string;
  /** Set when its node is lost, or if its creation could not even be sent. */
  lost: Error | undefined;

  constructor(nodeId: NodeId, id: number, className: string) {
    this.node = nodeId;
    this.id = id;
    this.className = className;
    this.name = `${className}#${id}@node${nodeId}`;
  }

  call(method: string, _groupId: number, args: unknown[], index?: number): object {
    if (this.lost !== undefined) {
      const failed = new NamedFutureCore(`${this.name}.${method}`);
      failed.reject(this.lost);
      return failed.proxy;
    }
    return node.call(this.node, this.id, this.name, method, args, index, this.recoverable).proxy;
  }

  terminate(immediate: boolean): Promise<void> {
    return node.terminateRemote(this.node, this.id, this.name, immediate);
  }
}

/** A stub for a remote object whose class this node does not know: any method name is a call. */
function proxyStub(remote: RemoteObject): object {
  const methods = new Map<string, (...args: unknown[]) => object>();
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === ACTIVE_OBJECT) return remote;
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      let method = methods.get(prop);
      if (method === undefined) {
        method = (...args: unknown[]) => remote.call(prop, 0, args);
        methods.set(prop, method);
      }
      return method;
    },
    has: (_target, prop) => prop === ACTIVE_OBJECT,
  });
}

node.makeRemoteStub = (nodeId, id, className) => {
  const stub = proxyStub(new RemoteObject(nodeId, id, className));
  node.remoteStubs.set(id, stub);
  return stub;
};

// ------------------------------------------------------------ worker nodes

/** A worker-thread node (created from the main thread). */
export class WorkerNode implements NodeHandle {
  readonly id: NodeId;
  readonly kind = 'worker' as const;
  readonly worker: Worker;
  /** `terminate()` was called: its death is not a fault. */
  ending = false;
  /** Its death was handled. */
  ended = false;

  constructor(id: NodeId, worker: Worker) {
    this.id = id;
    this.worker = worker;
  }

  /** Settles when the node has ended; set by the first `terminate()`. */
  private termination: Promise<void> | undefined;
  /** Ends a graceful termination under way now (`why`: for the callers' NodeLostError). */
  private cutShort: ((why: string | undefined) => void) | undefined;

  /**
   * End this node. Graceful by default: its objects refuse new calls, serve what is queued,
   * then the thread ends; if that takes longer than `timeoutMs` (default 30 s), the thread is
   * terminated then. `immediate`: the thread is terminated at once; calls in flight to it
   * reject with `NodeLostError`. An immediate call ends a graceful one under way too (both
   * settle when the thread has ended); a second graceful call joins the first.
   * Throws `ArgumentError` for bad options.
   */
  terminate(options?: { immediate?: boolean; timeoutMs?: number }): Promise<void> {
    const { immediate, timeoutMs } = checkShutdownOptions(options, 'WorkerNode.terminate');
    const late = immediate
      ? ''
      : `its graceful terminate() did not end within ${timeoutMs} ms (\`timeoutMs\`)`;
    return this.end(immediate, timeoutMs, late);
  }

  /**
   * @internal `terminate()`, for `shutdown()` too. `late`: why the thread is terminated, for
   * the callers' NodeLostError, when `timeoutMs` passes (or, if immediate, from the start;
   * empty: no reason given).
   */
  end(immediate: boolean, timeoutMs: number, late: string): Promise<void> {
    if (this.termination !== undefined) {
      if (immediate) this.cutShort?.(undefined);
      return this.termination;
    }
    this.ending = true;
    this.termination = this.stop(immediate, timeoutMs, late);
    return this.termination;
  }

  /**
   * 1. Graceful: ask the node to shut down (object id 0 names the whole node) and wait for
   *    its answer, for `timeoutMs` at most, or until an immediate call cuts it short.
   * 2. Then, always: forget the node, fail what waited on it (unless its death was handled
   *    already: it died by itself), and terminate the thread, which stops even a thread
   *    busy in a loop.
   */
  private async stop(immediate: boolean, timeoutMs: number, late: string): Promise<void> {
    let reason = immediate && late !== '' ? `was terminated: ${late}` : 'was terminated';
    const link = node.links.get(this.id);
    if (!immediate && !this.ended && link !== undefined && !link.isClosed) {
      // A node gone already has nothing left to serve: its answer is a rejection, also fine.
      const served = node.terminateRemote(this.id, 0, `node ${this.id}`, false).then(
        () => undefined,
        () => undefined,
      );
      const cut = new Promise<string | undefined>((resolve) => {
        this.cutShort = resolve;
      });
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => this.cutShort?.(late), timeoutMs)
        : undefined;
      const why = await Promise.race([served, cut]);
      clearTimeout(timer);
      if (why !== undefined) reason = `was terminated: ${why}`;
    }
    this.cutShort = undefined;
    workers.delete(this.id);
    pool = pool.filter((w) => w !== this);
    if (!this.ended) {
      this.ended = true;
      node.nodeLost(this.id, reason);
      abandonNode(this.id, reason);
    }
    await this.worker.terminate();
  }
}

export const mainNode: NodeHandle = Object.freeze({ id: MAIN_NODE, kind: 'main' as const });

const workers = new Map<NodeId, WorkerNode>();
let pool: WorkerNode[] = [];
let nextPoolIndex = 0;
let nextNodeId = 1;

/**
 * The worker's bootstrap: load tsx when TypeScript sources run, then the worker main module.
 * Both of tsx's hooks, as its CLI registers them on the main thread: without the CommonJS one,
 * a CommonJS `.ts` module (a package without `"type": "module"`) imported here is read by
 * require() untransformed, taken for an ES module by its `import` syntax, and required while
 * that same import is loading it: `ERR_REQUIRE_CYCLE_MODULE`.
 */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx !== undefined) {
    require('node:module').createRequire(workerData.tsx)('tsx/cjs/api').register();
    (await import(workerData.tsx)).register();
  }
  await import(workerData.main);
})().catch((error) => setImmediate(() => { throw error; }));
`;

const ownUrl = import.meta.url;
const runningTypeScript = ownUrl.endsWith('.ts');
const workerMainUrl = new URL(runningTypeScript ? './worker-main.ts' : './worker-main.js', ownUrl).href;

/** tsx's API, when workers must load TypeScript (our sources, or the app runs under tsx). */
function tsxApiUrl(force: boolean | undefined): string | undefined {
  const wanted =
    force ??
    (runningTypeScript ||
      process.execArgv.some((arg) => arg.includes('tsx')) ||
      process.env.VITEST !== undefined);
  if (!wanted) return undefined;
  try {
    // require.resolve finds the CommonJS entry; the ESM one sits beside it.
    const cjs = createRequire(fileURLToPath(ownUrl)).resolve('tsx/esm/api');
    return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
  } catch {
    if (force === true || runningTypeScript) {
      throw new ArgumentError(
        'Worker nodes need tsx to load TypeScript sources (npm install -D tsx), or run the compiled JavaScript.',
      );
    }
    return undefined;
  }
}

export interface WorkerNodeOptions {
  /** Thread name (shows in debuggers and `process.title` tools). @default `multiactive-node-<id>` */
  name?: string | undefined;
  /** V8 heap limits of the worker (Node's `ResourceLimits`). */
  resourceLimits?: ResourceLimits | undefined;
  /**
   * Load TypeScript sources in the worker through tsx. By default: when this library itself
   * runs from sources, or the process runs under tsx or vitest.
   */
  typescript?: boolean | undefined;
}

const RESOURCE_LIMITS = [
  'maxYoungGenerationSizeMb',
  'maxOldGenerationSizeMb',
  'codeRangeSizeMb',
  'stackSizeMb',
];

/** `createWorkerNode`'s options, checked before any thread starts. Throws `ArgumentError`. */
function checkWorkerNodeOptions(options: WorkerNodeOptions | undefined): void {
  if (options === undefined) return;
  const got = (v: unknown) => (v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : typeof v);
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(
      `createWorkerNode: expected options to be an object ({ name, resourceLimits, typescript }), got ${got(options)}.`,
    );
  }
  for (const key of Object.keys(options)) {
    if (key !== 'name' && key !== 'resourceLimits' && key !== 'typescript') {
      throw new ArgumentError(
        `createWorkerNode: unknown option '${key}' (the options are name, resourceLimits, typescript).`,
      );
    }
  }
  const { name, resourceLimits, typescript } = options;
  if (name !== undefined && typeof name !== 'string') {
    throw new ArgumentError(`createWorkerNode: expected \`name\` to be a string, got ${got(name)}.`);
  }
  if (typescript !== undefined && typeof typescript !== 'boolean') {
    throw new ArgumentError(
      `createWorkerNode: expected \`typescript\` to be a boolean, got ${got(typescript)}.`,
    );
  }
  if (resourceLimits === undefined) return;
  if (resourceLimits === null || typeof resourceLimits !== 'object' || Array.isArray(resourceLimits)) {
    throw new ArgumentError(
      `createWorkerNode: expected \`resourceLimits\` to be an object of Node's ResourceLimits (${RESOURCE_LIMITS.join(', ')}), got ${got(resourceLimits)}.`,
    );
  }
  for (const [key, value] of Object.entries(resourceLimits)) {
    if (!RESOURCE_LIMITS.includes(key)) {
      throw new ArgumentError(
        `createWorkerNode: unknown resource limit '${key}' (the limits are ${RESOURCE_LIMITS.join(', ')}).`,
      );
    }
    if (value !== undefined && (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))) {
      throw new ArgumentError(
        `createWorkerNode: expected \`resourceLimits.${key}\` to be a positive number of megabytes, got ${typeof value === 'number' ? value : got(value)}.`,
      );
    }
  }
}

/**
 * Start a worker-thread node. Call it from the main thread. Objects are placed on it with
 * `newActive(Cls, args, { node })`; it starts at once and serves calls as soon as it has
 * loaded (calls made earlier wait in order).
 */
export function createWorkerNode(options?: WorkerNodeOptions): WorkerNode {
  checkWorkerNodeOptions(options);
  if (getLocalNode() !== MAIN_NODE) {
    throw new ArgumentError(
      'createWorkerNode() is called from the main thread; inside a worker, place objects by node id.',
    );
  }
  if (nextNodeId >= MAX_NODES) {
    throw new ArgumentError(
      `A system has at most ${MAX_NODES} nodes (future keys pack the node id); node ${nextNodeId} cannot be created.`,
    );
  }
  const id = nextNodeId++;
  const init: WorkerInit = {
    node: id,
    main: workerMainUrl,
    tsx: tsxApiUrl(options?.typescript),
    timeOrigin: performance.timeOrigin,
    observed: localMode(),
    trackAwaits: awaitTracking,
    moved: [...node.movedTo],
  };
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    workerData: init,
    name: options?.name ?? `multiactive-node-${id}`,
    ...(options?.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
  });
  const handle = new WorkerNode(id, worker);
  const link = new Link(id, worker, (from, batch) => node.onBatch(from, batch), {
    onUnsendable: node.onUnsendable,
  });
  node.addLink(link);
  // A death that was not asked for (crash, process.exit, uncaught error, worker.terminate()
  // from outside, out of memory): recover its recoverable objects (src/node/recovery.ts).
  const died = (reason: string, cause?: unknown): void => {
    if (handle.ended) return;
    handle.ended = true;
    workers.delete(id);
    const inPool = pool.includes(handle);
    pool = pool.filter((w) => w !== handle);
    node.nodeLost(id, reason, cause);
    if (handle.ending) return;
    // Its replacement is made as it was (heap limits, loader), and takes its place in the pool.
    recoverNode(id, reason, () => {
      const fresh = createWorkerNode(options);
      if (inPool) pool.push(fresh);
      return fresh;
    });
  };
  // Handled at 'exit', not at 'error': Node delivers the messages the worker posted before it
  // emits 'exit', so by then the main thread has every journal entry the worker sent.
  let crash: unknown;
  let crashed = false;
  worker.on('error', (error: unknown) => {
    crash = error;
    crashed = true;
  });
  worker.on('exit', (code) =>
    died(
      crashed ? `crashed (${crashReason(crash)})` : code === 0 ? 'ended' : `exited with code ${code}`,
      crash,
    ),
  );
  // A direct channel to every other worker.
  for (const other of workers.values()) {
    const { port1, port2 } = new MessageChannel();
    node.linkTo(other.id).sendTransfer({ t: 'peer', node: id, port: port1 }, [port1]);
    link.sendTransfer({ t: 'peer', node: other.id, port: port2 }, [port2]);
  }
  workers.set(id, handle);
  return handle;
}

/**
 * What a worker died of, in words: what it threw need not be an Error once it has crossed
 * the thread boundary (a DOMException arrives as a plain object), so name and message are
 * read wherever they are, and anything else is inspected.
 */
function crashReason(error: unknown): string {
  if (error !== null && typeof error === 'object') {
    const { name, message, code } = error as { name?: unknown; message?: unknown; code?: unknown };
    if (typeof message === 'string' && message !== '') {
      // A plain Error with a code names the code (Node's ERR_WORKER_OUT_OF_MEMORY), else its class.
      const named = typeof name === 'string' && name !== '' && name !== 'Error';
      const label = named ? name : typeof code === 'string' && code !== '' ? code : 'Error';
      return `${label}: ${message}`;
    }
  }
  return inspect(error, { depth: 2, breakLength: Number.POSITIVE_INFINITY });
}

/** The worker nodes started so far (not ended). */
// Worker nodes send their events while someone observes on the main thread.
onObservedChange((mode) => {
  for (const w of workers.values())
    node.links.get(w.id)?.send({ t: 'observe', on: mode.on, requests: mode.requests });
});

export function workerNodes(): readonly WorkerNode[] {
  return [...workers.values()];
}

/** The automatic pool: one worker per core, created when first needed, round-robin. */
function poolNode(): NodeId {
  if (getLocalNode() !== MAIN_NODE) return getLocalNode();
  const size = Math.max(1, availableParallelism());
  if (pool.length < size) {
    const created = createWorkerNode({ name: `multiactive-pool-${pool.length + 1}` });
    pool.push(created);
    return created.id;
  }
  const chosen = pool[nextPoolIndex++ % pool.length]!;
  return chosen.id;
}

function resolvePlacement(placement: Placement | undefined): NodeId {
  if (placement === undefined || placement === 'local') return getLocalNode();
  if (placement === 'auto') return poolNode();
  if (typeof placement === 'number' && Number.isInteger(placement) && placement >= 0) return placement;
  if (typeof placement === 'object' && placement !== null && typeof placement.id === 'number')
    return placement.id;
  throw new ArgumentError(
    `Expected \`node\` to be 'local', 'auto', a node (from createWorkerNode) or a node id, got ${describe(placement)}`,
  );
}

// ------------------------------------------------------------ hooks into newActive

setPlacementHooks({
  place(ctor, args, options) {
    const target = resolvePlacement(options.node);
    if (target === getLocalNode()) return undefined;
    const module = options.module === undefined ? originOf(ctor) : String(options.module);
    if (module === undefined) {
      throw new ArgumentError(
        `${ctor.name} cannot be placed on node ${target}: its module is unknown (the class has no multiactive ` +
          'class decorator, or the code was bundled). Export the class and pass ' +
          '{ node, module: import.meta.url } to newActive (and { exportName } if it is exported under another name).',
      );
    }
    const exportName = options.exportName ?? ctor.name;
    // Placed by the main thread with @Checkpoint: recoverable (src/node/recovery.ts). The key
    // is fixed here so that a recovery restores the same checkpoints.
    const recoverable = getLocalNode() === MAIN_NODE && checkpointConfig(ctor) !== undefined;
    // The key is chosen here and sent, so that the host writes under the key a recovery restores.
    const id = allocateObjectId();
    const checkpointKey = recoverable
      ? (options.checkpointKey ?? defaultCheckpointKey(ctor.name, id))
      : undefined;
    const sent = checkpointKey === undefined ? options : { ...options, checkpointKey };
    const created = node.create(target, ctor.name, module, exportName, args, sent, id);
    if (created.error !== undefined) throw created.error;
    if (recoverable) {
      // Its own copy of the arguments (references stay references), to create it again.
      const kept = [...args];
      copyArguments(kept, ctor.name, 'constructor');
      registerRecoverable({
        id,
        host: target,
        className: ctor.name,
        module,
        exportName,
        args: kept,
        checkpointKey: checkpointKey!,
        restore: options.restore === true,
        methods: methodsOf(ctor),
      });
    }
    const remote = new RemoteObject(target, id, ctor.name);
    remote.recoverable = recoverable;
    const Stub = stubClass(ctor, compilePolicy(ctor));
    const stub = new Stub(remote);
    node.remoteStubs.set(id, stub);
    return stub;
  },
  async shutdownNodes(immediate, timeoutMs, late) {
    await Promise.all([...workers.values()].map((w) => w.end(immediate, timeoutMs, late)));
    pool = [];
  },
  stubFor(nodeId, id, className) {
    return node.remoteStubs.get(id) ?? node.makeRemoteStub!(node.movedTo.get(id) ?? nodeId, id, className);
  },
  terminateRemote(target, immediate) {
    if (target instanceof RemoteObject) {
      forgetRecoverable(target.id);
      return target.terminate(immediate);
    }
    return undefined;
  },
});
