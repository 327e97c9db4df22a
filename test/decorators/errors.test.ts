/**
 * Every invalid declaration throws a DefinitionError at class definition that names the
 * class, the decorator, the offending value and the fix (SPEC §2 [improvement]).
 */
import { describe, expect, it } from 'vitest';
import {
  Compatible,
  compilePolicy,
  DefinitionError,
  Group,
  type GroupOptions,
  MemberOf,
  MultiactiveError,
  Priority,
  ThreadConfig,
  type ThreadConfigOptions,
} from '../../decorators/index.js';
import { expectDefinitionError, mode } from './support.js';

const always = () => true;

describe(`DefinitionError (${mode} decorators)`, () => {
  it('is a MultiactiveError with its own name, class, decorator and cause', () => {
    const cause = new Error('root');
    const error = new DefinitionError('Peer', '@Group', 'something is wrong', { cause });
    expect(error).toBeInstanceOf(MultiactiveError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('DefinitionError');
    expect(error.message).toBe('Peer: something is wrong');
    expect(error.className).toBe('Peer');
    expect(error.decorator).toBe('@Group');
    expect(error.cause).toBe(cause);
    expect(new MultiactiveError('x').name).toBe('MultiactiveError');
  });
});

describe(`unknown groups throw at class definition (${mode} decorators)`, () => {
  it('names the unknown group of a @MemberOf, the method, the fix and the known groups', () => {
    const error = expectDefinitionError(
      () => {
        @Group('routing')
        @Group('lookup', { selfCompatible: true })
        @Group('monitoring', { selfCompatible: true })
        class Peer {
          @MemberOf('rooting') add(): void {}
        }
        return Peer;
      },
      'Peer',
      '@MemberOf',
    );
    expect(error.message).toBe(
      "Peer: @MemberOf('rooting') on method `add` names an unknown group `rooting`. Did you mean `routing`? " +
        "Declare it with @Group('rooting', ...) on Peer or a parent class; known groups: routing, lookup, monitoring.",
    );
  });

  it('names the unknown group of a @Compatible', () => {
    expectDefinitionError(
      () => {
        @Group('reads')
        @Group('writes')
        @Compatible(['reads', 'wirtes'])
        class Store {}
        return Store;
      },
      'Store',
      '@Compatible',
      "@Compatible(['reads', 'wirtes']) names an unknown group `wirtes`",
      "Declare it with @Group('wirtes', ...)",
      'known groups: reads, writes',
    );
  });

  it('names the unknown group of a @Priority', () => {
    expectDefinitionError(
      () => {
        @Group('reads')
        @Group('writes')
        @Priority('writes', ['reads', 'admin'])
        class Store {}
        return Store;
      },
      'Store',
      '@Priority',
      "@Priority('writes', ['reads', 'admin']) names an unknown group `admin`",
      "Declare it with @Group('admin', ...)",
    );
  });

  it('says "known groups: none" when the class declares no group', () => {
    expectDefinitionError(
      () => {
        @ThreadConfig({ threadPoolSize: 2 })
        class Lonely {
          @MemberOf('work') run(): void {}
        }
        return Lonely;
      },
      'Lonely',
      '@MemberOf',
      'known groups: none',
    );
  });
});

describe(`duplicate declarations (${mode} decorators)`, () => {
  it('rejects a group declared twice on one class', () => {
    expectDefinitionError(
      () => {
        @Group('reads')
        @Group('reads', { selfCompatible: true })
        class Twice {}
        return Twice;
      },
      'Twice',
      '@Group',
      'declares group `reads` twice',
      'remove one',
    );
  });

  it('rejects a group declared again by a subclass', () => {
    @Group('reads')
    class Base {}
    expectDefinitionError(
      () => {
        @Group('reads')
        class Derived extends Base {}
        return Derived;
      },
      'Derived',
      '@Group',
      'which the parent class Base already declares',
      'remove this @Group',
    );
  });

  it('rejects a method in two groups', () => {
    expectDefinitionError(
      () => {
        @Group('reads')
        @Group('writes')
        class Store {
          @MemberOf('reads')
          @MemberOf('writes')
          get(): void {}
        }
        return Store;
      },
      'Store',
      '@MemberOf',
      'method `get`',
      'is already a member of group',
      'keep one @MemberOf',
    );
  });

  it('rejects two @ThreadConfig on one class', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        @ThreadConfig({ threadPoolSize: 2 })
        @ThreadConfig({ hardLimit: true })
        class Config {}
        return Config;
      },
      'Config',
      '@ThreadConfig',
      'two @ThreadConfig decorators',
      'Merge them into one',
    );
  });
});

