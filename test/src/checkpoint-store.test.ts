/**
 * Checkpoints and their stores when the world is not kind: checkpoints an earlier run left
 * under the same key, two objects on one key, a full disk (short writes), keys that name
 * other directories, a store under /proc (Node's recursive mkdir never settles there), a
 * store that hangs, crash leftovers, and stores that do not keep to the interface.
 *
 * Real files in temporary directories, real worker threads, real child processes (a file
 * size limit set with `ulimit -f`); nothing sleeps: every wait is on the event expected,
 * with a bound.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArgumentError,
  Checkpoint,
  CheckpointError,
  type CheckpointStore,
  control,
  createWorkerNode,
  FileStore,
  MemoryStore,
  type MultiactiveEvent,
  newActive,
  onEvent,
  type StoredCheckpoint,
  shutdown,
  terminate,
} from 'multiactive';
import { afterAll, afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { defaultCheckpointKey } from '../../src/checkpoint/keys.js';
import { STALE_TEMPORARY_MS } from '../../src/checkpoint/store.js';
import { Tally } from '../fixtures/recovery.js';
import { KeyProbe } from '../fixtures/stores.js';
import { captureWarnings } from '../support/warnings.js';
import { within } from '../support/within.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TALLY_MODULE = new URL('../fixtures/recovery.ts', import.meta.url);

afterEach(async () => {
  await shutdown({ immediate: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-store-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The rejection of `promise` within `ms`, or a failure if it fulfils or hangs. */
function rejectionOf(promise: PromiseLike<unknown>, what: string, ms = 5000): Promise<Error> {
  return within(
    Promise.resolve(promise).then(
      (value) => {
        throw new Error(`${what} fulfilled with ${JSON.stringify(value)}; expected a rejection`);
      },
      (error: unknown) => error as Error,
    ),
    ms,
    what,
  );
}

/** Run `command` (argv) in a child process with `env`; kill it and fail past `ms`. */
async function run(command: string[], env: Record<string, string>, ms: number): Promise<string> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  if (signal !== null)
    throw new Error(`${command.join(' ')} was killed (${signal}) after ${ms} ms. stderr: ${stderr}`);
  if (code !== 0) throw new Error(`${command.join(' ')} exited with code ${code}. stderr: ${stderr}`);
  return stdout;
}

const script = (name: string): string => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

/** An account class whose checkpoints go to `store` (one class per test). */
function accountIn(store: string | CheckpointStore, storeTimeoutMs?: number) {
  @Checkpoint({ store, ...(storeTimeoutMs === undefined ? {} : { storeTimeoutMs }) })
  class Account {
    balance = 0;
    deposit(n: number): number {
      this.balance += n;
      return this.balance;
    }
  }
  return Account;
}

function events(type: MultiactiveEvent['type']): MultiactiveEvent[] {
  const seen: MultiactiveEvent[] = [];
  const stop = onEvent((e) => {
    if (e.type === type) seen.push(e);
  });
  onTestFinished(stop);
  return seen;
}

