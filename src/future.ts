/**
 * Futures (docs/semantics.md): the placeholder every call returns at once.
 *
 * A future is a Proxy over a `FutureCore`. It is a `PromiseLike` (`await`, `Promise.all`,
 * `.then/.catch/.finally`), transparent (reading a property or calling a method on it gives
 * a future of the result: promise pipelining), first-class (it can be passed and returned;
 * it passes by reference), and single-assignment.
 *
 * Wait-by-necessity: `then` called from inside a request whose object accounts waits
 * registers a *gated* subscription: the request leaves the active set, and the value is
 * handed over only when the scheduler gives the request a slot again (`Waiter.deliver`).
 *
 * Subscribers are always resolve/reject functions of native promises created here, so
 * calling them synchronously when the future settles is safe: user callbacks run later, in
 * their own microtask and async context. Time: O(1) per subscription and per delivery.
 */
import { awaitTracking, currentWaiter, type Waiter } from './context.js';
import { FUTURE_CORE } from './symbols.js';

/** `FutureCore.outcome`: not settled. */
export const PENDING = 0;
/** `FutureCore.outcome`: resolved; `value` is the value. */
export const FULFILLED = 1;
/** `FutureCore.outcome`: rejected; `value` is the error. */
export const REJECTED = 2;
/** Resolved with a thenable that has not settled yet: a later resolve/reject is ignored. */
const ADOPTING = 3;

type Settle = (value: unknown) => void;

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Told once when a future settles; one per future, no closure (the node runtime's homes). */
export interface FutureObserver {
  futureSettled(ok: boolean, value: unknown): void;
}

/**
 * The state of a future. Abstract only in its `description` (for messages): a request is
 * its own future's core; `NamedFutureCore` serves the others.
 */
export abstract class FutureCore {
  /** PENDING, ADOPTING (resolved with a thenable not yet settled), FULFILLED or REJECTED. */
  outcome = PENDING;
  value: unknown = undefined;
  /** The first subscriber inline (most futures have one: no array for them). */
  private ok0: Settle | undefined = undefined;
  private err0: Settle | undefined = undefined;
  private waiter0: Waiter | undefined = undefined;
  /** Further subscribers as flat triples: onFulfilled, onRejected, waiter | undefined. */
  private subs: unknown[] | null = null;
  /** At most one observer, told first when the future settles. */
  observer: FutureObserver | undefined = undefined;
  /**
   * The future this one settles with, when known: the future it adopted, or the parent of
   * a pipelined member. The wait-for graph follows it to the request that computes the value.
   */
  follows: FutureCore | undefined = undefined;
  /** The future object handed to users; created on first use. */
  private handle: FutureHandle | undefined;
  /** For messages and inspection, e.g. `Counter#1.add`. */
  abstract get description(): string;

  /** For a future computed on another node: that node and the future's numeric key. */
  remoteKey(): { readonly home: number; readonly key: number } | undefined {
    return undefined;
  }

  /** The user-facing future (a `FutureHandle`). */
  get proxy(): object {
    return (this.handle ??= new FutureHandle(this));
  }

  get settled(): boolean {
    return this.outcome === FULFILLED || this.outcome === REJECTED;
  }

  /** Subscribe internal callbacks (runtime code). `waiter` gates delivery (WBN). */
  subscribe(onFulfilled: Settle, onRejected: Settle, waiter?: Waiter): void {
    if (this.outcome === FULFILLED) onFulfilled(this.value);
    else if (this.outcome === REJECTED) onRejected(this.value);
    else {
      if (waiter !== undefined) waiter.waitStarted();
      if (this.ok0 === undefined) {
        this.ok0 = onFulfilled;
        this.err0 = onRejected;
        this.waiter0 = waiter;
      } else (this.subs ??= []).push(onFulfilled, onRejected, waiter);
    }
  }

  /** Resolve with a value, adopting it if it is a future or another thenable. */
  resolve(value: unknown): void {
    if (this.outcome !== PENDING) return;
    this.adopt(value);
  }

  reject(error: unknown): void {
    if (this.outcome !== PENDING) return;
    this.settle(REJECTED, error);
  }

  /** Settle with `value`, or follow it if it is a future or a thenable (Promise A+ 2.3). */
  private adopt(value: unknown): void {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
      const other = (value as Record<symbol, unknown>)[FUTURE_CORE] as FutureCore | undefined;
      if (other === this) {
        this.settle(REJECTED, new TypeError(`Future ${this.description} cannot be resolved with itself`));
        return;
      }
      if (other !== undefined) {
        this.outcome = ADOPTING;
        this.follows = other;
        other.subscribe(
          (v) => this.settle(FULFILLED, v),
          (e) => this.settle(REJECTED, e),
        );
        return;
      }
      let then: unknown;
      try {
        then = (value as { then?: unknown }).then;
      } catch (error) {
        this.settle(REJECTED, error);
        return;
      }
      if (typeof then === 'function') {
        this.outcome = ADOPTING;
        let called = false; // a foreign thenable may call back more than once
        try {
          then.call(
            value,
            (v: unknown) => {
              if (called) return;
              called = true;
              this.adopt(v);
            },
            (e: unknown) => {
              if (called) return;
              called = true;
              this.settle(REJECTED, e);
            },
          );
        } catch (error) {
          if (!called) {
            called = true;
            this.settle(REJECTED, error);
          }
        }
        return;
      }
    }
    this.settle(FULFILLED, value);
  }

  private settle(outcome: number, value: unknown): void {
    if (this.outcome === FULFILLED || this.outcome === REJECTED) return;
    this.outcome = outcome;
    this.value = value;
    const observer = this.observer;
    if (observer !== undefined) {
      this.observer = undefined;
      observer.futureSettled(outcome === FULFILLED, value);
    }
    const first = outcome === FULFILLED ? this.ok0 : this.err0;
    if (first === undefined) return;
    const waiter0 = this.waiter0;
    this.ok0 = this.err0 = this.waiter0 = undefined;
    if (waiter0 === undefined) first(value);
    else waiter0.deliver(first, value);
    const subs = this.subs;
    if (subs === null) return;
    this.subs = null;
    const offset = outcome === FULFILLED ? 0 : 1;
    for (let i = 0; i < subs.length; i += 3) {
      const fn = subs[i + offset] as Settle;
      const waiter = subs[i + 2] as Waiter | undefined;
      if (waiter === undefined) fn(value);
      else waiter.deliver(fn, value);
    }
  }

  /** A native promise that settles with this future. */
  toPromise(): Promise<unknown> {
    if (this.outcome === FULFILLED) return Promise.resolve(this.value);
    if (this.outcome === REJECTED) return Promise.reject(this.value);
    const waiter = currentWaiter();
    // The executor is a shared function (no closure per call); it hands back the resolvers.
    const promise = new Promise(captureResolvers);
    const resolve = capturedResolve!;
    const reject = capturedReject!;
    capturedResolve = capturedReject = undefined;
    if (waiter === undefined) {
      this.subscribe(resolve, reject, undefined);
      return promise;
    }
    const gated = waiter.gates();
    if (gated || awaitTracking) waiter.awaits(this);
    this.subscribe(resolve, reject, gated ? waiter : undefined);
    return promise;
  }

  [INSPECT](): string {
    if (this.outcome === PENDING) return `Future(${this.description}) { <pending> }`;
    const shown = this.outcome === FULFILLED ? 'fulfilled' : 'rejected';
    return `Future(${this.description}) { <${shown}> }`;
  }
}

