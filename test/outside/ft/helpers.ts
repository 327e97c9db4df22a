import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MultiactiveEvent, onEvent } from '../../../src/index.js';

export function within<T>(p: PromiseLike<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([Promise.resolve(p), t]).finally(() => clearTimeout(timer));
}

/** Resolves with the first event of `type` matching `pred`, or rejects after `ms`. */
export function nextEvent<T extends MultiactiveEvent['type']>(
  type: T,
  ms: number,
  pred: (e: Extract<MultiactiveEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<MultiactiveEvent, { type: T }>> {
  let stop = () => {};
  const p = new Promise<Extract<MultiactiveEvent, { type: T }>>((resolve) => {
    stop = onEvent(
      (e) => {
        if (e.type === type && pred(e as Extract<MultiactiveEvent, { type: T }>))
          resolve(e as Extract<MultiactiveEvent, { type: T }>);
      },
      { requests: 'none' },
    );
  });
  return within(p, ms, `event ${type}`).finally(() => stop());
}

/** Records every event (no request events). */
export function record(): { events: MultiactiveEvent[]; stop: () => void } {
  const events: MultiactiveEvent[] = [];
  const stop = onEvent((e) => events.push(e), { requests: 'none' });
  return { events, stop };
}

export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `oft-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
export function settle<T>(p: PromiseLike<T>): Promise<Settled<T>> {
  return Promise.resolve(p).then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  );
}
