/**
 * `defineActive(Class, spec)`: declare an active class's policy as plain data, for code that
 * cannot use decorators (plain JavaScript, or TypeScript that does not enable them).
 *
 * Each entry of the spec is the decorator it stands for: the spec is turned into the same
 * decorator values (`Group(name, options)`, `MemberOf(group)`, ...), whose arguments are checked
 * by the decorators' own code, and their declarations are recorded into the class's record in
 * the order the decorators would have been written. The class is then compiled by
 * `compilePolicy`, like a decorated class at its definition. So a spec gives the same policy,
 * and the same `DefinitionError`s (naming the decorator an entry stands for), as the decorators.
 * Only the spec's own shape (an unknown key, a method the class does not have) is checked here.
 *
 * All or nothing: the record is installed on the class only once the whole policy compiled, so a
 * spec that throws leaves the class as it was.
 */
import './metadata.js';
import type { Condition } from '../scheduler/policy.js';
import { compilePolicy, isCompiled } from './compile.js';
import {
  type AbstractClass,
  type ClassDeclarations,
  emptyDeclarations,
  installDeclarations,
  ownDeclarations,
  uninstallDeclarations,
} from './declarations.js';
import {
  Alone,
  Checkpoint,
  type CheckpointOptions,
  Compatible,
  forgetClassDecorator,
  Group,
  type GroupOptions,
  MemberOf,
  type MultiactiveClassDecorator,
  Priority,
  recordClassDecorator,
  recordMethodDecorator,
  ThreadConfig,
  type ThreadConfigOptions,
} from './decorators.js';
import { DefinitionError } from './errors.js';
import { classNameOf, didYouMean, show } from './format.js';
import { recordOrigin } from './origin.js';
import { writeClassMetadata, writeMemberMetadata } from './reflect-keys.js';

/** The names of `T`'s methods (string keys whose values are functions). */
export type MethodName<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T] &
  string;

/** One `@Compatible`: its groups, or its groups and condition. */
export type CompatibleSpec =
  | readonly string[]
  | { readonly groups: readonly string[]; readonly condition?: Condition };

/**
 * An active class's policy as data; every key is optional. `T` is the class's instance type
 * (it types the method names).
 */
export interface ActiveSpec<T = Record<string, (...args: never[]) => unknown>> {
  /** `@Group(name, options)` for each entry, in key order (the order groups are numbered in). */
  readonly groups?: Readonly<Record<string, GroupOptions>>;
  /** `@MemberOf(group)` on each method: method name -> group name. */
  readonly memberOf?: { readonly [K in MethodName<T>]?: string };
  /** `@Alone()` on each method: it runs alone, on purpose (silences `MULTIACTIVE_UNGROUPED`). */
  readonly alone?: readonly MethodName<T>[];
  /** One `@Compatible` per entry: `['a', 'b']`, or `{ groups: ['a', 'b'], condition }`. */
  readonly compatible?: readonly CompatibleSpec[];
  /** One `@Priority(...levels)` per entry: its levels, highest first (a level is a group or an array of groups). */
  readonly priority?: readonly (readonly (string | readonly string[])[])[];
  /** `@ThreadConfig(options)`. */
  readonly threadConfig?: ThreadConfigOptions;
  /** `@Checkpoint(options)`; `{}` declares on-demand checkpoints with the runtime's defaults. */
  readonly checkpoint?: CheckpointOptions;
}

const SPEC_KEYS = [
  'groups',
  'memberOf',
  'alone',
  'compatible',
  'priority',
  'threadConfig',
  'checkpoint',
] as const;

/**
 * Declare `cls`'s policy without decorators and return `cls`. Call it once per class, where the
 * class is defined (before any `newActive` of it); a subclass may have its own `defineActive`,
 * and inherits its parent's declarations as with decorators. Validated at once, like a decorated
 * class at its definition: an invalid spec throws a `DefinitionError`.
 *
 * @example
 * export const Peer = defineActive(class Peer { ... }, {
 *   groups: { routing: {}, monitoring: { selfCompatible: true } },
 *   memberOf: { add: 'routing', log: 'monitoring' },
 *   compatible: [['routing', 'monitoring']],
 * });
 */
export function defineActive<C extends AbstractClass>(cls: C, spec: ActiveSpec<InstanceType<C>>): C {
  if (typeof cls !== 'function' || typeof cls.prototype !== 'object' || cls.prototype === null) {
    throw new DefinitionError(
      '(not a class)',
      'defineActive',
      `defineActive expects a class as its first argument, got ${show(cls)}.`,
    );
  }
  const className = classNameOf(cls as Function);
  const fail = (detail: string) =>
    new DefinitionError(className, 'defineActive', `defineActive(${className}, ...): ${detail}`);
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw fail(`Expected the spec to be an object with some of ${SPEC_KEYS.join(', ')}, got ${show(spec)}.`);
  }
  for (const key of Object.keys(spec)) {
    if (!(SPEC_KEYS as readonly string[]).includes(key)) {
      throw fail(
        `unknown key \`${key}\`.${didYouMean(key, SPEC_KEYS)} Allowed keys: ${SPEC_KEYS.join(', ')}.`,
      );
    }
  }
  if (ownDeclarations(cls) !== undefined) {
    throw fail(
      'the class already declares a policy of its own (decorators, or an earlier defineActive). Declare ' +
        'it one way, once: put everything in one spec, or use the decorators only.',
    );
  }
  if (isCompiled(cls)) {
    throw fail(
      'the class is in use already (newActive or compilePolicy has compiled its policy), so its policy ' +
        'can no longer change. Call defineActive where the class is defined, before creating objects.',
    );
  }

  const classDecorators: MultiactiveClassDecorator[] = [];
  try {
    return define(cls, className, spec as Readonly<Record<string, unknown>>, classDecorators, fail);
  } finally {
    // Recorded ones are forgotten already; the others (a spec that threw) will never be applied.
    for (const value of classDecorators) forgetClassDecorator(value);
  }
}