describe('checkpoints an earlier run left under the same key', () => {
  it("a worker's object recovered in a second run gets that run's state, not the first run's (two real runs)", async () => {
    // Each run's default key is its own (`Savings#1@<run>`), so run 2 numbers from 1 again
    // and restores what it wrote; run 1's checkpoints do not even share its directory.
    const dir = tempDir();
    const env = { MULTIACTIVE_CHECKPOINT_DIR: dir };
    const first = JSON.parse(
      await run([process.execPath, '--import', 'tsx', script('checkpoint-runs.ts'), '100', '5'], env, 20_000),
    );
    expect(first.seqs).toEqual([1, 2, 3, 4, 5]);
    const second = JSON.parse(
      await run(
        [process.execPath, '--import', 'tsx', script('checkpoint-runs.ts'), '10', '3', 'kill'],
        env,
        20_000,
      ),
    );
    expect(second.seqs).toEqual([1, 2, 3]);
    expect(second.balance).toBe(30); // not 500: run 1's checkpoints are not its own
  }, 45_000);

  it('a fresh object that reuses an explicit key writes checkpoints newer than the old ones; a restore takes its state', async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const old = newActive(Account, [], { checkpointKey: 'reused' });
    await old.deposit(500);
    for (let i = 0; i < 5; i++) await control(old).checkpoint();
    await terminate(old);
    // A later run: same key, no `restore`.
    const fresh = newActive(Account, [], { checkpointKey: 'reused' });
    await fresh.deposit(30);
    const info = await control(fresh).checkpoint();
    expect(info.seq).toBe(6);
    expect(await new FileStore(dir).list('reused')).toEqual([5, 6]);
    await terminate(fresh);
    const restored = newActive(Account, [], { checkpointKey: 'reused', restore: true });
    expect(await restored.deposit(0)).toBe(30);
  });

  it('default keys are unique per process run, the same on every thread of it', async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const account = newActive(Account);
    await account.deposit(1);
    const { key } = await control(account).checkpoint();
    expect(key).toMatch(/^Account#\d+@[0-9a-z]+-[0-9a-z]+$/);
    const id = Number(/#(\d+)@/.exec(key)![1]);
    expect(key).toBe(defaultCheckpointKey('Account', id));
    // Another process, same class and object id: another key.
    const other = await run(
      [
        process.execPath,
        '--import',
        'tsx',
        '-e',
        `import('./src/checkpoint/keys.ts').then((k) => console.log(k.defaultCheckpointKey('Account', ${id})))`,
      ],
      {},
      20_000,
    );
    expect(other.trim()).toMatch(/^Account#\d+@/);
    expect(other.trim()).not.toBe(key);
    // A worker node of this process computes the same key as this thread.
    const probe = newActive(KeyProbe, [], { node: createWorkerNode() });
    expect(await probe.defaultKeyOf('Account', id)).toBe(key);
  });

  it("an object's default-keyed checkpoints are removed when it ends (terminate, or shutdown while idle); explicit keys stay", async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const a = newActive(Account);
    const b = newActive(Account);
    const kept = newActive(Account, [], { checkpointKey: 'kept' });
    const keys = await Promise.all([a, b, kept].map(async (o) => (await control(o).checkpoint()).key));
    const store = new FileStore(dir);
    for (const key of keys) expect(await store.list(key)).toEqual([1]);
    const names = () => readdirSync(dir).sort();
    expect(names()).toHaveLength(3);
    await terminate(a);
    await within(
      until(async () => names().length === 2),
      5000,
      'removal after terminate',
    );
    expect(await store.list(keys[0]!)).toEqual([]);
    await shutdown(); // b and kept are idle
    await within(
      until(async () => names().length === 1),
      5000,
      'removal after shutdown',
    );
    expect(names()).toEqual(['kept']);
    expect(await store.list('kept')).toEqual([1]);
  });

  // Found by an outside test: on a worker the thread ended before the removal (or the write
  // under way) was done, and the files stayed (4 runs in 5), sometimes with a .tmp.
  it("a worker object's default-keyed checkpoints are removed by shutdown() before its thread ends, the write under way first", async () => {
    const dir = tempDir();
    const before = process.env.MULTIACTIVE_CHECKPOINT_DIR;
    process.env.MULTIACTIVE_CHECKPOINT_DIR = dir; // the worker's default store
    onTestFinished(() => {
      if (before === undefined) delete process.env.MULTIACTIVE_CHECKPOINT_DIR;
      else process.env.MULTIACTIVE_CHECKPOINT_DIR = before;
    });
    const worker = createWorkerNode();
    const tally = newActive(Tally, [], { node: worker, module: TALLY_MODULE });
    const taken = new Promise<void>((resolve) => {
      const stop = onEvent((e) => {
        if (e.type === 'checkpoint.taken' && e.seq === 2) {
          stop();
          resolve();
        }
      });
    });
    for (let i = 1; i <= 11; i++) await tally.add(1, i); // checkpoints after 5 and 10; the third is due
    await within(taken, 10_000, 'the second checkpoint');
    const files = () => readdirSync(dir, { recursive: true }).map(String);
    expect(files().some((f) => f.endsWith('.ckpt'))).toBe(true);
    await within(shutdown(), 20_000, 'shutdown');
    expect(files().filter((f) => f.includes('.ckpt'))).toEqual([]);
  });
});

