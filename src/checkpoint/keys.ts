/**
 * Checkpoint keys the runtime chooses itself, for objects created without `checkpointKey`.
 *
 * Such a key must not collide with the key of any other object that shares the store: not in
 * a later run of the same program (object ids start again at 1), nor in another process
 * writing to the same directory at the same time. So it is the object's name plus a token of
 * this process run: `Account#3@<pid>-<start>`, where `<start>` is the main thread's
 * `performance.timeOrigin` in microseconds (both in base 36). Two processes alive at once have
 * different pids; a pid used again later comes with a later start.
 *
 * The token is the same on every thread of the process: a worker node reads the main thread's
 * time origin from its `workerData` (`WorkerInit.timeOrigin`, src/node/protocol.ts), so the
 * main thread and the worker that hosts an object compute the same default key for it. A
 * thread that is not a worker node (a user's own worker) adds its thread id, since its object
 * ids start at 1 too.
 *
 * Nobody can ask for such a key (it names one object of one run), so nobody can ever restore
 * from it: the runtime removes an object's checkpoints under it when the object ends
 * (checkpoints.ts, step 7). Recovery of a dead worker's object on the main thread's behalf
 * reuses it, within the same run.
 */
import { isMainThread, threadId, workerData } from 'node:worker_threads';

function runToken(): string {
  const init = isMainThread ? undefined : (workerData as { node?: unknown; timeOrigin?: unknown } | null);
  const nodeOrigin =
    init !== undefined &&
    init !== null &&
    typeof init.node === 'number' &&
    typeof init.timeOrigin === 'number'
      ? init.timeOrigin
      : undefined;
  const start = Math.round((nodeOrigin ?? performance.timeOrigin) * 1000).toString(36);
  const thread = isMainThread || nodeOrigin !== undefined ? '' : `-t${threadId}`;
  return `${process.pid.toString(36)}-${start}${thread}`;
}

const RUN = runToken();

/**
 * The checkpoint key of object `id` of class `className` (`ctor.name`) created without
 * `checkpointKey`: unique to this process run, the same on every thread of it. Time: O(1).
 */
export function defaultCheckpointKey(className: string, id: number): string {
  return `${className || 'anonymous'}#${id}@${RUN}`;
}

/** The key of an object's checkpoints, and whether the runtime chose it (see `checkpointKeyOf`). */
export interface ObjectKey {
  readonly key: string;
  /** Chosen by the runtime for this object alone: removed when the object ends. */
  readonly chosen: boolean;
}

/**
 * The key of object `id` (class `className`), given `checkpointKey` or not.
 *
 * - Given: that key. It is still the runtime's own when it is this object's default key (the
 *   main thread chose it for an object it placed on a worker, and sent it, so that the host
 *   writes under the key a recovery restores: src/node/placement.ts).
 * - Not given: `defaultCheckpointKey`.
 */
export function checkpointKeyOf(className: string, id: number, given: string | undefined): ObjectKey {
  const own = defaultCheckpointKey(className, id);
  if (given !== undefined) return { key: given, chosen: given === own };
  return { key: own, chosen: true };
}
