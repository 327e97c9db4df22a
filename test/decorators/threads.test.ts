import { describe, expect, it } from 'vitest';
import { compilePolicy, Group, RESERVATION_MARGIN, ThreadConfig } from '../../decorators/index.js';
import { mode } from './support.js';

describe(`slots and reservations (${mode} decorators)`, () => {
  it('keeps the pool size when the reservations leave a free slot', () => {
    @Group('a', { minThreads: 2 })
    @Group('b', { minThreads: 1 })
    @ThreadConfig({ threadPoolSize: 4 })
    class Roomy {}
    const policy = compilePolicy(Roomy);
    expect(policy.minThreads).toEqual([2, 1]);
    expect(policy.poolSize).toBe(4);
  });

  it('raises the pool size to the reservations + 1 when they fill it', () => {
    @Group('a', { minThreads: 2 })
    @Group('b', { minThreads: 1 })
    @ThreadConfig({ threadPoolSize: 3 })
    class Full {}
    expect(compilePolicy(Full).poolSize).toBe(3 + RESERVATION_MARGIN);
    expect(RESERVATION_MARGIN).toBe(1);
  });

  it('raises the pool size when the reservations exceed it', () => {
    @Group('a', { minThreads: 5, maxThreads: 6 })
    @ThreadConfig({ threadPoolSize: 2, hardLimit: true })
    class Over {}
    const policy = compilePolicy(Over);
    expect(policy.poolSize).toBe(6);
    expect(policy.hardLimit).toBe(true);
    expect(policy.maxThreads).toEqual([6]);
  });

  it('counts inherited reservations', () => {
    @Group('a', { minThreads: 1 })
    @ThreadConfig({ threadPoolSize: 2 })
    class Base {}
    @Group('b', { minThreads: 1 })
    class Derived extends Base {}
    expect(compilePolicy(Base).poolSize).toBe(2);
    expect(compilePolicy(Derived).poolSize).toBe(3);
  });

  it('leaves an unlimited pool unlimited whatever the reservations', () => {
    @Group('a', { minThreads: 3 })
    class Unlimited {}
    expect(compilePolicy(Unlimited).poolSize).toBe(Number.POSITIVE_INFINITY);
  });

  it('accepts Infinity as an explicit pool size and maxThreads', () => {
    @Group('a', { maxThreads: Number.POSITIVE_INFINITY })
    @ThreadConfig({ threadPoolSize: Number.POSITIVE_INFINITY })
    class Explicit {}
    const policy = compilePolicy(Explicit);
    expect(policy.poolSize).toBe(Number.POSITIVE_INFINITY);
    expect(policy.maxThreads).toEqual([Number.POSITIVE_INFINITY]);
  });

  it('accepts minThreads equal to maxThreads', () => {
    @Group('a', { minThreads: 2, maxThreads: 2 })
    @ThreadConfig({ threadPoolSize: 4 })
    class Exact {}
    expect(compilePolicy(Exact).minThreads).toEqual([2]);
  });
});