/** Resolves when `check()` holds, checked after each turn of I/O (a bounded wait by `within`). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setImmediate(resolve));
}

describe('one key, one live object', () => {
  it('a second live object on the same explicit key and store fails newActive with an ArgumentError naming the first; the key is free once it ends', async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const first = newActive(Account, [], { checkpointKey: 'shared' });
    expect(() => newActive(Account, [], { checkpointKey: 'shared' })).toThrow(ArgumentError);
    expect(() => newActive(Account, [], { checkpointKey: 'shared', restore: true })).toThrow(
      /Account#\d+ already writes its checkpoints under the key "shared"/,
    );
    // Another class on the same directory is the same store; another directory is not.
    const Other = accountIn(dir);
    expect(() => newActive(Other, [], { checkpointKey: 'shared' })).toThrow(ArgumentError);
    const elsewhere = newActive(accountIn(tempDir()), [], { checkpointKey: 'shared' });
    expect(await elsewhere.deposit(1)).toBe(1);
    // Once the first has ended, the key is free.
    await first.deposit(1);
    await terminate(first);
    const second = newActive(Account, [], { checkpointKey: 'shared' });
    expect(await second.deposit(2)).toBe(2);
    // So is the key of an object whose restore failed (it serves nothing).
    const Memory = accountIn(new MemoryStore());
    const failed = newActive(Memory, [], { checkpointKey: 'nothing-there', restore: true });
    await expect(failed.deposit(1)).rejects.toBeInstanceOf(CheckpointError);
    expect(await newActive(Memory, [], { checkpointKey: 'nothing-there' }).deposit(1)).toBe(1);
  });
});

describe('the file store', () => {
  it('a short write (a file size limit) fails the checkpoint with CheckpointError; the previous one stays intact', async () => {
    const dir = tempDir();
    // 128 blocks of 1 KiB: the 400 kB checkpoint is written short, then refused with EFBIG.
    const out = await run(
      [
        'bash',
        '-c',
        `ulimit -f 128; trap '' XFSZ; exec "$0" --import tsx "$1" "$2" 400000`,
        process.execPath,
        script('short-write.ts'),
        dir,
      ],
      {},
      20_000,
    );
    const [small, large, after] = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(small).toMatchObject({ step: 'small', ok: true, info: { seq: 1 } });
    expect(large).toMatchObject({ step: 'large', ok: false, name: 'CheckpointError' });
    expect(large.message).toMatch(/Checkpoint 2 of ledger could not be written.*EFBIG/);
    expect(after).toEqual({ step: 'after', serving: 'pong' });
    // Nothing cut was left behind: the store holds checkpoint 1, whole.
    const store = new FileStore(dir);
    expect(await store.list('ledger')).toEqual([1]);
    expect((await store.latest('ledger'))?.seq).toBe(1);
    expect(readdirSync(join(dir, 'ledger'))).toEqual(['0000000000000001.ckpt']);
  }, 30_000);

  it('every key maps inside the directory: `.`, `..` and `../x` are keys like any other', async () => {
    const parent = tempDir();
    const dir = join(parent, 'store');
    const store = new FileStore(dir);
    const keys = ['.', '..', '../escape', '%2E', '%2E%2E'];
    for (const [i, key] of keys.entries()) await store.put(key, 1, new Uint8Array([i]));
    expect(readdirSync(parent)).toEqual(['store']);
    for (const name of readdirSync(dir))
      expect(readdirSync(join(dir, name))).toEqual(['0000000000000001.ckpt']);
    expect(readdirSync(dir)).toHaveLength(keys.length);
    for (const [i, key] of keys.entries()) expect([...(await store.latest(key))!.data]).toEqual([i]);
    // And through an object.
    const Account = accountIn(dir);
    const dots = newActive(Account, [], { checkpointKey: '..' });
    await dots.deposit(7);
    expect(await control(dots).checkpoint()).toMatchObject({ key: '..' });
    expect(readdirSync(parent)).toEqual(['store']);
  });

  it('a store under /proc settles: the checkpoint fails with CheckpointError and the object goes on', async () => {
    const store = new FileStore('/proc/multiactive-no-such-dir');
    const error = await rejectionOf(store.put('k', 1, new Uint8Array([1])), 'put under /proc', 2000);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/could not be written.*ENOENT/);
    // Nobody observes events: the failed checkpoint is told once, as a process warning.
    const warnings = captureWarnings('MULTIACTIVE_CHECKPOINT');
    const Account = accountIn('/proc/multiactive-no-such-dir');
    const account = newActive(Account);
    await account.deposit(1);
    expect(await rejectionOf(control(account).checkpoint(), 'checkpoint under /proc', 2000)).toBeInstanceOf(
      CheckpointError,
    );
    expect(await account.deposit(1)).toBe(2);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(
        /^multiactive: checkpoint 1 of Account#\d+ failed: CheckpointError: .*\/proc\/multiactive-no-such-dir.*ENOENT/,
      ),
    ]);
  });

  it("temporary files left by a crash mid-write are removed; a live writer's are not", async () => {
    const dir = tempDir();
    const store = new FileStore(dir);
    await store.put('k', 1, new Uint8Array([1]));
    const keyDir = join(dir, 'k');
    const crashed = join(keyDir, '0000000000000002.ckpt.4242.deadbeef.tmp');
    const live = join(keyDir, '0000000000000002.ckpt.4343.cafef00d.tmp');
    writeFileSync(crashed, 'half a checkpoint');
    writeFileSync(live, 'a checkpoint being written');
    const longAgo = (Date.now() - STALE_TEMPORARY_MS - 60_000) / 1000;
    utimesSync(crashed, longAgo, longAgo);
    await store.put('k', 2, new Uint8Array([2]));
    expect(readdirSync(keyDir).sort()).toEqual([
      '0000000000000001.ckpt',
      '0000000000000002.ckpt',
      '0000000000000002.ckpt.4343.cafef00d.tmp',
    ]);
    expect(existsSync(crashed)).toBe(false);
  });

  it('remove() takes every checkpoint of a key and its directory, and leaves other files alone', async () => {
    const dir = tempDir();
    const store = new FileStore(dir);
    await store.put('gone', 1, new Uint8Array([1]));
    await store.put('gone', 2, new Uint8Array([2]));
    await store.put('stays', 1, new Uint8Array([1]));
    await store.remove('gone');
    expect(readdirSync(dir)).toEqual(['stays']);
    await store.remove('never-written');
    mkdirSync(join(dir, 'stays', 'notes'));
    await store.remove('stays');
    expect(readdirSync(join(dir, 'stays'))).toEqual(['notes']);
  });
});

describe('stores that misbehave', () => {
  /** A store whose calls do what `behave` says, on top of a memory store. */
  function storeThat(behave: Partial<Record<'put' | 'latest' | 'list', () => unknown>>): CheckpointStore {
    const memory = new MemoryStore();
    return {
      put: (key, seq, data) => (behave.put ? behave.put() : memory.put(key, seq, data)) as Promise<void>,
      latest: (key) =>
        (behave.latest ? behave.latest() : memory.latest(key)) as Promise<StoredCheckpoint | undefined>,
      list: (key) => (behave.list ? behave.list() : memory.list(key)) as Promise<number[]>,
    };
  }

  it('a put that never settles fails its checkpoint after storeTimeoutMs; the object goes on, and checkpoints again once the store answers', async () => {
    let hang = true;
    const memory = new MemoryStore();
    const store: CheckpointStore = {
      put: (key, seq, data) => (hang ? new Promise<void>(() => {}) : memory.put(key, seq, data)),
      latest: (key) => memory.latest(key),
      list: (key) => memory.list(key),
    };
    const failed = events('checkpoint.failed');
    const Account = accountIn(store, 100);
    const account = newActive(Account);
    await account.deposit(1);
    const started = performance.now();
    const error = await rejectionOf(control(account).checkpoint(), 'a checkpoint into a hung store', 3000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/`put` did not settle within 100 ms/);
    expect(failed).toHaveLength(1);
    expect(await account.deposit(1)).toBe(2);
    hang = false;
    expect((await control(account).checkpoint()).seq).toBe(2);
  });

  it('a latest that never settles fails the restore after storeTimeoutMs, with CheckpointError', async () => {
    const Account = accountIn(storeThat({ latest: () => new Promise(() => {}) }), 100);
    const restored = newActive(Account, [], { checkpointKey: 'slow', restore: true });
    const error = await rejectionOf(restored.deposit(1), 'a call waiting for a hung restore', 3000);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toMatch(/`latest` did not settle within 100 ms/);
  });

  it('a put that throws, or returns no promise, fails that checkpoint with CheckpointError; the object keeps serving', async () => {
    // Nobody observes events: each object tells its failed checkpoint once, as a process warning.
    const warnings = captureWarnings('MULTIACTIVE_CHECKPOINT');
    for (const [put, told] of [
      [
        () => {
          throw new Error('disk on fire');
        },
        "the store's `put` threw: Error: disk on fire",
      ],
      [() => undefined, "the store's `put` returned `undefined` (undefined), not a promise"],
      [() => 42, "the store's `put` returned `42` (number), not a promise"],
    ] as const) {
      warnings.length = 0;
      const Account = accountIn(storeThat({ put }));
      const account = newActive(Account);
      await account.deposit(1);
      const error = await rejectionOf(control(account).checkpoint(), 'a checkpoint into a broken store');
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toMatch(
        /the store's `put` (threw: Error: disk on fire|returned .* not a promise)/,
      );
      expect(await account.deposit(1)).toBe(2);
      expect(warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/^multiactive: checkpoint 1 of Account#\d+ failed: CheckpointError: /),
      ]);
      expect(warnings[0]!.message).toContain(told);
    }
  });

  it('a latest that throws, returns no promise or returns nonsense fails the restore with CheckpointError', async () => {
    const valid = { key: 'k', seq: 1, data: new Uint8Array() };
    for (const latest of [
      () => {
        throw new Error('no');
      },
      () => valid, // not a promise
      async () => ({ seq: 'one' }),
    ]) {
      const Account = accountIn(storeThat({ latest }));
      const restored = newActive(Account, [], { checkpointKey: 'k', restore: true });
      const error = await rejectionOf(restored.deposit(1), 'a call waiting for a broken restore');
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.message).toMatch(/k could not be restored/);
    }
  });

  it('a list (asked before the first write) that throws, returns no promise or returns nonsense fails the checkpoint with CheckpointError', async () => {
    // Nobody observes events: each object tells its failed checkpoint once, as a process warning.
    const warnings = captureWarnings('MULTIACTIVE_CHECKPOINT');
    for (const [list, told] of [
      [
        () => {
          throw new Error('no');
        },
        "the store's `list` threw: Error: no",
      ],
      [() => [1, 2], "the store's `list` returned `Array` (array), not a promise"], // not a promise
      [async () => ['1'], "could not be numbered: the store's `list` gave `Array` (array)"],
    ] as const) {
      warnings.length = 0;
      const Account = accountIn(storeThat({ list }));
      const account = newActive(Account);
      await account.deposit(1);
      const error = await rejectionOf(control(account).checkpoint(), 'a checkpoint whose numbering fails');
      expect(error).toBeInstanceOf(CheckpointError);
      expect(await account.deposit(1)).toBe(2);
      expect(warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/^multiactive: checkpoint 1 of Account#\d+ failed: CheckpointError: /),
      ]);
      expect(warnings[0]!.message).toContain(told);
    }
  });
});

afterAll(async () => {
  await shutdown({ immediate: true });
});
