/**
 * Recovery of worker nodes' objects (docs/fault-tolerance.md), kept by the main thread, which outlives them.
 *
 * A *recoverable* object is one the main thread placed on a worker node and whose class has
 * `@Checkpoint`. For each, the main thread keeps how to create it again and a journal: every
 * call delivered to it since its last durable checkpoint, in delivery order.
 *
 * Protocol:
 *   1. Delivery: the host numbers each call to a recoverable object (its delivery number,
 *      `dseq`) and sends it to the main thread (FTLOG) before handing it to the object. The
 *      log entry is queued before the request can even start, and a link's batches leave in
 *      order of the microtasks that scheduled them, so anything the request causes (its reply,
 *      its calls) leaves the host after its log entry: the main thread has journaled every
 *      delivery whose effects anyone saw.
 *   2. Checkpoint: the state says which deliveries it holds: all up to `dseq` but `pending`
 *      (delivered, not started). When it is durable the host tells the main thread
 *      (`ft.checkpointed`), which drops the journal entries it holds: the journal stays as
 *      long as the interval between two checkpoints.
 *   3. Callers: every node keeps each call in flight to a recoverable object (its wire form)
 *      until its value arrives. When the object's node dies, those calls do not fail: they
 *      wait, and so do calls made meanwhile.
 *   4. Node death (crash, `process.exit()`, uncaught error, `worker.terminate()`, out of
 *      memory; not `WorkerNode.terminate()`, which ends a node on purpose), handled at the
 *      worker's `exit` event, after Node has delivered what it posted: the main thread
 *      starts a fresh worker (with the dead one's options) and creates each recoverable object
 *      of the dead node there under its old id, restoring its newest checkpoint (if it has
 *      one), with the journal. Two bounds keep a fault from looping. A node that ends by its own
 *      code (`process.exit()`, an uncaught error) names, from its exit handlers, the journaled
 *      call that was running (`ft.dying`); a call named twice is quarantined (a node out of
 *      memory names no one: the host reports each replayed delivery running, waiting and done,
 *      `ft.replay`, and one running at three such deaths is quarantined; a node terminated from
 *      outside blames no call):
 *      its caller gets a `QuarantineError`, the new host skips it (and answers a resend or a
 *      repeated key with that error), the object goes on from the state before it. And an
 *      object whose node died 8 times in a row without progress (never back, no durable
 *      checkpoint, no replayed delivery finished) is given up: its callers get `NodeLostError`.
 *   5. The new host replays, behind the restore and before anything else, the journaled
 *      deliveries the restored state does not hold (using the checkpoint's own record, which
 *      may be newer than the one the main thread heard of), in delivery order. Their values go
 *      to their callers, which ignore a value they already have: each future settles once.
 *   6. Calls the replay makes again: a request of a recoverable object names each call it
 *      makes to another node by (object, delivery number, call number), the same in a replay
 *      (FTCALL). The receiver keeps the result under that key (in memory, and in its own
 *      checkpoints while the caller may replay it) and answers a repeated key with it. Keys
 *      are forgotten when the caller's next checkpoint is durable (`ft.trim`), except those of
 *      the deliveries that checkpoint holds as pending (they run after it, and are replayed).
 *   7. The main thread tells every node (`ft.moved`; new workers get the map) where the object now lives; each node
 *      resends the calls it keeps for it (same call numbers). The new host drops a resent call
 *      that it replays, so none runs twice; a call never delivered before is delivered now,
 *      after the replayed ones. Then `ft.lost` settles the dead node: calls to objects that
 *      were not recovered fail with `NodeLostError`.
 *
 * Not covered: a dead main thread (everything is lost; restore from the file store, see
 * docs/fault-tolerance.md); two nodes dying at once with calls between their objects; objects
 * created by worker nodes; futures passed as arguments to a recoverable object that settle on
 * the dead node.
 */
import { emit, type MultiactiveEvent, now, observed } from '../events.js';
import type { JournalEntry, NodeId } from './protocol.js';
import { entryMethod, node, quarantineError } from './runtime.js';

/**
 * A call is quarantined when it ended its node this many times: the dying node names the
 * journaled call that was running when its own code ended it (`ft.dying`: `process.exit()`, an
 * uncaught error, in that call's code or async context). So a call that ends its node each time
 * it runs ends it in its first run and in its first replay, then is quarantined.
 */
const QUARANTINE_AFTER = 2;

/**
 * A node that runs out of memory names no call (no handler runs). A replayed call that was
 * running at that many such deaths is quarantined: more than for a named call, since running
 * is known only from the host's last word (`ft.replay`), which may be a step behind, and an
 * allocation that kills the node may be another call's.
 */
const QUARANTINE_AFTER_OOM = 3;

/**
 * An object whose node died this many times in a row without progress (it was never back:
 * restored with its replay queued; and no durable checkpoint, no replayed delivery finished)
 * is not recovered again: something else than a call kills every node it gets (its
 * constructor, its restore, its module).
 */
const MAX_DEATHS_WITHOUT_PROGRESS = 8;