/** A future that is not a request's: pipelined members, `waitFor`, `Future.resolve`. */
export class NamedFutureCore extends FutureCore {
  private readonly text: string;
  constructor(text: string) {
    super();
    this.text = text;
  }
  get description(): string {
    return this.text;
  }
}

let capturedResolve: Settle | undefined;
let capturedReject: Settle | undefined;
function captureResolvers(resolve: Settle, reject: Settle): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

// ------------------------------------------------------------------ the future object

type OnFulfilled = ((value: unknown) => unknown) | null | undefined;
type OnRejected = ((reason: unknown) => unknown) | null | undefined;

/** Names that never pipeline: the promise protocol and what JS itself probes for. */
function reserved(core: FutureCore, prop: string | symbol): unknown {
  switch (prop) {
    // FutureHandle's methods read `this[FUTURE_CORE]`, which member futures answer too.
    case 'then':
      return FutureHandle.prototype.then;
    case 'catch':
      return FutureHandle.prototype.catch;
    case 'finally':
      return FutureHandle.prototype.finally;
    case FUTURE_CORE:
      return core;
    case 'toString':
      return FutureHandle.prototype.toString;
    case Symbol.toStringTag:
      return 'Future';
    case INSPECT:
      return () => core[INSPECT]();
    case 'constructor':
    case 'toJSON':
    case 'valueOf':
    case 'asymmetricMatch': // test frameworks probe for it
    case '$$typeof':
      return undefined;
  }
  return typeof prop === 'symbol' ? undefined : NOT_RESERVED;
}

const NOT_RESERVED = Symbol('not reserved');

const readOnly = {
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
  setPrototypeOf: () => false,
  ownKeys: () => [],
  getOwnPropertyDescriptor: () => undefined,
};

/**
 * The future users hold: a plain object with one symbol-keyed field (the core), so that no
 * string property of the core can shadow a pipelined name. `then`, `catch` and `finally`
 * live on its prototype (a normal property load: `await` pays no trap). The *prototype's*
 * prototype is a Proxy: only names the future does not have reach it, and they pipeline.
 */
