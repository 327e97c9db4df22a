/**
 * A method without a group in a class that declares groups runs alone, silently: the class
 * gives one `MULTIACTIVE_UNGROUPED` process warning naming it, and `@Alone()` says it is
 * intended (and changes nothing else). Standard decorators warn at class definition; legacy
 * ones at the class's first `compilePolicy` (its first `newActive`), when its declarations are
 * known to be complete.
 */
import { describe, expect, it } from 'vitest';
import {
  Alone,
  Checkpoint,
  Compatible,
  compilePolicy,
  Group,
  MemberOf,
  MultiactiveError,
  UNGROUPED_WARNING,
} from '../../decorators/index.js';
import type { Policy } from '../../scheduler/policy.js';
import { captureWarnings } from '../support/warnings.js';
import { expectDefinitionError, mode } from './support.js';

/** A policy without its class name, to compare two classes' policies. */
function shape(policy: Policy): Omit<Policy, 'className'> {
  const { className: _, ...rest } = policy;
  return rest;
}

describe(`MULTIACTIVE_UNGROUPED (${mode} decorators)`, () => {
  it('names the class, each method without a group and the groups, once per class', () => {
    const warnings = captureWarnings(UNGROUPED_WARNING);
    @Group('routing')
    @Group('monitoring', { selfCompatible: true })
    @Compatible(['routing', 'monitoring'])
    class Peer {
      @MemberOf('routing') route(): void {}
      @MemberOf('monitoring') stats(): void {}
      reset(): void {}
      flush(): void {}
    }
    // Standard decorators compile at class definition; legacy ones at the first compilePolicy.
    expect(warnings).toHaveLength(mode === 'standard' ? 1 : 0);
    compilePolicy(Peer);
    compilePolicy(Peer);
    expect(warnings).toHaveLength(1);
    const [warning] = warnings;
    expect(warning?.code).toBe('MULTIACTIVE_UNGROUPED');
    expect(warning?.message).toBe(
      'multiactive: Peer: methods `reset`, `flush` have no group, so they run alone (compatible with no ' +
        'other request) although Peer declares groups routing, monitoring. Put each in a group with ' +
        "@MemberOf('routing'), or mark each @Alone() if running alone is intended (with defineActive: " +
        'list it under `memberOf` or `alone`).',
    );
  });

  it('is silenced by @Alone(), which changes nothing in the policy', () => {
    const warnings = captureWarnings(UNGROUPED_WARNING);
    @Group('reads', { selfCompatible: true })
    class Marked {
      @MemberOf('reads') get(): number {
        return 1;
      }
      @Alone() reset(): void {}
    }
    @Group('reads', { selfCompatible: true })
    class Unmarked {
      @MemberOf('reads') get(): number {
        return 1;
      }
      reset(): void {}
    }
    const marked = compilePolicy(Marked);
    const unmarked = compilePolicy(Unmarked);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('Unmarked: method `reset`')]);
    expect(marked.methodGroup.has('reset')).toBe(false);
    expect(shape(marked)).toEqual(shape(unmarked));
  });

  it('gives no warning for a classic class, nor for one whose every method has a group', () => {
    const warnings = captureWarnings(UNGROUPED_WARNING);
    class Classic {
      a(): void {}
      b(): void {}
    }
    @Group('all', { selfCompatible: true })
    class Complete {
      @MemberOf('all') a(): void {}
      @MemberOf('all') b(): void {}
      // Not on the prototype: never a request.
      #helper(): void {}
      get size(): number {
        this.#helper();
        return 0;
      }
    }
    expect(compilePolicy(Classic).groupCount).toBe(0);
    expect(compilePolicy(Complete).groupCount).toBe(1);
    expect(warnings).toEqual([]);
  });

  it("lists inherited methods, and a subclass's @Alone() takes an override out of the parent's group", () => {
    const warnings = captureWarnings(UNGROUPED_WARNING);
    class Base {
      ping(): string {
        return 'pong';
      }
    }
    @Group('work')
    class Job extends Base {
      @MemberOf('work') run(): void {}
      @MemberOf('work') stop(): void {}
    }
    class Urgent extends Job {
      @Alone() override stop(): void {}
      @Alone() override ping(): string {
        return 'urgent pong';
      }
    }
    expect(compilePolicy(Job).methodGroup.get('stop')).toBe(0);
    const urgent = compilePolicy(Urgent);
    expect(urgent.methodGroup.has('stop')).toBe(false);
    expect(urgent.methodGroup.get('run')).toBe(0);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringContaining('Job: method `ping` has no group'),
    ]);
  });

  it("leaves out the checkpoint hooks of a class with @Checkpoint (they are the runtime's)", () => {
    const warnings = captureWarnings(UNGROUPED_WARNING);
    @Group('reads', { selfCompatible: true })
    @Checkpoint()
    class Saved {
      n = 0;
      @MemberOf('reads') get(): number {
        return this.n;
      }
      checkpoint(): number {
        return this.n;
      }
      restore(state: number): void {
        this.n = state;
      }
    }
    @Group('reads', { selfCompatible: true })
    class NotSaved {
      @MemberOf('reads') get(): number {
        return 0;
      }
      restore(): void {}
    }
    compilePolicy(Saved);
    compilePolicy(NotSaved);
    expect(warnings.map((w) => w.message)).toEqual([expect.stringContaining('NotSaved: method `restore`')]);
  });
});

describe(`@Alone() errors (${mode} decorators)`, () => {
  it('refuses a method that also has a @MemberOf', () => {
    expectDefinitionError(
      () => {
        @Group('reads')
        class Both {
          @Alone() @MemberOf('reads') get(): void {}
        }
        return compilePolicy(Both);
      },
      'Both',
      '@Alone',
      "@Alone() on method `get`: the method is also a member of group `reads` (@MemberOf('reads') on method `get`)",
      'keep one of the two',
    );
  });

  it('refuses a static method and a field', () => {
    expectDefinitionError(
      () => {
        @Group('g')
        class Static {
          @Alone() static make(): void {}
        }
        return compilePolicy(Static);
      },
      'Static',
      '@Alone',
      '@Alone() is applied to static method `make`; only instance methods can run as requests',
    );
    expectDefinitionError(
      () => {
        @Group('g')
        class Field {
          // @ts-expect-error a method decorator on a field
          @Alone() name = 'x';
        }
        return compilePolicy(Field);
      },
      'Field',
      '@Alone',
      'field `name`; only instance methods can run as requests',
    );
  });

  it('says to write the parentheses when called as the decorator itself', () => {
    class Late {
      reset(): void {}
    }
    const descriptor = Object.getOwnPropertyDescriptor(Late.prototype, 'reset');
    const bare = Alone as unknown as (...args: unknown[]) => unknown;
    expect(() => bare(Late.prototype, 'reset', descriptor)).toThrow(MultiactiveError);
    expect(() => bare(Late.prototype, 'reset', descriptor)).toThrow('write @Alone() with parentheses');
  });
});
