import { describe, expect, it } from 'vitest';
import { compilePolicy, Group, MemberOf, Priority } from '../../decorators/index.js';
import { canOvertake, expectDefinitionError, mode, overtaken } from './support.js';

// The reference priority graph: g0 -> g1 -> g2 -> {g3 -> g4, g5 -> g4}.
@Group('g0')
@Group('g1')
@Group('g2')
@Group('g3')
@Group('g4')
@Group('g5')
@Priority('g0', 'g1', 'g2', ['g3', 'g5'], 'g4')
class Reference {}

describe(`priority (${mode} decorators)`, () => {
  const policy = compilePolicy(Reference);

  it('follows the reference graph g0 -> g1 -> g2 -> {g3 -> g4, g5 -> g4}', () => {
    expect(canOvertake(policy, 'g4', 'g3')).toBe(false);
    expect(canOvertake(policy, 'g3', 'g4')).toBe(true);
    expect(canOvertake(policy, 'g2', 'g1')).toBe(false);
    expect(canOvertake(policy, 'g1', 'g2')).toBe(true);
    expect(canOvertake(policy, 'g3', 'g5')).toBe(false);
    expect(canOvertake(policy, 'g5', 'g3')).toBe(false);
    expect(canOvertake(policy, 'g0', 'g4')).toBe(true);
  });

  it('lists every group reachable by a path (the transitive closure), sorted by id', () => {
    expect(overtaken(policy, 'g0')).toEqual(['g1', 'g2', 'g3', 'g4', 'g5']);
    expect(overtaken(policy, 'g2')).toEqual(['g3', 'g4', 'g5']);
    expect(overtaken(policy, 'g5')).toEqual(['g4']);
    expect(overtaken(policy, 'g4')).toEqual([]);
    expect(policy.hasPriorities).toBe(true);
  });

  it('builds the same graph from several @Priority chains', () => {
    @Group('g0')
    @Group('g1')
    @Group('g2')
    @Group('g3')
    @Group('g4')
    @Group('g5')
    @Priority('g0', 'g1', 'g2', 'g3', 'g4')
    @Priority('g2', 'g5', 'g4')
    class Chains {}
    expect(compilePolicy(Chains).overtakes).toEqual(policy.overtakes);
  });

  it('throws at definition when a chain g4 -> g1 closes a cycle, and shows the cycle', () => {
    expectDefinitionError(
      () => {
        @Priority('g4', 'g1')
        class Cyclic extends Reference {}
        return Cyclic;
      },
      'Cyclic',
      '@Priority',
      "@Priority('g4', 'g1') closes a priority cycle `g4 -> g1 -> g2 -> g3 -> g4`",
      'must be acyclic',
      "@Priority('g0', 'g1', 'g2', ['g3', 'g5'], 'g4') on Reference",
    );
  });

  it('reports a cycle within one class at the chain that closes it', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Group('b')
        @Priority('a', 'b')
        @Priority('b', 'a')
        class Loop {}
        return Loop;
      },
      'Loop',
      '@Priority',
      "@Priority('b', 'a') closes a priority cycle `b -> a -> b`",
    );
  });

  it('rejects a group above itself', () => {
    expectDefinitionError(
      () => {
        @Group('a')
        @Group('b')
        @Priority(['a', 'b'], 'a')
        class SelfLoop {}
        return SelfLoop;
      },
      'SelfLoop',
      '@Priority',
      'cycle `a -> a`',
    );
  });

  it('keeps unrelated groups and groups of one level unordered', () => {
    @Group('top')
    @Group('left')
    @Group('right')
    @Group('alone')
    @Priority('top', ['left', 'right'])
    class Levels {}
    const levels = compilePolicy(Levels);
    expect(canOvertake(levels, 'left', 'right')).toBe(false);
    expect(canOvertake(levels, 'right', 'left')).toBe(false);
    expect(overtaken(levels, 'alone')).toEqual([]);
    expect(overtaken(levels, 'top')).toEqual(['left', 'right']);
  });

  it('has no priorities when no chain is declared', () => {
    @Group('a')
    class Flat {
      @MemberOf('a') run(): void {}
    }
    expect(compilePolicy(Flat).hasPriorities).toBe(false);
  });
});

describe(`super priority (${mode} decorators)`, () => {
  @Group('urgent', { superPriority: true })
  @Group('alarm', { superPriority: true })
  @Group('normal')
  @Group('background')
  @Priority('normal', 'background')
  class Service {}
  const policy = compilePolicy(Service);

  it('lets a super-priority group overtake every non-super group', () => {
    expect(overtaken(policy, 'urgent')).toEqual(['normal', 'background']);
    expect(overtaken(policy, 'alarm')).toEqual(['normal', 'background']);
    expect(policy.superPriority).toEqual([true, true, false, false]);
  });

  it('never lets a non-super group overtake a super one, and keeps super groups FIFO among themselves', () => {
    expect(overtaken(policy, 'normal')).toEqual(['background']);
    expect(canOvertake(policy, 'urgent', 'alarm')).toBe(false);
    expect(canOvertake(policy, 'alarm', 'urgent')).toBe(false);
  });

  it('keeps a declared order between super groups', () => {
    @Group('urgent', { superPriority: true })
    @Group('alarm', { superPriority: true })
    @Group('normal')
    @Priority('alarm', 'urgent')
    class Ordered {}
    const ordered = compilePolicy(Ordered);
    expect(overtaken(ordered, 'alarm')).toEqual(['urgent', 'normal']);
    expect(overtaken(ordered, 'urgent')).toEqual(['normal']);
  });

  it('makes hasPriorities true even without @Priority', () => {
    @Group('urgent', { superPriority: true })
    @Group('normal')
    class OnlySuper {}
    expect(compilePolicy(OnlySuper).hasPriorities).toBe(true);
  });

  it('rejects a chain that puts a non-super group above a super one', () => {
    expectDefinitionError(
      () => {
        @Group('urgent', { superPriority: true })
        @Group('normal')
        @Priority('normal', 'urgent')
        class Upside {}
        return Upside;
      },
      'Upside',
      '@Priority',
      'has superPriority',
      'cycle `normal -> urgent -> normal`',
    );
  });
});
