/**
 * `@Checkpoint` (SPEC §9, declaration only): recorded like the other class decorators, validated
 * at class definition, read by the runtime through `checkpointConfig`, and invisible to the
 * scheduler's `Policy`.
 */
import { describe, expect, it } from 'vitest';
import {
  Checkpoint,
  type CheckpointOptions,
  checkpointConfig,
  compilePolicy,
  DefinitionError,
  Group,
  MemberOf,
  REFLECT_METADATA_KEYS,
  ThreadConfig,
} from '../../decorators/index.js';
import { classicPolicy, type Policy } from '../../scheduler/policy.js';
import { expectDefinitionError, mode } from './support.js';

const memoryStore = {
  put: async () => {},
  latest: async () => undefined,
  list: async () => [],
};

class JetStreamStore {
  readonly saved: unknown[] = [1, 2, 3];
  async put(): Promise<void> {}
  async latest(): Promise<undefined> {
    return undefined;
  }
  async list(): Promise<unknown[]> {
    return this.saved;
  }
}

/** A policy without its class name, to compare the tables of two classes. */
function tables(policy: Policy): Omit<Policy, 'className'> {
  const { className: _, ...rest } = policy;
  return rest;
}

describe(`@Checkpoint: valid forms (${mode} decorators)`, () => {
  it('accepts no options (on-demand checkpoints and the runtime defaults)', () => {
    @Checkpoint()
    class OnDemand {}
    expect(checkpointConfig(OnDemand)).toEqual({
      everyRequests: undefined,
      everyMs: undefined,
      store: undefined,
      source: '@Checkpoint()',
    });
  });

  it('accepts an empty options object and options left undefined', () => {
    @Checkpoint({})
    class Empty {}
    @Checkpoint({ everyRequests: undefined, everyMs: undefined, store: undefined })
    class Undefined {}
    expect(checkpointConfig(Empty)).toMatchObject({
      everyRequests: undefined,
      everyMs: undefined,
      store: undefined,
      source: '@Checkpoint({})',
    });
    expect(checkpointConfig(Undefined)).toMatchObject({
      everyRequests: undefined,
      everyMs: undefined,
      store: undefined,
    });
  });

  it('records a bound on store calls, Infinity included', () => {
    @Checkpoint({ storeTimeoutMs: 5000 })
    class Bounded {}
    @Checkpoint({ storeTimeoutMs: Number.POSITIVE_INFINITY })
    class Patient {}
    expect(checkpointConfig(Bounded)?.storeTimeoutMs).toBe(5000);
    expect(checkpointConfig(Patient)?.storeTimeoutMs).toBe(Number.POSITIVE_INFINITY);
  });

  it('records every option, with a directory as the store', () => {
    @Checkpoint({ everyRequests: 100, everyMs: 5000, store: './checkpoints' })
    class Periodic {}
    expect(checkpointConfig(Periodic)).toEqual({
      everyRequests: 100,
      everyMs: 5000,
      store: './checkpoints',
      source: "@Checkpoint({ everyRequests: 100, everyMs: 5000, store: './checkpoints' })",
    });
  });

  it('keeps a store object as given, a plain object or a class instance', () => {
    @Checkpoint({ everyRequests: 1, store: memoryStore })
    class Plain {}
    const jetStream = new JetStreamStore();
    @Checkpoint({ everyMs: 1, store: jetStream })
    class Instance {}
    expect(checkpointConfig(Plain)?.store).toBe(memoryStore);
    expect(checkpointConfig(Plain)?.source).toBe(
      '@Checkpoint({ everyRequests: 1, store: { put, latest, list } })',
    );
    expect(checkpointConfig(Instance)?.store).toBe(jetStream);
    expect(checkpointConfig(Instance)?.source).toBe(
      '@Checkpoint({ everyMs: 1, store: JetStreamStore { ... } })',
    );
  });

  it('returns a frozen configuration, cached per class', () => {
    @Group('g')
    @Checkpoint({ everyRequests: 10 })
    class Cached {}
    const config = checkpointConfig(Cached);
    expect(Object.isFrozen(config)).toBe(true);
    expect(checkpointConfig(Cached)).toBe(config);
  });

  it('returns undefined for a class without @Checkpoint, decorated or not', () => {
    class Plain {}
    @Group('g')
    @ThreadConfig({ threadPoolSize: 2 })
    class Grouped {}
    expect(checkpointConfig(Plain)).toBeUndefined();
    expect(checkpointConfig(Grouped)).toBeUndefined();
    expect(checkpointConfig(Grouped)).toBeUndefined();
  });

  it('changes nothing in the policy', () => {
    @Checkpoint({ everyRequests: 5 })
    class Alone {}
    expect(compilePolicy(Alone)).toEqual(classicPolicy('Alone'));

    @Group('reads', { selfCompatible: true })
    @Group('writes')
    @ThreadConfig({ threadPoolSize: 2 })
    @Checkpoint({ everyMs: 1000 })
    class With {
      @MemberOf('reads') get(): void {}
      @MemberOf('writes') put(): void {}
    }
    @Group('reads', { selfCompatible: true })
    @Group('writes')
    @ThreadConfig({ threadPoolSize: 2 })
    class Without {
      @MemberOf('reads') get(): void {}
      @MemberOf('writes') put(): void {}
    }
    expect(tables(compilePolicy(With))).toEqual(tables(compilePolicy(Without)));
  });

  it('accepts a stored value on several classes', () => {
    const EveryTen = Checkpoint({ everyRequests: 10 });
    @EveryTen
    class First {}
    @Group('g')
    @EveryTen
    class Second {}
    expect(checkpointConfig(First)?.everyRequests).toBe(10);
    expect(checkpointConfig(Second)?.everyRequests).toBe(10);
  });
});

