/**
 * Checkpoints on one thread (issue #5, SPEC §9): a checkpoint is a request that runs when
 * nothing is in service, so it never captures a half-served request; it is taken every N
 * requests or on demand, written to a store, and an object can be restored from it (a
 * process restart). Damaged or missing checkpoints fail loudly.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize } from 'node:v8';
import {
  type Active,
  ArgumentError,
  Checkpoint,
  CheckpointError,
  Compatible,
  control,
  FileStore,
  Group,
  MemberOf,
  MemoryStore,
  type MultiactiveEvent,
  newActive,
  onEvent,
  selfRef,
  shutdown,
  ThreadConfig,
  terminate,
  waitFor,
} from 'multiactive';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { settle } from '../support/trace.js';

afterEach(async () => {
  await shutdown({ immediate: true });
});

const memory = new MemoryStore();

@Checkpoint({ everyRequests: 3, store: memory })
@Group('count', { selfCompatible: true })
class Counter {
  count = 0;
  @MemberOf('count') add(n: number): number {
    this.count += n;
    return this.count;
  }
}

/** Two fields written with an await between them: a checkpoint must never see them differ. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Records every state written (decoded), to check what checkpoints captured. */
const captured: { a: number; b: number }[] = [];
class RecordingStore extends MemoryStore {
  override async put(key: string, seq: number, data: Uint8Array): Promise<void> {
    captured.push((deserialize(data) as { state: { a: number; b: number } }).state);
    await super.put(key, seq, data);
  }
}

/**
 * One writer at a time (`write` is not self-compatible), readers beside it: outside a write,
 * `a === b`. A write in WBN gives its slot back, so reads run meanwhile.
 */
@Checkpoint({ store: new RecordingStore() })
@Group('write')
@Group('read', { selfCompatible: true })
@Compatible(['write', 'read'])
@ThreadConfig({ threadPoolSize: 2 })
class Pair {
  a = 0;
  b = 0;
  @MemberOf('write') async set(value: number, wbn: boolean): Promise<void> {
    this.a = value;
    // Under the soft limit, waitFor gives the slot back (WBN), here for longer than the
    // plain await (which keeps its slot) takes: so there are moments when only requests in
    // WBN are in service, and a checkpoint must still wait for them.
    if (wbn) for (let i = 0; i < 3; i++) await waitFor(tick());
    else await tick();
    this.b = value;
  }
  @MemberOf('read') read(): [number, number] {
    return [this.a, this.b];
  }
}

/** Awaits a helper that calls it back: the callback must be admitted while `start` waits. */
@Checkpoint({ store: new MemoryStore() })
@Group('start')
@Group('callback')
@Compatible(['start', 'callback'])
@ThreadConfig({ threadPoolSize: 1 })
class CallbackHost {
  @MemberOf('start') async start(helper: Active<Helper>): Promise<string> {
    return await helper.work(selfRef<CallbackHost>(this));
  }
  @MemberOf('callback') callback(): string {
    return 'called back';
  }
}

/** Opened by the test directly (not through a call: `work` keeps the helper busy). */
let openHelperGate: () => void = () => {};

class Helper {
  async work(host: Active<CallbackHost>): Promise<string> {
    await new Promise<void>((resolve) => {
      openHelperGate = resolve;
    });
    return await host.callback();
  }
}