describe(`thread limits (${mode} decorators)`, () => {
  const groupWith = (options: GroupOptions) => () => {
    @Group('g', options)
    class Limits {}
    return Limits;
  };

  it('rejects minThreads greater than maxThreads', () => {
    expectDefinitionError(
      groupWith({ minThreads: 3, maxThreads: 2 }),
      'Limits',
      '@Group',
      '`minThreads` (3) is greater than `maxThreads` (2)',
      'Lower minThreads or raise maxThreads',
    );
  });

  it.each([
    [1.5, '`1.5` (number)'],
    [-1, '`-1` (number)'],
    [Number.POSITIVE_INFINITY, '`Infinity` (number)'],
    ['2', "`'2'` (string)"],
  ])('rejects minThreads %s', (value, shown) => {
    expectDefinitionError(
      groupWith({ minThreads: value as number }),
      'Limits',
      '@Group',
      `Expected \`minThreads\` to be an integer >= 0, got ${shown}`,
      'omit it (default 0)',
    );
  });

  it.each([
    [0, '`0` (number)'],
    [-2, '`-2` (number)'],
    [2.5, '`2.5` (number)'],
    [Number.NaN, '`NaN` (number)'],
  ])('rejects maxThreads %s', (value, shown) => {
    expectDefinitionError(
      groupWith({ maxThreads: value }),
      'Limits',
      '@Group',
      `Expected \`maxThreads\` to be an integer >= 1 or Infinity, got ${shown}`,
      'omit it for no cap',
    );
  });

  const poolWith = (options: ThreadConfigOptions) => () => {
    @Group('g')
    @ThreadConfig(options)
    class Pool {}
    return Pool;
  };

  it.each([
    [0, '`0` (number)'],
    [-1, '`-1` (number)'],
    [1.5, '`1.5` (number)'],
    [Number.NEGATIVE_INFINITY, '`-Infinity` (number)'],
  ])('rejects threadPoolSize %s', (value, shown) => {
    expectDefinitionError(
      poolWith({ threadPoolSize: value }),
      'Pool',
      '@ThreadConfig',
      `Expected \`threadPoolSize\` to be an integer >= 1 or Infinity, got ${shown}`,
      'omit it for no limit',
    );
  });
});

describe(`rules that could never apply (${mode} decorators)`, () => {
  it('rejects a group condition without selfCompatible', () => {
    expectDefinitionError(
      () => {
        @Group('lookup', { condition: always })
        class Lookup {}
        return Lookup;
      },
      'Lookup',
      '@Group',
      "@Group('lookup')",
      '`selfCompatible` is false, so the condition would never apply',
      'Set `selfCompatible: true`',
    );
  });

  it('rejects a @Compatible with fewer than 2 distinct groups', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Compatible(['a', 'a'])
        class Single {}
        return Single;
      },
      'Single',
      '@Compatible',
      "@Compatible(['a', 'a']): lists fewer than 2 distinct groups",
      "@Group('a', { selfCompatible: true })",
    );
  });

  it('rejects a pair covered by two @Compatible rules when one has a condition', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Group('b')
        @Group('c')
        @Compatible(['a', 'b'], always)
        @Compatible(['a', 'b', 'c'])
        class Ambiguous {}
        return Ambiguous;
      },
      'Ambiguous',
      '@Compatible',
      "@Compatible(['a', 'b', 'c']) and @Compatible(['a', 'b'], condition)",
      'groups `a` and `b`',
      'ambiguous',
      'Declare the pair `a`/`b` in one @Compatible only',
    );
  });

  it('rejects the ambiguous pair across the inheritance chain', () => {
    @Group('a')
    @Group('b')
    @Compatible(['a', 'b'])
    class Base {}
    expectDefinitionError(
      () => {
        @Compatible(['b', 'a'], always)
        class Derived extends Base {}
        return Derived;
      },
      'Derived',
      '@Compatible',
      "@Compatible(['a', 'b']) (on Base)",
    );
  });

  it('rejects a @Priority with fewer than 2 levels', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Group('b')
        @Priority(['a', 'b'])
        class Flat {}
        return Flat;
      },
      'Flat',
      '@Priority',
      'has fewer than 2 levels',
      "@Priority('high', 'low')",
    );
  });
});

