/**
 * `defineActive(Class, spec)`: the policy as plain data, for code without decorators. One class
 * is built both ways (decorators, and `defineActive` on a plain class) and the two must compile
 * to the same policy and checkpoint configuration and serve one script the same way; a bad
 * entry gives the decorator's own `DefinitionError`, a bad spec shape a `defineActive` one.
 * Also: decorators called by hand (plain JavaScript) in an order that checks a group before its
 * `Group(...)` call say so and point to `defineActive`.
 */
import { newActive, shutdown } from 'multiactive';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ActiveSpec,
  Alone,
  Checkpoint,
  Compatible,
  checkpointConfig,
  compilePolicy,
  DefinitionError,
  defineActive,
  Group,
  MemberOf,
  originOf,
  Priority,
  type RequestView,
  ThreadConfig,
  UNGROUPED_WARNING,
} from '../../decorators/index.js';
import type { Policy } from '../../scheduler/policy.js';
import { gate, type Trace, traceEachTest } from '../support/trace.js';
import { captureWarnings } from '../support/warnings.js';
import { definitionError, expectDefinitionError, mode } from './support.js';

/** A policy without its class name, to compare two classes' policies. */
function shape(policy: Policy): Omit<Policy, 'className'> {
  const { className: _, ...rest } = policy;
  return rest;
}

const differentKeys = (a: RequestView, b: RequestView) => a.args[0] !== b.args[0];
const bothSmall = (a: RequestView, b: RequestView) => Number(a.args[0]) < 10 && Number(b.args[0]) < 10;

/** Gates the `read` requests wait on, by key (a native promise: the request keeps its slot). */
const gates = new Map<string, ReturnType<typeof gate<void>>>();
function gateFor(key: string): Promise<void> {
  let g = gates.get(key);
  if (g === undefined) gates.set(key, (g = gate<void>()));
  return g.promise;
}

// ------------------------------------------------------------ one class, both ways

@Group('write')
@Group('read', { selfCompatible: true, condition: differentKeys, maxThreads: 3 })
@Group('audit', { selfCompatible: true, minThreads: 1 })
@Group('urgent', { superPriority: true })
@Compatible(['read', 'audit'])
@Compatible(['write', 'audit'], bothSmall)
@Priority('write', ['read', 'audit'])
@Priority('urgent', 'read')
@ThreadConfig({ threadPoolSize: 4, hardLimit: true })
@Checkpoint({ everyRequests: 50, store: './ckpt' })
class DecoratedStore {
  log: string[] = [];
  @MemberOf('write') async write(value: string): Promise<void> {
    this.log.push(`write ${value}`);
  }
  @MemberOf('read') async read(key: string): Promise<string[]> {
    await gateFor(key);
    return this.log;
  }
  @MemberOf('audit') audit(): number {
    return this.log.length;
  }
  @MemberOf('urgent') stop(): void {}
  @Alone() reset(): void {
    this.log = [];
  }
}

class PlainStore {
  log: string[] = [];
  async write(value: string): Promise<void> {
    this.log.push(`write ${value}`);
  }
  async read(key: string): Promise<string[]> {
    await gateFor(key);
    return this.log;
  }
  audit(): number {
    return this.log.length;
  }
  stop(): void {}
  reset(): void {
    this.log = [];
  }
}

const STORE_SPEC: ActiveSpec<PlainStore> = {
  groups: {
    write: {},
    read: { selfCompatible: true, condition: differentKeys, maxThreads: 3 },
    audit: { selfCompatible: true, minThreads: 1 },
    urgent: { superPriority: true },
  },
  memberOf: { write: 'write', read: 'read', audit: 'audit', stop: 'urgent' },
  alone: ['reset'],
  compatible: [['read', 'audit'], { groups: ['write', 'audit'], condition: bothSmall }],
  priority: [
    ['write', ['read', 'audit']],
    ['urgent', 'read'],
  ],
  threadConfig: { threadPoolSize: 4, hardLimit: true },
  checkpoint: { everyRequests: 50, store: './ckpt' },
};

const DefinedStore = defineActive(PlainStore, STORE_SPEC);

