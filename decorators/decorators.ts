/**
 * `@Group`, `@MemberOf`, `@Compatible`, `@Priority`, `@ThreadConfig` (docs/decorators.md), `@Checkpoint`
 * (docs/fault-tolerance.md: only its declaration; the runtime reads it with `checkpointConfig`).
 *
 * Each decorator only RECORDS plain data (declarations.ts); `compile.ts` validates and
 * compiles once. One implementation serves both TypeScript decorator modes: a TC39 standard
 * decorator receives `(value, context)` where `context.kind` is a string; a legacy
 * (`experimentalDecorators`) one receives `(ctor)` on a class and `(prototype, key,
 * descriptor)` on a member.
 *
 * When a class is validated (so that invalid declarations throw at class definition):
 * - Standard mode: the first class decorator of this library applied to a class (the bottom
 *   one) registers, once per class, a class initializer that calls `compilePolicy(cls)`.
 *   Class initializers run after every class decorator has been applied, so the declarations
 *   are complete, and a throw there is a throw at class definition. The policy is cached.
 * - Legacy mode has no such hook: all decorator factories of a class (`Group(...)`, ...) are
 *   evaluated top to bottom, then the results applied bottom to top. So we count the factory
 *   results not yet applied (`pendingFresh`): when the first application of one empties the
 *   set, no class decorator of this class is left to apply, and we validate. A value applied
 *   a second time (a user stored `const Reads = Group('reads')` and reuses it) breaks the
 *   count for that class: then we validate everything except unknown group names, which are
 *   left to `compilePolicy` at the first `newActive`. And because a stored value may also be
 *   re-applied ABOVE the decorator that emptied the set, the check made when the set empties
 *   defers an unknown name too when a `@Group` value with that name has already been applied
 *   somewhere (it may be that stored value, about to be applied). A typo, declared nowhere,
 *   still throws at definition. Legacy validation never caches: the policy is compiled at the
 *   first `compilePolicy`.
 * - Decorators called by hand (plain JavaScript: `Group('a')(Peer)`, `MemberOf('a')(proto, key,
 *   descriptor)`) take the legacy path, and each class-decorator call empties the set, so the
 *   class would be checked after every call, before the `Group(...)` calls still to come. So an
 *   unknown name is deferred too when the call was made by hand, not by decorator syntax
 *   (`calledByHand`, from the call stack; read only when a name is unknown): hand calls work in
 *   any order, and their names are checked at the first `compilePolicy`. `defineActive`
 *   (define.ts) records the same decorator values without applying them, all at once.
 * - A class with only member decorators (its groups inherited) has no class-definition hook in
 *   either mode: it is validated at its first `compilePolicy` (first `newActive`).
 *
 * Errors in member decorators: a legacy member decorator knows its class and throws at once.
 * A standard one does not know its class: it records the problem in `context.metadata`, and
 * the class's validation throws it with the class name (a static member throws at class
 * definition through a static initializer, whose `this` is the class).
 */
import { calledByHand, recordOrigin } from './origin.js';
import './metadata.js';
import type { Condition } from '../scheduler/policy.js';
import { compilePolicy, validateDeclarations } from './compile.js';
import {
  type AbstractClass,
  type ClassDeclarations,
  declarationsForPrototype,
  declarationsInMetadata,
  GROUP_DEFAULTS,
  THREAD_CONFIG_DEFAULTS,
} from './declarations.js';
import { type DecoratorName, DefinitionError, MultiactiveError } from './errors.js';
import { classNameOf, didYouMean, literal, show } from './format.js';
import { writeClassMetadata, writeMemberMetadata } from './reflect-keys.js';

export interface GroupOptions {
  /**
   * Requests of this group may be in service together (subject to `condition`).
   * @default false
   */
  readonly selfCompatible?: boolean;
  /**
   * Only with `selfCompatible: true`: two requests of this group are compatible when it
   * returns true (`a` is the request being admitted). A throwing condition means incompatible.
   */
  readonly condition?: Condition;
  /**
   * Slots reserved for this group: others may not use them.
   * @default 0
   */
  readonly minThreads?: number;
  /**
   * Cap on this group's requests in service, wait-by-necessity included.
   * @default Infinity
   */
  readonly maxThreads?: number;
  /**
   * Requests of this group go before every non-super request, ignore `maxThreads` and may
   * borrow other groups' reservations.
   * @default false
   */
  readonly superPriority?: boolean;
}

export interface ThreadConfigOptions {
  /**
   * The object's slot limit. Raised to `sum(minThreads) + 1` when the reservations fill it.
   * @default Infinity
   */
  readonly threadPoolSize?: number;
  /**
   * `true`: requests in wait-by-necessity count against the limit (hard limit).
   * @default false
   */
  readonly hardLimit?: boolean;
}