function events(type: MultiactiveEvent['type']): MultiactiveEvent[] {
  const seen: MultiactiveEvent[] = [];
  const stop = onEvent((e) => {
    if (e.type === type) seen.push(e);
  });
  onTestFinished(stop);
  return seen;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'multiactive-ckpt-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('taking checkpoints', () => {
  it('every N requests, as a request, with the state of the requests before it', async () => {
    const taken = events('checkpoint.taken');
    const counter = newActive(Counter, [], { checkpointKey: 'counter-every-3' });
    for (let i = 1; i <= 7; i++) await counter.add(1);
    // The 6th request triggered checkpoint 2; wait for it to be durable.
    await control(counter).checkpoint(); // 3rd: on demand, after the 7 adds
    expect(taken.map((e) => (e as { seq: number }).seq)).toEqual([1, 2, 3]);
    const latest = await memory.latest('counter-every-3');
    expect(latest?.seq).toBe(3);
    await terminate(counter); // a restart: one live object per key
    const restored = newActive(Counter, [], { checkpointKey: 'counter-every-3', restore: true });
    expect(await restored.add(0)).toBe(7);
  });

  it('never captures a half-served request (two fields, an await between), with or without WBN', async () => {
    const pair = newActive(Pair, [], { checkpointKey: 'pair', restore: false });
    captured.length = 0;
    const work: PromiseLike<unknown>[] = [];
    // Rounds: six writes in flight (two in service: some awaiting with their slot given back,
    // some keeping it), then a checkpoint, which waits for those in service to finish.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 6; i++) {
        work.push(pair.set(round * 6 + i + 1, (round + i) % 2 === 0));
        work.push(pair.read());
      }
      await tick(); // the first write has started (this callback was queued before its own)
      await control(pair).checkpoint();
    }
    await Promise.all(work);
    // Every state a checkpoint captured (decoded from the bytes written to the store).
    expect(captured.length).toBeGreaterThanOrEqual(10);
    for (const state of captured) expect(state.a, JSON.stringify(state)).toBe(state.b);
    // And some writes were really in flight when a checkpoint was asked for.
    expect(new Set(captured.map((s) => s.a)).size).toBeGreaterThan(1);
  });

  it('is not starved by a steady stream of compatible requests: nothing starts between its arrival and its start', async () => {
    const counter = newActive(Counter, [], { checkpointKey: 'stream' });
    const started = events('request.started');
    const sent = events('request.sent');
    let stop = false;
    const stream = (async () => {
      while (!stop) await Promise.all([counter.add(1), counter.add(1), counter.add(1)]);
    })();
    await counter.add(0);
    const info = await control(counter).checkpoint();
    stop = true;
    await stream;
    const time = (list: MultiactiveEvent[]) =>
      (
        list.find((e) => (e as { request: { method: string } }).request.method === '__checkpoint__') as {
          time: number;
        }
      ).time;
    const arrived = time(sent);
    const began = time(started);
    const between = started.filter((e) => e.time > arrived && e.time < began);
    expect(between).toEqual([]);
    // The stream was running when it arrived (requests started before it), and went on after.
    expect(started.filter((e) => e.time < arrived).length).toBeGreaterThanOrEqual(3);
    expect(started.filter((e) => e.time > began).length).toBeGreaterThan(0);
    expect(info.seq).toBeGreaterThan(0);
  });

  it('a state that cannot be saved fails the checkpoint with a CheckpointError naming the field', async () => {
    @Checkpoint({ store: new MemoryStore() })
    class Holder {
      callback: (() => void) | undefined = () => {};
      ping(): string {
        return 'pong';
      }
    }
    const failed = events('checkpoint.failed');
    const holder = newActive(Holder);
    const error = await control(holder)
      .checkpoint()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/cannot be checkpointed: `\.callback` is a function/);
    expect(failed).toHaveLength(1);
    expect(await holder.ping()).toBe('pong'); // the object goes on
  });

  it('user hooks choose what is saved and how it comes back; references stay references', async () => {
    const store = new MemoryStore();
    @Checkpoint({ store })
    class Node {
      peers: Active<Counter>[] = [];
      cache = new Map<string, number>([['x', 1]]);
      addPeer(peer: Active<Counter>): void {
        this.peers.push(peer);
      }
      checkpoint(): unknown {
        return { peers: this.peers }; // the cache is not worth saving
      }
      restore(state: { peers: Active<Counter>[] }): void {
        this.peers = state.peers;
        this.cache = new Map();
      }
      async total(): Promise<number> {
        let sum = 0;
        for (const p of this.peers) sum += await p.add(0);
        return sum + this.cache.size;
      }
    }
    const c1 = newActive(Counter);
    await c1.add(5);
    const n = newActive(Node, [], { checkpointKey: 'node' });
    await n.addPeer(c1);
    expect(await n.total()).toBe(6);
    await control(n).checkpoint();
    await terminate(n);
    const back = newActive(Node, [], { checkpointKey: 'node', restore: true });
    expect(await back.total()).toBe(5);
  });
});