describe(`defineActive gives what the decorators give (${mode} decorators)`, () => {
  it('returns the class it was given', () => {
    expect(DefinedStore).toBe(PlainStore);
  });

  it('compiles to the same policy and checkpoint configuration', () => {
    const decorated = compilePolicy(DecoratedStore);
    const defined = compilePolicy(DefinedStore);
    expect(defined.className).toBe('PlainStore');
    expect(shape(defined)).toEqual(shape(decorated));
    // Not vacuous: every part of the spec is in the policy.
    expect(defined.groupNames).toEqual(['write', 'read', 'audit', 'urgent']);
    expect(defined.conditional.flat()).toHaveLength(3);
    expect(defined.hasPriorities).toBe(true);
    expect(defined.poolSize).toBe(4);
    expect(defined.hardLimit).toBe(true);
    expect(defined.methodGroup.has('reset')).toBe(false);
    expect(checkpointConfig(DefinedStore)).toEqual(checkpointConfig(DecoratedStore));
    expect(checkpointConfig(DefinedStore)?.everyRequests).toBe(50);
  });

  it('records where the class is defined, for worker nodes', () => {
    expect(originOf(DefinedStore)).toBe(import.meta.url.replace(/\?.*$/, ''));
  });

  describe('serves one script the same way', () => {
    let trace: Trace;
    traceEachTest((t) => {
      trace = t;
    });

    /** read a, read b (overlap: different keys), write (waits for both), read c; in start order. */
    async function run(cls: typeof DecoratedStore | typeof PlainStore, prefix: string) {
      const store = newActive(cls as typeof PlainStore);
      await store.audit();
      const id = trace.intervals().at(-1)!.objectId;
      const reads = [store.read(`${prefix}a`), store.read(`${prefix}b`)];
      const write = store.write('x');
      const late = store.read(`${prefix}c`);
      const reading = () => trace.intervals(id).filter((iv) => iv.method === 'read').length;
      await trace.until(() => reading() === 2, `${cls.name}: two reads in service`);
      gates.get(`${prefix}a`)?.open();
      gates.get(`${prefix}b`)?.open();
      await Promise.all([...reads, write]);
      gateFor(`${prefix}c`);
      gates.get(`${prefix}c`)?.open();
      expect(await late).toEqual(['write x']);
      return {
        order: trace.startOrder(id),
        overlapping: trace
          .overlaps(
            (iv) => iv.objectId === id,
            (iv) => iv.objectId === id,
          )
          .map(([a, b]) => `${a.method}/${b.method}`),
      };
    }

    it('the same start order and overlaps', async () => {
      const decorated = await run(DecoratedStore, 'd');
      const defined = await run(DefinedStore, 'p');
      expect(decorated).toEqual({
        order: ['audit', 'read', 'read', 'write', 'read'],
        overlapping: ['read/read'],
      });
      expect(defined).toEqual(decorated);
    });
  });

  it('lets a decorated subclass extend a defineActive class, and the other way round', () => {
    class Base {
      get(): number {
        return 1;
      }
    }
    defineActive(Base, { groups: { reads: { selfCompatible: true } }, memberOf: { get: 'reads' } });
    @Group('writes')
    class Child extends Base {
      @MemberOf('writes') put(): void {}
    }
    expect(compilePolicy(Child).groupNames).toEqual(['reads', 'writes']);
    expect(compilePolicy(Child).methodGroup.get('get')).toBe(0);

    @Group('reads', { selfCompatible: true })
    class DecoratedBase {
      @MemberOf('reads') get(): number {
        return 1;
      }
    }
    class Defined extends DecoratedBase {
      put(): void {}
    }
    defineActive(Defined, {
      groups: { writes: {} },
      memberOf: { put: 'writes' },
      priority: [['writes', 'reads']],
    });
    const policy = compilePolicy(Defined);
    expect(policy.groupNames).toEqual(['reads', 'writes']);
    expect(policy.methodGroup.get('put')).toBe(1);
    expect(policy.overtakes[1]).toEqual([0]);
  });

  it('warns about methods without a group at once, unless listed under alone', () => {
    const warnings = captureWarnings(UNGROUPED_WARNING);
    class Loose {
      a(): void {}
      b(): void {}
    }
    class Tight {
      a(): void {}
      b(): void {}
    }
    defineActive(Loose, { groups: { g: {} }, memberOf: { a: 'g' } });
    defineActive(Tight, { groups: { g: {} }, memberOf: { a: 'g' }, alone: ['b'] });
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('Loose: method `b` has no group'),
    ]);
  });
});

// ------------------------------------------------------------ errors

