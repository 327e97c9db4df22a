/**
 * Compile-only checks of the public types (run by `npm run typecheck`, never executed).
 * Each `@ts-expect-error` is a negative test: if the line stops being an error, tsc fails.
 */
import {
  type Active,
  type ActiveSpec,
  Alone,
  Checkpoint,
  type CheckpointOptions,
  control,
  defineActive,
  type Future,
  Group,
  MemberOf,
  newActive,
  selfRef,
} from 'multiactive';

class Store {
  data = new Map<string, number>();
  count = 0;
  get(key: string): number | undefined {
    return this.data.get(key);
  }
  async load(key: string): Promise<{ key: string; values: number[] }> {
    return { key, values: [] };
  }
  put(key: string, value: number): void {
    this.data.set(key, value);
  }
  child(): Active<Store> {
    return newActive(Store);
  }
  self(): Active<Store> {
    // Inside a class, `this` is polymorphic: name the class.
    return selfRef<Store>(this);
  }
}

declare function check<T>(value: T): void;

const store: Active<Store> = newActive(Store);

// Methods return futures of their awaited results.
check<Future<number | undefined>>(store.get('a'));
check<Future<{ key: string; values: number[] }>>(store.load('a'));
check<Future<void>>(store.put('a', 1));

async function awaiting(): Promise<void> {
  const n: number | undefined = await store.get('a');
  const loaded = await store.load('k');
  check<number[]>(loaded.values);
  // Pipelining keeps types: property reads and calls on futures.
  const key: string = await store.load('k').key;
  const length: number = await store.load('k').values.length;
  const nested: number | undefined = await store.child().get('x');
  void n;
  void key;
  void length;
  void nested;
}
void awaiting;

// Futures are accepted as arguments.
store.put(store.load('k').key, 1);
store.put('a', store.get('b') as Future<number>);

// @ts-expect-error fields are not reachable through an active reference
const count: number = store.count;
void count;
// @ts-expect-error wrong argument type
store.put('a', 'not a number');
// @ts-expect-error missing argument
store.get();
// @ts-expect-error unknown method
store.remove('a');
class Pair {
  constructor(readonly a: number) {}
}
// @ts-expect-error constructor arguments are checked
newActive(Pair, ['x']);
// @ts-expect-error a future is read-only data: no assignment to pipelined members
store.load('k').key = 'x';

class WithArgs {
  constructor(
    readonly name: string,
    readonly size: number,
  ) {}
  describe(): string {
    return `${this.name}:${this.size}`;
  }
}
check<Active<WithArgs>>(newActive(WithArgs, ['a', 1]));
check<number>(control(store).limit);

// @Checkpoint: options are typed in both decorator modes.
@Checkpoint({ everyRequests: 100, everyMs: 5_000, store: './checkpoints' })
class Saved {}
@Checkpoint()
class OnDemand {}
@Checkpoint({ store: { put() {}, latest() {}, list() {} } })
class CustomStore {}
void [Saved, OnDemand, CustomStore];
check<CheckpointOptions>({ everyMs: 1 });
// @ts-expect-error everyRequests is a number
@Checkpoint({ everyRequests: 'x' })
class BadCount {}
// @ts-expect-error unknown option
@Checkpoint({ every: 5 })
class BadKey {}
// @ts-expect-error a store is a directory path or a store object
@Checkpoint({ store: 5 })
class BadStore {}
void [BadCount, BadKey, BadStore];

// newActive: `args` is required exactly when the constructor requires arguments.
class Peer {
  constructor(readonly name: string) {}
  hello(): string {
    return `hello from ${this.name}`;
  }
}
check<Active<Peer>>(newActive(Peer, ['p1']));
check<Active<Peer>>(newActive(Peer, ['p1'], { copy: false }));
// @ts-expect-error the constructor requires `name`: the arguments cannot be left out
newActive(Peer);
// @ts-expect-error nor given as an empty array
newActive(Peer, []);
// @ts-expect-error options do not stand in for the arguments
newActive(Peer, undefined, { copy: false });
// @ts-expect-error the constructor requires two arguments
newActive(WithArgs, ['a']);
class Optional {
  constructor(readonly size = 1) {}
}
check<Active<Optional>>(newActive(Optional));
check<Active<Optional>>(newActive(Optional, []));
check<Active<Optional>>(newActive(Optional, [2]));
check<Active<Optional>>(newActive(Optional, undefined, { copy: false }));
// @ts-expect-error an optional argument still has its type
newActive(Optional, ['big']);
check<Active<Store>>(newActive(Store, [], { copy: false }));
check<Active<Store>>(newActive(Store, undefined, { copy: false }));
// @ts-expect-error a class without constructor parameters takes no arguments
newActive(Store, [1]);
class Rest {
  constructor(...names: string[]) {
    void names;
  }
}
check<Active<Rest>>(newActive(Rest));
check<Active<Rest>>(newActive(Rest, ['a', 'b']));

// defineActive: method names and options are typed; it returns the class.
class Typed {
  n = 0;
  get(): number {
    return this.n;
  }
  put(value: number): void {
    this.n = value;
  }
}
const TypedActive: typeof Typed = defineActive(Typed, {
  groups: { reads: { selfCompatible: true, maxThreads: 4 }, writes: {} },
  memberOf: { get: 'reads', put: 'writes' },
  compatible: [
    ['reads', 'writes'],
    { groups: ['reads', 'writes'], condition: (a, b) => a.args[0] !== b.args[0] },
  ],
  priority: [['writes', 'reads']],
  threadConfig: { threadPoolSize: 2 },
  checkpoint: {},
});
check<Active<Typed>>(newActive(TypedActive));
check<ActiveSpec<Typed>>({ alone: ['put'] });
// @ts-expect-error memberOf names methods, not fields
defineActive(Typed, { memberOf: { n: 'reads' } });
// @ts-expect-error alone names methods of the class
defineActive(Typed, { alone: ['remove'] });
// @ts-expect-error group options are typed
defineActive(Typed, { groups: { reads: { selfCompatible: 'yes' } } });
// @ts-expect-error unknown spec key
defineActive(Typed, { group: {} });

// @Alone() is a method decorator that takes no arguments.
@Group('g')
class WithAlone {
  @MemberOf('g') a(): void {}
  @Alone() b(): void {}
}
void WithAlone;
// @ts-expect-error Alone takes no arguments
Alone('g');
