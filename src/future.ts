/**
 * Futures (SPEC §6): the placeholder every call returns at once.
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
import { currentWaiter, type Waiter } from './context.js';
import { FUTURE_CORE } from './symbols.js';

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

type Settle = (value: unknown) => void;

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

export class FutureCore {
  state = PENDING;
  value: unknown = undefined;
  /** Set once resolve/reject was called (the value may still be adopted from a thenable). */
  private locked = false;
  /** Flat triples: onFulfilled, onRejected, waiter | undefined. */
  private subs: unknown[] | null = null;
  /** The proxy handed to users; created on first use. */
  private proxyValue: object | undefined;
  /** For messages and inspection: `${base}.${member}`, e.g. `Counter#1.add` (built on demand). */
  private readonly base: string;
  private readonly member: string;

  constructor(base: string, member: string) {
    this.base = base;
    this.member = member;
  }

  get label(): string {
    return this.member === '' ? this.base : `${this.base}.${this.member}`;
  }

  get proxy(): object {
    return (this.proxyValue ??= new Proxy(this, futureHandler));
  }

  get settled(): boolean {
    return this.state !== PENDING;
  }

  /** Subscribe internal callbacks (runtime code). `waiter` gates delivery (WBN). */
  subscribe(onFulfilled: Settle, onRejected: Settle, waiter?: Waiter): void {
    if (this.state === FULFILLED) onFulfilled(this.value);
    else if (this.state === REJECTED) onRejected(this.value);
    else {
      if (waiter !== undefined) waiter.waitStarted();
      (this.subs ??= []).push(onFulfilled, onRejected, waiter);
    }
  }

  /** Resolve with a value, adopting it if it is a future or another thenable. */
  resolve(value: unknown): void {
    if (this.locked) return;
    this.locked = true;
    this.adopt(value);
  }

  reject(error: unknown): void {
    if (this.locked) return;
    this.locked = true;
    this.settle(REJECTED, error);
  }

  private adopt(value: unknown): void {
    if (value !== null && (typeof value === 'object' || typeof value === 'function')) {
      const other = (value as Record<symbol, unknown>)[FUTURE_CORE] as FutureCore | undefined;
      if (other === this) {
        this.settle(REJECTED, new TypeError(`Future ${this.label} cannot be resolved with itself`));
        return;
      }
      if (other !== undefined) {
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
        try {
          then.call(
            value,
            (v: unknown) => this.adoptOnce(v),
            (e: unknown) => this.settle(REJECTED, e),
          );
        } catch (error) {
          this.settle(REJECTED, error);
        }
        return;
      }
    }
    this.settle(FULFILLED, value);
  }

  private adoptOnce(value: unknown): void {
    if (this.state === PENDING) this.adopt(value);
  }

  private settle(state: number, value: unknown): void {
    if (this.state !== PENDING) return;
    this.state = state;
    this.value = value;
    const subs = this.subs;
    if (subs === null) return;
    this.subs = null;
    const offset = state === FULFILLED ? 0 : 1;
    for (let i = 0; i < subs.length; i += 3) {
      const fn = subs[i + offset] as Settle;
      const waiter = subs[i + 2] as Waiter | undefined;
      if (waiter === undefined) fn(value);
      else waiter.deliver(fn, value);
    }
  }

  /** A native promise that settles with this future. */
  toPromise(): Promise<unknown> {
    if (this.state === FULFILLED) return Promise.resolve(this.value);
    if (this.state === REJECTED) return Promise.reject(this.value);
    const waiter = currentWaiter();
    return new Promise((resolve, reject) =>
      this.subscribe(resolve, reject, waiter?.gates() ? waiter : undefined),
    );
  }

  [INSPECT](): string {
    if (this.state === PENDING) return `Future(${this.label}) { <pending> }`;
    const shown = this.state === FULFILLED ? 'fulfilled' : 'rejected';
    return `Future(${this.label}) { <${shown}> }`;
  }
}

// ------------------------------------------------------------------ the proxy

function coreOf(future: unknown): FutureCore {
  const core =
    future !== null && (typeof future === 'object' || typeof future === 'function')
      ? ((future as Record<symbol, unknown>)[FUTURE_CORE] as FutureCore | undefined)
      : undefined;
  if (core === undefined) throw new TypeError('Future method called on something that is not a future');
  return core;
}

type OnFulfilled = ((value: unknown) => unknown) | null | undefined;
type OnRejected = ((reason: unknown) => unknown) | null | undefined;

function then(this: unknown, onFulfilled?: OnFulfilled, onRejected?: OnRejected): Promise<unknown> {
  const promise = coreOf(this).toPromise();
  return onFulfilled == null && onRejected == null ? promise : promise.then(onFulfilled, onRejected);
}

function catch_(this: unknown, onRejected?: OnRejected): Promise<unknown> {
  return coreOf(this).toPromise().catch(onRejected);
}

function finally_(this: unknown, onFinally?: (() => void) | null): Promise<unknown> {
  return coreOf(this).toPromise().finally(onFinally);
}

function futureToString(this: unknown): string {
  return '[object Future]';
}

/** Names that never pipeline: the promise protocol and what JS itself probes for. */
function reserved(core: FutureCore, prop: string | symbol): unknown {
  switch (prop) {
    case 'then':
      return then;
    case 'catch':
      return catch_;
    case 'finally':
      return finally_;
    case FUTURE_CORE:
      return core;
    case 'toString':
      return futureToString;
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

const futureHandler: ProxyHandler<FutureCore> = {
  ...readOnly,
  get(core, prop) {
    const r = reserved(core, prop);
    return r === NOT_RESERVED ? memberFuture(core, prop as string) : r;
  },
  has(_core, prop) {
    return prop === 'then' || prop === 'catch' || prop === 'finally' || prop === FUTURE_CORE;
  },
};

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
  const core = new FutureCore(target.parent.label, target.prop);
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
    const core = new FutureCore(target.parent.label, `${target.prop}()`);
    // The call runs in its own microtask, never inside the settling code of another future.
    const call = (value: unknown): void => {
      try {
        const method = (value as Record<string, unknown>)[target.prop];
        if (typeof method !== 'function') {
          throw new TypeError(
            `${target.parent.label} resolved to a value whose \`${target.prop}\` is not a function`,
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
