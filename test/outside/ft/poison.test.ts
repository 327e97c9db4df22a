/**
 * docs/fault-tolerance.md "Bounds": quarantine (a call named twice by its node's exit handlers,
 * a call running at three deaths by memory), giving up after 8 deaths without progress, the
 * journal limit (JournalFullError, journal.full), an uncopyable result (nodes.md: CopyError,
 * nothing else fails).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  createWorkerNode,
  JournalFullError,
  MultiactiveError,
  NodeLostError,
  newActive,
  type QuarantineError,
  shutdown,
} from '../../../src/index.js';
import { BadRestore, Journaled, Poisoned } from './fixtures/bank.js';
import { nextEvent, record, settle, tempDir, within } from './helpers.js';

const poisonDir = tempDir('poison');
const journalDir = tempDir('journal');
process.env.OFT_POISON_DIR = poisonDir.dir;
process.env.OFT_JOURNAL_DIR = journalDir.dir;
afterEach(async () => {
  await within(shutdown({ timeoutMs: 5000 }), 20000, 'shutdown');
});
afterAll(() => {
  poisonDir.cleanup();
  journalDir.cleanup();
});

function errName(e: unknown): string {
  return (e as { name?: string })?.name ?? String(e);
}

describe('quarantine', () => {
  for (const method of ['poison'] as const) {
    it(`a call that ends its node every time (${method}) costs two nodes, rejects with QuarantineError, the object goes on from the state before it`, async () => {
      const rec = record();
      const w = createWorkerNode();
      const p = newActive(Poisoned, [], { node: w });
      expect(await within(p.bump(), 10000, 'bump')).toBe(1);
      expect(await within(p.bump(), 10000, 'bump')).toBe(2);
      expect(await within(p.bump(), 10000, 'bump')).toBe(3);
      const q = nextEvent('call.quarantined', 30000);
      const bad = settle(p[method]());
      const after = p.bump(); // queued behind the poison call
      const r = await within(bad, 30000, 'poison settles');
      expect(r.ok).toBe(false);
      const err = (r as { error: unknown }).error as QuarantineError;
      expect(errName(err)).toBe('QuarantineError');
      expect(err).toBeInstanceOf(MultiactiveError);
      const ev = await q;
      expect(ev.method).toBe(method);
      expect(await within(after, 20000, 'after')).toBe(4); // 3 + 1, the +1000 of the poison call is not kept
      expect(await within(p.get(), 10000, 'get')).toBe(4);
      const lost = rec.events.filter((e) => e.type === 'node.lost');
      expect(lost.length, 'a poison call costs two nodes').toBe(2);
      rec.stop();
      // Field of the error, documented: objectId, method, delivery.
      expect({
        method: err.method,
        hasDelivery: typeof err.delivery === 'number',
        hasId: typeof err.objectId === 'number',
      }).toEqual({
        method,
        hasDelivery: true,
        hasId: true,
      });
    }, 60000);
  }

  // Found broken by this file (fixed): a call that ends its node on a later turn (a timer it
  // set) had already answered its caller, and calls after it too; it was quarantined, rolling
  // the object back to "the state before it": effects callers saw were undone. A call that has
  // answered is not quarantined (docs/fault-tolerance.md, "Bounds"): its deaths count towards
  // giving the object up, and what callers saw is never contradicted.
  it('a poison call that answered before killing its node (timer) is not quarantined: the object is given up, never rolled back', async () => {
    const rec = record();
    const w = createWorkerNode();
    const p = newActive(Poisoned, [], { node: w });
    await within(p.bump(), 10000, 'bump');
    const gaveUp = nextEvent('object.unrecoverable', 90000);
    const seen = await within(p.poisonLater(), 10000, 'poisonLater answers');
    expect(seen).toBe(1001);
    const after = await within(settle(p.bump()), 90000, 'the bump after it settles');
    await within(gaveUp, 90000, 'object.unrecoverable');
    const got = await within(settle(p.get()), 10000, 'get');
    // If the bump after it answered, it answered from the state poisonLater left (never 2).
    if (after.ok) expect(after.value).toBe(1002);
    else expect(after.error).toBeInstanceOf(NodeLostError);
    expect(got.ok).toBe(false);
    expect((got as { error: unknown }).error).toBeInstanceOf(NodeLostError);
    expect(rec.events.filter((e) => e.type === 'call.quarantined')).toEqual([]);
    rec.stop();
  }, 120000);

  it('a call that runs out of memory each time is quarantined after three deaths by memory', async () => {
    const rec = record();
    const w = createWorkerNode({
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
    });
    const p = newActive(Poisoned, [], { node: w });
    expect(await within(p.bump(), 10000, 'bump')).toBe(1);
    const r = await within(settle(p.oom()), 50000, 'oom settles');
    expect(r.ok).toBe(false);
    expect(errName((r as { error: unknown }).error)).toBe('QuarantineError');
    expect(await within(p.get(), 10000, 'get')).toBe(1);
    // "a replayed call that was running at three deaths by memory": the first run's death is
    // not a replay, so the first run + three replays = four nodes (the docs do not count it out).
    expect(rec.events.filter((e) => e.type === 'node.lost').length).toBe(4);
    rec.stop();
  }, 60000);

  it('an uncopyable result fails that call with CopyError; the worker and the object go on', async () => {
    const rec = record();
    const w = createWorkerNode();
    const p = newActive(Poisoned, [], { node: w });
    const r = await within(settle(p.uncopyable()), 10000, 'uncopyable');
    expect(r.ok).toBe(false);
    expect(errName((r as { error: unknown }).error)).toBe('CopyError');
    expect(await within(p.bump(), 10000, 'bump')).toBe(2);
    expect(rec.events.filter((e) => e.type === 'node.lost' || e.type === 'call.quarantined')).toEqual([]);
    rec.stop();
  }, 30000);
});

describe('giving up', () => {
  it('a restore hook that kills every node: object.unrecoverable after 8 deaths, callers get NodeLostError', async () => {
    const rec = record();
    const w = createWorkerNode();
    const o = newActive(BadRestore, [], { node: w });
    expect(await within(o.bump(), 10000, 'bump')).toBe(1);
    const taken = nextEvent('checkpoint.taken', 10000);
    await within(o.save(), 10000, 'save');
    await taken;
    writeFileSync(`${poisonDir.dir}/kill-restore`, 'x');
    const unrec = nextEvent('object.unrecoverable', 90000);
    const r = settle(o.bump());
    const later = settle(o.bump());
    await w.worker.terminate(); // from outside: blames nobody; then every restore kills its node
    await unrec;
    rmSync(`${poisonDir.dir}/kill-restore`);
    const [a, b] = await within(Promise.all([r, later]), 10000, 'callers settle');
    // Both callers must settle.
    for (const x of [a, b]) {
      expect(x.ok).toBe(false);
      expect((x as { error: unknown }).error).toBeInstanceOf(NodeLostError);
    }
    const deaths = rec.events.filter((e) => e.type === 'node.lost').length;
    expect(deaths).toBeGreaterThanOrEqual(8);
    expect(deaths).toBeLessThanOrEqual(10);
    // Later calls reject at once.
    const again = await within(settle(o.bump()), 5000, 'later call');
    expect(again.ok).toBe(false);
    rec.stop();
  }, 120000);
});

describe('journal limit', () => {
  it('refuses calls with JournalFullError at the limit, emits journal.full, runs nothing of them, and accepts again once a checkpoint is durable', async () => {
    writeFileSync(`${journalDir.dir}/broken`, 'x');
    const rec = record();
    const w = createWorkerNode();
    const j = newActive(Journaled, [], { node: w });
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await within(settle(j.bump()), 10000, `bump ${i}`));
    const refused = results.filter((r) => !r.ok);
    const served = results.filter((r) => r.ok);
    expect(served.length, 'calls served before the journal filled').toBeGreaterThanOrEqual(5);
    expect(served.length).toBeLessThanOrEqual(6);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(errName((r as { error: unknown }).error)).toBe('JournalFullError');
    const err = (refused[0] as { error: unknown }).error;
    // From the main thread to a worker: is it the class, or a RemoteError named so?
    expect(err instanceof JournalFullError || errName(err) === 'JournalFullError').toBe(true);
    expect(rec.events.some((e) => e.type === 'journal.full' && e.limit === 6)).toBe(true);
    // Mend the store. UNCLEAR DOC: "asks for a checkpoint at most every 20 ms" is only on refused
    // calls (an idle object with a full journal never retries), so the first call after mending
    // is refused too. Retry, bounded.
    rmSync(`${journalDir.dir}/broken`);
    let ok: number | undefined;
    const deadline = Date.now() + 5000;
    while (ok === undefined && Date.now() < deadline) {
      const r = await within(settle(j.bump()), 5000, 'bump after mend');
      if (r.ok) ok = r.value;
      else {
        expect(errName(r.error)).toBe('JournalFullError');
        await new Promise((res) => setTimeout(res, 25));
      }
    }
    expect(ok, 'nothing of a refused call ran').toBe(served.length + 1);
    rec.stop();
  }, 40000);
});