describe(`@Checkpoint: inheritance (${mode} decorators)`, () => {
  @Group('g')
  @Checkpoint({ everyRequests: 10, store: '/var/checkpoints' })
  class Base {
    @MemberOf('g') run(): void {}
  }

  it("gives a subclass without @Checkpoint its parent's", () => {
    class Bare extends Base {}
    @Group('h')
    class Grouped extends Base {}
    expect(checkpointConfig(Bare)).toEqual(checkpointConfig(Base));
    expect(checkpointConfig(Grouped)).toEqual(checkpointConfig(Base));
  });

  it("replaces the parent's as a whole with the subclass's", () => {
    @Checkpoint({ everyMs: 500 })
    class Timed extends Base {}
    @Checkpoint()
    class OnDemand extends Base {}
    expect(checkpointConfig(Timed)).toEqual({
      everyRequests: undefined,
      everyMs: 500,
      store: undefined,
      source: '@Checkpoint({ everyMs: 500 })',
    });
    expect(checkpointConfig(OnDemand)?.everyRequests).toBeUndefined();
    expect(checkpointConfig(Base)?.everyRequests).toBe(10);
  });

  it('takes the nearest @Checkpoint of a longer chain', () => {
    @Checkpoint({ everyRequests: 2 })
    class Middle extends Base {}
    class Leaf extends Middle {}
    expect(checkpointConfig(Leaf)?.everyRequests).toBe(2);
  });

  it('lets a subclass add @Checkpoint to a parent without one', () => {
    @Group('g')
    class Parent {}
    @Checkpoint({ everyRequests: 3 })
    class Child extends Parent {}
    expect(checkpointConfig(Parent)).toBeUndefined();
    expect(checkpointConfig(Child)?.everyRequests).toBe(3);
  });

  it('throws like compilePolicy for an invalid declaration elsewhere in the chain', () => {
    // A class with only member decorators is validated at its first compile (docs/decorators.md).
    class Broken extends Base {
      @MemberOf('nope') other(): void {}
    }
    expect(() => checkpointConfig(Broken)).toThrow(DefinitionError);
    expect(() => checkpointConfig(Broken)).toThrow(/unknown group `nope`/);
  });
});

