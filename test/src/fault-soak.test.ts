/**
 * Fault soak (docs/fault-tolerance.md, "Recovery of a dead worker's objects"; docs/nodes.md,
 * "Failures"): six recoverable accounts on three worker nodes placed by the main thread make
 * random transfers to each other, in both directions, across nodes, while workers are killed
 * in the three ways the docs list (process.exit inside the worker, worker.terminate() from
 * outside, out of memory), one at a time and overlapping (a second kill while the first
 * recovery is under way). At the end, with every future settled: money is conserved, no
 * ledger holds a transfer twice, no transfer is half done, every call's future resolved (none
 * rejected: "callers' futures stay valid and settle once"), and the process heap is bounded.
 *
 * Recoveries are waited for by events (`node.lost`, `object.recovered`), never by sleeping;
 * the gap between kills is counted in settled transfers.
 *
 * Environment:
 * - `MULTIACTIVE_SOAK_MS`: how long transfers are issued (default 45 s, 10 s in the legacy
 *   decorator project; the whole test takes a few seconds more: set-up, and the final drain,
 *   bounded by DRAIN_TIMEOUT_MS; a recovery that does not come is bounded by RECOVERY_TIMEOUT_MS).
 * - `MULTIACTIVE_SOAK_SEED`: the PRNG seed (printed at the start and in every failure). The seed
 *   fixes the sequence of transfers and of kills (kind, victim, overlap, gap), not the timing.
 * - `MULTIACTIVE_SOAK_OVERLAP=0`: only one kill at a time, and the next one only once the
 *   recovered accounts have served a call after their replay (docs/fault-tolerance.md leaves
 *   "two nodes dying at once when their objects call each other" uncovered; this mode stays
 *   clear of it).
 * - `MULTIACTIVE_SOAK_KINDS`: the kill kinds used, comma-separated (default `exit,terminate,oom`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Active,
  createWorkerNode,
  type MultiactiveEvent,
  newActive,
  onEvent,
  shutdown,
  workerNodes,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SoakAccount, SoakKiller, type Statement } from '../fixtures/soak.js';

const fixture = new URL('../fixtures/soak.ts', import.meta.url);

function envInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  return n;
}

const SEED = envInt('MULTIACTIVE_SOAK_SEED') ?? Math.floor(Math.random() * 2 ** 32);
// The suite runs in both decorator modes; the soak exercises the runtime, not the decorators,
// so the legacy run is a short one unless a budget is given.
const BUDGET_MS =
  envInt('MULTIACTIVE_SOAK_MS') ?? (process.env.MULTIACTIVE_DECORATORS === 'legacy' ? 10_000 : 45_000);
const OVERLAP = process.env.MULTIACTIVE_SOAK_OVERLAP !== '0';
type KillKind = 'exit' | 'terminate' | 'oom';
const KINDS = (process.env.MULTIACTIVE_SOAK_KINDS ?? 'exit,terminate,oom')
  .split(',')
  .map((k) => k.trim())
  .filter((k): k is KillKind => k === 'exit' || k === 'terminate' || k === 'oom');

const ACCOUNTS = 6;
const GROUPS = 3; // account i is placed on worker i % 3
const INITIAL = 1000;
const MAX_IN_FLIGHT = 32;
const MAX_TRANSFERS = 40_000; // bounds the ledgers (and so the checkpoints) of a long run
const RECOVERY_TIMEOUT_MS = 20_000;
const PROGRESS_TIMEOUT_MS = 20_000;
const DRAIN_TIMEOUT_MS = 15_000;
const STATEMENT_TIMEOUT_MS = 10_000;
const HEAP_LIMIT_MB = 512;
const OOM_HEAP_MB = 64;

/** mulberry32: a small seeded PRNG; `int(lo, hi)` is inclusive. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    shuffle: <T>(xs: readonly T[]): T[] => {
      const out = [...xs];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
  };
}

type Lost = Extract<MultiactiveEvent, { type: 'node.lost' }>;
type Recovered = Extract<MultiactiveEvent, { type: 'object.recovered' }>;
type Created = Extract<MultiactiveEvent, { type: 'object.created' }>;
type Replayed = Extract<MultiactiveEvent, { type: 'requests.replayed' }>;

let dir: string;
let stopListening: () => void = () => {};
const lost: Lost[] = [];
const recovered: Recovered[] = [];
const created: Created[] = [];
const replays: Replayed[] = [];
const checkpointFailures: string[] = [];
/** Calls quarantined and objects given up: no call of the soak kills its node, so none should be. */
const quarantined: string[] = [];
/** Called on every event of interest and every settled transfer: re-checks the waits. */
const waiters = new Set<() => void>();
const notify = (): void => {
  for (const w of [...waiters]) w();
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'multiactive-soak-'));
  process.env.MULTIACTIVE_CHECKPOINT_DIR = dir;
  stopListening = onEvent(
    (e) => {
      if (e === null || typeof e !== 'object') return;
      if (e.type === 'node.lost') lost.push(e);
      else if (e.type === 'object.recovered') recovered.push(e);
      else if (e.type === 'object.created' && e.className === 'SoakAccount') created.push(e);
      else if (e.type === 'requests.replayed') replays.push(e);
      else if (e.type === 'checkpoint.failed')
        checkpointFailures.push(`${e.key}#${e.seq}: ${String(e.error)}`);
      else if (e.type === 'call.quarantined') quarantined.push(e.reason);
      else if (e.type === 'object.unrecoverable')
        quarantined.push(`${e.className}#${e.objectId}: ${e.reason}`);
      else return;
      notify();
    },
    { requests: 'none' },
  );
});