describe('writes', () => {
  it('captures made while a write is under way are coalesced: only the newest is written, and it answers all', async () => {
    const written: number[] = [];
    const states: unknown[] = [];
    let release: () => void = () => {};
    class SlowStore extends MemoryStore {
      override async put(key: string, seq: number, data: Uint8Array): Promise<void> {
        if (seq === 1) await new Promise<void>((resolve) => (release = resolve));
        written.push(seq);
        states.push((deserialize(data) as { state: unknown }).state);
        await super.put(key, seq, data);
      }
    }
    @Checkpoint({ store: new SlowStore() })
    class Box {
      n = 0;
      bump(): number {
        return ++this.n;
      }
    }
    const box = newActive(Box);
    const first = control(box).checkpoint(); // seq 1: its write hangs until released
    await box.bump();
    const second = control(box).checkpoint(); // captured at n = 1: waits behind 1...
    await box.bump();
    const third = control(box).checkpoint(); // captured at n = 2: replaces it
    await box.bump();
    release();
    const infos = await Promise.all([first, second, third]);
    // Numbers are given as writes start: the replaced capture takes none.
    expect(infos.map((i) => i.seq)).toEqual([1, 2, 2]);
    expect(written).toEqual([1, 2]);
    expect(states).toEqual([{ n: 0 }, { n: 2 }]);
  });
});

describe('a checkpoint and a callback', () => {
  it('a request in WBN waiting for a callback: the callback is admitted, then the checkpoint runs', async () => {
    const host = newActive(CallbackHost, [], { checkpointKey: 'callback-host' });
    const helper = newActive(Helper);
    const started = host.start(helper); // in WBN, waiting for the helper, which calls back
    await settle(); // `start` awaits `work`, which awaits the gate
    const checkpoint = control(host).checkpoint();
    openHelperGate(); // the call back arrives behind the pending checkpoint
    expect(await started).toBe('called back');
    expect((await checkpoint).seq).toBe(1);
  });
});

/** Two objects that call each other and get called back (no slot limit, no @ThreadConfig). */
@Checkpoint({ everyRequests: 1, store: new MemoryStore() })
@Group('call', { selfCompatible: true })
@Group('cb', { selfCompatible: true })
@Compatible(['call', 'cb'])
class Pinger {
  @MemberOf('call') async ping(other: Active<Pinger>, n: number): Promise<number> {
    return (await other.cb(n)) + 1;
  }
  @MemberOf('cb') cb(n: number): number {
    return n * 10;
  }
}

/** The same with a hard limit: requests awaiting a future keep their slots. */
@Checkpoint({ everyRequests: 1, store: new MemoryStore() })
@Group('call', { selfCompatible: true })
@Group('cb', { selfCompatible: true })
@Compatible(['call', 'cb'])
@ThreadConfig({ threadPoolSize: 8, hardLimit: true })
class HardPinger {
  @MemberOf('call') async ping(other: Active<HardPinger>, n: number): Promise<number> {
    return (await other.cb(n)) + 1;
  }
  @MemberOf('cb') cb(n: number): number {
    return n * 10;
  }
}

describe('a pending checkpoint never deadlocks objects that call each other back', () => {
  for (const [name, Cls] of [
    ['without a slot limit', Pinger],
    ['under a hard limit', HardPinger],
  ] as const) {
    it(`${name}: a.ping(b) awaits b.cb() while b.ping(a) awaits a.cb(), checkpoints due on both`, async () => {
      const a = newActive(Cls as typeof Pinger);
      const b = newActive(Cls as typeof Pinger);
      // Each ping is in service awaiting the other's cb when the checkpoint after the first
      // request falls due: cb must still be admitted.
      const results = Promise.all([a.ping(b, 1), b.ping(a, 2), a.ping(b, 3), b.ping(a, 4), a.cb(5), b.cb(6)]);
      const outcome = await Promise.race([
        results,
        new Promise((resolve) => setTimeout(() => resolve('timed out'), 5_000).unref()),
      ]);
      expect(outcome).toEqual([11, 21, 31, 41, 50, 60]);
      const checkpoints = await Promise.all([control(a).checkpoint(), control(b).checkpoint()]);
      expect(checkpoints.every((c) => c.seq >= 1)).toBe(true);
    });
  }
});