export interface CheckpointOptions {
  /**
   * Take a checkpoint after every `everyRequests` requests served (an integer >= 1).
   * @default undefined (no request-count trigger declared; see docs/fault-tolerance.md)
   */
  everyRequests?: number | undefined;
  /**
   * Take a checkpoint every `everyMs` milliseconds while the object lives (an integer >= 1).
   * @default undefined (no timer trigger declared; see docs/fault-tolerance.md)
   */
  everyMs?: number | undefined;
  /**
   * Recoverable objects (placed on a worker by the main thread): at most this many calls
   * journaled since the last durable checkpoint (an integer >= 2). At half of it a checkpoint
   * is taken; while it is full (checkpoints keep failing), new calls are refused with
   * `JournalFullError`.
   * @default 100000
   */
  journalLimit?: number | undefined;
  /**
   * Where checkpoints go: a directory path (string, the file store), or a store object with
   * `put`, `latest` and `list` functions (duck-typed here; the interface lives in src/). Default:
   * the file store in `$MULTIACTIVE_CHECKPOINT_DIR` or `.multiactive/checkpoints` (resolved by the runtime).
   * @default undefined (the runtime's default file store)
   */
  store?: string | object | undefined;
  /**
   * How long the runtime waits for one call of the store (a write, a read for a restore, a
   * listing) before it fails that checkpoint or restore with a `CheckpointError` (an integer
   * >= 1, or Infinity). The object goes on either way.
   * @default undefined (the runtime's bound: 30 000 ms, see docs/fault-tolerance.md)
   */
  storeTimeoutMs?: number | undefined;
}

/**
 * What `@Group`, `@Compatible`, `@Priority`, `@ThreadConfig` and `@Checkpoint` return: a class
 * decorator of either mode.
 */
export interface MultiactiveClassDecorator {
  /** TC39 standard decorator. */
  <C extends AbstractClass>(target: C, context: ClassDecoratorContext<C>): void;
  /** `experimentalDecorators`. */
  (target: AbstractClass): void;
}

/** What `@MemberOf` returns: a method decorator of either mode. */
export interface MultiactiveMethodDecorator {
  /** TC39 standard decorator. */
  <This>(method: (this: This, ...args: never[]) => unknown, context: ClassMethodDecoratorContext<This>): void;
  /** `experimentalDecorators`. */
  (prototype: object, key: string | symbol, descriptor: PropertyDescriptor): void;
}

// ---------------------------------------------------------------------------------------------
// Both modes: telling them apart, describing members.

/** The fields of a standard decorator context that we read. */
interface StandardContext {
  readonly kind: string;
  readonly name: string | symbol | undefined;
  readonly static?: boolean;
  readonly private?: boolean;
  readonly metadata?: DecoratorMetadataObject;
  addInitializer?(initializer: (this: unknown) => void): void;
}

function isStandardContext(value: unknown): value is StandardContext {
  return typeof value === 'object' && value !== null && 'kind' in value && typeof value.kind === 'string';
}

function keyText(key: string | symbol | undefined): string {
  return typeof key === 'symbol' ? `[${String(key)}]` : String(key);
}

/** `static method \`s\``, `private method \`#x\``, `field \`f\``, `class \`Peer\``. */
function standardMember(context: StandardContext): string {
  const kind = context.kind === 'accessor' ? 'auto-accessor' : context.kind;
  const modifiers = `${context.static ? 'static ' : ''}${context.private ? 'private ' : ''}`;
  return `${modifiers}${kind} \`${keyText(context.name)}\``;
}

function legacyMember(target: unknown, key: string | symbol, descriptor: unknown): string {
  const modifiers = typeof target === 'function' ? 'static ' : '';
  let kind = 'field';
  if (typeof descriptor === 'object' && descriptor !== null) {
    const d = descriptor as PropertyDescriptor;
    kind =
      d.get !== undefined || d.set !== undefined
        ? 'accessor'
        : typeof d.value === 'function'
          ? 'method'
          : 'field';
  }
  return `${modifiers}${kind} \`${keyText(key)}\``;
}

/** The class a legacy decorator was applied on: the constructor itself (static) or the prototype's. */
function legacyOwner(target: unknown): string {
  if (typeof target === 'function') return classNameOf(target);
  if (typeof target === 'object' && target !== null) {
    const ctor: unknown = (target as { constructor?: unknown }).constructor;
    if (typeof ctor === 'function') return classNameOf(ctor);
  }
  return '(unknown class)';
}

/** Standard mode needs `context.metadata`; it is missing only if `Symbol.metadata` was absent. */
function requireMetadata(context: StandardContext, source: string): DecoratorMetadataObject {
  if (context.metadata !== undefined && context.metadata !== null) return context.metadata;
  throw new MultiactiveError(
    `${source}: the decorator context has no \`metadata\` because \`Symbol.metadata\` was not defined ` +
      "when the class was evaluated. Import 'multiactive' (it installs the polyfill) before the " +
      'modules that define active classes.',
  );
}

