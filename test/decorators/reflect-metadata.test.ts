/**
 * Legacy decorators + reflect-metadata (loaded by test/support/legacy-setup.ts): the
 * declarations are readable with `Reflect.getMetadata` under documented keys.
 */
import { describe, expect, it } from 'vitest';
import {
  Compatible,
  Group,
  MemberOf,
  Priority,
  REFLECT_METADATA_KEYS,
  type RequestView,
  ThreadConfig,
} from '../../decorators/index.js';
import { mode } from './support.js';

interface ReflectMetadataApi {
  getMetadata(key: string, target: object, property?: string): unknown;
  getOwnMetadata(key: string, target: object, property?: string): unknown;
}
const reflect = Reflect as unknown as ReflectMetadataApi;
const differentKeys = (a: RequestView, b: RequestView) => a.args[0] !== b.args[0];
const infinity = Number.POSITIVE_INFINITY;

it('documents the metadata keys', () => {
  expect(REFLECT_METADATA_KEYS).toEqual({
    groups: 'multiactive:groups',
    compatible: 'multiactive:compatible',
    priority: 'multiactive:priority',
    threadConfig: 'multiactive:threadConfig',
    checkpoint: 'multiactive:checkpoint',
    memberOf: 'multiactive:memberOf',
  });
});

describe.runIf(mode === 'legacy')('Reflect.getMetadata in legacy mode', () => {
  @Group('routing')
  @Group('lookup', { selfCompatible: true, condition: differentKeys, maxThreads: 4 })
  @Group('monitoring', { selfCompatible: true, minThreads: 1 })
  @Compatible(['routing', 'monitoring'])
  @Compatible(['lookup', 'monitoring'], () => true)
  @Priority('routing', ['lookup', 'monitoring'])
  @ThreadConfig({ threadPoolSize: 2 })
  class Peer {
    @MemberOf('routing') add(): void {}
    @MemberOf('lookup') get(): void {}
  }

  class Quiet extends Peer {
    override get(): void {}
    @MemberOf('monitoring') log(): void {}
  }

  @Group('admin', { superPriority: true })
  @ThreadConfig({ hardLimit: true })
  class Admin extends Peer {
    @MemberOf('admin') override add(): void {}
  }

  it('returns the groups with their options', () => {
    expect(reflect.getMetadata('multiactive:groups', Peer)).toEqual([
      {
        name: 'routing',
        selfCompatible: false,
        minThreads: 0,
        maxThreads: infinity,
        superPriority: false,
        hasCondition: false,
      },
      {
        name: 'lookup',
        selfCompatible: true,
        minThreads: 0,
        maxThreads: 4,
        superPriority: false,
        hasCondition: true,
      },
      {
        name: 'monitoring',
        selfCompatible: true,
        minThreads: 1,
        maxThreads: infinity,
        superPriority: false,
        hasCondition: false,
      },
    ]);
  });

  it('returns the compatibility rules, the priority chains and the thread options', () => {
    expect(reflect.getMetadata('multiactive:compatible', Peer)).toEqual([
      { groups: ['routing', 'monitoring'], hasCondition: false },
      { groups: ['lookup', 'monitoring'], hasCondition: true },
    ]);
    expect(reflect.getMetadata('multiactive:priority', Peer)).toEqual([
      [['routing'], ['lookup', 'monitoring']],
    ]);
    expect(reflect.getMetadata('multiactive:threadConfig', Peer)).toEqual({
      threadPoolSize: 2,
      hardLimit: false,
    });
  });

  it('returns the group of each method from the prototype', () => {
    expect(reflect.getMetadata('multiactive:memberOf', Peer.prototype, 'add')).toBe('routing');
    expect(reflect.getMetadata('multiactive:memberOf', Peer.prototype, 'get')).toBe('lookup');
    expect(reflect.getMetadata('multiactive:memberOf', Peer.prototype, 'constructor')).toBeUndefined();
  });

  it("gives a subclass without class decorators its parent's lists, and inherited memberships", () => {
    expect(reflect.getMetadata('multiactive:groups', Quiet)).toEqual(
      reflect.getMetadata('multiactive:groups', Peer),
    );
    expect(reflect.getOwnMetadata('multiactive:groups', Quiet)).toBeUndefined();
    expect(reflect.getMetadata('multiactive:memberOf', Quiet.prototype, 'get')).toBe('lookup');
    expect(reflect.getMetadata('multiactive:memberOf', Quiet.prototype, 'log')).toBe('monitoring');
  });

  it("gives a decorated subclass its effective lists: the parent's first, then its own", () => {
    const groups = reflect.getOwnMetadata('multiactive:groups', Admin) as { name: string }[];
    expect(groups.map((group) => group.name)).toEqual(['routing', 'lookup', 'monitoring', 'admin']);
    expect(groups[3]).toMatchObject({ name: 'admin', superPriority: true });
    expect(reflect.getMetadata('multiactive:priority', Admin)).toEqual([
      [['routing'], ['lookup', 'monitoring']],
    ]);
    expect(reflect.getMetadata('multiactive:threadConfig', Admin)).toEqual({
      threadPoolSize: 2,
      hardLimit: true,
    });
    expect(reflect.getMetadata('multiactive:memberOf', Admin.prototype, 'add')).toBe('admin');
    expect(reflect.getMetadata('multiactive:memberOf', Peer.prototype, 'add')).toBe('routing');
  });

  it('writes the default thread options when none is declared', () => {
    @Group('g')
    class Defaults {}
    expect(reflect.getMetadata('multiactive:threadConfig', Defaults)).toEqual({
      threadPoolSize: infinity,
      hardLimit: false,
    });
  });
});