afterAll(async () => {
  stopListening();
  await shutdown({ immediate: true });
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves with `probe()`'s first defined value, re-checked on every event; rejects after `ms`. */
function until<T>(what: string, probe: () => T | undefined, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const first = probe();
    if (first !== undefined) return resolve(first);
    const check = (): void => {
      const v = probe();
      if (v === undefined) return;
      clearTimeout(timer);
      waiters.delete(check);
      resolve(v);
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    waiters.add(check);
  });
}

function withTimeout<T>(p: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

interface TransferRecord {
  id: string;
  from: number;
  to: number;
  amount: number;
  state: 'pending' | 'done' | 'rejected';
  ok?: boolean;
  error?: string;
}

interface KillRecord {
  kind: KillKind;
  /** How this kill relates to the previous one. */
  overlap: 'none' | 'second-node' | 'fresh-node' | 'replaying';
  node: number;
  accounts: number[];
  reason?: string;
  recoveredTo?: number | undefined;
  ms?: number | undefined;
  note?: string | undefined;
  /** Transfers issued when the kill struck (to match ledger anomalies with kills). */
  at?: number;
}

describe('fault soak: bank transfers across workers under repeated, overlapping kills', () => {
  it(
    `money is conserved, nothing is applied twice or half, every future settles (seed ${SEED})`,
    async () => {
      console.log(
        `fault soak: MULTIACTIVE_SOAK_SEED=${SEED} MULTIACTIVE_SOAK_MS=${BUDGET_MS} overlap=${OVERLAP} kinds=${KINDS.join(',')}`,
      );
      const transferRng = prng(SEED);
      const killRng = prng(SEED ^ 0x9e3779b9);
      const problems: string[] = [];
      const started = Date.now();
      const heapBefore = process.memoryUsage().heapUsed;

      // ---- set-up: three workers with a small heap (so that out of memory can kill them) ----
      const hosts = Array.from({ length: GROUPS }, () =>
        createWorkerNode({ resourceLimits: { maxOldGenerationSizeMb: OOM_HEAP_MB } }),
      );
      /**
       * Nodes with a heap limit, the only ones an `oom` kill may target: all of them, since a
       * dead node's replacement is made with its options (docs/fault-tolerance.md).
       */
      const limited = { has: (_node: number): boolean => true };
      const accounts: Active<SoakAccount>[] = [];
      /** Object id of account i (from its `object.created` event). */
      const ids: number[] = [];
      for (let i = 0; i < ACCOUNTS; i++) {
        const host = hosts[i % GROUPS]!;
        accounts.push(newActive(SoakAccount, [INITIAL], { node: host }));
        const event = await until(
          `object.created of account ${i}`,
          () => created.find((e) => e.node === host.id && !ids.includes(e.objectId)),
          10_000,
        );
        ids.push(event.objectId);
      }
      await Promise.all(accounts.map((a) => withTimeout(a.statement(), 20_000, 'first statement')));
      /** Where account i lives now: followed through `object.recovered` events. */
      const nodeOf = (i: number): number =>
        recovered.filter((e) => e.objectId === ids[i]).at(-1)?.node ?? hosts[i % GROUPS]!.id;
      const accountsOn = (node: number): number[] =>
        ids.filter((_, i) => nodeOf(i) === node).sort((x, y) => x - y);

      // ---- transfers: at most MAX_IN_FLIGHT pending, until the budget is spent ----
      const transfers: TransferRecord[] = [];
      let inFlight = 0;
      let settled = 0;
      let pumping = true;
      const deadline = started + BUDGET_MS;
      const issue = (): void => {
        if (!pumping) return;
        if (Date.now() >= deadline || transfers.length >= MAX_TRANSFERS) {
          pumping = false;
          return;
        }
        const from = transferRng.int(0, ACCOUNTS - 1);
        // An account on another worker: accounts i and j share a worker iff i % 3 === j % 3.
        const others = Array.from({ length: ACCOUNTS }, (_, j) => j).filter(
          (j) => j % GROUPS !== from % GROUPS,
        );
        const to = transferRng.pick(others);
        const amount = transferRng.int(1, 300);
        const record: TransferRecord = { id: `t${transfers.length}`, from, to, amount, state: 'pending' };
        transfers.push(record);
        inFlight++;
        const settle = (): void => {
          inFlight--;
          settled++;
          issue();
          notify();
        };
        accounts[from]!.transfer(record.id, accounts[to]!, amount).then(
          (ok) => {
            record.state = 'done';
            record.ok = ok;
            settle();
          },
          (error: unknown) => {
            record.state = 'rejected';
            record.error = String(error);
            settle();
          },
        );
      };
      for (let k = 0; k < MAX_IN_FLIGHT; k++) issue();

      // ---- kills ----
      const kills: KillRecord[] = [];
      const killers = new Map<number, Active<SoakKiller>>();
      const killerOn = (node: number): Active<SoakKiller> => {
        let k = killers.get(node);
        if (k === undefined) {
          k = newActive(SoakKiller, [], { node, module: fixture });
          killers.set(node, k);
        }
        return k;
      };
      const ignore = (): void => {};
      const exitCode = (k: KillRecord): number => 40 + kills.indexOf(k);
      /** Kills `k.node` the way `k.kind` says; returns at once (the death is seen by events). */
      const strike = (k: KillRecord): void => {
        k.at = transfers.length;
        kills.push(k);
        if (k.kind === 'terminate') {
          const w = workerNodes().find((n) => n.id === k.node);
          if (w === undefined) {
            problems.push(`kill ${kills.length}: node ${k.node} is not in workerNodes()`);
            return;
          }
          void w.worker.terminate();
        } else if (k.kind === 'exit') {
          const killer = killerOn(k.node);
          const soon = killRng.next() < 0.5;
          k.note = soon ? 'exit on the next turn' : 'exit inside the request';
          (soon ? killer.exitSoon(exitCode(k)) : killer.exitNow(exitCode(k))).then(ignore, ignore);
        } else {
          killerOn(k.node).exhaustMemory().then(ignore, ignore);
        }
      };
      /** Waits (by events) until `k.node` is lost and its accounts are recovered elsewhere. */
      const recoveryOf = async (k: KillRecord): Promise<void> => {
        const t0 = Date.now();
        const event = await until(
          `node.lost of node ${k.node} (${k.kind})`,
          () => lost.find((e) => e.node === k.node),
          RECOVERY_TIMEOUT_MS,
        );
        k.reason = event.reason;
        const got = [...event.recovered].sort((x, y) => x - y);
        if (JSON.stringify(got) !== JSON.stringify(k.accounts)) {
          problems.push(
            `node.lost of node ${k.node}: recovered [${got}], but it hosted accounts [${k.accounts}] when killed`,
          );
        }
        const moves = await until(
          `object.recovered of the ${got.length} objects of node ${k.node}`,
          () => {
            const m = recovered.filter((e) => e.from === k.node);
            return m.length >= got.length ? m : undefined;
          },
          RECOVERY_TIMEOUT_MS,
        );
        k.recoveredTo = moves[0]?.node;
        k.ms = Date.now() - t0;
        if (!OVERLAP) {
          // One kill at a time, strictly: a call to each recovered account is served after its
          // replay (replayed calls are queued before anything else), so once these answer, no
          // recovery is under way when the next kill strikes.
          await withTimeout(
            Promise.all(got.map((id) => accounts[ids.indexOf(id)]!.statement())),
            RECOVERY_TIMEOUT_MS,
            `a statement of each account recovered from node ${k.node}`,
          );
        }
        // Two kills may hit one node (an overlap aimed at a node already being killed): the
        // first one that lands names the death, so a reason is checked only when every kill of
        // this node was of one kind (an exit that landed before an oom names its exit code:
        // seed 2330952348, node 26).
        const onNode = kills.filter((other) => other.node === k.node);
        if (
          k.kind === 'oom' &&
          onNode.every((other) => other.kind === 'oom') &&
          !/memory/i.test(event.reason)
        )
          problems.push(`node ${k.node} ran out of memory, but node.lost says: ${event.reason}`);
        const codes = onNode.map(exitCode);
        if (
          k.kind === 'exit' &&
          onNode.every((other) => other.kind === 'exit') &&
          !codes.some((code) => event.reason === `exited with code ${code}`)
        )
          problems.push(
            `node ${k.node} exited with code ${exitCode(k)}, but node.lost says: ${event.reason}`,
          );
      };
      const kindFor = (node: number, allowed: readonly KillKind[]): KillKind | undefined => {
        const fits = allowed.filter((kind) => kind !== 'oom' || limited.has(node));
        return fits.length === 0 ? undefined : killRng.pick(fits);
      };

      const firstKinds = killRng.shuffle(KINDS);
      let wedged = false;
      let mark = 0;
      let killNo = 0;
      while (KINDS.length > 0 && Date.now() < deadline - 3_000 && !wedged) {
        const gap = killRng.int(20, 250);
        const want = mark + gap;
        try {
          await until(
            `${gap} more transfers to settle (settled ${settled}, ${inFlight} in flight)`,
            () => (settled >= want || !pumping ? true : undefined),
            PROGRESS_TIMEOUT_MS,
          );
        } catch (error) {
          problems.push(`stalled before kill ${killNo + 1}: ${(error as Error).message}`);
          wedged = true;
          break;
        }
        if (!pumping) break;
        mark = settled;
        // The victim: the node of a random account group; out of memory only on nodes with a
        // heap limit, else the kill falls back to another kind.
        let group = killRng.int(0, GROUPS - 1);
        let kind: KillKind = killNo < firstKinds.length ? firstKinds[killNo]! : killRng.pick(KINDS);
        let note: string | undefined;
        if (kind === 'oom') {
          const oomGroups = [0, 1, 2].filter((g) => limited.has(nodeOf(g)));
          if (oomGroups.length > 0) group = killRng.pick(oomGroups);
          else {
            const fallback = KINDS.filter((x) => x !== 'oom');
            if (fallback.length === 0) break;
            kind = killRng.pick(fallback);
            note = 'oom: no node with a heap limit left';
          }
        }
        const overlap: KillRecord['overlap'] = !OVERLAP
          ? 'none'
          : killNo === firstKinds.length
            ? 'second-node'
            : killNo === firstKinds.length + 1
              ? 'fresh-node'
              : killNo === firstKinds.length + 2
                ? 'replaying'
                : killRng.next() < 0.3
                  ? killRng.pick(['second-node', 'fresh-node', 'replaying'] as const)
                  : 'none';
        const node = nodeOf(group);
        const first: KillRecord = { kind, overlap: 'none', node, accounts: accountsOn(node), note };
        const replaysBefore = replays.length;
        strike(first);
        const waits = [recoveryOf(first)];
        try {
          if (overlap === 'second-node') {
            // The first node is lost and its recovery has begun: kill another account group's node.
            await until(
              `node.lost of node ${node}`,
              () => lost.find((e) => e.node === node),
              RECOVERY_TIMEOUT_MS,
            );
            const g2 = killRng.pick([0, 1, 2].filter((g) => g !== group));
            const node2 = nodeOf(g2);
            const kind2 = kindFor(node2, KINDS);
            if (kind2 !== undefined) {
              const second: KillRecord = { kind: kind2, overlap, node: node2, accounts: accountsOn(node2) };
              strike(second);
              waits.push(recoveryOf(second));
            }
          } else if (overlap === 'fresh-node') {
            // The first node's accounts are being restored on a fresh worker: kill that worker.
            const move = await until(
              `object.recovered from node ${node}`,
              () => recovered.find((e) => e.from === node),
              RECOVERY_TIMEOUT_MS,
            );
            const kind2 = kindFor(move.node, KINDS);
            if (kind2 !== undefined) {
              const second: KillRecord = { kind: kind2, overlap, node: move.node, accounts: first.accounts };
              strike(second);
              waits.push(recoveryOf(second));
            }
          } else if (overlap === 'replaying') {
            // The fresh worker has restored one of the first node's accounts and queued its
            // replay (requests.replayed): kill it while the replayed calls run.
            const replay = await until(
              `requests.replayed of an account of node ${node}`,
              () => replays.slice(replaysBefore).find((e) => first.accounts.includes(e.objectId)),
              RECOVERY_TIMEOUT_MS,
            );
            const at = recovered.filter((e) => e.objectId === replay.objectId).at(-1)?.node;
            const kind2 = at === undefined ? undefined : kindFor(at, KINDS);
            if (at !== undefined && kind2 !== undefined) {
              const second: KillRecord = {
                kind: kind2,
                overlap,
                node: at,
                accounts: first.accounts,
                note: `after ${replay.count} replayed from delivery ${replay.fromDseq}`,
              };
              strike(second);
              waits.push(recoveryOf(second));
            }
          }
          await Promise.all(waits);
        } catch (error) {
          problems.push(`kill ${killNo + 1}: ${(error as Error).message}`);
          await Promise.allSettled(waits);
          wedged = true;
        }
        killNo++;
      }
      if (wedged) pumping = false;

      // ---- drain: every transfer future settles, each within a bounded time ----
      try {
        await until(
          'every transfer to settle',
          () => (!pumping && inFlight === 0 ? true : undefined),
          Math.max(0, deadline - Date.now()) + DRAIN_TIMEOUT_MS,
        );
      } catch {
        pumping = false;
      }
      const pending = transfers.filter((t) => t.state === 'pending');
      const rejected = transfers.filter((t) => t.state === 'rejected');
      const describeT = (t: TransferRecord): string =>
        `${t.id} (account ${t.from} on node ${nodeOf(t.from)} -> account ${t.to} on node ${nodeOf(t.to)}, ${t.amount})`;
      if (pending.length > 0)
        problems.push(
          `${pending.length} transfer futures never settled: ${pending.slice(0, 8).map(describeT).join('; ')}`,
        );
      if (rejected.length > 0)
        problems.push(
          `${rejected.length} transfer futures rejected (callers' futures should stay valid): ${rejected
            .slice(0, 5)
            .map((t) => `${describeT(t)}: ${t.error}`)
            .join('; ')}`,
        );
      const killedNodes = new Set(kills.map((k) => k.node));
      const unrecovered = [...killedNodes].filter((n) => !lost.some((e) => e.node === n));
      if (unrecovered.length > 0) problems.push(`killed nodes never reported lost: ${unrecovered}`);

      // ---- the books ----
      const statements = await Promise.allSettled(
        accounts.map((a, i) => withTimeout(a.statement(), STATEMENT_TIMEOUT_MS, `statement of account ${i}`)),
      );
      const books: (Statement | undefined)[] = statements.map((s, i) => {
        if (s.status === 'fulfilled') return s.value;
        problems.push(`account ${i} (node ${nodeOf(i)}): ${String(s.reason)}`);
        return undefined;
      });
      const counts = { lost: 0, half: 0, refusedButApplied: 0, duplicates: 0, stray: 0, wrongBalance: 0 };
      if (books.every((b) => b !== undefined)) {
        const all = books as Statement[];
        const total = all.reduce((sum, b) => sum + b.balance, 0);
        if (total !== ACCOUNTS * INITIAL)
          problems.push(
            `money not conserved: ${total} instead of ${ACCOUNTS * INITIAL} (balances ${all.map((b) => b.balance)})`,
          );
        const ledgers = all.map((b) => new Set(b.applied));
        const byId = new Map(transfers.map((t) => [t.id, t]));
        all.forEach((b, i) => {
          const dupes = b.applied.filter((x, k) => b.applied.indexOf(x) !== k);
          if (dupes.length > 0) {
            counts.duplicates += dupes.length;
            problems.push(`account ${i} applied ${dupes.length} entries twice: ${dupes.slice(0, 8)}`);
          }
          // Every entry belongs to a transfer of this account, and the balance is its ledger's.
          let balance = INITIAL;
          for (const entry of b.applied) {
            const t = byId.get(entry.slice(1));
            const mine = t !== undefined && (entry[0] === '-' ? t.from === i : t.to === i);
            if (!mine) {
              counts.stray++;
              problems.push(`account ${i} has an entry of no transfer of it: ${entry}`);
              continue;
            }
            balance += entry[0] === '-' ? -t.amount : t.amount;
          }
          if (balance !== b.balance) {
            counts.wrongBalance++;
            problems.push(`account ${i}: balance ${b.balance}, but its ledger adds up to ${balance}`);
          }
        });
        for (const t of transfers) {
          const withdrawn = ledgers[t.from]!.has(`-${t.id}`);
          const deposited = ledgers[t.to]!.has(`+${t.id}`);
          if (withdrawn !== deposited) {
            counts.half++;
            problems.push(
              `half a transfer: ${describeT(t)} ${withdrawn ? 'withdrawn, never deposited' : 'deposited, never withdrawn'} (future: ${t.state}${t.ok === undefined ? '' : ` ${t.ok}`})`,
            );
          } else if (t.state === 'done' && t.ok === true && !withdrawn) {
            counts.lost++;
            problems.push(`transfer ${describeT(t)} answered true but is in no ledger`);
          } else if (t.state === 'done' && t.ok === false && withdrawn) {
            counts.refusedButApplied++;
            problems.push(`transfer ${describeT(t)} answered false but was applied`);
          }
        }
      }

      // ---- memory ----
      const heapAfter = process.memoryUsage().heapUsed;
      const heapMb = Math.round(heapAfter / 2 ** 20);
      if (heapMb > HEAP_LIMIT_MB)
        problems.push(`process heap after the run: ${heapMb} MB (bound ${HEAP_LIMIT_MB} MB)`);

      const done = transfers.filter((t) => t.state === 'done');
      const summary = {
        seed: SEED,
        budgetMs: BUDGET_MS,
        ms: Date.now() - started,
        transfers: transfers.length,
        applied: done.filter((t) => t.ok).length,
        refused: done.filter((t) => !t.ok).length,
        rejected: rejected.length,
        pending: pending.length,
        kills: kills.map(
          (k) =>
            `t${k.at} ${k.kind}${k.overlap === 'none' ? '' : `(${k.overlap})`}@${k.node}->${k.recoveredTo ?? '?'}${k.ms === undefined ? '' : ` ${k.ms}ms`}${k.note === undefined ? '' : ` [${k.note}]`}`,
        ),
        replayed: replays.reduce((s, e) => s + e.count, 0),
        checkpointFailures: checkpointFailures.length,
        quarantined: quarantined.length,
        heapMb,
        heapGrowthMb: Math.round((heapAfter - heapBefore) / 2 ** 20),
        counts,
      };
      for (const q of quarantined) problems.push(`quarantined or given up: ${q}`);
      console.log(`fault soak summary: ${JSON.stringify(summary)}`);
      if (problems.length > 0) {
        console.error(
          `fault soak FAILED; reproduce with MULTIACTIVE_SOAK_SEED=${SEED} MULTIACTIVE_SOAK_MS=${BUDGET_MS}${OVERLAP ? '' : ' MULTIACTIVE_SOAK_OVERLAP=0'} npx vitest run --project ${process.env.MULTIACTIVE_DECORATORS ?? 'standard'} test/src/fault-soak.test.ts\n${problems.slice(0, 40).join('\n')}`,
        );
      }
      expect(kills.length, `seed ${SEED}: no kill happened`).toBeGreaterThan(0);
      expect(problems.slice(0, 40), `seed ${SEED}: ${JSON.stringify(summary)}`).toEqual([]);
    },
    BUDGET_MS + 60_000,
  );
});

describe('fault soak, targeted: a keyed call served by an object that was itself recovered', () => {
  // The soak's duplicate deposits cluster after sequences like this one: the receivers' node
  // dies and is recovered, they serve deposits (keyed calls of transfers), then the senders'
  // node dies and the senders' replay repeats those deposits (docs/fault-tolerance.md step 6:
  // "answers a repeated key with that result instead of running the call again"). This plain
  // sequence passes today (so do variants tried by hand: the receiver killed twice, taking
  // checkpoints in between, calls in flight, transfers both ways); the soak needs its
  // concurrency to show the duplicates. Kept as the sequence's regression test.
  for (const kind of ['terminate', 'exit'] as const) {
    it(`receiver recovered (${kind}), then the caller's node dies: each deposit is applied once`, async () => {
      const w1 = createWorkerNode();
      const w2 = createWorkerNode();
      const a = newActive(SoakAccount, [INITIAL], { node: w1 });
      const b = newActive(SoakAccount, [INITIAL], { node: w2 });
      const killer = (node: number) => newActive(SoakKiller, [], { node, module: fixture });
      await withTimeout(Promise.all([a.statement(), b.statement()]), 20_000, 'set-up');
      const die = async (node: number): Promise<number> => {
        if (kind === 'terminate')
          void workerNodes()
            .find((n) => n.id === node)!
            .worker.terminate();
        else
          killer(node)
            .exitSoon(7)
            .then(
              () => undefined,
              () => undefined,
            );
        await until(`node.lost of ${node}`, () => lost.find((e) => e.node === node), RECOVERY_TIMEOUT_MS);
        return (
          await until(
            `object.recovered from ${node}`,
            () => recovered.find((e) => e.from === node),
            RECOVERY_TIMEOUT_MS,
          )
        ).node;
      };
      // 1. The receiver's node dies; b comes back (from scratch: no checkpoint yet).
      await die(w2.id);
      expect((await withTimeout(b.statement(), 20_000, 'b after its recovery')).balance).toBe(INITIAL);
      // 2. Three transfers a -> b: deposits served by the recovered b (a has taken no checkpoint).
      const ok = await withTimeout(
        Promise.all([a.transfer('k1', b, 10), a.transfer('k2', b, 20), a.transfer('k3', b, 30)]),
        20_000,
        'the transfers',
      );
      expect(ok).toEqual([true, true, true]);
      // 3. The caller's node dies: a's replay repeats the three keyed deposits.
      await die(w1.id);
      const [sa, sb] = await withTimeout(Promise.all([a.statement(), b.statement()]), 20_000, 'statements');
      expect({ a: sa, b: sb }).toEqual({
        a: { balance: INITIAL - 60, applied: ['-k1', '-k2', '-k3'] },
        b: { balance: INITIAL + 60, applied: ['+k1', '+k2', '+k3'] },
      });
    }, 60_000);
  }
});