/**
 * Standard mode, a problem on a member: the class is not known yet. A static member's
 * initializer runs at class definition with `this` = the class, so throw there; otherwise
 * record it for the class's validation.
 */
function recordMemberProblem(context: StandardContext, decorator: DecoratorName, detail: string): void {
  if (context.static && typeof context.addInitializer === 'function') {
    context.addInitializer(function (this: unknown) {
      throw new DefinitionError(classNameOf(typeof this === 'function' ? this : {}), decorator, detail);
    });
    return;
  }
  declarationsInMetadata(requireMetadata(context, decorator)).problems.push({ decorator, detail });
}

// ---------------------------------------------------------------------------------------------
// Class decorators.

/** A class-decorator factory result: counts its applications (legacy validation trigger). */
interface DecoratorValueState {
  applications: number;
}

/** Class-decorator factory results not applied yet (legacy mode; see the module comment). */
const pendingFresh = new Set<DecoratorValueState>();
/** Group names of `@Group` values applied at least once (legacy mode; see the module comment). */
const appliedGroupNames = new Set<string>();

interface ClassDecoratorSpec {
  readonly decorator: DecoratorName;
  /** The decorator as written, for messages. */
  readonly source: string;
  /** Argument problems (details, without the class name), found when the factory was called. */
  readonly problems: readonly string[];
  /** Record the declaration; returns a problem detail when the class cannot take it. */
  readonly record: (declarations: ClassDeclarations) => string | undefined;
  /** `@Group` only: the group it declares. */
  readonly declaresGroup?: string | undefined;
}

/** Decorator values -> what they declare, for `defineActive` (which records without applying). */
const classDecoratorSpecs = new WeakMap<object, { spec: ClassDecoratorSpec; state: DecoratorValueState }>();
const methodDecoratorSpecs = new WeakMap<object, MethodDecoratorSpec>();

function classDecorator(spec: ClassDecoratorSpec): MultiactiveClassDecorator {
  const state: DecoratorValueState = { applications: 0 };
  pendingFresh.add(state);
  const decorator = (target: unknown, context?: unknown, descriptor?: unknown): void => {
    const first = state.applications === 0;
    state.applications++;
    if (first) pendingFresh.delete(state);
    if (typeof target === 'function') recordOrigin(target);
    if (isStandardContext(context)) applyStandard(spec, target, context);
    else applyLegacy(spec, target, context, descriptor, first);
  };
  classDecoratorSpecs.set(decorator, { spec, state });
  return decorator;
}

/**
 * `defineActive`: record what the class decorator `value` (a fresh result of `Group(...)`,
 * `Compatible(...)`, ...) declares into `declarations`, with the problems its arguments have,
 * without applying it; it is then no longer pending (legacy count). Called last to first, like
 * applied decorators, so the records end up in order.
 *
 * @internal
 */
export function recordClassDecorator(
  value: MultiactiveClassDecorator,
  declarations: ClassDeclarations,
): void {
  const found = classDecoratorSpecs.get(value);
  if (found === undefined)
    throw new MultiactiveError('recordClassDecorator: not a class decorator of multiactive');
  pendingFresh.delete(found.state);
  recordClassDeclaration(found.spec, declarations);
}

/**
 * `defineActive`, when it gives up before recording `value`: it is no longer pending (legacy
 * count), since it will never be applied.
 *
 * @internal
 */
export function forgetClassDecorator(value: MultiactiveClassDecorator): void {
  const found = classDecoratorSpecs.get(value);
  if (found !== undefined) pendingFresh.delete(found.state);
}

/**
 * `defineActive`: record what the method decorator `value` (`MemberOf(...)`, `Alone()`) declares
 * for `method`, or its problem, into `declarations` (in order: call first to last).
 *
 * @internal
 */
export function recordMethodDecorator(
  value: MultiactiveMethodDecorator,
  declarations: ClassDeclarations,
  method: string,
): void {
  const spec = methodDecoratorSpecs.get(value);
  if (spec === undefined)
    throw new MultiactiveError('recordMethodDecorator: not a method decorator of multiactive');
  const problem = spec.argumentProblem ?? spec.record(declarations, method);
  if (problem !== undefined) declarations.problems.push({ decorator: spec.decorator, detail: problem });
}

/** Record the declaration (or its problems) in `declarations`, in source order. */
function recordClassDeclaration(spec: ClassDecoratorSpec, declarations: ClassDeclarations): void {
  const problems = [...spec.problems];
  if (problems.length === 0) {
    const problem = spec.record(declarations);
    if (problem !== undefined) problems.push(problem);
  }
  // Applied bottom to top: unshift keeps the problems in source order.
  declarations.problems.unshift(...problems.map((detail) => ({ decorator: spec.decorator, detail })));
}

function misplacedClassDecorator(spec: ClassDecoratorSpec, member: string): string {
  return (
    `${spec.source} is applied to ${member}, but it is a class decorator. ` +
    `Put it on the class declaration (above \`class\`).`
  );
}

