import { describe, expect, it } from 'vitest';
import {
  Compatible,
  compilePolicy,
  Group,
  MemberOf,
  Priority,
  ThreadConfig,
} from '../../decorators/index.js';
import { canOvertake, expectDefinitionError, id, incompatibleWith, mode } from './support.js';

@Group('reads', { selfCompatible: true })
@Group('writes')
@ThreadConfig({ threadPoolSize: 4, hardLimit: true })
class Store {
  protected readonly data = new Map<string, number>();
  @MemberOf('reads') get(key: string): number | undefined {
    return this.data.get(key);
  }
  @MemberOf('writes') put(key: string, value: number): void {
    this.data.set(key, value);
  }
  @MemberOf('writes') clear(): void {
    this.data.clear();
  }
}

@Group('admin')
@Compatible(['reads', 'admin'])
@Priority('writes', 'reads')
@ThreadConfig({ threadPoolSize: 8 })
class AuditedStore extends Store {
  readonly log: string[] = [];
  // An override without @MemberOf keeps the parent's group.
  override get(key: string): number | undefined {
    this.log.push(`get ${key}`);
    return super.get(key);
  }
  // A subclass may re-declare a method's membership.
  @MemberOf('admin') override clear(): void {
    super.clear();
  }
  @MemberOf('admin') audit(): string[] {
    return this.log;
  }
}

describe(`inheritance (${mode} decorators)`, () => {
  const parent = compilePolicy(Store);
  const child = compilePolicy(AuditedStore);

  it("gives a subclass its parent's groups first, then its own", () => {
    expect(child.groupNames).toEqual(['reads', 'writes', 'admin']);
  });

  it('keeps the group of an overridden method that has no @MemberOf', () => {
    expect(child.methodGroup.get('get')).toBe(id(child, 'reads'));
    expect(child.methodGroup.get('put')).toBe(id(child, 'writes'));
  });

  it("lets a subclass move a method to another group, without changing the parent's policy", () => {
    expect(child.methodGroup.get('clear')).toBe(id(child, 'admin'));
    expect(parent.methodGroup.get('clear')).toBe(id(parent, 'writes'));
  });

  it("adds the subclass's compatibility and priority to the inherited ones", () => {
    expect(incompatibleWith(child, 'reads')).toEqual(['writes']);
    expect(incompatibleWith(child, 'admin')).toEqual(['writes', 'admin']);
    expect(canOvertake(child, 'writes', 'reads')).toBe(true);
    expect(parent.hasPriorities).toBe(false);
    expect(parent.groupNames).toEqual(['reads', 'writes']);
  });

  it("overrides the parent's @ThreadConfig option by option", () => {
    expect(parent.poolSize).toBe(4);
    expect(parent.hardLimit).toBe(true);
    expect(child.poolSize).toBe(8);
    expect(child.hardLimit).toBe(true);
  });

  it('gives an undecorated subclass the same tables under its own name', () => {
    class PlainSubclass extends Store {}
    const policy = compilePolicy(PlainSubclass);
    expect(policy.className).toBe('PlainSubclass');
    expect({ ...policy, className: 'Store' }).toEqual(parent);
  });

  it('compiles a subclass with only @MemberOf methods from the inherited groups', () => {
    class ReadMostly extends Store {
      @MemberOf('reads') size(): number {
        return this.data.size;
      }
    }
    const policy = compilePolicy(ReadMostly);
    expect(policy.groupNames).toEqual(['reads', 'writes']);
    expect(policy.methodGroup.get('size')).toBe(id(policy, 'reads'));
  });

  it('validates a subclass with only @MemberOf methods at its first compilePolicy, not at definition', () => {
    class Typo extends Store {
      @MemberOf('raeds') size(): number {
        return this.data.size;
      }
    }
    expectDefinitionError(
      () => compilePolicy(Typo),
      'Typo',
      '@MemberOf',
      "@MemberOf('raeds') on method `size` names an unknown group `raeds`",
      'Did you mean `reads`?',
      'known groups: reads, writes',
    );
  });

  it('rejects a subclass that declares a group of its parent again', () => {
    expectDefinitionError(
      () => {
        @Group('writes', { selfCompatible: true })
        class Again extends Store {}
        return Again;
      },
      'Again',
      '@Group',
      'which the parent class Store already declares',
      "@MemberOf('writes')",
    );
  });

  it('merges three generations in order, oldest first', () => {
    @Group('audit')
    class Grandchild extends AuditedStore {
      @MemberOf('audit') override audit(): string[] {
        return super.audit();
      }
    }
    const policy = compilePolicy(Grandchild);
    expect(policy.groupNames).toEqual(['reads', 'writes', 'admin', 'audit']);
    expect(policy.methodGroup.get('audit')).toBe(id(policy, 'audit'));
    expect(policy.methodGroup.get('clear')).toBe(id(policy, 'admin'));
    expect(canOvertake(policy, 'writes', 'reads')).toBe(true);
    expect(policy.poolSize).toBe(8);
  });
});