class FutureHandle {
  readonly [FUTURE_CORE]: FutureCore;
  constructor(core: FutureCore) {
    this[FUTURE_CORE] = core;
  }
  // biome-ignore lint/suspicious/noThenProperty: a future is a thenable by design
  then(onFulfilled?: OnFulfilled, onRejected?: OnRejected): Promise<unknown> {
    const promise = this[FUTURE_CORE].toPromise();
    return onFulfilled == null && onRejected == null ? promise : promise.then(onFulfilled, onRejected);
  }
  catch(onRejected?: OnRejected): Promise<unknown> {
    return this[FUTURE_CORE].toPromise().catch(onRejected);
  }
  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this[FUTURE_CORE].toPromise().finally(onFinally);
  }
  toString(): string {
    return '[object Future]';
  }
  get [Symbol.toStringTag](): string {
    return 'Future';
  }
  [INSPECT](): string {
    return this[FUTURE_CORE][INSPECT]();
  }
}

/** Reached only for names a future does not have: every string but a few pipelines. */
const pipelining: ProxyHandler<object> = {
  get(_target, prop, receiver: FutureHandle) {
    if (typeof prop === 'symbol') return undefined;
    switch (prop) {
      case 'toJSON':
      case 'valueOf':
      case 'asymmetricMatch': // test frameworks probe for it
      case '$$typeof':
        return undefined;
    }
    return memberFuture(receiver[FUTURE_CORE], prop);
  },
  has: () => false,
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};
Object.setPrototypeOf(FutureHandle.prototype, new Proxy(Object.create(null) as object, pipelining));

// ------------------------------------------------------------------ pipelining

/** The target of a member future: callable, so `future.method(args)` works. */
interface MemberTarget {
  (): void;
  parent: FutureCore;
  prop: string;
  core: FutureCore | undefined;
}

function memberFuture(parent: FutureCore, prop: string): object {
  // An arrow function: callable, and without the non-configurable `prototype` a Proxy
  // would have to report.
  const target = (() => {}) as unknown as MemberTarget;
  target.parent = parent;
  target.prop = prop;
  target.core = undefined;
  return new Proxy(target, memberHandler);
}

/** The future of `parent.value[prop]` (property read), created when first used. */
function memberCore(target: MemberTarget): FutureCore {
  if (target.core !== undefined) return target.core;
  const core = new NamedFutureCore(`${target.parent.description}.${target.prop}`);
  core.follows = target.parent;
  target.core = core;
  target.parent.subscribe(
    (value) => {
      try {
        core.resolve((value as Record<string, unknown>)[target.prop]);
      } catch (error) {
        core.reject(error);
      }
    },
    (error) => core.reject(error),
  );
  return core;
}

const memberHandler: ProxyHandler<MemberTarget> = {
  ...readOnly,
  get(target, prop) {
    if (prop === FUTURE_CORE) return memberCore(target);
    const r = reserved(target.core ?? memberCore(target), prop);
    return r === NOT_RESERVED ? memberFuture(memberCore(target), prop as string) : r;
  },
  has(_target, prop) {
    return prop === 'then' || prop === 'catch' || prop === 'finally' || prop === FUTURE_CORE;
  },
  /**
   * `future.method(...args)`: once the value is known, call the method on it. On an active
   * object that is a request sent straight to it (its result future is adopted); on a plain
   * value it is a local call.
   */
  apply(target, _thisArg, args: unknown[]) {
    const core = new NamedFutureCore(`${target.parent.description}.${target.prop}()`);
    core.follows = target.parent;
    // The call runs in its own microtask, never inside the settling code of another future.
    const call = (value: unknown): void => {
      try {
        const method = (value as Record<string, unknown>)[target.prop];
        if (typeof method !== 'function') {
          throw new TypeError(
            `${target.parent.description} resolved to a value whose \`${target.prop}\` is not a function`,
          );
        }
        core.resolve(method.apply(value, args));
      } catch (error) {
        core.reject(error);
      }
    };
    target.parent.subscribe(
      (value) => queueMicrotask(() => call(value)),
      (error) => core.reject(error),
    );
    return core.proxy;
  },
};

/** True if `value` is a future of this library. */
export function isFuture(value: unknown): boolean {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    (value as Record<symbol, unknown>)[FUTURE_CORE] !== undefined
  );
}

/** The core of a future, or undefined. */
export function futureCore(value: unknown): FutureCore | undefined {
  return value !== null && (typeof value === 'object' || typeof value === 'function')
    ? ((value as Record<symbol, unknown>)[FUTURE_CORE] as FutureCore | undefined)
    : undefined;
}