function define<C extends AbstractClass>(
  cls: C,
  className: string,
  data: Readonly<Record<string, unknown>>,
  classDecorators: MultiactiveClassDecorator[],
  fail: (detail: string) => DefinitionError,
): C {
  const groups = record(fail, 'groups', data['groups'], '{ routing: {}, lookup: { selfCompatible: true } }');
  for (const [name, options] of Object.entries(groups))
    classDecorators.push(Group(name, options as GroupOptions));
  for (const [i, entry] of list(fail, 'compatible', data['compatible'], "[['a', 'b']]").entries()) {
    if (Array.isArray(entry)) classDecorators.push(Compatible(entry));
    else if (typeof entry === 'object' && entry !== null) {
      const rule = entry as Readonly<Record<string, unknown>>;
      const extra = Object.keys(rule).filter((key) => key !== 'groups' && key !== 'condition');
      if (extra.length > 0) {
        throw fail(
          `\`compatible[${i}]\` has an unknown key \`${extra[0]}\`. A rule is an array of group names, or ` +
            '{ groups: [...], condition }.',
        );
      }
      classDecorators.push(
        Compatible(rule['groups'] as string[], rule['condition'] as Condition | undefined),
      );
    } else {
      throw fail(
        `Expected \`compatible[${i}]\` to be an array of group names or { groups, condition }, got ${show(entry)}.`,
      );
    }
  }
  for (const [i, chain] of list(fail, 'priority', data['priority'], "[['high', 'low']]").entries()) {
    if (!Array.isArray(chain)) {
      throw fail(
        `Expected \`priority[${i}]\` to be an array of levels, highest first (e.g. ['high', ['middle1', ` +
          `'middle2'], 'low']), got ${show(chain)}.`,
      );
    }
    classDecorators.push(Priority(...(chain as (string | string[])[])));
  }
  if (data['threadConfig'] !== undefined) {
    classDecorators.push(ThreadConfig(data['threadConfig'] as ThreadConfigOptions));
  }
  if (data['checkpoint'] !== undefined) {
    classDecorators.push(Checkpoint(data['checkpoint'] as CheckpointOptions));
  }

  const methods = methodNames(cls);
  const method = (key: string, name: string) => {
    if (methods.includes(name)) return name;
    throw fail(
      `\`${key}\` names method \`${name}\`, but ${className} has no such instance method.` +
        `${didYouMean(name, methods)} Its methods: ${methods.length === 0 ? 'none' : methods.join(', ')}.`,
    );
  };
  const members = record(fail, 'memberOf', data['memberOf'], "{ add: 'routing', get: 'lookup' }");
  const alone = list(fail, 'alone', data['alone'], "['reset']");

  const declarations: ClassDeclarations = emptyDeclarations();
  // Last to first, as decorators are applied: the records end up in the order written.
  for (const value of [...classDecorators].reverse()) recordClassDecorator(value, declarations);
  for (const [name, group] of Object.entries(members)) {
    recordMethodDecorator(MemberOf(group as string), declarations, method(`memberOf.${name}`, name));
  }
  for (const [i, name] of alone.entries()) {
    if (typeof name !== 'string') {
      throw fail(`Expected \`alone[${i}]\` to be a method name, got ${show(name)}.`);
    }
    recordMethodDecorator(Alone(), declarations, method(`alone[${i}]`, name));
  }

  installDeclarations(cls, declarations);
  try {
    compilePolicy(cls);
  } catch (error) {
    uninstallDeclarations(cls);
    throw error;
  }
  recordOrigin(cls);
  writeClassMetadata(cls);
  for (const member of declarations.members.values()) {
    writeMemberMetadata(cls.prototype as object, member.method, member.group);
  }
  return cls;
}

/** A spec entry that must be a plain object (or absent). */
function record(
  fail: (detail: string) => Error,
  key: string,
  value: unknown,
  example: string,
): Readonly<Record<string, unknown>> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return value as Readonly<Record<string, unknown>>;
  }
  throw fail(`Expected \`${key}\` to be an object, e.g. ${example}, got ${show(value)}.`);
}

/** A spec entry that must be an array (or absent). */
function list(
  fail: (detail: string) => Error,
  key: string,
  value: unknown,
  example: string,
): readonly unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  throw fail(`Expected \`${key}\` to be an array, e.g. ${example}, got ${show(value)}.`);
}

/** The instance methods of `cls`, own and inherited (what `@MemberOf` could decorate, and overrides). */
function methodNames(cls: Function): string[] {
  const names: string[] = [];
  for (
    let proto: unknown = cls.prototype;
    typeof proto === 'object' && proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === 'constructor' || names.includes(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, key);
      if (descriptor !== undefined && typeof descriptor.value === 'function') names.push(key);
    }
  }
  return names;
}