describe(`defineActive errors (${mode} decorators)`, () => {
  /** The error of `defineActive` on a fresh class `Peer` with methods `route` and `stats`. */
  function defineError(spec: unknown): DefinitionError {
    class Peer {
      route(): void {}
      stats(): void {}
    }
    return definitionError(() => defineActive(Peer, spec as ActiveSpec<Peer>));
  }

  it('gives the decorator its own error for a bad entry: the same message as the decorator', () => {
    const fromDecorator = definitionError(() => {
      @Group('routing', { minThreads: 2, maxThreads: 1 })
      class Peer {}
      return compilePolicy(Peer);
    });
    const fromSpec = defineError({ groups: { routing: { minThreads: 2, maxThreads: 1 } } });
    expect(fromSpec.decorator).toBe('@Group');
    expect(fromSpec.message).toBe(fromDecorator.message);
    expect(fromSpec.message).toContain('`minThreads` (2) is greater than `maxThreads` (1)');

    const unknownGroup = defineError({ groups: { routing: {} }, memberOf: { route: 'rooting' } });
    expect(unknownGroup.decorator).toBe('@MemberOf');
    expect(unknownGroup.message).toBe(
      "Peer: @MemberOf('rooting') on method `route` names an unknown group `rooting`. Did you mean `routing`? " +
        "Declare it with @Group('rooting', ...) on Peer or a parent class; known groups: routing.",
    );
  });

  it.each([
    [
      'a Compatible entry',
      { groups: { a: {} }, compatible: [['a']] },
      '@Compatible',
      'lists fewer than 2 distinct groups',
    ],
    [
      'a Compatible condition',
      { groups: { a: {}, b: {} }, compatible: [{ groups: ['a', 'b'], condition: 5 }] },
      '@Compatible',
      'Expected `condition` to be a function',
    ],
    [
      'a Priority cycle',
      {
        groups: { a: {}, b: {} },
        priority: [
          ['a', 'b'],
          ['b', 'a'],
        ],
      },
      '@Priority',
      'cycle',
    ],
    ['a ThreadConfig option', { threadConfig: { threadPoolSize: 0 } }, '@ThreadConfig', '`threadPoolSize`'],
    ['a Checkpoint option', { checkpoint: { everyMs: -1 } }, '@Checkpoint', '`everyMs`'],
    [
      'a group option',
      { groups: { a: { selfCompatibel: true } } },
      '@Group',
      'unknown option `selfCompatibel`',
    ],
    [
      'a group name',
      { memberOf: { route: '' } },
      '@MemberOf',
      'Expected the group name to be a non-empty string',
    ],
    [
      'a method both grouped and alone',
      { groups: { a: {} }, memberOf: { route: 'a' }, alone: ['route'] },
      '@Alone',
      'keep one of the two',
    ],
  ])('checks %s as the decorator does', (_what, spec, decorator, fragment) => {
    const error = defineError(spec);
    expect(error.decorator).toBe(decorator);
    expect(error.className).toBe('Peer');
    expect(error.message).toContain(fragment);
  });

  it.each([
    ['an unknown key', { group: {} }, 'unknown key `group`. Did you mean `groups`?'],
    ['a spec that is not an object', 'routing', 'Expected the spec to be an object'],
    ['groups that are not an object', { groups: ['routing'] }, 'Expected `groups` to be an object'],
    [
      'a method the class does not have',
      { memberOf: { rout: 'a' } },
      '`memberOf.rout` names method `rout`, but Peer has no such instance method. Did you mean `route`? Its methods: route, stats.',
    ],
    ['an alone entry that is not a method name', { alone: [3] }, 'Expected `alone[0]` to be a method name'],
    ['compatible that is not an array', { compatible: { a: 'b' } }, 'Expected `compatible` to be an array'],
    [
      'a compatible rule with an unknown key',
      { compatible: [{ groups: ['a', 'b'], when: () => true }] },
      '`compatible[0]` has an unknown key `when`',
    ],
    [
      'a priority chain that is not an array',
      { priority: ['a', 'b'] },
      'Expected `priority[0]` to be an array of levels',
    ],
  ])('names the spec at fault for %s', (_what, spec, fragment) => {
    const error = defineError(spec);
    expect(error.decorator).toBe('defineActive');
    expect(error.className).toBe('Peer');
    expect(error.message.startsWith('Peer: defineActive(Peer, ...): ')).toBe(true);
    expect(error.message).toContain(fragment);
  });

  it('refuses what is not a class', () => {
    expect(() => defineActive(42 as never, {})).toThrow(DefinitionError);
    expect(() => defineActive(42 as never, {})).toThrow('defineActive expects a class as its first argument');
  });

  it('refuses a class that declares a policy already, or is in use', () => {
    @Group('g')
    class Decorated {}
    expectDefinitionError(
      () => defineActive(Decorated, { groups: { h: {} } }),
      'Decorated',
      'defineActive',
      'already declares a policy of its own',
    );
    class Twice {}
    defineActive(Twice, { groups: { g: {} } });
    expectDefinitionError(() => defineActive(Twice, {}), 'Twice', 'defineActive', 'already declares');
    class Used {}
    compilePolicy(Used);
    expectDefinitionError(
      () => defineActive(Used, { groups: { g: {} } }),
      'Used',
      'defineActive',
      'the class is in use already',
    );
  });

  it('leaves a class as it was when its spec throws', () => {
    class Retry {
      run(): void {}
    }
    definitionError(() => defineActive(Retry, { groups: { work: {} }, memberOf: { run: 'wrok' } }));
    defineActive(Retry, { groups: { work: {} }, memberOf: { run: 'work' } });
    expect(compilePolicy(Retry).methodGroup.get('run')).toBe(0);
  });

  it('leaves the decorators of later classes checked at their definition', () => {
    // Gives up after making its Group and Compatible values, before recording them.
    expect(defineError({ groups: { a: {}, b: {} }, compatible: [['a', 'b']], alone: 5 }).message).toContain(
      'Expected `alone` to be an array',
    );
    // A typo in a decorated class still throws when the class is defined (both modes).
    expectDefinitionError(
      () => {
        @Group('reads')
        @Group('writes')
        class Later {
          @MemberOf('wirtes') put(): void {}
        }
        return Later;
      },
      'Later',
      '@MemberOf',
      'names an unknown group `wirtes`',
    );
  });
});

