/** Decorated classes remember the module they are defined in (worker nodes import them from it). */
import { describe, expect, it } from 'vitest';
import { originOf } from '../../decorators/index.js';
import { Probe } from '../fixtures/origin-probe.js';

describe('class origin', () => {
  it('is the URL of the module that declares the class', () => {
    expect(originOf(Probe)).toMatch(/^file:\/\/\/.*\/test\/fixtures\/origin-probe\.ts$/);
  });
  it('is read whatever stack settings the application made, and leaves them as they were', async () => {
    const saved = { limit: Error.stackTraceLimit, prepare: Error.prepareStackTrace };
    const prepare = (): string => 'a stack of its own';
    Error.stackTraceLimit = 0;
    Error.prepareStackTrace = prepare;
    let settings: { limit: number; prepare: unknown };
    let LateProbe: object;
    try {
      ({ LateProbe } = await import('../fixtures/origin-late-probe.js'));
    } finally {
      settings = { limit: Error.stackTraceLimit, prepare: Error.prepareStackTrace };
      Error.stackTraceLimit = saved.limit;
      Error.prepareStackTrace = saved.prepare;
    }
    expect(settings).toEqual({ limit: 0, prepare });
    expect(originOf(LateProbe)).toMatch(/^file:\/\/\/.*\/test\/fixtures\/origin-late-probe\.ts$/);
  });
  it('is unknown for a class without class decorators', () => {
    class Plain {}
    expect(originOf(Plain)).toBeUndefined();
  });
});
