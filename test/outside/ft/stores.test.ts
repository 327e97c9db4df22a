/**
 * docs/fault-tolerance.md "Stores", "Keys and numbering", "Every store call settles": real
 * FileStore directories, damaged files, odd keys, unwritable places, duck-typed stores that
 * misbehave, and the restore API's bad inputs.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  Checkpoint,
  CheckpointError,
  control,
  DefinitionError,
  FileStore,
  newActive,
  shutdown,
  terminate,
} from '../../../src/index.js';
import { captureWarnings } from '../../support/warnings.js';
import * as storesFixture from './fixtures/stores.js';
import { Box, current } from './fixtures/stores.js';
import { record, settle, tempDir, within } from './helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir('store');
  current.store = undefined;
  current.dir = tmp.dir;
});
afterEach(async () => {
  await within(shutdown({ timeoutMs: 3000 }), 10000, 'shutdown');
  tmp.cleanup();
});

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p, `${rel}${e}/`);
      else out.push(`${rel}${e}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

describe('FileStore across runs', () => {
  it('a second run on the same key without restore starts fresh, writes newer checkpoints, and a restore takes the new state', async () => {
    const a = newActive(Box, [], { checkpointKey: 'run/x' });
    await a.set(42);
    const c1 = await within(control(a).checkpoint(), 5000, 'ckpt 1');
    await terminate(a);
    const b = newActive(Box, [], { checkpointKey: 'run/x' });
    expect(await b.get(), 'not restored unless asked').toBe(0);
    await b.set(7);
    const c2 = await within(control(b).checkpoint(), 5000, 'ckpt 2');
    expect(c2.seq).toBeGreaterThan(c1.seq);
    await terminate(b);
    const c = newActive(Box, [], { checkpointKey: 'run/x', restore: true });
    expect(await c.get()).toBe(7);
    const info = await within(control(c).checkpoint(), 5000, 'ckpt 3');
    expect(info.seq, 'a restored object goes on above the newest').toBeGreaterThan(c2.seq);
  });

  it('restore with no checkpoint under the key: CheckpointError on every call', async () => {
    const a = newActive(Box, [], { checkpointKey: 'never-written', restore: true });
    for (const f of [a.get(), a.set(1), a.get()]) {
      const r = await within(settle(f), 5000, 'call');
      expect(r.ok).toBe(false);
      expect((r as { error: unknown }).error).toBeInstanceOf(CheckpointError);
    }
  });

  it('the newest two checkpoints are kept; file layout <dir>/<key>/<seq>.ckpt', async () => {
    const a = newActive(Box, [], { checkpointKey: 'keep' });
    for (let i = 1; i <= 5; i++) {
      await a.set(i);
      await within(control(a).checkpoint(), 5000, `ckpt ${i}`);
    }
    const fs = files(tmp.dir);
    expect(fs.length).toBe(2);
    for (const f of fs) expect(f).toMatch(/^keep\/\d+\.ckpt$/);
    const st = new FileStore(tmp.dir);
    const seqs = await st.list('keep');
    expect(seqs.length).toBe(2);
    expect(seqs[0]).toBeLessThan(seqs[1]!);
    const latest = await st.latest('keep');
    expect(latest?.seq).toBe(seqs[1]);
  });

  const damage: Record<string, (buf: Buffer) => Buffer> = {
    'a flipped data byte (checksum)': (b) => {
      const c = Buffer.from(b);
      c[c.length - 1]! ^= 0xff;
      return c;
    },
    truncated: (b) => b.subarray(0, Math.floor(b.length / 2)),
    'truncated by one byte': (b) => b.subarray(0, b.length - 1),
    'a bad header': (b) => {
      const c = Buffer.from(b);
      c[0]! ^= 0xff;
      return c;
    },
    empty: () => Buffer.alloc(0),
    'a byte appended': (b) => Buffer.concat([b, Buffer.from([0])]),
  };
  for (const [what, hurt] of Object.entries(damage)) {
    it(`a newest checkpoint with ${what} is a CheckpointError on restore, never the older one`, async () => {
      const a = newActive(Box, [], { checkpointKey: 'dmg' });
      await a.set(1);
      await within(control(a).checkpoint(), 5000, 'ckpt old');
      await a.set(2);
      const info = await within(control(a).checkpoint(), 5000, 'ckpt new');
      await terminate(a);
      const newest = files(tmp.dir)
        .filter((f) => f.endsWith('.ckpt'))
        .sort()
        .at(-1)!;
      expect(Number(newest.match(/(\d+)\.ckpt$/)![1])).toBe(info.seq);
      const p = join(tmp.dir, newest);
      writeFileSync(p, hurt(readFileSync(p)));
      const st = await settle(new FileStore(tmp.dir).latest('dmg'));
      expect(st.ok, 'FileStore.latest rejects').toBe(false);
      const b = newActive(Box, [], { checkpointKey: 'dmg', restore: true });
      const r = await within(settle(b.get()), 5000, 'get');
      expect(r.ok ? `restored ${r.value}` : (r.error as Error).name).toBe('CheckpointError');
    });
  }

  it('keys with "..", "/", "." and "%" stay inside the directory, each in its own directory, and restore', async () => {
    const keys = ['..', '../x', 'a/b', '.', '%2E', 'a%2Fb', '../../etc', '/abs', ''];
    const parent = resolve(tmp.dir, '..');
    const before = new Set(readdirSync(parent));
    const stored: string[] = [];
    for (const [i, key] of keys.entries()) {
      const r = await settle(
        (async () => {
          const a = newActive(Box, [], { checkpointKey: key });
          await a.set(100 + i);
          await within(control(a).checkpoint(), 5000, `ckpt ${key}`);
          await terminate(a);
        })(),
      );
      if (r.ok) stored.push(key);
      else
        expect((r.error as Error).name, `key ${JSON.stringify(key)}`).toMatch(
          /ArgumentError|CheckpointError/,
        );
    }
    // Nothing was written outside tmp.dir.
    const after = readdirSync(parent).filter((e) => !before.has(e));
    expect(after).toEqual([]);
    expect(existsSync(join(tmp.dir, '..', 'x'))).toBe(false);
    // Each stored key has its own top-level directory.
    const top = readdirSync(tmp.dir);
    expect(top.length).toBe(stored.length);
    for (const key of stored) {
      const i = keys.indexOf(key);
      const b = newActive(Box, [], { checkpointKey: key, restore: true });
      expect(await within(b.get(), 5000, `restore ${key}`)).toBe(100 + i);
      await terminate(b);
    }
    expect(stored).toEqual(expect.arrayContaining(['..', '../x', 'a/b', '.', '%2E', 'a%2Fb']));
  });

  for (const [what, dir, told] of [
    [
      'under /proc',
      '/proc/oft-cannot-be-here/deeper',
      /could not be written to \/proc\/oft-cannot-be-here\/.*ENOENT/,
    ],
    ['under a regular file', 'FILE/sub', /could not be listed in .*plainfile\/sub\/k: Error: ENOTDIR/],
  ] as const) {
    it(`a store ${what} fails its checkpoints with CheckpointError at once; the object goes on`, async () => {
      // Nobody observes events: the failed checkpoint is told once, as a process warning.
      const warnings = captureWarnings('MULTIACTIVE_CHECKPOINT');
      const file = join(tmp.dir, 'plainfile');
      writeFileSync(file, 'x');
      current.dir = dir.replace('FILE', file);
      const a = newActive(Box, [], { checkpointKey: 'k' });
      await a.set(3);
      const t0 = Date.now();
      const r = await within(settle(control(a).checkpoint()), 5000, 'checkpoint');
      expect(r.ok).toBe(false);
      expect((r as { error: unknown }).error).toBeInstanceOf(CheckpointError);
      expect(Date.now() - t0).toBeLessThan(250); // well under storeTimeoutMs (300): "at once"
      expect(await a.get()).toBe(3);
      expect(warnings.map((w) => w.message)).toEqual([
        expect.stringMatching(/^multiactive: checkpoint 1 of Box#\d+ failed: CheckpointError: /),
      ]);
      expect(warnings[0]!.message).toMatch(told);
    });
  }

  it('a default-keyed object leaves no checkpoints once terminated', async () => {
    const a = newActive(Box, []);
    await a.set(1);
    const info = await within(control(a).checkpoint(), 5000, 'ckpt');
    expect(info.key).toMatch(/^Box#\d+@/);
    expect(files(tmp.dir).length).toBe(1);
    await terminate(a);
    // "once the writes under way are done": bounded wait on the directory.
    const deadline = Date.now() + 3000;
    while (files(tmp.dir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(files(tmp.dir)).toEqual([]);
  });

  it('two live objects on one key: the second newActive throws ArgumentError before its constructor runs; free again after terminate', async () => {
    const a = newActive(Box, [], { checkpointKey: 'dup' });
    const before = storesFixture.constructed;
    expect(() => newActive(Box, [], { checkpointKey: 'dup' })).toThrow(ArgumentError);
    expect(storesFixture.constructed).toBe(before);
    await terminate(a);
    const b = newActive(Box, [], { checkpointKey: 'dup' });
    expect(await b.set(5)).toBe(5);
  });
});

describe('duck-typed stores that misbehave', () => {
  const ok = () => new FileStore(tmp.dir);
  const cases: Record<string, () => Partial<Record<'put' | 'list' | 'latest', unknown>>> = {
    'put throws synchronously': () => ({
      put: () => {
        throw new Error('sync boom');
      },
    }),
    'put returns a non-promise': () => ({ put: () => 42 }),
    'put returns undefined': () => ({ put: () => undefined }),
    'put never settles (storeTimeoutMs 300)': () => ({ put: () => new Promise(() => {}) }),
    // biome-ignore lint/suspicious/noThenProperty: a thenable store result is the point of this case
    'put returns a thenable that never calls back': () => ({ put: () => ({ then() {} }) }),
    'list returns a non-array': () => ({ list: async () => 'nope' }),
    'list returns non-numbers': () => ({ list: async () => ['a', null] }),
    'list never settles': () => ({ list: () => new Promise(() => {}) }),
  };
  for (const [what, make] of Object.entries(cases)) {
    it(`${what}: that checkpoint fails with CheckpointError within the bound, the object serves, the next checkpoint tries again`, async () => {
      const rec = record();
      const calls = { put: 0, list: 0 };
      let broken = true;
      const bad = make();
      const base = ok();
      current.store = {
        put: (k, s, d) => {
          calls.put++;
          return broken && bad.put
            ? (bad.put as (...a: unknown[]) => Promise<void>)(k, s, d)
            : base.put(k, s, d);
        },
        list: (k) => {
          calls.list++;
          return broken && bad.list ? (bad.list as (k: string) => Promise<number[]>)(k) : base.list(k);
        },
        latest: (k) => base.latest(k),
        remove: (k) => base.remove(k),
      };
      const a = newActive(Box, [], { checkpointKey: 'duck' });
      await a.set(9);
      const t0 = Date.now();
      const r = await within(settle(control(a).checkpoint()), 3000, 'checkpoint settles');
      expect(r.ok).toBe(false);
      expect((r as { error: unknown }).error).toBeInstanceOf(CheckpointError);
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(await within(a.set(10), 2000, 'serves meanwhile')).toBe(10);
      expect(rec.events.some((e) => e.type === 'checkpoint.failed')).toBe(true);
      broken = false;
      const again = await within(settle(control(a).checkpoint()), 3000, 'second checkpoint');
      expect(again.ok ? 'ok' : String((again as { error: unknown }).error)).toBe('ok');
      const st = await base.latest('duck');
      expect(st).toBeDefined();
      rec.stop();
    });
  }

  const restoreCases: Record<string, () => unknown> = {
    'latest never settles': () => new Promise(() => {}),
    'latest throws synchronously': () => {
      throw new Error('sync');
    },
    'latest returns a non-promise': () => ({ key: 'r', seq: 1, data: new Uint8Array() }),
    'latest resolves a wrong shape (data a string)': async () => ({ key: 'r', seq: 1, data: 'xx' }),
    'latest resolves garbage bytes': async () => ({ key: 'r', seq: 1, data: new Uint8Array([1, 2, 3]) }),
    'latest resolves null': async () => null,
  };
  for (const [what, latest] of Object.entries(restoreCases)) {
    it(`restore where ${what}: calls fail with CheckpointError, bounded`, async () => {
      current.store = {
        put: async () => {},
        list: async () => [],
        latest: latest as never,
      };
      const a = newActive(Box, [], { checkpointKey: 'r', restore: true });
      const r = await within(settle(a.get()), 3000, 'get settles');
      expect(r.ok ? `resolved ${JSON.stringify(r.value)}` : (r.error as Error).name).toBe('CheckpointError');
    });
  }
});

describe('declaration and restore API input', () => {
  for (const [opt, v] of [
    ['storeTimeoutMs', 0],
    ['storeTimeoutMs', 1.5],
    ['storeTimeoutMs', -1],
    ['storeTimeoutMs', Number.NaN],
    ['journalLimit', 1],
    ['journalLimit', 2.5],
    ['everyRequests', 0],
    ['everyMs', 0],
  ] as const) {
    it(`@Checkpoint({ ${opt}: ${v} }) is a DefinitionError`, () => {
      expect(() => {
        @Checkpoint({ [opt]: v })
        class Bad {}
        return Bad;
      }).toThrow(DefinitionError);
    });
  }

  it('@Checkpoint({ storeTimeoutMs: Infinity, journalLimit: 2 }) is valid', () => {
    expect(() => {
      @Checkpoint({ storeTimeoutMs: Number.POSITIVE_INFINITY, journalLimit: 2 })
      class Good {}
      return Good;
    }).not.toThrow();
  });

  for (const [what, opts] of [
    ['restore: "yes"', { checkpointKey: 'k', restore: 'yes' }],
    ['checkpointKey: 42', { checkpointKey: 42 }],
    ['checkpointKey: null', { checkpointKey: null, restore: true }],
  ] as const) {
    it(`newActive with ${what} is an ArgumentError (guide: bad input to newActive)`, () => {
      expect(() => newActive(Box, [], opts as never)).toThrow(ArgumentError);
    });
  }

  it('restore: true on a class without @Checkpoint is refused (ArgumentError), not silently ignored', async () => {
    class Plain {
      x = 1;
      get() {
        return this.x;
      }
    }
    const r = await settle(
      (async () => {
        const p = newActive(Plain, [], { checkpointKey: 'plain', restore: true } as never);
        return p.get();
      })(),
    );
    expect(r.ok ? 'silently ignored' : (r.error as Error).name).toMatch(/ArgumentError|CheckpointError/);
  });

  it('restore: true without a checkpointKey is refused (a default key can never be restored)', async () => {
    const r = await settle(
      (async () => {
        const p = newActive(Box, [], { restore: true });
        return p.get();
      })(),
    );
    expect(r.ok ? `resolved ${r.value}` : (r.error as Error).name).toMatch(/ArgumentError|CheckpointError/);
  });
});

afterAll(() => {});
