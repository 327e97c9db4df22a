/**
 * Decorator values stored and reused (`const Reads = Group('reads')`), and the legacy-mode
 * class-definition trigger that counts decorator values (see decorators/decorators.ts).
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy, DefinitionError, Group, MemberOf } from '../../decorators/index.js';
import { expectDefinitionError, id, mode } from './support.js';

describe(`reused decorator values (${mode} decorators)`, () => {
  const Reads = Group('reads', { selfCompatible: true });

  @Reads
  @Group('writes')
  class First {
    @MemberOf('reads') get(): void {}
    @MemberOf('writes') put(): void {}
  }

  @Reads
  @Group('admin')
  class Second {
    @MemberOf('reads') get(): void {}
    @MemberOf('admin') drop(): void {}
  }

  @Group('other')
  @Reads
  class Third {
    @MemberOf('reads') get(): void {}
    @MemberOf('other') run(): void {}
  }

  @Reads
  class Fourth {
    @MemberOf('reads') get(): void {}
  }

  it('declares the group on every class the stored value decorates, wherever it stands', () => {
    expect(compilePolicy(First).groupNames).toEqual(['reads', 'writes']);
    expect(compilePolicy(Second).groupNames).toEqual(['reads', 'admin']);
    expect(compilePolicy(Third).groupNames).toEqual(['other', 'reads']);
    expect(compilePolicy(Fourth).groupNames).toEqual(['reads']);
    for (const cls of [First, Second, Third, Fourth]) {
      const policy = compilePolicy(cls);
      expect(policy.methodGroup.get('get')).toBe(id(policy, 'reads'));
      expect(policy.incompatible[id(policy, 'reads')]).not.toContain(id(policy, 'reads'));
    }
  });

  it('still throws at definition for a group name declared nowhere', () => {
    expectDefinitionError(
      () => {
        @Reads
        @Group('writes')
        class Typo {
          @MemberOf('wirtes') put(): void {}
        }
        return Typo;
      },
      'Typo',
      '@MemberOf',
      'unknown group `wirtes`',
    );
  });

  it('throws at definition for a duplicate group brought by a reused value', () => {
    expectDefinitionError(
      () => {
        @Group('z')
        @Reads
        @Group('reads')
        class Duplicate {}
        return Duplicate;
      },
      'Duplicate',
      '@Group',
      'declares group `reads` twice',
    );
  });

  it('keeps validating later classes at definition after a definition failed midway', () => {
    expect(() => {
      @Group('z')
      @Reads
      @Group('reads')
      class Failed {}
      return Failed;
    }).toThrow(DefinitionError);
    expectDefinitionError(
      () => {
        @Group('a')
        class Later {
          @MemberOf('b') run(): void {}
        }
        return Later;
      },
      'Later',
      '@MemberOf',
      'unknown group `b`',
    );
  });

  it('keeps validating later classes at definition after a misplaced decorator failed', () => {
    expect(() => {
      @Group('g')
      class Misplaced {
        // @ts-expect-error @Group only types as a class decorator
        @Group('h')
        @MemberOf('g')
        static create(): void {}
      }
      return Misplaced;
    }).toThrow(DefinitionError);
    expectDefinitionError(
      () => {
        @Group('a')
        class AfterMisplaced {
          @MemberOf('c') run(): void {}
        }
        return AfterMisplaced;
      },
      'AfterMisplaced',
      '@MemberOf',
      'unknown group `c`',
    );
  });

  it.runIf(mode === 'standard')('throws at definition for a known name of another class (standard)', () => {
    expectDefinitionError(
      () => {
        @Group('w')
        class Forgot {
          @MemberOf('reads') get(): void {}
        }
        return Forgot;
      },
      'Forgot',
      '@MemberOf',
      'unknown group `reads`',
    );
  });

  // Legacy edge case: `reads` is declared by an applied @Group value, which might be re-applied
  // above the last fresh decorator, so the check at definition leaves the name to compilePolicy.
  it.runIf(mode === 'legacy')(
    'leaves to compilePolicy an unknown name that a stored @Group value declares (legacy)',
    () => {
      @Group('w')
      class Forgot {
        @MemberOf('reads') get(): void {}
      }
      expect(() => compilePolicy(Forgot)).toThrow(/unknown group `reads`/);
    },
  );

  // Legacy edge case: a class-decorator value created but never applied keeps the count above
  // zero, so classes defined meanwhile are validated at compilePolicy instead.
  it.runIf(mode === 'legacy')(
    'postpones validation to compilePolicy while a decorator value waits to be applied (legacy)',
    () => {
      const waiting = Group('waiting');
      @Group('a')
      class Meanwhile {
        @MemberOf('nowhere') run(): void {}
      }
      expect(() => compilePolicy(Meanwhile)).toThrow(/unknown group `nowhere`/);
      class Later {}
      (waiting as (target: abstract new () => unknown) => void)(Later);
      expect(compilePolicy(Later).groupNames).toEqual(['waiting']);
    },
  );
});