describe(`@Checkpoint: invalid declarations throw at class definition (${mode} decorators)`, () => {
  const checkpointWith = (options: CheckpointOptions) => () => {
    @Checkpoint(options)
    class Saved {}
    return Saved;
  };

  it('names the class, the decorator as written, the value and the fix', () => {
    const error = expectDefinitionError(checkpointWith({ everyRequests: 0 }), 'Saved', '@Checkpoint');
    expect(error.message).toBe(
      'Saved: @Checkpoint({ everyRequests: 0 }): Expected `everyRequests` to be an integer >= 1, got `0` ' +
        '(number). Give the number of requests served between two checkpoints, or omit it.',
    );
  });

  it.each([
    [0, '`0` (number)'],
    [-1, '`-1` (number)'],
    [1.5, '`1.5` (number)'],
    [Number.POSITIVE_INFINITY, '`Infinity` (number)'],
    [Number.NaN, '`NaN` (number)'],
    ['10', "`'10'` (string)"],
  ])('rejects everyRequests %s', (value, shown) => {
    expectDefinitionError(
      checkpointWith({ everyRequests: value as number }),
      'Saved',
      '@Checkpoint',
      `Expected \`everyRequests\` to be an integer >= 1, got ${shown}`,
      'served between two checkpoints, or omit it.',
    );
  });

  it.each([
    [0, '`0` (number)'],
    [-5, '`-5` (number)'],
    [0.5, '`0.5` (number)'],
    [Number.POSITIVE_INFINITY, '`Infinity` (number)'],
    [null, '`null` (null)'],
  ])('rejects everyMs %s', (value, shown) => {
    expectDefinitionError(
      checkpointWith({ everyMs: value as number }),
      'Saved',
      '@Checkpoint',
      `Expected \`everyMs\` to be an integer >= 1, got ${shown}`,
      'in milliseconds, or omit it.',
    );
  });

  it.each([
    [0, '`0` (number)'],
    [-1, '`-1` (number)'],
    [2.5, '`2.5` (number)'],
    [Number.NaN, '`NaN` (number)'],
    ['30s', "`'30s'` (string)"],
  ])('rejects storeTimeoutMs %s', (value, shown) => {
    expectDefinitionError(
      checkpointWith({ storeTimeoutMs: value as number }),
      'Saved',
      '@Checkpoint',
      `Expected \`storeTimeoutMs\` to be an integer >= 1 or Infinity, got ${shown}`,
      'longest wait for one store call in milliseconds',
    );
  });

  it('rejects options that are not an object', () => {
    for (const [options, shown] of [
      [5, '`5` (number)'],
      [null, '`null` (null)'],
      [[1], '`[1]` (array)'],
    ] as const) {
      expectDefinitionError(
        checkpointWith(options as unknown as CheckpointOptions),
        'Saved',
        '@Checkpoint',
        `Expected the options to be an object, got ${shown}`,
        'Pass an object with some of everyRequests, everyMs, journalLimit, store, storeTimeoutMs, or nothing.',
      );
    }
  });

  it('rejects an unknown option, with a suggestion and the allowed options', () => {
    expectDefinitionError(
      checkpointWith({ everyMS: 1000 } as CheckpointOptions),
      'Saved',
      '@Checkpoint',
      '@Checkpoint({ everyMS: 1000 }): unknown option `everyMS`. Did you mean `everyMs`?',
      'Allowed options: everyRequests, everyMs, journalLimit, store, storeTimeoutMs.',
    );
  });

  it('says what a store must look like', () => {
    const error = expectDefinitionError(checkpointWith({ store: '' }), 'Saved', '@Checkpoint');
    expect(error.message).toBe(
      "Saved: @Checkpoint({ store: '' }): Expected `store` to be a directory path (a non-empty string) or a " +
        "store object with `put`, `latest` and `list` functions, got `''` (string). Pass a directory for the " +
        'file store, an object that implements the checkpoint store, or omit it for the default file store ' +
        '($MULTIACTIVE_CHECKPOINT_DIR, else .multiactive/checkpoints).',
    );
  });

  const noop = (): undefined => undefined;
  it.each<[unknown, string]>([
    [42, '`42` (number)'],
    [null, '`null` (null)'],
    [true, '`true` (boolean)'],
    [['a'], "`['a']` (array)"],
    [noop, '`function noop` (function)'],
    [{}, '`{}` (object), whose `put`, `latest`, `list` are not functions'],
    [{ put: noop, latest: noop }, '`{ put, latest }` (object), whose `list` is not a function'],
    [
      { put: 'yes', latest: noop, list: noop },
      '`{ put, latest, list }` (object), whose `put` is not a function',
    ],
  ])('rejects the store %s', (store, shown) => {
    expectDefinitionError(
      checkpointWith({ store: store as object }),
      'Saved',
      '@Checkpoint',
      `Expected \`store\` to be a directory path (a non-empty string) or a store object with \`put\`, \`latest\` and \`list\` functions, got ${shown}.`,
    );
  });

  it('throws on a class with other decorators too, naming it', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        @Checkpoint({ everyMs: -1 })
        @ThreadConfig({ threadPoolSize: 2 })
        class Mixed {}
        return Mixed;
      },
      'Mixed',
      '@Checkpoint',
      '@Checkpoint({ everyMs: -1 }): Expected `everyMs`',
    );
  });

  it('rejects two @Checkpoint on one class', () => {
    const error = expectDefinitionError(
      () => {
        @Checkpoint({ everyRequests: 10 })
        @Checkpoint({ everyMs: 1000 })
        class Twice {}
        return Twice;
      },
      'Twice',
      '@Checkpoint',
    );
    expect(error.message).toBe(
      'Twice: @Checkpoint({ everyRequests: 10 }): the class has two @Checkpoint decorators (the other is ' +
        "@Checkpoint({ everyMs: 1000 })). Merge them into one; a subclass's @Checkpoint replaces its parent's.",
    );
  });

  it('rejects @Checkpoint on a method', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Misplaced {
          // @ts-expect-error @Checkpoint only types as a class decorator
          @Checkpoint() run(): void {}
        }
        return Misplaced;
      },
      'Misplaced',
      '@Checkpoint',
      '@Checkpoint() is applied to method `run`, but it is a class decorator',
    );
  });
});

