/**
 * The library's base error and the error for invalid declarations.
 *
 * Every error thrown by `multiactive` extends `MultiactiveError`, so `catch (e) { if (e
 * instanceof MultiactiveError) ... }` separates library errors from user errors. Messages say
 * what to change (house style: named classes with `cause`, messages a person can act on).
 */

export class MultiactiveError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options);
    // The subclass's name (`DefinitionError`, `CopyError`, ...), set once for every subclass.
    this.name = new.target.name;
  }
}

/** The decorators (and `defineActive`) that can be named by a `DefinitionError`. */
export type DecoratorName =
  | '@Group'
  | '@MemberOf'
  | '@Alone'
  | '@Compatible'
  | '@Priority'
  | '@ThreadConfig'
  | '@Checkpoint'
  /** The shape of a `defineActive` spec (its entries are checked as the decorators they stand for). */
  | 'defineActive';

/**
 * An invalid declaration of an active class (the reference fails later, or not at all): thrown at class definition
 * (or, for the cases listed in docs/decorators.md, at the class's first `compilePolicy`).
 *
 * The message reads `Peer: <what is wrong>. <how to fix it>`.
 */
export class DefinitionError extends MultiactiveError {
  /** The class that carries the offending declaration. */
  readonly className: string;
  /** The decorator at fault, e.g. `'@MemberOf'`. */
  readonly decorator: DecoratorName;

  constructor(className: string, decorator: DecoratorName, detail: string, options?: { cause?: unknown }) {
    super(`${className}: ${detail}`, options);
    this.className = className;
    this.decorator = decorator;
  }
}
