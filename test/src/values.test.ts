/**
 * Values that cross a call (SPEC §7): they never crash the process or a worker, and they are
 * copied as `structuredClone` copies them, in-thread and to a worker and back. Regressions
 * of the issue's items 7 (a value that cannot be sent), 9 (huge sparse arrays), 10 (cycles
 * holding references and futures) and 11 (in-thread copies unlike structured clone).
 *
 * Nothing sleeps: tests wait on futures, each bounded by `within`.
 */
import { MessageChannel } from 'node:worker_threads';
import {
  type Active,
  CopyError,
  createWorkerNode,
  Future,
  isActive,
  newActive,
  shutdown,
  type WorkerNode,
} from 'multiactive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeState, encodeState, type StateCodec } from '../../src/checkpoint/state.js';
import { Link } from '../../src/node/link.js';
import { CALL, OTHER, VALUE } from '../../src/node/protocol.js';
import { type BadKind, type Box, hugeSparse, Mirror, Tally } from '../fixtures/values.js';
import { differenceFrom } from '../support/values.js';
import { captureWarnings } from '../support/warnings.js';

let w: WorkerNode;
beforeAll(() => {
  w = createWorkerNode();
});
afterAll(async () => {
  await shutdown({ immediate: true });
});

/** Settle within `ms` or fail (a call that never settles is the bug, not a hang of the suite). */
function within<T>(promise: PromiseLike<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

async function rejection(promise: PromiseLike<unknown>, what: string): Promise<Error> {
  return within(
    Promise.resolve(promise).then(
      () => {
        throw new Error(`${what} resolved; a CopyError was expected`);
      },
      (error: unknown) => error as Error,
    ),
    what,
  );
}

const onWorker = (): Active<Mirror> => newActive(Mirror, [], { node: w });
/** `m.echo(value)`, typed (a generic method's type parameter does not survive `Active<T>`). */
const echo = <T>(m: Active<Mirror>, value: T): PromiseLike<T> => m.echo(value) as unknown as PromiseLike<T>;

describe('a value that cannot be sent fails that one call (item 7)', () => {
  const bad: [string, () => unknown, string][] = [
    ['a Symbol', () => Symbol('s'), ''],
    ['a Proxy', () => new Proxy({}, {}), ''],
    ['a MessagePort that is not transferred', () => new MessageChannel().port1, ''],
    ['a Proxy inside an array inside an object', () => ({ list: [1, new Proxy([], {})] }), '.list[1]'],
    ['a function', () => ({ f: () => 1 }), '.f'],
  ];
  for (const [name, make, path] of bad) {
    it(`${name} as an argument to a worker's object: CopyError naming it; the process lives, the object serves`, async () => {
      const m = onWorker();
      const value = make();
      const error = await rejection(m.pair(2, value), name);
      expect(error).toBeInstanceOf(CopyError);
      expect((error as CopyError).argumentIndex).toBe(1);
      expect((error as CopyError).path).toBe(path);
      expect(error.message).toMatch(/^Argument 1 of Mirror#\d+@node\d+\.pair cannot be copied/);
      expect(await within(m.ping(), 'ping')).toBe('pong');
      if (value instanceof MessageChannel) value.port1.close();
    });
  }

  it('an argument changed to a function after its call, before the batch leaves: that call fails; the others arrive in order', async () => {
    const m = onWorker();
    const value: { a: unknown } = { a: 1 };
    const first = m.add(1);
    const changed = m.add(value);
    value.a = () => 1; // the batch is cloned at the end of this turn
    const third = m.add(3);
    const error = await rejection(changed, 'the changed call');
    expect(error).toBeInstanceOf(CopyError);
    expect((error as CopyError).argumentIndex).toBe(0);
    expect((error as CopyError).path).toBe('.a');
    expect(await within(Promise.all([first, third]), 'the other calls')).toEqual([1, 2]);
    expect(await within(m.logged(), 'logged')).toEqual([1, 3]);
  });

  it("an array's own property that postMessage refuses fails the call, not the process", async () => {
    const m = onWorker();
    const error = await rejection(echo(m, Object.assign([1], { hook: () => 1 })), 'echo');
    expect(error).toBeInstanceOf(CopyError);
    expect((error as CopyError).path).toBe('.hook');
    expect(await within(m.ping(), 'ping')).toBe('pong');
  });

  const kinds: [BadKind, string][] = [
    ['symbol', ''],
    ['proxy', ''],
    ['port', '.port'],
    ['function', '.f'],
    ['nested proxy', '.list[1]'],
    ['array property', '.hook'],
  ];
  for (const [kind, path] of kinds) {
    it(`a worker method returning ${kind === 'array property' ? 'an array with a function property' : `a ${kind}`}: CopyError naming the result; the worker lives`, async () => {
      const m = onWorker();
      const error = await rejection(m.bad(kind), kind);
      expect(error.name).toBe('CopyError'); // a RemoteError named so: it was made on the worker
      expect(error.message).toMatch(/^The result of Mirror#\d+\.bad cannot be copied/);
      expect((error as unknown as { path: string }).path).toBe(path);
      expect(await within(m.ping(), 'ping')).toBe('pong');
    });

    it(`in-thread, a method returning ${kind === 'array property' ? 'an array with a function property' : `a ${kind}`}: CopyError (or its own copy rules)`, async () => {
      const m = newActive(Mirror);
      const outcome = await within(
        m.bad(kind).then(
          (value) => ({ value }),
          (error: unknown) => ({ error }),
        ),
        kind,
      );
      if (kind === 'array property') {
        // In-thread copies do not look at an array's named properties (walk.ts): dropped.
        expect(outcome).toEqual({ value: [1, 2] });
      } else {
        expect((outcome as { error: unknown }).error).toBeInstanceOf(CopyError);
        expect(((outcome as { error: CopyError }).error as CopyError).path).toBe(path);
      }
      expect(await m.ping()).toBe('pong');
    });
  }

  it('Link: an entry structured clone refuses goes to onUnsendable; the rest of the batch arrives, in order', async () => {
    const { port1, port2 } = new MessageChannel();
    const told: unknown[][] = [];
    const sources: unknown[] = [];
    const link = new Link(7, port1, () => {}, {
      onUnsendable: (_from, entry, _error, source) => {
        told.push(entry);
        sources.push(source?.description);
        return entry[0] === VALUE ? [VALUE, entry[1], entry[2], false, 'replaced', false] : undefined;
      },
    });
    const received: unknown[] = [];
    const arrived = new Promise<void>((resolve) => {
      port2.on('message', (batch: unknown[]) => {
        received.push(...batch);
        if (received.length >= 20) resolve();
      });
    });
    link.sendCall(1, 10, 'm', [1], false);
    link.sendCall(2, 10, 'm', [Symbol('no')], false);
    link.sendValue(0, 3, true, { f: () => 1 }, false, { description: 'A#1.m' });
    link.send({ t: 'waits', rid: 4 });
    link.sendValue(0, 5, true, 5, false);
    link.send({ t: 'events', events: [() => 1] });
    link.flush();
    await within(arrived, 'the entries');
    expect(received).toEqual([
      CALL,
      1,
      10,
      'm',
      [1],
      false,
      VALUE,
      0,
      3,
      false,
      'replaced',
      false,
      OTHER,
      { t: 'waits', rid: 4 },
      VALUE,
      0,
      5,
      true,
      5,
      false,
    ]);
    expect(told.map((entry) => entry[0])).toEqual([CALL, VALUE, OTHER]);
    expect(sources).toEqual([undefined, 'A#1.m', undefined]);
    link.close();
    port2.close();
  });

  it('Link without onUnsendable: the entry is dropped with a MULTIACTIVE_WIRE warning', async () => {
    const { port1, port2 } = new MessageChannel();
    const link = new Link(8, port1, () => {});
    // Captured, not printed: the flush that drops the entry warns synchronously.
    const warnings = captureWarnings('MULTIACTIVE_WIRE');
    link.sendCall(1, 10, 'm', [Symbol('no')], false);
    link.flush();
    expect(warnings).toEqual([
      {
        code: 'MULTIACTIVE_WIRE',
        message: expect.stringMatching(
          /^multiactive: a message \(tag 1\) to node 8 cannot be copied and was dropped: DataCloneError: Symbol\(no\) could not be cloned/,
        ),
      },
    ]);
    link.close();
    port2.close();
  });
});

describe('sparse arrays cost their elements, not their length; holes stay holes (item 9)', () => {
  it('in-thread: an array of length 2^32 - 1 with one element is copied as it is', async () => {
    const m = newActive(Mirror);
    const started = performance.now();
    const copy = (await within(echo(m, hugeSparse()), 'echo')) as string[];
    expect(copy.length).toBe(2 ** 32 - 1);
    expect(Object.keys(copy)).toEqual(['7']);
    expect(copy[7]).toBe('x');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('to a worker and back, and from a worker: length, the one element, no filled holes', async () => {
    const m = onWorker();
    expect(await within(m.shapeOf(hugeSparse()), 'shapeOf')).toEqual({ length: 2 ** 32 - 1, keys: ['7'] });
    const back = (await within(echo(m, hugeSparse()), 'echo')) as string[];
    expect([back.length, Object.keys(back)]).toEqual([2 ** 32 - 1, ['7']]);
    const made = await within(m.sparse(), 'sparse');
    expect([made.length, Object.keys(made)]).toEqual([2 ** 32 - 1, ['7']]);
  });

  it('a sparse array holding a reference (the codec rewrites it) crosses a worker and back', async () => {
    const m = onWorker();
    const tally = newActive(Tally);
    const a: unknown[] = hugeSparse();
    a[1_000_000] = tally;
    const back = (await within(echo(m, a), 'echo')) as unknown[];
    expect([back.length, Object.keys(back)]).toEqual([2 ** 32 - 1, ['7', '1000000']]);
    expect(back[1_000_000]).toBe(tally);
  });

  it('small holes stay holes, in-thread and across a worker', async () => {
    // biome-ignore lint/suspicious/noSparseArray: the holes are the point
    const holey = [1, , 3, , undefined];
    for (const m of [newActive(Mirror), onWorker()]) {
      const copy = (await within(echo(m, holey), 'echo')) as unknown[];
      expect(copy.length).toBe(5);
      expect([0 in copy, 1 in copy, 2 in copy, 3 in copy, 4 in copy]).toEqual([
        true,
        false,
        true,
        false,
        true,
      ]);
    }
  });

  it('a checkpoint of a state holding a huge sparse array (with a reference or without) saves its elements only', () => {
    const ref = newActive(Tally);
    const codec: StateCodec = {
      localNode: 0,
      remember: () => {},
      stubFor: () => ref,
    };
    for (const withRef of [false, true]) {
      const list: unknown[] = hugeSparse();
      if (withRef) list[9] = ref;
      const bytes = encodeState('k', { seq: 1 }, { list }, codec);
      const back = decodeState(bytes, codec) as { state: { list: unknown[] } };
      expect(back.state.list.length).toBe(2 ** 32 - 1);
      expect(Object.keys(back.state.list)).toEqual(withRef ? ['7', '9'] : ['7']);
      if (withRef) expect(back.state.list[9]).toBe(ref);
    }
  });
});

describe('checkpoints of long arrays (packed again when V8 stores them holey)', () => {
  const codec: StateCodec = { localNode: 0, remember: () => {}, stubFor: () => ({}) };
  it('an array made by new Array(n) and filled comes back equal; one with holes keeps them', () => {
    const filled = new Array<number>(1000);
    for (let i = 0; i < filled.length; i++) filled[i] = i + 0.5;
    const holey = new Array<number>(300);
    holey[5] = 1;
    holey[299] = 2;
    const back = decodeState(encodeState('k', {}, { filled, holey }, codec), codec) as {
      state: { filled: number[]; holey: number[] };
    };
    expect(back.state.filled).toEqual(filled);
    expect(back.state.holey.length).toBe(300);
    expect(Object.keys(back.state.holey)).toEqual(['5', '299']);
  });
});

describe('cycles and shared parts keep their shape, with references and futures inside (item 10)', () => {
  function box(tally: Active<Tally>): Box {
    const b = { ref: tally, future: tally.inc(10), list: [], pair: [] } as unknown as Box;
    const shared = { back: b };
    b.self = b;
    b.list = [b, tally];
    b.pair = [shared, shared];
    return b;
  }

  for (const where of ['in-thread', 'on a worker'] as const) {
    it(`a cyclic argument holding a reference and a future, ${where}: its shape arrives; the reference calls, the future resolves`, async () => {
      const m = where === 'in-thread' ? newActive(Mirror) : onWorker();
      const tally = newActive(Tally);
      const result = await within(m.useBox(box(tally)), 'useBox');
      expect(result).toEqual({ shape: [true, true, true, true, true], called: 11, awaited: 10 });
    });

    it(`a cyclic value made ${where}, with a reference and a future, comes back with its shape`, async () => {
      const m = where === 'in-thread' ? newActive(Mirror) : onWorker();
      const tally = newActive(Tally);
      const b = await within(m.makeBox(tally), 'makeBox');
      expect(b.self).toBe(b);
      expect(b.list[0]).toBe(b);
      expect(b.list[1]).toBe(tally);
      expect(b.ref).toBe(tally);
      expect(b.pair[0]).toBe(b.pair[1]);
      expect(b.pair[0].back).toBe(b);
      expect(Future.isFuture(b.future)).toBe(true);
      expect(await within(b.future, 'the future')).toBe(100);
    });

    it(`a cyclic value without references, ${where}: it arrives with its shape`, async () => {
      const m = where === 'in-thread' ? newActive(Mirror) : onWorker();
      const value: { list: unknown[]; self?: unknown; map?: Map<string, unknown> } = { list: [] };
      value.self = value;
      value.list.push(value, value.list);
      value.map = new Map([['back', value]]);
      const back = (await within(echo(m, value), 'echo')) as typeof value;
      expect(back).not.toBe(value);
      expect(back.self).toBe(back);
      expect(back.list[0]).toBe(back);
      expect(back.list[1]).toBe(back.list);
      expect(back.map?.get('back')).toBe(back);
    });

    it(`a part shared by two members and holding a reference, ${where}: one copy, never the original`, async () => {
      const m = where === 'in-thread' ? newActive(Mirror) : onWorker();
      const tally = newActive(Tally);
      const shared = { ref: tally, n: 1 };
      const back = await within(echo(m, { a: shared, b: shared }), 'echo');
      expect(back.a).toBe(back.b);
      expect(back.a).not.toBe(shared);
      expect(back.a.ref).toBe(tally);
      expect(isActive(back.b.ref)).toBe(true);
    });
  }
});

describe('in-thread copies give what structuredClone gives (item 11)', () => {
  it('a SharedArrayBuffer is shared (as postMessage shares it), in-thread and across a worker', async () => {
    for (const m of [newActive(Mirror), onWorker()]) {
      const sab = new SharedArrayBuffer(4);
      const back = await within(echo(m, { sab }), 'echo');
      expect(back.sab).toBeInstanceOf(SharedArrayBuffer);
      new Uint8Array(back.sab)[0] = 42;
      expect(new Uint8Array(sab)[0]).toBe(42);
    }
  });

  it('a Blob arrives as a Blob with its content, in-thread and across a worker', async () => {
    for (const m of [newActive(Mirror), onWorker()]) {
      const back = await within(echo(m, { blob: new Blob(['hello']) }), 'echo');
      expect(back.blob).toBeInstanceOf(Blob);
      expect(await back.blob.text()).toBe('hello');
    }
  });

  it('an own `__proto__` key stays an own key; the prototype stays Object.prototype', async () => {
    for (const m of [newActive(Mirror), onWorker()]) {
      const value = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as Record<string, unknown>;
      const back = await within(echo(m, value), 'echo');
      expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
      expect(Object.keys(back)).toEqual(['__proto__', 'y']);
      expect(Object.getOwnPropertyDescriptor(back, '__proto__')?.value).toEqual({ x: 1 });
    }
  });

  it('a Proxy or a MessagePort is refused in-thread with a CopyError, as structured clone refuses it', async () => {
    const m = newActive(Mirror);
    const { port1 } = new MessageChannel();
    for (const [value, path] of [
      [new Proxy({ a: 1 }, {}), ''],
      [{ deep: [new Proxy([1], {})] }, '.deep[0]'],
      [{ port: port1 }, '.port'],
      [new WeakMap(), ''],
    ] as const) {
      const error = await rejection(echo(m, value), 'echo');
      expect(error).toBeInstanceOf(CopyError);
      expect((error as CopyError).path).toBe(path);
    }
    port1.close();
    expect(await m.ping()).toBe('pong');
  });

  it('a getter that makes a call while its object is copied: both copies come out whole', async () => {
    const m = newActive(Mirror);
    const other = newActive(Mirror);
    const value = {
      before: { list: [1, 2] },
      get during(): unknown {
        return other.echo({ inner: [3, { deep: 4 }] }); // copies another value mid-copy
      },
      after: { list: [5, 6] },
    };
    const back = (await within(echo(m, value), 'echo')) as unknown as {
      before: unknown;
      during: PromiseLike<unknown>;
      after: unknown;
    };
    expect(back.before).toEqual({ list: [1, 2] });
    expect(back.after).toEqual({ list: [5, 6] });
    expect(await within(back.during, 'the call made by the getter')).toEqual({ inner: [3, { deep: 4 }] });
  });

  it('views over one buffer share one copy of it, as structured clone copies them', async () => {
    for (const m of [newActive(Mirror), onWorker()]) {
      const buffer = new ArrayBuffer(8);
      const back = await within(
        echo(m, { bytes: new Uint8Array(buffer, 2, 4), view: new DataView(buffer), buffer }),
        'echo',
      );
      expect(back.bytes.buffer).toBe(back.buffer);
      expect(back.view.buffer).toBe(back.buffer);
      expect(back.buffer).not.toBe(buffer);
    }
  });

  it('class instances, Map, Set, Date, RegExp, boxed primitives, BigInt, typed arrays and errors arrive as structuredClone makes them', async () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
      get norm(): number {
        return Math.hypot(this.x, this.y);
      }
    }
    const error = new RangeError('out', { cause: { code: 7 } });
    (error as unknown as { extra: number }).extra = 1;
    const value = {
      point: new Point(3, 4),
      map: new Map<unknown, unknown>([
        [1, 'a'],
        [{ k: 1 }, new Set([1n, 'x'])],
      ]),
      date: new Date(1_000),
      regexp: /a+b/gi,
      boxed: [Object(1), Object('s'), Object(true), Object(2n)],
      big: 12345678901234567890n,
      typed: [new Float64Array([1.5, -0]), Buffer.from('hi'), new BigInt64Array([3n])],
      error,
      nested: [new TypeError('t'), new Error('plain')],
      nullProto: Object.assign(Object.create(null) as object, { a: 1 }),
    };
    const expected = structuredClone(value);
    const inThread = await within(echo(newActive(Mirror), value), 'in-thread echo');
    expect(differenceFrom(inThread, expected, { tokens: new Map(), remoteErrors: false })).toBeUndefined();
    const across = await within(echo(onWorker(), value), 'worker echo');
    // Errors cross nodes as RemoteError with name, message and cause (docs/nodes.md); the rest as above.
    expect(differenceFrom(across, expected, { tokens: new Map(), remoteErrors: true })).toBeUndefined();
  });
});
