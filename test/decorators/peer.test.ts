import { describe, expect, it } from 'vitest';
import {
  Alone,
  Compatible,
  compilePolicy,
  Group,
  MemberOf,
  Priority,
  type RequestView,
  ThreadConfig,
} from '../../decorators/index.js';
import { classicPolicy, groupsCompatible } from '../../scheduler/policy.js';
import { canOvertake, id, incompatibleWith, mode } from './support.js';

type Data = { readonly value: string };

const differentKeys = (a: RequestView, b: RequestView) => a.args[0] !== b.args[0];

// The SPEC §2 example.
@Group('routing', { selfCompatible: false })
@Group('monitoring', { selfCompatible: true })
@Group('lookup', { selfCompatible: true, condition: differentKeys, maxThreads: 4 })
@Compatible(['routing', 'monitoring'])
@Compatible(['lookup', 'monitoring'])
@Priority('routing', ['lookup', 'monitoring'])
@ThreadConfig({ threadPoolSize: 2, hardLimit: false })
class Peer {
  readonly store = new Map<string, Data>();
  @MemberOf('routing') add(key: string, data: Data): void {
    this.store.set(key, data);
  }
  @MemberOf('lookup') async get(key: string): Promise<Data | undefined> {
    return this.store.get(key);
  }
  @MemberOf('monitoring') log(msg: string): void {
    void msg;
  }
  @Alone() ungrouped(): void {} // runs alone, on purpose
}

describe(`the SPEC §2 Peer example (${mode} decorators)`, () => {
  const policy = compilePolicy(Peer);

  it('numbers the groups in declaration order', () => {
    expect(policy.className).toBe('Peer');
    expect(policy.groupNames).toEqual(['routing', 'monitoring', 'lookup']);
    expect(policy.groupCount).toBe(3);
  });

  it('maps each decorated method to its group and leaves the others ungrouped', () => {
    expect([...policy.methodGroup]).toEqual([
      ['add', 0],
      ['get', 2],
      ['log', 1],
    ]);
    expect(policy.methodGroup.has('ungrouped')).toBe(false);
  });

  it('makes routing incompatible with itself and with lookup', () => {
    expect(incompatibleWith(policy, 'routing')).toEqual(['routing', 'lookup']);
    expect(policy.conditional[id(policy, 'routing')]).toEqual([]);
  });

  it('makes monitoring compatible with every group, itself included', () => {
    expect(incompatibleWith(policy, 'monitoring')).toEqual([]);
    expect(policy.conditional[id(policy, 'monitoring')]).toEqual([]);
  });

  it('makes lookup compatible with itself only under its condition', () => {
    expect(incompatibleWith(policy, 'lookup')).toEqual(['routing']);
    expect(policy.conditional[id(policy, 'lookup')]).toEqual([{ group: 2, condition: differentKeys }]);
    expect(groupsCompatible(policy, 2, 2)).toBe('conditional');
  });

  it('states compatibility symmetrically', () => {
    for (let g = 0; g < policy.groupCount; g++) {
      for (let h = 0; h < policy.groupCount; h++) {
        expect(groupsCompatible(policy, g, h)).toBe(groupsCompatible(policy, h, g));
      }
    }
  });

  it('lets routing overtake lookup and monitoring, and nothing else overtake anything', () => {
    expect(canOvertake(policy, 'routing', 'lookup')).toBe(true);
    expect(canOvertake(policy, 'routing', 'monitoring')).toBe(true);
    expect(policy.overtakes[id(policy, 'lookup')]).toEqual([]);
    expect(policy.overtakes[id(policy, 'monitoring')]).toEqual([]);
    expect(policy.hasPriorities).toBe(true);
  });

  it('keeps the thread options and group limits', () => {
    expect(policy.poolSize).toBe(2);
    expect(policy.hardLimit).toBe(false);
    expect(policy.maxThreads).toEqual([Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 4]);
    expect(policy.minThreads).toEqual([0, 0, 0]);
    expect(policy.superPriority).toEqual([false, false, false]);
  });

  it('compiles once and returns the cached policy afterwards', () => {
    expect(compilePolicy(Peer)).toBe(policy);
  });

  it('leaves the class usable as a plain class', async () => {
    const peer = new Peer();
    peer.add('k', { value: 'v' });
    expect(await peer.get('k')).toEqual({ value: 'v' });
  });
});

describe(`a class without declarations (${mode} decorators)`, () => {
  it('gets the classic policy: no groups, one request at a time', () => {
    class Counter {
      count = 0;
      increment(): void {
        this.count++;
      }
    }
    expect(compilePolicy(Counter)).toEqual(classicPolicy('Counter'));
  });

  it('gets the classic policy even when it extends an undecorated class', () => {
    class Base {}
    class Derived extends Base {}
    expect(compilePolicy(Derived)).toEqual(classicPolicy('Derived'));
  });
});

describe(`declaration defaults (${mode} decorators)`, () => {
  it('makes a group with no options neither self-compatible nor limited', () => {
    @Group('solo')
    class Solo {
      @MemberOf('solo') run(): void {}
    }
    const policy = compilePolicy(Solo);
    expect(incompatibleWith(policy, 'solo')).toEqual(['solo']);
    expect(policy.minThreads).toEqual([0]);
    expect(policy.maxThreads).toEqual([Number.POSITIVE_INFINITY]);
    expect(policy.poolSize).toBe(Number.POSITIVE_INFINITY);
    expect(policy.hardLimit).toBe(false);
    expect(policy.hasPriorities).toBe(false);
    expect(policy.overtakes).toEqual([[]]);
  });

  it('puts a @Compatible condition in both groups’ conditional rules', () => {
    const sameShard = (a: RequestView, b: RequestView) => a.args[0] === b.args[0];
    @Group('reads', { selfCompatible: true })
    @Group('writes')
    @Compatible(['reads', 'writes'], sameShard)
    class Shard {
      @MemberOf('reads') read(): void {}
      @MemberOf('writes') write(): void {}
    }
    const policy = compilePolicy(Shard);
    expect(policy.conditional[id(policy, 'reads')]).toEqual([{ group: 1, condition: sameShard }]);
    expect(policy.conditional[id(policy, 'writes')]).toEqual([{ group: 0, condition: sameShard }]);
    expect(incompatibleWith(policy, 'reads')).toEqual([]);
    expect(incompatibleWith(policy, 'writes')).toEqual(['writes']);
  });

  it('makes every pair of a @Compatible list compatible, but no group compatible with itself', () => {
    @Group('a')
    @Group('b')
    @Group('c')
    @Compatible(['a', 'b', 'c'])
    class Triple {}
    const policy = compilePolicy(Triple);
    expect(incompatibleWith(policy, 'a')).toEqual(['a']);
    expect(incompatibleWith(policy, 'b')).toEqual(['b']);
    expect(incompatibleWith(policy, 'c')).toEqual(['c']);
  });

  it('accepts the same unconditional pair twice', () => {
    @Group('a')
    @Group('b')
    @Compatible(['a', 'b'])
    @Compatible(['b', 'a'])
    class Twice {}
    expect(incompatibleWith(compilePolicy(Twice), 'a')).toEqual(['a']);
  });

  it('accepts @ThreadConfig without options', () => {
    @Group('g')
    @ThreadConfig()
    class Defaults {}
    expect(compilePolicy(Defaults).poolSize).toBe(Number.POSITIVE_INFINITY);
  });
});