describe(`misplaced decorators (${mode} decorators)`, () => {
  it('rejects @MemberOf on a static method', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Statics {
          @MemberOf('g') static create(): void {}
        }
        return Statics;
      },
      'Statics',
      '@MemberOf',
      'static method `create`',
      'Make it an instance method',
    );
  });

  it('rejects @MemberOf on a static method even without a class decorator', () => {
    expectDefinitionError(
      () => {
        class NoClassDecorator {
          @MemberOf('g') static create(): void {}
        }
        return NoClassDecorator;
      },
      'NoClassDecorator',
      '@MemberOf',
      'static method `create`',
    );
  });

  it('rejects @MemberOf on a field', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Fields {
          // @ts-expect-error @MemberOf only types as a method decorator
          @MemberOf('g') handler = () => undefined;
        }
        return Fields;
      },
      'Fields',
      '@MemberOf',
      'field `handler`',
      'only instance methods can belong to a group',
    );
  });

  // Legacy decorators cannot decorate private methods at all (tsc: TS1206), so this check exists
  // for standard decorators only.
  it.runIf(mode === 'standard')('rejects @MemberOf on a private method', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Private {
          // biome-ignore lint/suspicious/noTsIgnore: an error in legacy mode only (TS1206), so @ts-expect-error cannot be used.
          // @ts-ignore
          @MemberOf('g') #secret(): void {}
          open(): void {
            this.#secret();
          }
        }
        return Private;
      },
      'Private',
      '@MemberOf',
      'private method `#secret`',
      'Make it public',
    );
  });

  it('rejects @MemberOf on a symbol-named method', () => {
    const run = Symbol('run');
    expectDefinitionError(
      () => {
        @Group('g')
        class Symbols {
          @MemberOf('g') [run](): void {}
        }
        return Symbols;
      },
      'Symbols',
      '@MemberOf',
      'method `[Symbol(run)]`',
      'requests are named by strings',
    );
  });

  it('rejects @Group on a method', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Misplaced {
          // @ts-expect-error @Group only types as a class decorator
          @Group('h') run(): void {}
        }
        return Misplaced;
      },
      'Misplaced',
      '@Group',
      "@Group('h') is applied to method `run`, but it is a class decorator",
      'Put it on the class declaration',
    );
  });

  it('rejects @MemberOf on a class', () => {
    expectDefinitionError(
      () => {
        // @ts-expect-error @MemberOf only types as a method decorator
        @MemberOf('g')
        @Group('g')
        class Whole {}
        return Whole;
      },
      'Whole',
      '@MemberOf',
      'class `Whole`',
      'it is a method decorator',
    );
  });
});

