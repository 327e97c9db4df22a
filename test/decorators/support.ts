/**
 * Helpers for the decorator tests. The suite runs in both decorator modes (vitest projects
 * 'standard' and 'legacy'); `MULTIACTIVE_DECORATORS` says which.
 */
import { expect } from 'vitest';
import { type DecoratorName, DefinitionError } from '../../decorators/index.js';
import type { Policy } from '../../scheduler/policy.js';

export const mode: 'standard' | 'legacy' =
  process.env.MULTIACTIVE_DECORATORS === 'legacy' ? 'legacy' : 'standard';

/** Run `define` (a class definition, or a compile) and return the DefinitionError it throws. */
export function definitionError(define: () => unknown): DefinitionError {
  try {
    define();
  } catch (error) {
    if (error instanceof DefinitionError) return error;
    throw error;
  }
  throw new Error('expected a DefinitionError, but nothing was thrown');
}

/** Assert the error names the class, the decorator and contains every fragment. */
export function expectDefinitionError(
  define: () => unknown,
  className: string,
  decorator: DecoratorName,
  ...fragments: string[]
): DefinitionError {
  const error = definitionError(define);
  expect(error).toBeInstanceOf(DefinitionError);
  expect(error.name).toBe('DefinitionError');
  expect(error.className).toBe(className);
  expect(error.decorator).toBe(decorator);
  expect(error.message.startsWith(`${className}: `)).toBe(true);
  expect(error.message).toContain(decorator);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

/** The id of group `name` in `policy`. */
export function id(policy: Policy, name: string): number {
  const found = policy.groupNames.indexOf(name);
  if (found < 0) throw new Error(`no group ${name} in ${policy.groupNames.join(', ')}`);
  return found;
}

/** The names of the groups `ids`. */
export function names(policy: Policy, ids: readonly number[]): string[] {
  return ids.map((g) => policy.groupNames[g] ?? `#${g}`);
}

/** Whether a request of group `a` may be placed before one of group `b`. */
export function canOvertake(policy: Policy, a: string, b: string): boolean {
  return policy.overtakes[id(policy, a)]?.includes(id(policy, b)) ?? false;
}

/** `incompatible[g]` by name. */
export function incompatibleWith(policy: Policy, group: string): string[] {
  return names(policy, policy.incompatible[id(policy, group)] ?? []);
}

/** `overtakes[g]` by name. */
export function overtaken(policy: Policy, group: string): string[] {
  return names(policy, policy.overtakes[id(policy, group)] ?? []);
}