function applyStandard(spec: ClassDecoratorSpec, target: unknown, context: StandardContext): void {
  if (context.kind !== 'class') {
    recordMemberProblem(context, spec.decorator, misplacedClassDecorator(spec, standardMember(context)));
    return;
  }
  const declarations = declarationsInMetadata(requireMetadata(context, spec.source));
  recordClassDeclaration(spec, declarations);
  if (!declarations.validationRegistered && typeof context.addInitializer === 'function') {
    declarations.validationRegistered = true;
    // Runs after every class decorator, with `this` = the final class.
    context.addInitializer(function (this: unknown) {
      const cls = typeof this === 'function' ? this : target;
      if (typeof cls === 'function') compilePolicy(cls as AbstractClass);
    });
  }
}

function applyLegacy(
  spec: ClassDecoratorSpec,
  target: unknown,
  key: unknown,
  descriptor: unknown,
  first: boolean,
): void {
  if (key !== undefined || typeof target !== 'function') {
    const member =
      typeof key === 'string' || typeof key === 'symbol'
        ? legacyMember(target, key, descriptor)
        : `a value that is not a class (${show(target)})`;
    forgetPending();
    throw new DefinitionError(legacyOwner(target), spec.decorator, misplacedClassDecorator(spec, member));
  }
  const prototype: unknown = target.prototype;
  if (typeof prototype !== 'object' || prototype === null) {
    forgetPending();
    throw new DefinitionError(
      classNameOf(target),
      spec.decorator,
      misplacedClassDecorator(spec, `function \`${classNameOf(target)}\`, which is not a class`),
    );
  }
  recordClassDeclaration(spec, declarationsForPrototype(prototype));
  if (spec.declaresGroup !== undefined) appliedGroupNames.add(spec.declaresGroup);
  writeClassMetadata(target);
  try {
    if (!first) validateDeclarations(target, () => true);
    else if (pendingFresh.size === 0)
      validateDeclarations(target, (name) => appliedGroupNames.has(name) || calledByHand());
  } catch (error) {
    forgetPending();
    throw error;
  }
}

/**
 * Legacy mode, before throwing from a decorator: the class's definition is aborted, so its
 * decorators not applied yet never will be. Forget every pending value, or the count would stay
 * above zero and no later class would be validated at definition. A stored value forgotten here
 * is harmless: its first application is then simply not counted.
 */
function forgetPending(): void {
  pendingFresh.clear();
}

// ---------------------------------------------------------------------------------------------
// Option checks (messages: "Expected `x` to be ..., got `v` (type). <fix>").

type Options = Readonly<Record<string, unknown>>;

function readOptions(
  source: string,
  options: unknown,
  allowed: readonly string[],
  problems: string[],
): Options {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    problems.push(
      `${source}: Expected the options to be an object, got ${show(options)}. ` +
        `Pass an object with some of ${allowed.join(', ')}, or nothing.`,
    );
    return {};
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      problems.push(
        `${source}: unknown option \`${key}\`.${didYouMean(key, allowed)} Allowed options: ${allowed.join(', ')}.`,
      );
    }
  }
  return options as Options;
}

function checkBoolean(source: string, options: Options, key: string, fallback: boolean, problems: string[]) {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  problems.push(
    `${source}: Expected \`${key}\` to be a boolean, got ${show(value)}. ` +
      `Use true or false, or omit it (default ${fallback}).`,
  );
  return fallback;
}

function isCount(value: unknown, min: number, infinityAllowed: boolean): value is number {
  return (
    typeof value === 'number' &&
    ((Number.isInteger(value) && value >= min) || (infinityAllowed && value === Number.POSITIVE_INFINITY))
  );
}

function checkCondition(source: string, value: unknown, problems: string[]): Condition | undefined {
  if (value === undefined || typeof value === 'function') return value as Condition | undefined;
  problems.push(
    `${source}: Expected \`condition\` to be a function (a, b, target) => boolean, got ${show(value)}. ` +
      'Pass a function, or omit it.',
  );
  return undefined;
}

function checkGroupName(source: string, what: string, value: unknown, fix: string, problems: string[]) {
  if (typeof value === 'string' && value !== '') return true;
  problems.push(`${source}: Expected ${what} to be a non-empty string, got ${show(value)}. ${fix}`);
  return false;
}

// ---------------------------------------------------------------------------------------------
// The decorators.

const GROUP_OPTION_KEYS = [
  'selfCompatible',
  'condition',
  'minThreads',
  'maxThreads',
  'superPriority',
] as const;
const THREAD_CONFIG_OPTION_KEYS = ['threadPoolSize', 'hardLimit'] as const;
const CHECKPOINT_OPTION_KEYS = [
  'everyRequests',
  'everyMs',
  'journalLimit',
  'store',
  'storeTimeoutMs',
] as const;
/** The functions a store object must have (the full interface lives in src/). */
const STORE_FUNCTIONS = ['put', 'latest', 'list'] as const;