interface ReflectMetadataApi {
  getMetadata(key: string, target: object): unknown;
  getOwnMetadata(key: string, target: object): unknown;
}
const reflect = Reflect as unknown as ReflectMetadataApi;

it('documents the checkpoint metadata key', () => {
  expect(REFLECT_METADATA_KEYS.checkpoint).toBe('multiactive:checkpoint');
});

describe.runIf(mode === 'legacy')('@Checkpoint and Reflect.getMetadata in legacy mode', () => {
  @Group('g')
  @Checkpoint({ everyRequests: 10, store: './checkpoints' })
  class Base {}

  it('writes the effective @Checkpoint under multiactive:checkpoint', () => {
    expect(reflect.getOwnMetadata('multiactive:checkpoint', Base)).toEqual({
      everyRequests: 10,
      everyMs: undefined,
      store: './checkpoints',
      hasStoreObject: false,
    });
  });

  it('says that a store object was given without copying it', () => {
    @Checkpoint({ everyMs: 20, store: memoryStore })
    class WithStore {}
    expect(reflect.getMetadata('multiactive:checkpoint', WithStore)).toEqual({
      everyRequests: undefined,
      everyMs: 20,
      store: undefined,
      hasStoreObject: true,
    });
  });

  it("gives a subclass its parent's, or its own when it declares one", () => {
    class Bare extends Base {}
    @Group('h')
    class Grouped extends Base {}
    @Checkpoint()
    class Own extends Base {}
    expect(reflect.getMetadata('multiactive:checkpoint', Bare)).toEqual(
      reflect.getMetadata('multiactive:checkpoint', Base),
    );
    expect(reflect.getOwnMetadata('multiactive:checkpoint', Grouped)).toEqual(
      reflect.getMetadata('multiactive:checkpoint', Base),
    );
    expect(reflect.getMetadata('multiactive:checkpoint', Own)).toEqual({
      everyRequests: undefined,
      everyMs: undefined,
      store: undefined,
      hasStoreObject: false,
    });
  });

  it('writes nothing for a class chain without @Checkpoint', () => {
    @Group('g')
    class None {}
    expect(reflect.getMetadata('multiactive:checkpoint', None)).toBeUndefined();
  });
});
