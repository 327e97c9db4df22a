/**
 * The cost of copying values (SPEC §7): the in-thread copy (`copyArguments`), the wire's
 * encoding of arguments (`encodeArgs`), an in-thread call and a call to a worker node and
 * back, each with the same small values: a number, a small plain object, an array of 20
 * numbers, a nested object, an array of 10 small objects, and an object holding an active
 * reference (the one that needs records on the wire).
 *
 * `--against <dist>` loads a second build (e.g. the previous commit's, built elsewhere) and
 * runs its cases beside this build's, interleaved round by round by the harness: each
 * case's ratio is this build's rate over the other build's, same round. Without it, this
 * build alone.
 *
 * Time is the process's CPU time (`process.cpuUsage`, every thread: for the worker case
 * both sides of the call), not wall time: the figure is the cost of a call, and other
 * processes on a shared 2-core machine do not count in it.
 *
 *   npm run build && node --expose-gc dist/bench/values-bench.js [--against /path/dist] [--quick] [--only copy]
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BenchCase, formatNs, formatRatio, markdownTable, runSuite } from './harness.js';

interface Build {
  readonly label: string;
  readonly copyArguments: (args: unknown[], className: string, method: string) => void;
  readonly encodeArgs: (args: unknown[], to: number, label: string, method: string) => unknown;
  readonly local: { echo(v: unknown): PromiseLike<unknown> };
  readonly remote: { echo(v: unknown): PromiseLike<unknown> };
  readonly ref: unknown;
  readonly shutdown: () => Promise<unknown>;
}

async function load(dist: string, label: string): Promise<Build> {
  const at = (path: string): string => pathToFileURL(`${dist}/${path}`).href;
  const api = (await import(at('src/index.js'))) as typeof import('../src/index.js');
  const copy = (await import(at('src/copy.js'))) as typeof import('../src/copy.js');
  const runtime = (await import(at('src/node/runtime.js'))) as {
    node: { encodeArgs(args: unknown[], to: number, label: string, method: string): unknown };
  };
  const { ValueEcho } = (await import(
    at('bench/values-fixtures.js')
  )) as typeof import('./values-fixtures.js');
  const worker = api.createWorkerNode();
  const remote = api.newActive(ValueEcho, [], { node: worker });
  await remote.echo(0);
  return {
    label,
    copyArguments: copy.copyArguments,
    encodeArgs: (args, to, l, m) => runtime.node.encodeArgs(args, to, l, m),
    local: api.newActive(ValueEcho) as unknown as Build['local'],
    remote: remote as unknown as Build['remote'],
    ref: api.newActive(ValueEcho),
    shutdown: () => api.shutdown({ immediate: true }),
  };
}

/** The values, made fresh per build (a reference belongs to its build's runtime). */
function values(ref: unknown): [string, unknown][] {
  return [
    ['number', 42],
    ['small object', { id: 7, name: 'ann', active: true }],
    ['20 numbers', Array.from({ length: 20 }, (_, i) => i * 1.5)],
    ['nested object', { user: { id: 1, tags: ['a', 'b'] }, at: { x: 1, y: 2 }, n: 3 }],
    ['10 small objects', Array.from({ length: 10 }, (_, i) => ({ i, s: 'x' }))],
    ['object with a reference', { ref, n: 1 }],
    ['a reference', ref],
  ];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const againstAt = args.indexOf('--against');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
  const here = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  const builds = [await load(here, 'this build')];
  if (againstAt >= 0) builds.unshift(await load(args[againstAt + 1]!, 'other build'));
  const base = builds[0]!;

  /** `run` timed in CPU milliseconds (see the module comment). */
  const cpu =
    (run: (ops: number) => void | Promise<void>) =>
    async (ops: number): Promise<number> => {
      const t0 = process.cpuUsage();
      await run(ops);
      const d = process.cpuUsage(t0);
      return (d.user + d.system) / 1000;
    };
  const families: [string, (b: Build, v: unknown) => (ops: number) => void | Promise<void>][] = [
    [
      'copyArguments',
      (b, v) => (ops) => {
        for (let i = 0; i < ops; i++) b.copyArguments([v], 'ValueEcho', 'echo');
      },
    ],
    [
      'encodeArgs (wire)',
      (b, v) => (ops) => {
        const list = [v];
        for (let i = 0; i < ops; i++) b.encodeArgs(list, 1, 'ValueEcho', 'echo');
      },
    ],
    [
      'in-thread call, sequential',
      (b, v) => async (ops) => {
        for (let i = 0; i < ops; i++) await b.local.echo(v);
      },
    ],
    [
      'worker call and back, 100 in flight',
      (b, v) => async (ops) => {
        const batch: PromiseLike<unknown>[] = new Array(100);
        for (let done = 0; done < ops; done += 100) {
          for (let j = 0; j < 100; j++) batch[j] = b.remote.echo(v);
          await Promise.all(batch);
        }
      },
    ],
  ];

  const rows: string[][] = [];
  for (const [family, make] of families) {
    if (only !== undefined && !family.includes(only)) continue;
    const byBuild = builds.map((b) => values(b.ref));
    for (let k = 0; k < byBuild[0]!.length; k++) {
      const name = byBuild[0]![k]![0];
      const cases: BenchCase[] = builds.map((b, i) => ({
        name: `${b.label}`,
        run: cpu(make(b, byBuild[i]![k]![1])),
        granularity: family.startsWith('worker') ? 100 : 1,
      }));
      const results = await runSuite(cases, {
        rounds: quick ? 3 : 15,
        warmup: quick ? 1 : 3,
        budgetMs: quick ? 20 : 60,
        initialOps: family.startsWith('worker') ? 100 : 1000,
        baseline: base.label,
      });
      const mine = results[results.length - 1]!;
      const other = results.length > 1 ? results[0]! : undefined;
      rows.push([
        family,
        name,
        other === undefined ? '' : formatNs(other.nsPerOp),
        formatNs(mine.nsPerOp),
        other === undefined ? '' : formatRatio(mine.ratio),
      ]);
      process.stdout.write('.');
    }
  }
  console.log(
    `\n${markdownTable(['case', 'value', 'other build: CPU ns/op (median)', 'this build: CPU ns/op (median)', 'this / other (rate, paired median)'], rows)}`,
  );
  for (const b of builds) await b.shutdown();
  process.exit(0);
}

await main();