/**
 * Declare a group of methods (class decorator, repeatable). Methods join it with `@MemberOf`.
 * Requests of one group are incompatible with each other unless `selfCompatible`.
 *
 * @example @Group('lookup', { selfCompatible: true, maxThreads: 4 })
 */
export function Group(name: string, options?: GroupOptions): MultiactiveClassDecorator {
  const source = `@Group(${literal(name)})`;
  const problems: string[] = [];
  const validName = checkGroupName(
    source,
    'the group name',
    name,
    "Write @Group('name', { ... }).",
    problems,
  );
  const given = readOptions(source, options, GROUP_OPTION_KEYS, problems);
  const selfCompatible = checkBoolean(
    source,
    given,
    'selfCompatible',
    GROUP_DEFAULTS.selfCompatible,
    problems,
  );
  const superPriority = checkBoolean(source, given, 'superPriority', GROUP_DEFAULTS.superPriority, problems);
  const condition = checkCondition(source, given['condition'], problems);
  let minThreads: number = GROUP_DEFAULTS.minThreads;
  let maxThreads: number = GROUP_DEFAULTS.maxThreads;
  const min = given['minThreads'];
  const max = given['maxThreads'];
  if (min !== undefined && !isCount(min, 0, false)) {
    problems.push(
      `${source}: Expected \`minThreads\` to be an integer >= 0, got ${show(min)}. ` +
        'Give the number of slots to reserve for the group, or omit it (default 0).',
    );
  } else if (min !== undefined) minThreads = min;
  if (max !== undefined && !isCount(max, 1, true)) {
    problems.push(
      `${source}: Expected \`maxThreads\` to be an integer >= 1 or Infinity, got ${show(max)}. ` +
        'Give the most requests of the group in service at once, or omit it for no cap (default Infinity).',
    );
  } else if (max !== undefined) maxThreads = max;
  if (minThreads > maxThreads) {
    problems.push(
      `${source}: \`minThreads\` (${minThreads}) is greater than \`maxThreads\` (${maxThreads}), so the group ` +
        'could never use all the slots it reserves. Lower minThreads or raise maxThreads.',
    );
  }
  if (condition !== undefined && !selfCompatible) {
    problems.push(
      `${source}: has a \`condition\` but \`selfCompatible\` is false, so the condition would never apply. ` +
        `Set \`selfCompatible: true\` (two requests of the group are then compatible when the condition ` +
        'holds), or remove the condition (between different groups, use @Compatible([...], condition)).',
    );
  }
  return classDecorator({
    decorator: '@Group',
    source,
    problems,
    declaresGroup: validName ? name : undefined,
    record(declarations) {
      declarations.groups.unshift({
        name,
        selfCompatible,
        condition,
        minThreads,
        maxThreads,
        superPriority,
        source,
      });
      return undefined;
    },
  });
}

/** What a method decorator (`@MemberOf`, `@Alone`) records, and how it words its refusals. */
interface MethodDecoratorSpec {
  readonly decorator: DecoratorName;
  /** The decorator as written: `@MemberOf('lookup')`. */
  readonly head: string;
  /** A problem with the decorator's own arguments, found when the factory was called. */
  readonly argumentProblem: string | undefined;
  /** What only an instance method can do: `belong to a group`. */
  readonly ability: string;
  /** The fix when it is put on a class, in standard mode. */
  readonly onClass: string;
  /** Record it for `method`; returns a problem detail when the class cannot take it. */
  readonly record: (declarations: ClassDeclarations, method: string) => string | undefined;
  /** Legacy mode, once recorded. */
  readonly recorded?: (prototype: object, method: string) => void;
}

function methodDecorator(spec: MethodDecoratorSpec): MultiactiveMethodDecorator {
  const value = methodDecoratorValue(spec);
  methodDecoratorSpecs.set(value, spec);
  return value;
}

