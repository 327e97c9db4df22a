/**
 * The public types: `Future<T>` and `Active<T>` (docs/semantics.md; comlink's `Remote<T>` is the model).
 */

/** Names a future keeps for itself: they never pipeline. */
export type ReservedFutureKey =
  | 'then'
  | 'catch'
  | 'finally'
  | 'constructor'
  | 'toString'
  | 'valueOf'
  | 'toJSON';

/**
 * The members of a future: reading a property gives a future of it; calling a method gives
 * a future of its (awaited) result. On a future of an active object, a method call is a
 * request sent to that object. Only for object values (not `never`, not unions with
 * `undefined`: there the read could fail).
 */
export type Pipelined<T> = [T] extends [never]
  ? {}
  : [T] extends [object]
    ? {
        readonly [K in Exclude<keyof T, ReservedFutureKey>]: T[K] extends (...args: infer A) => infer R
          ? ((...args: A) => Future<Awaited<R>>) & Future<T[K]>
          : Future<T[K]>;
      }
    : {};

/** The promise side of a future. `then` and friends return native promises. */
export interface FutureMethods<T> {
  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    // biome-ignore lint/suspicious/noExplicitAny: the same signature as Promise#then
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2>;
  // biome-ignore lint/suspicious/noExplicitAny: the same signature as Promise#catch
  catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R>;
  finally(onfinally?: (() => void) | null): Promise<T>;
}

/**
 * What every call on an active object returns at once: a `PromiseLike<T>` (await it, pass it
 * to `Promise.all`, `.then/.catch/.finally`), transparent (`f.prop`, `f.method()` pipeline),
 * first-class (pass it as an argument or return it), assigned once.
 */
export type Future<T> = FutureMethods<T> & Pipelined<T>;

/** An argument may be given as a value or as a future of it (resolved before the request starts). */
export type FutureOr<T> = T | Future<T>;

declare const fieldBrand: unique symbol;
/**
 * The type of a field read through an active reference: unusable on purpose. Only the
 * object's own requests touch its fields; expose a method instead.
 */
export interface FieldNotReachable {
  readonly [fieldBrand]: 'fields of an active object are not reachable: call a method instead';
}

/**
 * An active object: every method of `T` becomes a call that is queued as a request and
 * returns a `Future` of its awaited result; arguments may be futures. Fields are typed
 * `FieldNotReachable` (every key is mapped, which keeps self-referencing classes such as
 * `class Peer { next: Active<Peer> }` cheap to check).
 *
 * ```ts
 * const peer: Active<Peer> = newActive(Peer, ['p1']);
 * const data: Data | undefined = await peer.get('k');
 * ```
 */
export type Active<T> = {
  readonly [K in keyof T]: K extends 'then'
    ? FieldNotReachable
    : T[K] extends (...args: infer A) => infer R
      ? (...args: { [I in keyof A]: FutureOr<A[I]> }) => Future<Awaited<R>>
      : FieldNotReachable;
};