interface Journal {
  readonly id: number;
  host: NodeId;
  readonly className: string;
  readonly module: string;
  readonly exportName: string;
  readonly args: unknown[];
  readonly checkpointKey: string;
  /** `methodsOf(class)`: journaled calls may name their method by index. */
  readonly methods: readonly string[];
  /** It was restored from the store when created: a recovery restores too, until it checkpoints. */
  readonly restoredAtCreation: boolean;
  /** A checkpoint of it was reported durable (restore from the store on recovery). */
  checkpointed: boolean;
  /** Deliveries since the last durable checkpoint (plus those it had not started). */
  entries: JournalEntry[];
  /** Replayed deliveries running on its host now (`ft.replay` active, not waiting by necessity). */
  readonly replaying: Set<number>;
  /** Per delivery: deaths of its host it caused (named by the dying host). */
  readonly strikes: Map<number, number>;
  /** Per delivery: deaths of its host by running out of memory while it ran in a replay. */
  readonly suspicions: Map<number, number>;
  /** The delivery the dying host named (`ft.dying`), for the death about to be handled. */
  blamed: number | undefined;
  /** The named delivery had answered its caller before its code ended the node. */
  blamedAnswered: boolean;
  /** Deaths of its host since it last made progress. */
  deaths: number;
}

const journals = new Map<number, Journal>();

/** Called by placement for a recoverable object it placed on a worker node. */
export function registerRecoverable(object: {
  readonly id: number;
  readonly host: NodeId;
  readonly className: string;
  readonly module: string;
  readonly exportName: string;
  readonly args: unknown[];
  readonly checkpointKey: string;
  readonly restore: boolean;
  readonly methods: readonly string[];
}): void {
  journals.set(object.id, {
    id: object.id,
    host: object.host,
    className: object.className,
    module: object.module,
    exportName: object.exportName,
    args: object.args,
    checkpointKey: object.checkpointKey,
    methods: object.methods,
    restoredAtCreation: object.restore,
    checkpointed: false,
    entries: [],
    replaying: new Set(),
    strikes: new Map(),
    suspicions: new Map(),
    blamed: undefined,
    blamedAnswered: false,
    deaths: 0,
  });
}

/** The object ended on purpose: nothing to recover any more. */
export function forgetRecoverable(id: number): void {
  journals.delete(id);
}

// Only the object's host journals it (a message from any other node is not believed).
node.onJournalEntry = (from, id, entry) => {
  const journal = journals.get(id);
  if (journal !== undefined && journal.host === from) journal.entries.push(entry);
};

node.onJournal = (from, message) => {
  const journal = journals.get(message.id);
  if (journal === undefined || journal.host !== from) return;
  if (message.t === 'ft.dying') {
    journal.blamed = message.dseq;
    journal.blamedAnswered = message.answered === true;
    return;
  }
  if (message.t === 'ft.replay') {
    if (message.phase === 'active') journal.replaying.add(message.dseq);
    else journal.replaying.delete(message.dseq);
    if (message.phase === 'ready' || message.phase === 'done') journal.deaths = 0;
    return;
  }
  journal.checkpointed = true;
  journal.deaths = 0;
  const pending = new Set(message.pending);
  const kept = (dseq: number): boolean => dseq > message.dseq || pending.has(dseq);
  journal.entries = journal.entries.filter((e) => kept(e.dseq));
  for (const dseq of journal.strikes.keys()) if (!kept(dseq)) journal.strikes.delete(dseq);
  for (const dseq of journal.suspicions.keys()) if (!kept(dseq)) journal.suspicions.delete(dseq);
  // Its deliveries up to there will not be replayed, except the pending ones: receivers may
  // forget the results of the calls the others made. The pending ones had not started at the
  // capture, so they make their calls afterwards, and a recovery from this checkpoint replays
  // them: the results of their calls must stay (forgetting them applied deposits twice).
  const trim = { t: 'ft.trim' as const, id: message.id, dseq: message.dseq, pending: message.pending };
  for (const link of node.links.values()) link.send(trim);
  node.trimKeyedCalls(message.id, message.dseq, message.pending);
};

/**
 * Node `lost` ended on purpose (`WorkerNode.terminate`): its objects are not recovered, and
 * calls kept for them fail now.
 */
export function abandonNode(lost: NodeId, reason: string): void {
  for (const j of [...journals.values()]) if (j.host === lost) journals.delete(j.id);
  for (const link of node.links.values()) link.send({ t: 'ft.lost', node: lost, recovered: [], reason });
  node.lostSettled(lost, [], reason);
}

/** Journal sizes (tests check that memory is bounded by checkpoints). */
export function journalSizes(): Map<number, number> {
  return new Map([...journals].map(([id, j]) => [id, j.entries.length]));
}

/**
 * Steps 4, 5 and 7 for node `lost`. `startNode` creates a fresh worker node (placement's
 * `createWorkerNode`). Returns the ids recovered.
 */