function methodDecoratorValue(spec: MethodDecoratorSpec): MultiactiveMethodDecorator {
  const { head, decorator } = spec;
  /** The reason the member cannot be recorded, or undefined. */
  const refuse = (member: string, fix: string) => `${head} is applied to ${member}; ${fix}`;
  const notAMethod = (member: string) =>
    refuse(member, `only instance methods can ${spec.ability} (a request is a call of a method). Remove it.`);
  const staticMember = (member: string) =>
    refuse(
      member,
      `only instance methods can ${spec.ability} (requests are calls on the active object, not on ` +
        'its class). Make it an instance method, or remove the decorator.',
    );
  const symbolName = (member: string) =>
    refuse(member, 'requests are named by strings. Give the method a string name, or remove the decorator.');

  return (target: unknown, context?: unknown, descriptor?: unknown): void => {
    if (isStandardContext(context)) {
      // TC39 standard decorator.
      const member = standardMember(context);
      let problem: string | undefined;
      if (context.kind === 'class') {
        throw new DefinitionError(
          classNameOf({ name: context.name }),
          decorator,
          refuse(member, spec.onClass),
        );
      }
      if (context.kind !== 'method') problem = notAMethod(member);
      else if (context.static) problem = staticMember(member);
      else if (context.private) {
        problem = refuse(
          member,
          'a private method cannot be called through the active object, so it is never a request. ' +
            'Make it public (drop the #), or remove the decorator.',
        );
      } else if (typeof context.name === 'symbol') problem = symbolName(member);
      else problem = spec.argumentProblem;
      if (problem !== undefined) {
        recordMemberProblem(context, decorator, problem);
        return;
      }
      const declarations = declarationsInMetadata(requireMetadata(context, head));
      const refused = spec.record(declarations, String(context.name));
      if (refused !== undefined) declarations.problems.push({ decorator, detail: refused });
      return;
    }

    // experimentalDecorators: (prototype, key, descriptor), or (ctor) on a class.
    const className = legacyOwner(target);
    const error = (detail: string) => {
      forgetPending();
      return new DefinitionError(className, decorator, detail);
    };
    if (context === undefined) {
      throw error(refuse(`class \`${className}\``, 'it is a method decorator: put it on a method.'));
    }
    if (typeof context !== 'string' && typeof context !== 'symbol') {
      throw error(refuse(`a value that is not a class member (${show(context)})`, 'put it on a method.'));
    }
    const member = legacyMember(target, context, descriptor);
    if (typeof target === 'function') throw error(staticMember(member));
    const value: unknown =
      typeof descriptor === 'object' && descriptor !== null
        ? (descriptor as PropertyDescriptor).value
        : undefined;
    if (typeof value !== 'function' || typeof target !== 'object' || target === null)
      throw error(notAMethod(member));
    if (typeof context === 'symbol') throw error(symbolName(member));
    if (spec.argumentProblem !== undefined) throw error(spec.argumentProblem);
    const refused = spec.record(declarationsForPrototype(target), context);
    if (refused !== undefined) throw error(refused);
    spec.recorded?.(target, context);
  };
}

/**
 * Put an instance method in a group declared with `@Group` on this class or a parent. A method
 * belongs to one group; an override without `@MemberOf` keeps the parent's group, and a
 * subclass may re-declare it.
 *
 * @example @MemberOf('lookup') get(key: string) { ... }
 */
export function MemberOf(group: string): MultiactiveMethodDecorator {
  const head = `@MemberOf(${literal(group)})`;
  const problems: string[] = [];
  checkGroupName(
    head,
    'the group name',
    group,
    "Write @MemberOf('name') with the name of a @Group of the class.",
    problems,
  );
  return methodDecorator({
    decorator: '@MemberOf',
    head,
    argumentProblem: problems[0],
    ability: 'belong to a group',
    onClass: 'it is a method decorator: put it on a method and declare the group with @Group.',
    record(declarations, method) {
      const existing = declarations.members.get(method);
      if (existing !== undefined) {
        return (
          `${head} on method \`${method}\`: the method is already a member of group \`${existing.group}\`. ` +
          'A method belongs to one group: keep one @MemberOf.'
        );
      }
      declarations.members.set(method, { method, group, source: `${head} on method \`${method}\`` });
      return undefined;
    },
    recorded(prototype, method) {
      writeMemberMetadata(prototype, method, group);
    },
  });
}

/**
 * Say that an instance method runs alone: its requests are compatible with no other request,
 * not even one of their own kind (what a method without `@MemberOf` does). It changes nothing
 * in how the method is served; it says that this is intended, which silences the
 * `MULTIACTIVE_UNGROUPED` warning a class that declares groups gives for its methods without
 * a group. On an override, it takes the method out of the parent's group.
 *
 * @example @Alone() reset() { ... }
 */
export function Alone(...unexpected: never[]): MultiactiveMethodDecorator {
  const head = '@Alone()';
  if (unexpected.length > 0) {
    // `@Alone` without parentheses: the decorator was called as the factory.
    throw new MultiactiveError(
      `Alone takes no arguments: write @Alone() with parentheses (got ${unexpected.length} arguments).`,
    );
  }
  return methodDecorator({
    decorator: '@Alone',
    head,
    argumentProblem: undefined,
    ability: 'run as requests',
    onClass:
      'it is a method decorator: put it on each method that must run alone (a method without @MemberOf ' +
      'runs alone too).',
    record(declarations, method) {
      if (declarations.alone.has(method)) {
        return `${head} on method \`${method}\`: the method is already marked @Alone(). Keep one.`;
      }
      declarations.alone.set(method, { method, source: `${head} on method \`${method}\`` });
      return undefined;
    },
  });
}

/**
 * Make groups compatible with each other: every pair of distinct listed groups (symmetric),
 * under `condition` when given. Never makes a group compatible with itself (that is
 * `@Group(name, { selfCompatible: true })`).
 *
 * @example @Compatible(['routing', 'monitoring'])
 */