/** An account class whose checkpoints go to a FileStore in `dir` (one per test). */
function accountIn(dir: string) {
  @Checkpoint({ store: dir })
  class Account {
    balance = 0;
    deposit(n: number): number {
      this.balance += n;
      return this.balance;
    }
  }
  return Account;
}

describe('restoring from the file store (a process restart)', () => {
  it('writes atomically (no temporary files left) and restores by key', async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const account = newActive(Account, [], { checkpointKey: 'accounts/alice' });
    await account.deposit(40);
    await control(account).checkpoint();
    await account.deposit(2);
    const info = await control(account).checkpoint();
    expect(info).toMatchObject({ key: 'accounts/alice', seq: 2 });
    const files = readdirSync(join(dir, encodeURIComponent('accounts/alice')));
    expect(files).toEqual(['0000000000000001.ckpt', '0000000000000002.ckpt']);
    await terminate(account);
    const again = newActive(Account, [], { checkpointKey: 'accounts/alice', restore: true });
    // Calls made at once wait for the restore.
    expect(await again.deposit(0)).toBe(42);
    expect(await new FileStore(dir).list('accounts/alice')).toEqual([1, 2]);
  });

  it('a damaged newest checkpoint is a clear error on every call, never a silent empty state', async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const account = newActive(Account, [], { checkpointKey: 'bob' });
    await account.deposit(7);
    await control(account).checkpoint();
    const file = join(dir, 'bob', '0000000000000001.ckpt');
    const bytes = readFileSync(file);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(file, bytes);
    await terminate(account);
    const restored = newActive(Account, [], { checkpointKey: 'bob', restore: true });
    const error = await restored.deposit(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toContain('Checkpoint 1 of bob');
    expect((error as Error).message).toContain('is damaged (checksum mismatch); refusing to restore from it');
    await expect(restored.deposit(1)).rejects.toBeInstanceOf(CheckpointError);
  });

  it('a missing checkpoint is a clear error too', async () => {
    const dir = tempDir();
    const Account = accountIn(dir);
    const restored = newActive(Account, [], { checkpointKey: 'nobody', restore: true });
    await expect(restored.deposit(1)).rejects.toThrow(
      /There is no checkpoint of nobody to restore Account#\d+ from \(in .*\)/,
    );
  });
});

describe('options', () => {
  it('rejects checkpoint options for classes without @Checkpoint, and bad values', () => {
    class Plain {}
    expect(() => newActive(Plain, [], { restore: true })).toThrow(ArgumentError);
    expect(() => newActive(Plain, [], { checkpointKey: 'x' })).toThrow(/has no @Checkpoint/);
    expect(() => newActive(Counter, [], { checkpointKey: '' })).toThrow(
      /`checkpointKey` to be a non-empty string/,
    );
    expect(() => newActive(Counter, [], { restore: 'yes' as unknown as boolean })).toThrow(
      /`restore` to be a boolean/,
    );
    // A default key is new in every run: nothing could ever be restored from it.
    expect(() => newActive(Counter, [], { restore: true })).toThrow(
      /`restore: true` needs a `checkpointKey`/,
    );
    expect(() => newActive(Counter, [], { copy: 'no' as unknown as boolean })).toThrow(
      /`copy` to be a boolean/,
    );
  });

  it('control().checkpoint() on a class without @Checkpoint says what to do', async () => {
    class Plain {
      ping(): number {
        return 1;
      }
    }
    await expect(control(newActive(Plain)).checkpoint()).rejects.toThrow(/has no @Checkpoint: declare it/);
  });
});