// ------------------------------------------------------------ decorators called by hand

describe(`decorators called by hand, as plain JavaScript does (${mode} decorators)`, () => {
  afterEach(() => shutdown());

  function handPeer() {
    class Peer {
      route(): number {
        return 1;
      }
      stats(): number {
        return 2;
      }
    }
    const method = (name: 'route' | 'stats') =>
      [Peer.prototype, name, Object.getOwnPropertyDescriptor(Peer.prototype, name)!] as const;
    return { Peer, method };
  }

  /** The policy by names: groups, memberships, the incompatible pairs. */
  function byNames(policy: Policy) {
    const name = (g: number) => policy.groupNames[g];
    return {
      groups: [...policy.groupNames].sort(),
      members: Object.fromEntries([...policy.methodGroup].map(([m, g]) => [m, name(g)])),
      incompatible: policy.incompatible.flatMap((list, g) => list.map((h) => `${name(g)}-${name(h)}`)).sort(),
    };
  }

  it('work in any order: a group named before its Group(...) call is checked at the first compile', async () => {
    // The order the decorators are written in, class decorators first, each applied at once.
    const { Peer, method } = handPeer();
    Compatible(['routes', 'monitors'])(Peer);
    MemberOf('routes')(...method('route'));
    MemberOf('monitors')(...method('stats'));
    Group('routes')(Peer);
    Group('monitors', { selfCompatible: true })(Peer);
    const policy = compilePolicy(Peer);
    @Group('routes')
    @Group('monitors', { selfCompatible: true })
    @Compatible(['routes', 'monitors'])
    class Decorated {
      @MemberOf('routes') route(): void {}
      @MemberOf('monitors') stats(): void {}
    }
    expect(byNames(policy)).toEqual(byNames(compilePolicy(Decorated)));
    expect(byNames(policy).members).toEqual({ route: 'routes', stats: 'monitors' });
    const peer = newActive(Peer);
    expect([await peer.route(), await peer.stats()]).toEqual([1, 2]);
  });

  it('report a group declared by no call at the first compile, with the groups declared', () => {
    const { Peer, method } = handPeer();
    Group('inbound')(Peer);
    MemberOf('inbund')(...method('route'));
    expectDefinitionError(
      () => compilePolicy(Peer),
      'Peer',
      '@MemberOf',
      "@MemberOf('inbund') on method `route` names an unknown group `inbund`. Did you mean `inbound`?",
      'known groups: inbound.',
    );
  });

  it('still check the arguments at once', () => {
    const { Peer } = handPeer();
    expectDefinitionError(
      () => Group('outbound', { maxThreads: 0 })(Peer),
      'Peer',
      '@Group',
      'Expected `maxThreads` to be an integer >= 1 or Infinity',
    );
  });
});