export function Compatible(groups: readonly string[], condition?: Condition): MultiactiveClassDecorator {
  const source = `@Compatible(${literal(groups)}${condition === undefined ? '' : ', condition'})`;
  const problems: string[] = [];
  let distinct: string[] = [];
  if (!Array.isArray(groups)) {
    problems.push(
      `${source}: Expected the groups to be an array of group names, got ${show(groups)}. ` +
        "Write @Compatible(['a', 'b']).",
    );
  } else {
    groups.forEach((name: unknown, i) => {
      checkGroupName(
        source,
        `the group name at index ${i}`,
        name,
        "Write @Compatible(['a', 'b']).",
        problems,
      );
    });
    distinct = [...new Set(groups)];
    if (problems.length === 0 && distinct.length < 2) {
      const one = distinct[0] ?? 'name';
      problems.push(
        `${source}: lists fewer than 2 distinct groups, so it declares nothing (it makes different groups ` +
          `compatible, never a group with itself). List at least two groups; to let requests of \`${one}\` ` +
          `overlap, use @Group('${one}', { selfCompatible: true }).`,
      );
    }
  }
  const checkedCondition = checkCondition(source, condition, problems);
  return classDecorator({
    decorator: '@Compatible',
    source,
    problems,
    record(declarations) {
      declarations.compatible.unshift({ groups: distinct, condition: checkedCondition, source });
      return undefined;
    },
  });
}

/**
 * One priority chain, highest first: each level is a group or an array of groups of the same
 * level; every group of a level is above every group of the next. Several `@Priority` (also on
 * parents) add chains to one graph, which must stay acyclic.
 *
 * @example @Priority('routing', ['lookup', 'monitoring'])
 */
export function Priority(...levels: (string | readonly string[])[]): MultiactiveClassDecorator {
  const source = `@Priority(${levels.map(literal).join(', ')})`;
  const problems: string[] = [];
  const chain: string[][] = [];
  levels.forEach((level: unknown, i) => {
    const names: unknown[] = Array.isArray(level) ? level : [level];
    if (names.length === 0 || !names.every((name) => typeof name === 'string' && name !== '')) {
      problems.push(
        `${source}: Expected level ${i + 1} to be a group name or a non-empty array of group names, got ` +
          `${show(level)}. Write @Priority('high', ['middle1', 'middle2'], 'low').`,
      );
      return;
    }
    chain.push([...new Set(names as string[])]);
  });
  if (problems.length === 0 && chain.length < 2) {
    problems.push(
      `${source}: has fewer than 2 levels, so it orders nothing. List the groups highest first, ` +
        "e.g. @Priority('high', 'low'); groups of one level go in an array: @Priority('high', ['low1', 'low2']).",
    );
  }
  return classDecorator({
    decorator: '@Priority',
    source,
    problems,
    record(declarations) {
      declarations.priority.unshift({ levels: chain, source });
      return undefined;
    },
  });
}

/**
 * The object's slot limit and mode. A subclass's `@ThreadConfig` overrides the options it gives;
 * the others are inherited. Declare it once per class.
 *
 * @example @ThreadConfig({ threadPoolSize: 2, hardLimit: false })
 */
export function ThreadConfig(options?: ThreadConfigOptions): MultiactiveClassDecorator {
  const source = options === undefined ? '@ThreadConfig()' : `@ThreadConfig(${literal(options)})`;
  const problems: string[] = [];
  const given = readOptions(source, options, THREAD_CONFIG_OPTION_KEYS, problems);
  const size = given['threadPoolSize'];
  let threadPoolSize: number | undefined;
  if (size !== undefined && !isCount(size, 1, true)) {
    problems.push(
      `${source}: Expected \`threadPoolSize\` to be an integer >= 1 or Infinity, got ${show(size)}. ` +
        'Give the number of requests that may be active at once, or omit it for no limit (default Infinity).',
    );
  } else threadPoolSize = size;
  const hard = given['hardLimit'];
  const hardLimit =
    hard === undefined
      ? undefined
      : checkBoolean(source, given, 'hardLimit', THREAD_CONFIG_DEFAULTS.hardLimit, problems);
  return classDecorator({
    decorator: '@ThreadConfig',
    source,
    problems,
    record(declarations) {
      if (declarations.threadConfig !== undefined) {
        return (
          `${source}: the class has two @ThreadConfig decorators (the other is ${declarations.threadConfig.source}). ` +
          "Merge them into one; a subclass's @ThreadConfig overrides its parent's."
        );
      }
      declarations.threadConfig = { threadPoolSize, hardLimit, source };
      return undefined;
    },
  });
}

/**
 * Fault tolerance (docs/fault-tolerance.md): the runtime checkpoints the object every `everyRequests` requests
 * served and/or every `everyMs` milliseconds, and on demand, into `store`. `@Checkpoint()`
 * with no options is valid: on-demand checkpoints and the runtime's defaults. A
 * subclass's `@Checkpoint` replaces its parent's as a whole; a subclass without one inherits
 * it. Declare it once per class. It changes nothing in the class's `Policy`.
 *
 * @example @Checkpoint({ everyRequests: 100, everyMs: 5_000, store: './checkpoints' })
 */