describe(`bad option types (${mode} decorators)`, () => {
  const defineGroup = (name: unknown, options?: unknown) => () => {
    @Group(name as string, options as GroupOptions)
    class Options {}
    return Options;
  };

  it('rejects a group name that is not a string', () => {
    expectDefinitionError(
      defineGroup(42),
      'Options',
      '@Group',
      'Expected the group name to be a non-empty string, got `42` (number)',
      "Write @Group('name', { ... })",
    );
  });

  it('rejects an empty group name', () => {
    expectDefinitionError(defineGroup(''), 'Options', '@Group', "got `''` (string)");
  });

  it('rejects unknown option keys and says which keys are allowed', () => {
    expectDefinitionError(
      defineGroup('g', { maxThread: 2 }),
      'Options',
      '@Group',
      'unknown option `maxThread`',
      'Did you mean `maxThreads`?',
      'Allowed options: selfCompatible, condition, minThreads, maxThreads, superPriority',
    );
  });

  it('rejects options that are not an object', () => {
    expectDefinitionError(
      defineGroup('g', true),
      'Options',
      '@Group',
      'Expected the options to be an object',
    );
  });

  it('rejects a non-boolean selfCompatible and superPriority', () => {
    expectDefinitionError(
      defineGroup('g', { selfCompatible: 'yes' }),
      'Options',
      '@Group',
      "Expected `selfCompatible` to be a boolean, got `'yes'` (string)",
    );
    expectDefinitionError(defineGroup('g', { superPriority: 1 }), 'Options', '@Group', '`superPriority`');
  });

  it('rejects a condition that is not a function', () => {
    expectDefinitionError(
      defineGroup('g', { selfCompatible: true, condition: 'a != b' }),
      'Options',
      '@Group',
      'Expected `condition` to be a function',
    );
  });

  it('rejects a @MemberOf group name that is not a string', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Member {
          @MemberOf(undefined as unknown as string) run(): void {}
        }
        return Member;
      },
      'Member',
      '@MemberOf',
      'got `undefined` (undefined)',
    );
  });

  it('rejects @Compatible groups that are not an array of names', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Group('b')
        @Compatible('a, b' as unknown as string[])
        class NotArray {}
        return NotArray;
      },
      'NotArray',
      '@Compatible',
      'Expected the groups to be an array of group names',
    );
    expectDefinitionError(
      () => {
        @Group('a')
        @Compatible(['a', 7 as unknown as string])
        class NotNames {}
        return NotNames;
      },
      'NotNames',
      '@Compatible',
      'group name at index 1',
    );
  });

  it('rejects a @Priority level that is neither a name nor a non-empty array of names', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Priority('a', [])
        class EmptyLevel {}
        return EmptyLevel;
      },
      'EmptyLevel',
      '@Priority',
      'Expected level 2 to be a group name or a non-empty array of group names, got `[]` (array)',
    );
  });

  it('rejects unknown @ThreadConfig options and a non-boolean hardLimit', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        @ThreadConfig({ poolSize: 2 } as ThreadConfigOptions)
        class Pool {}
        return Pool;
      },
      'Pool',
      '@ThreadConfig',
      'unknown option `poolSize`',
      'Allowed options: threadPoolSize, hardLimit',
    );
    expectDefinitionError(
      () => {
        @Group('g')
        @ThreadConfig({ hardLimit: 'yes' as unknown as boolean })
        class Hard {}
        return Hard;
      },
      'Hard',
      '@ThreadConfig',
      'Expected `hardLimit` to be a boolean',
    );
  });
});

describe(`when validation happens (${mode} decorators)`, () => {
  it('throws again at compilePolicy for a class whose definition was not validated', () => {
    @Group('g')
    class Base {}
    class Derived extends Base {
      @MemberOf('nope') run(): void {}
    }
    expect(() => compilePolicy(Derived)).toThrow(DefinitionError);
    expect(() => compilePolicy(Derived)).toThrow(/unknown group `nope`/);
  });

  it('reports a member error of a class without class decorators, at the latest with its subclass', () => {
    // Legacy: thrown by @MemberOf itself (it knows its class). Standard: recorded, then thrown
    // by the subclass's class-definition validation, still naming Base.
    expectDefinitionError(
      () => {
        class Base {
          @MemberOf('g')
          @MemberOf('h')
          run(): void {}
        }
        @Group('g')
        @Group('h')
        class Derived extends Base {}
        return compilePolicy(Derived);
      },
      'Base',
      '@MemberOf',
      'is already a member of group',
    );
  });
});