export function recoverNode(lost: NodeId, reason: string, startNode: () => { id: NodeId }): number[] {
  const victims = [...journals.values()].filter((j) => j.host === lost && survives(j, reason));
  const recovered: number[] = [];
  const events: Extract<MultiactiveEvent, { type: 'object.recovered' }>[] = [];
  if (victims.length > 0) {
    const fresh = startNode().id;
    for (const j of victims) {
      const { error } = node.create(
        fresh,
        j.className,
        j.module,
        j.exportName,
        j.args,
        {
          checkpointKey: j.checkpointKey,
          restore: j.checkpointed || j.restoredAtCreation,
          replay: j.entries,
        },
        j.id,
      );
      if (error !== undefined) {
        journals.delete(j.id);
        continue;
      }
      j.host = fresh;
      recovered.push(j.id);
    }
    for (const id of recovered) {
      for (const link of node.links.values()) link.send({ t: 'ft.moved', id, to: fresh });
      node.objectMoved(id, fresh);
      if (observed) {
        const j = journals.get(id)!;
        events.push({
          type: 'object.recovered',
          time: now(),
          objectId: id,
          className: j.className,
          from: lost,
          node: fresh,
          journaled: j.entries.length,
        });
      }
    }
  }
  for (const link of node.links.values()) link.send({ t: 'ft.lost', node: lost, recovered, reason });
  node.lostSettled(lost, recovered, reason);
  // The loss is told before the recoveries it caused, in the order they happened to the user.
  if (observed) emit({ type: 'node.lost', time: now(), node: lost, reason, recovered });
  for (const e of events) emit(e);
  return recovered;
}

/**
 * Step 4's bounds, for object `j` whose node died of `reason`: the replayed deliveries that
 * were in service get a strike, and those with `QUARANTINE_AFTER` are quarantined (not run
 * again; their callers get a `QuarantineError`; the new host answers a resend or a repeated
 * key with it). Returns false if the object is not to be recovered again (its node died
 * `MAX_DEATHS_WITHOUT_PROGRESS` times in a row without progress): then it is forgotten, and
 * its callers get `NodeLostError` like those of an object that was not recoverable.
 */
function survives(j: Journal, reason: string): boolean {
  j.deaths++;
  const quarantined = new Set<number>();
  let poisoned: string | undefined;
  if (j.blamed !== undefined) {
    const strikes = (j.strikes.get(j.blamed) ?? 0) + 1;
    j.strikes.set(j.blamed, strikes);
    if (strikes >= QUARANTINE_AFTER && !j.blamedAnswered) quarantined.add(j.blamed);
    else if (strikes >= QUARANTINE_AFTER) {
      // It answered, then code it left (a timer) ended the node, in its run and its replay:
      // skipping it would undo what its caller saw, replaying it ends every node.
      const e = j.entries.find((entry) => entry.dseq === j.blamed);
      const method = e === undefined ? '?' : entryMethod(j.methods, e);
      poisoned =
        `${j.className}#${j.id}.${method} (delivery ${j.blamed}) answered, then code it left running ended its ` +
        `node, ${strikes} times (last: node ${reason}): it cannot be skipped (its caller saw its effects) nor ` +
        'replayed (it ends every node), so the object is not recovered again';
    }
  } else if (/out of memory|ERR_WORKER_OUT_OF_MEMORY/i.test(reason)) {
    for (const dseq of j.replaying) {
      const suspicions = (j.suspicions.get(dseq) ?? 0) + 1;
      j.suspicions.set(dseq, suspicions);
      if (suspicions >= QUARANTINE_AFTER_OOM) quarantined.add(dseq);
    }
  }
  j.blamed = undefined;
  j.blamedAnswered = false;
  j.replaying.clear();
  if (quarantined.size > 0) {
    j.entries = j.entries.map((e) => {
      if (!quarantined.has(e.dseq) || e.quarantined !== undefined) return e;
      const method = entryMethod(j.methods, e);
      const message =
        `${j.className}#${j.id}.${method} (delivery ${e.dseq}) was quarantined: it ended its node, ` +
        `${j.strikes.get(e.dseq) ?? j.suspicions.get(e.dseq)} times (last: node ${reason}). It is not run again; ` +
        `${j.className}#${j.id} goes on from the state before it.`;
      const marked: JournalEntry = { ...e, quarantined: message };
      node.failCall(e.from, e.rid, quarantineError({ id: j.id, methods: j.methods }, marked));
      if (observed) {
        emit({
          type: 'call.quarantined',
          time: now(),
          objectId: j.id,
          className: j.className,
          method,
          delivery: e.dseq,
          reason: message,
        });
      }
      return marked;
    });
  }
  if (poisoned === undefined && j.deaths <= MAX_DEATHS_WITHOUT_PROGRESS) return true;
  journals.delete(j.id);
  if (observed) {
    emit({
      type: 'object.unrecoverable',
      time: now(),
      objectId: j.id,
      className: j.className,
      reason:
        poisoned ??
        `its node died ${j.deaths} times in a row without progress (no durable checkpoint, no replayed call ` +
          `finished; last: node ${reason}): something else than a call kills every node it gets (its constructor, ` +
          'its restore, its module), so it is not recovered again',
    });
  }
  return false;
}