export function Checkpoint(options?: CheckpointOptions): MultiactiveClassDecorator {
  const source = checkpointSource(options);
  const problems: string[] = [];
  const given = readOptions(source, options, CHECKPOINT_OPTION_KEYS, problems);
  const everyRequests = checkPeriod(
    source,
    given,
    'everyRequests',
    'Give the number of requests served between two checkpoints, or omit it.',
    problems,
  );
  const everyMs = checkPeriod(
    source,
    given,
    'everyMs',
    'Give the time between two checkpoints in milliseconds, or omit it.',
    problems,
  );
  const journalLimit = given['journalLimit'];
  if (journalLimit !== undefined && !isCount(journalLimit, 2, false)) {
    problems.push(
      `${source}: Expected \`journalLimit\` to be an integer >= 2, got ${show(journalLimit)}. ` +
        'Give the most calls journaled between two durable checkpoints, or omit it (100000).',
    );
  }
  const store = checkStore(source, given['store'], problems);
  const storeTimeoutMs = given['storeTimeoutMs'];
  if (storeTimeoutMs !== undefined && !isCount(storeTimeoutMs, 1, true)) {
    problems.push(
      `${source}: Expected \`storeTimeoutMs\` to be an integer >= 1 or Infinity, got ${show(storeTimeoutMs)}. ` +
        "Give the longest wait for one store call in milliseconds, or omit it for the runtime's bound.",
    );
  }
  const declaration = Object.freeze({
    everyRequests,
    everyMs,
    journalLimit: isCount(journalLimit, 2, false) ? (journalLimit as number) : undefined,
    store,
    storeTimeoutMs: isCount(storeTimeoutMs, 1, true) ? storeTimeoutMs : undefined,
    source,
  });
  return classDecorator({
    decorator: '@Checkpoint',
    source,
    problems,
    record(declarations) {
      if (declarations.checkpoint !== undefined) {
        return (
          `${source}: the class has two @Checkpoint decorators (the other is ${declarations.checkpoint.source}). ` +
          "Merge them into one; a subclass's @Checkpoint replaces its parent's."
        );
      }
      declarations.checkpoint = declaration;
      return undefined;
    },
  });
}

function checkPeriod(
  source: string,
  options: Options,
  key: string,
  fix: string,
  problems: string[],
): number | undefined {
  const value = options[key];
  if (value === undefined || isCount(value, 1, false)) return value;
  problems.push(`${source}: Expected \`${key}\` to be an integer >= 1, got ${show(value)}. ${fix}`);
  return undefined;
}

function checkStore(source: string, value: unknown, problems: string[]): string | object | undefined {
  if (value === undefined || (typeof value === 'string' && value !== '')) return value;
  let got = show(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const store = value as Readonly<Record<string, unknown>>;
    const missing = STORE_FUNCTIONS.filter((name) => typeof store[name] !== 'function');
    if (missing.length === 0) return value;
    got = `\`${storeLiteral(value)}\` (object), whose ${missing.map((name) => `\`${name}\``).join(', ')} ${
      missing.length === 1 ? 'is not a function' : 'are not functions'
    }`;
  }
  problems.push(
    `${source}: Expected \`store\` to be a directory path (a non-empty string) or a store object with ` +
      `\`put\`, \`latest\` and \`list\` functions, got ${got}. Pass a directory for the file store, an ` +
      'object that implements the checkpoint store, or omit it for the default file store ' +
      '($MULTIACTIVE_CHECKPOINT_DIR, else .multiactive/checkpoints).',
  );
  return undefined;
}

/** `@Checkpoint({ everyMs: 1000, store: FileStore { ... } })`: a store object is not spelled out. */
function checkpointSource(options: unknown): string {
  if (options === undefined) return '@Checkpoint()';
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    return `@Checkpoint(${literal(options)})`;
  const entries = Object.entries(options).map(
    ([key, value]) => `${key}: ${key === 'store' ? storeLiteral(value) : literal(value)}`,
  );
  return entries.length === 0 ? '@Checkpoint({})' : `@Checkpoint({ ${entries.join(', ')} })`;
}

/**
 * A store object by its class (`FileStore { ... }`) or, for a plain object, its keys
 * (`{ put, latest, list }`): its contents (connections, cached checkpoints) could be huge.
 */
function storeLiteral(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return literal(value);
  const ctor: unknown = (value as { constructor?: unknown }).constructor;
  const name = typeof ctor === 'function' ? ctor.name : '';
  if (name !== '' && name !== 'Object') return `${name} { ... }`;
  const keys = Object.keys(value);
  return keys.length === 0 ? '{}' : `{ ${keys.join(', ')} }`;
}
