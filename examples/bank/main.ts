/**
 * A bank on worker threads that survives a worker's death: `npm run example:bank`
 * (or `npx tsx examples/bank/main.ts`).
 *
 * Six accounts (examples/bank/account.ts, `@Checkpoint`) live two by two on three worker
 * nodes. The main thread sends 60 transfers, each between accounts on different workers: the
 * source account withdraws locally, then awaits the deposit on the other account. Midway, with
 * transfers in flight, one worker is killed from outside (`worker.terminate()`, like an OOM
 * killer). Its two accounts come back on a fresh worker from their last checkpoints, the calls
 * they got since are replayed, and the callers' futures settle as if nothing had happened.
 *
 * At the end it prints each account's balance and ledger counts, and checks what recovery
 * promises: the total is conserved, no withdrawal or deposit is applied twice, and every
 * transfer is applied whole or not at all.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createWorkerNode, type MultiactiveEvent, newActive, onEvent, shutdown } from 'multiactive';
import { Account, type Statement } from './account.js';

const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const INITIAL = 500;
const TRANSFERS = 60;

export interface BankRun {
  readonly before: number;
  readonly after: number;
  readonly statements: readonly Statement[];
  /** Each transfer's outcome: true if applied, false if refused (funds short). */
  readonly outcomes: readonly boolean[];
  /** Ledger entries (`-id` or `+id`) that appear more than once. */
  readonly twice: readonly string[];
  /** Transfers whose withdrawal and deposit do not match their outcome. */
  readonly halfDone: readonly string[];
  /** Objects recovered on a fresh worker. */
  readonly recovered: number;
}

export async function main(print: (line: string) => void = console.log): Promise<BankRun> {
  // Checkpoints go to the default FileStore, in a fresh directory. Worker nodes read this
  // variable, so it is set before they are created.
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-bank-'));
  const previousDir = process.env.MULTIACTIVE_CHECKPOINT_DIR;
  process.env.MULTIACTIVE_CHECKPOINT_DIR = dir;
  const faults: string[] = [];
  const stop = onEvent(
    (e: MultiactiveEvent) => {
      // node.lost is emitted once the node's objects are recovered: put it first when printing.
      if (e.type === 'node.lost') faults.unshift(`node ${e.node} lost (${e.reason})`);
      else if (e.type === 'object.recovered')
        faults.push(
          `  ${e.className}#${e.objectId} recovered on node ${e.node} (${e.journaled} calls journaled)`,
        );
      else if (e.type === 'requests.replayed')
        faults.push(`  ${e.className}#${e.objectId} replayed ${e.count} calls after its checkpoint`);
    },
    { requests: 'none' },
  );
  try {
    const workers = [createWorkerNode(), createWorkerNode(), createWorkerNode()];
    const accounts = NAMES.map((name, i) => newActive(Account, [name, INITIAL], { node: workers[i % 3]! }));
    const before = NAMES.length * INITIAL;

    // Account i lives on worker i % 3; i + 1 and i + 2 are on the two other workers.
    const send = (n: number) => {
      const from = n % accounts.length;
      const to = (from + 1 + (Math.floor(n / accounts.length) % 2)) % accounts.length;
      return accounts[from]!.transfer(`t${n}`, accounts[to]!, 20 + ((n * 37) % 100));
    };
    const transfers = [];
    for (let n = 0; n < 40; n++) transfers.push(send(n));
    await transfers[15]; // some are done, the rest are in flight
    print(
      `killing worker node ${workers[1]!.id} (hosts ${NAMES[1]} and ${NAMES[4]}) with transfers in flight`,
    );
    await workers[1]!.worker.terminate();
    for (let n = 40; n < TRANSFERS; n++) transfers.push(send(n)); // wait for the recovery, then go
    const outcomes = await Promise.all(transfers);

    const statements = await Promise.all(accounts.map((a) => a.statement()));
    const after = statements.reduce((sum, s) => sum + s.balance, 0);
    const entries = statements.flatMap((s) => s.ledger);
    const twice = [...new Set(entries.filter((e, i) => entries.indexOf(e) !== i))];
    const halfDone = outcomes.flatMap((ok, n) =>
      entries.includes(`-t${n}`) === ok && entries.includes(`+t${n}`) === ok ? [] : [`t${n}`],
    );

    for (const line of faults) print(line);
    for (const s of statements) {
      const out = s.ledger.filter((e) => e.startsWith('-')).length;
      const into = s.ledger.length - out;
      print(
        `${s.name.padEnd(6)} balance ${String(s.balance).padStart(5)}   ${out} withdrawals, ${into} deposits`,
      );
    }
    const done = outcomes.filter(Boolean).length;
    print(
      `transfers: ${outcomes.length} sent, ${done} applied, ${outcomes.length - done} refused (funds short)`,
    );
    print(`total: ${after} (before: ${before})${after === before ? ', conserved' : ', NOT conserved'}`);
    print(`entries applied twice: ${twice.length}; transfers half done: ${halfDone.length}`);
    const recovered = faults.filter((l) => l.includes('recovered on node')).length;
    return { before, after, statements, outcomes, twice, halfDone, recovered };
  } finally {
    stop();
    await shutdown();
    if (previousDir === undefined) delete process.env.MULTIACTIVE_CHECKPOINT_DIR;
    else process.env.MULTIACTIVE_CHECKPOINT_DIR = previousDir;
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
