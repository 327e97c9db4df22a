/** Events become plain JSON for the page and trace files: thrown values, Infinity, bigint. */
import type { MultiactiveEvent } from 'multiactive';
import { jsonSafe } from 'multiactive/debugger';
import { describe, expect, it } from 'vitest';
import { safeError, toJson } from '../../debugger/json-safe.js';

const ref = { requestId: 1, objectId: 1, className: 'A', method: 'm', group: undefined };

describe('JSON-safe events', () => {
  it('reduces any thrown value to its name and message', () => {
    const cause = new Error('inner');
    expect(safeError(new RangeError('bad', { cause }))).toEqual({ name: 'RangeError', message: 'bad' });
    expect(safeError('plain string')).toEqual({ name: 'string', message: 'plain string' });
    expect(safeError(undefined)).toBeNull();
    expect(safeError(Object.create(null))).toEqual({ name: 'object', message: '(not printable)' });
    const finished = {
      type: 'request.finished',
      time: 1,
      request: ref,
      ok: false,
      error: new TypeError('x'),
    } as const;
    expect(JSON.parse(toJson(jsonSafe(finished)))).toMatchObject({
      error: { name: 'TypeError', message: 'x' },
    });
  });

  it('keeps events without an error as they are, Infinity becoming null', () => {
    const limits: MultiactiveEvent = {
      type: 'object.limits',
      time: 1,
      objectId: 1,
      limit: Infinity,
      hardLimit: false,
    };
    expect(jsonSafe(limits)).toBe(limits);
    // A request that did not fail: no copy either (JSON leaves `error: undefined` out).
    const ok = { type: 'request.finished', time: 1, request: ref, ok: true, error: undefined } as const;
    expect(jsonSafe(ok)).toBe(ok);
    // Already safe (read back from a trace): not copied again.
    const safe = { ...ok, ok: false, error: { name: 'TypeError', message: 'x' } };
    expect(jsonSafe(safe)).toBe(safe);
    expect(JSON.parse(toJson(limits)).limit).toBeNull();
  });

  it('never throws on a bigint', () => {
    const odd = { type: 'request.finished', time: 1, request: ref, ok: true, error: undefined, extra: 10n };
    expect(JSON.parse(toJson(odd)).extra).toBe('10');
  });
});
