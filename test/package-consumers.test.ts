/**
 * The package as its users meet it: `npm pack` on a fresh tree (no `dist/`: the `prepack`
 * script builds it), the tarball installed with npm into a scratch project, then checked for
 * what its exports map and source maps name, and six consumers, each a child process that
 * places a class on a worker node, calls it, checks the answer, calls `shutdown()` and exits
 * by itself (a consumer's folder in the scratch project in brackets):
 *
 * - TypeScript ES modules with standard decorators, run by the `tsx` CLI [esm];
 * - the same sources compiled by `tsc` (with source maps), run by `node --enable-source-maps` [esm];
 * - TypeScript CommonJS with `experimentalDecorators` + `emitDecoratorMetadata` and
 *   reflect-metadata, run by `node --import tsx` [cjs-legacy];
 * - plain JavaScript ES modules: no decorators, the policy declared with `defineActive` (the
 *   class found by the module that declared it, like a decorated one) [esm-js];
 * - plain JavaScript ES modules, a class with no declarations, placed with `{ module }`
 *   [esm-js-classic];
 * - plain JavaScript CommonJS, `require('multiactive')` through require(esm), `defineActive`
 *   [cjs-js].
 *
 * The esm consumer also runs the README's quick example as written (its first TypeScript block),
 * under tsx (it is not type-checked there: tsc compiles the consumer's own files only).
 *
 * The tree is a copy (package.json, README, the build's tsconfigs and the folders it
 * compiles), so this build never races the one test/package.test.ts makes in `dist/`. It is
 * built, packed and installed once for all consumers, which share the scratch project's
 * `node_modules` (each is a folder with its own package.json and tsconfig.json); tsx,
 * typescript, reflect-metadata and @types/node come from this repository's `node_modules`
 * by symlink, so nothing is downloaded. Decorator modes are the consumers' own, so it runs in
 * one vitest project only. Children run without this process's vitest and Node options (a
 * worker would otherwise load tsx because `VITEST` is set), in their own process group, killed
 * at a bound.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBounded } from './support/spawn-bounded.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Bounds on the child processes: a consumer takes 0.3-2 s (a worker start-up under tsx),
 * `npm pack` 5-17 s (the tsc build, on 2 shared cores), and each is killed at its bound.
 */
const CONSUMER_TIMEOUT = 30_000;
const BUILD_TIMEOUT = 120_000;

/** The environment of a user's shell: none of this test runner's variables. */
const userEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([key]) => !/^(VITEST|NODE_OPTIONS$|NODE_ENV$|TSX|MULTIACTIVE_|TEST$)/.test(key),
  ),
);

interface Ran {
  stdout: string;
  stderr: string;
}

/** Run `command` in `cwd`; rejects, with its output, unless it exits with 0 within `timeout` ms. */
async function run(
  command: string,
  args: readonly string[],
  cwd: string,
  timeout = CONSUMER_TIMEOUT,
): Promise<Ran> {
  // Its own process group: the tsx CLI and npm start children of their own, killed with it.
  const ran = await spawnBounded(command, args, { cwd, env: userEnv, timeoutMs: timeout });
  const shown = `${command} ${args.join(' ')} (in ${cwd})`;
  const { stdout, stderr } = ran;
  if (ran.error !== undefined) throw new Error(`${shown} could not start: ${ran.error.message}`);
  if (ran.timedOut)
    throw new Error(`${shown} did not exit by itself within ${timeout} ms (killed)\n${stdout}\n${stderr}`);
  if (ran.exit !== 0) throw new Error(`${shown} exited with ${ran.exit}\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

/** What every consumer prints: the sums of add(2) then add(3), and where the object ran. */
const EXPECTED = { sums: [2, 5], onWorker: true, threadId: expect.any(Number) };

/** The last line of a consumer's output, parsed. */
function answer(out: Ran): unknown {
  const lines = out.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? 'null');
}

// ------------------------------------------------------------------ the consumers

const TS_COUNTER_STANDARD = `import { Group, MemberOf } from 'multiactive';
import { isMainThread, threadId } from 'node:worker_threads';

@Group('reads', { selfCompatible: true })
export class Counter {
  n = 0;
  @MemberOf('reads') where(): { onWorker: boolean; threadId: number } {
    return { onWorker: !isMainThread, threadId };
  }
  add(by: number): number {
    return (this.n += by);
  }
}
`;

const TS_MAIN_ESM = `import { createWorkerNode, newActive, shutdown } from 'multiactive';
import { Counter } from './counter.js';

const counter = newActive(Counter, [], { node: createWorkerNode() });
const sums = [await counter.add(2), await counter.add(3)];
const where = await counter.where();
await shutdown();
console.log(JSON.stringify({ sums, ...where }));
`;

const TS_COUNTER_LEGACY = `import 'reflect-metadata';
import { Group, MemberOf } from 'multiactive';
import { isMainThread, threadId } from 'node:worker_threads';

@Group('reads', { selfCompatible: true })
export class Counter {
  n = 0;
  @MemberOf('reads') where(): { onWorker: boolean; threadId: number } {
    return { onWorker: !isMainThread, threadId };
  }
  add(by: number): number {
    return (this.n += by);
  }
}
`;

const TS_MAIN_CJS = `import { createWorkerNode, newActive, shutdown } from 'multiactive';
import { Counter } from './counter';

async function main(): Promise<void> {
  const counter = newActive(Counter, [], { node: createWorkerNode() });
  const sums = [await counter.add(2), await counter.add(3)];
  const where = await counter.where();
  await shutdown();
  console.log(JSON.stringify({ sums, ...where }));
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

const JS_COUNTER_ESM = `import { defineActive } from 'multiactive';
import { isMainThread, threadId } from 'node:worker_threads';

export class Counter {
  n = 0;
  where() {
    return { onWorker: !isMainThread, threadId };
  }
  add(by) {
    return (this.n += by);
  }
}
defineActive(Counter, {
  groups: { reads: { selfCompatible: true }, writes: {} },
  memberOf: { where: 'reads', add: 'writes' },
});
`;

const JS_MAIN_ESM = `import { createWorkerNode, newActive, shutdown } from 'multiactive';
import { Counter } from './counter.js';

const counter = newActive(Counter, [], { node: createWorkerNode() });
const sums = [await counter.add(2), await counter.add(3)];
const where = await counter.where();
await shutdown();
console.log(JSON.stringify({ sums, ...where }));
`;

const JS_COUNTER_CJS = `const { defineActive } = require('multiactive');
const { isMainThread, threadId } = require('node:worker_threads');

class Counter {
  n = 0;
  where() {
    return { onWorker: !isMainThread, threadId };
  }
  add(by) {
    return (this.n += by);
  }
}
defineActive(Counter, {
  groups: { reads: { selfCompatible: true }, writes: {} },
  memberOf: { where: 'reads', add: 'writes' },
});
exports.Counter = Counter;
`;

const JS_MAIN_CJS = `const { createWorkerNode, newActive, shutdown } = require('multiactive');
const { Counter } = require('./counter.js');

async function main() {
  const counter = newActive(Counter, [], { node: createWorkerNode() });
  const sums = [await counter.add(2), await counter.add(3)];
  const where = await counter.where();
  await shutdown();
  console.log(JSON.stringify({ sums, ...where }));
}
main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** Plain JavaScript, a class with no declarations: placed on a worker with \`{ module }\`. */
const JS_COUNTER_CLASSIC = `import { isMainThread, threadId } from 'node:worker_threads';

export class Counter {
  n = 0;
  where() {
    return { onWorker: !isMainThread, threadId };
  }
  add(by) {
    return (this.n += by);
  }
}
export const counterModule = import.meta.url;
`;

const JS_MAIN_CLASSIC = `import { createWorkerNode, newActive, shutdown } from 'multiactive';
import { Counter, counterModule } from './counter.js';

const counter = newActive(Counter, [], { node: createWorkerNode(), module: counterModule });
const sums = [await counter.add(2), await counter.add(3)];
const where = await counter.where();
await shutdown();
console.log(JSON.stringify({ sums, ...where }));
`;

function tsconfig(options: Record<string, unknown>): string {
  const compilerOptions = {
    target: 'ES2022',
    strict: true,
    types: ['node'],
    skipLibCheck: true,
    rootDir: '.',
    outDir: 'out',
    ...options,
  };
  return JSON.stringify({ compilerOptions, include: ['*.ts'] }, null, 2);
}

const CONSUMERS: Record<string, Record<string, string>> = {
  esm: {
    'package.json': JSON.stringify({ name: 'esm-consumer', private: true, type: 'module' }),
    'tsconfig.json': tsconfig({ module: 'NodeNext', moduleResolution: 'NodeNext', sourceMap: true }),
    'counter.ts': TS_COUNTER_STANDARD,
    'main.ts': TS_MAIN_ESM,
  },
  'cjs-legacy': {
    'package.json': JSON.stringify({ name: 'cjs-legacy-consumer', private: true, type: 'commonjs' }),
    'tsconfig.json': tsconfig({
      module: 'CommonJS',
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
    }),
    'counter.ts': TS_COUNTER_LEGACY,
    'main.ts': TS_MAIN_CJS,
  },
  'esm-js': {
    'package.json': JSON.stringify({ name: 'esm-js-consumer', private: true, type: 'module' }),
    'counter.js': JS_COUNTER_ESM,
    'main.js': JS_MAIN_ESM,
  },
  'esm-js-classic': {
    'package.json': JSON.stringify({ name: 'esm-js-classic-consumer', private: true, type: 'module' }),
    'counter.js': JS_COUNTER_CLASSIC,
    'main.js': JS_MAIN_CLASSIC,
  },
  'cjs-js': {
    'package.json': JSON.stringify({ name: 'cjs-js-consumer', private: true, type: 'commonjs' }),
    'counter.js': JS_COUNTER_CJS,
    'main.js': JS_MAIN_CJS,
  },
};

/**
 * The docs' plain-JavaScript version of the README's example (docs/without-decorators.md): its
 * module `peer.js` and the program after it, which places a Peer on a worker.
 */
function jsPeerExample(): { peer: string; main: string } {
  const doc = readFileSync(join(root, 'docs', 'without-decorators.md'), 'utf8');
  const found = /```js file=peer\.js\n([\s\S]*?)```[\s\S]*?```js\n([\s\S]*?)```/.exec(doc);
  if (found === null) throw new Error('docs/without-decorators.md has no peer.js block and program after it');
  return { peer: found[1]!, main: found[2]! };
}

/** The same in CommonJS: imports become require, the export an assignment, the program an async function. */
function toCommonJs(module: string, program = false): string {
  const body = module
    .replace(/^import \{([^}]*)\} from '([^']*)';$/gm, (_, names: string, from: string) => {
      const spec = from === './peer.js' ? './peer.cjs' : from;
      return `const {${names}} = require('${spec}');`;
    })
    .replace(/^export class (\w+)/gm, 'class $1');
  const exported = [...module.matchAll(/^export class (\w+)/gm)].map((m) => `exports.${m[1]} = ${m[1]};`);
  return program
    ? `(async () => {\n${body}\n})().catch((error) => { console.error(error); process.exit(1); });\n`
    : `${body}\n${exported.join('\n')}\n`;
}

/** Both runs of the JavaScript Peer example print the value and the log's length, here and on a worker. */
const JS_PEER_OUTPUT = ['1 2', '1 2'];

/** The README's quick example: its first TypeScript block, as written. */
function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error('README.md has no ```ts block');
  return block;
}

// ------------------------------------------------------------------ the package, built and installed

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

describe.skipIf(process.env.MULTIACTIVE_DECORATORS === 'legacy')('the packed package, installed', () => {
  let scratch = '';
  let project = '';
  let installed = '';

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'multiactive-consumers-'));
    // A fresh tree: what a clone has that the build and the tarball use, and no dist/.
    const tree = join(scratch, 'tree');
    const build = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as {
      include: string[];
    };
    for (const entry of [
      'package.json',
      'README.md',
      'LICENSE',
      'tsconfig.base.json',
      'tsconfig.build.json',
      ...build.include,
    ]) {
      cpSync(join(root, entry), join(tree, entry), { recursive: true });
    }
    symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'), 'dir');
    await run('npm', ['pack', '--pack-destination', scratch], tree, BUILD_TIMEOUT);
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack made no tarball in ${scratch}`);

    project = join(scratch, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumers', private: true }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(scratch, tarball)], project);
    installed = join(project, 'node_modules', 'multiactive');
    // The consumers' dev tools, after the install (npm would prune what it did not install).
    for (const pkg of ['tsx', 'typescript', 'reflect-metadata', '@types/node']) {
      mkdirSync(dirname(join(project, 'node_modules', pkg)), { recursive: true });
      symlinkSync(join(root, 'node_modules', pkg), join(project, 'node_modules', pkg), 'dir');
    }
    for (const [name, files] of Object.entries(CONSUMERS)) {
      mkdirSync(join(project, name));
      for (const [file, text] of Object.entries(files)) writeFileSync(join(project, name, file), text);
    }
    // In a folder of its own: the esm consumer's tsc compiles only its own top-level files.
    mkdirSync(join(project, 'esm', 'readme'));
    writeFileSync(join(project, 'esm', 'readme', 'main.ts'), readmeExample());
    writeFileSync(
      join(project, 'esm', 'readme', 'tsconfig.json'),
      tsconfig({ module: 'NodeNext', moduleResolution: 'NodeNext' }),
    );
    // The README's example under experimentalDecorators (an ES module: it awaits at top level).
    mkdirSync(join(project, 'legacy-readme'));
    writeFileSync(
      join(project, 'legacy-readme', 'package.json'),
      JSON.stringify({ name: 'legacy-readme-consumer', private: true, type: 'module' }),
    );
    writeFileSync(
      join(project, 'legacy-readme', 'tsconfig.json'),
      tsconfig({
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
      }),
    );
    writeFileSync(
      join(project, 'legacy-readme', 'main.ts'),
      `import 'reflect-metadata';\n${readmeExample()}`,
    );
    // The docs' JavaScript Peer, in an ES module and in CommonJS.
    const js = jsPeerExample();
    mkdirSync(join(project, 'esm-js', 'readme'));
    writeFileSync(join(project, 'esm-js', 'readme', 'peer.js'), js.peer);
    writeFileSync(join(project, 'esm-js', 'readme', 'main.js'), js.main);
    mkdirSync(join(project, 'cjs-js', 'readme'));
    writeFileSync(join(project, 'cjs-js', 'readme', 'peer.cjs'), toCommonJs(js.peer));
    writeFileSync(join(project, 'cjs-js', 'readme', 'main.cjs'), toCommonJs(js.main, true));
  }, 3 * BUILD_TIMEOUT);

  afterAll(() => {
    if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
  });

  it('ships what its exports map and its source maps name', () => {
    const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
    };
    const targets = Object.values(manifest.exports).flatMap((target) =>
      typeof target === 'string' ? [target] : Object.values(target),
    );
    expect(targets.filter((target) => !existsSync(join(installed, target)))).toEqual([]);
    const files = filesUnder(installed);
    const maps = files.filter((file) => file.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(20);
    const missing = maps.flatMap((map) => {
      const { sources } = JSON.parse(readFileSync(join(installed, map), 'utf8')) as { sources: string[] };
      return sources
        .map((source) => join(dirname(join(installed, map)), source))
        .filter((source) => !existsSync(source))
        .map((source) => `${map} -> ${source.slice(installed.length + 1)}`);
    });
    expect(missing).toEqual([]);
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2026 the multiactive authors\n/,
    );
    // Nothing of the repository's tests or tooling.
    expect(files.filter((file) => /^(test|bench|examples|dist\/test)\//.test(file))).toEqual([]);
  });

  it(
    'serves a decorated class on a worker in a TypeScript ES module run by tsx',
    async () => {
      const cwd = join(project, 'esm');
      const out = await run(
        process.execPath,
        [join(project, 'node_modules/tsx/dist/cli.mjs'), 'main.ts'],
        cwd,
      );
      expect(answer(out)).toEqual(EXPECTED);
    },
    2 * CONSUMER_TIMEOUT,
  );

  it(
    "runs the README's quick example, as written, in a TypeScript ES module run by tsx",
    async () => {
      const cwd = join(project, 'esm', 'readme');
      // Exits by itself with code 0 (it places nothing on a worker, so needs no shutdown).
      await run(process.execPath, [join(project, 'node_modules/tsx/dist/cli.mjs'), 'main.ts'], cwd);
    },
    2 * CONSUMER_TIMEOUT,
  );

  it(
    "compiles the README's quick example with tsc (standard decorators) and runs it",
    async () => {
      const cwd = join(project, 'esm', 'readme');
      await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', '.'], cwd);
      await run(process.execPath, ['out/main.js'], cwd);
    },
    3 * CONSUMER_TIMEOUT,
  );

  it(
    "type-checks the README's quick example with experimentalDecorators and reflect-metadata, and runs it under tsx",
    async () => {
      const cwd = join(project, 'legacy-readme');
      await run(
        process.execPath,
        [join(project, 'node_modules/typescript/bin/tsc'), '-p', '.', '--noEmit'],
        cwd,
      );
      await run(process.execPath, ['--import', 'tsx', 'main.ts'], cwd);
    },
    3 * CONSUMER_TIMEOUT,
  );

  it(
    "runs the docs' JavaScript Peer (defineActive, one on a worker) as an ES module and as CommonJS",
    async () => {
      const esm = await run(process.execPath, ['main.js'], join(project, 'esm-js', 'readme'));
      expect(esm.stdout.trim().split('\n')).toEqual(JS_PEER_OUTPUT);
      const cjs = await run(process.execPath, ['main.cjs'], join(project, 'cjs-js', 'readme'));
      expect(cjs.stdout.trim().split('\n')).toEqual(JS_PEER_OUTPUT);
    },
    3 * CONSUMER_TIMEOUT,
  );

  it(
    'serves a decorated class on a worker when compiled by tsc and run by node --enable-source-maps',
    async () => {
      const cwd = join(project, 'esm');
      await run(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', '.'], cwd);
      const out = await run(process.execPath, ['--enable-source-maps', 'out/main.js'], cwd);
      expect(answer(out)).toEqual(EXPECTED);
    },
    3 * CONSUMER_TIMEOUT,
  );

  it(
    'serves a class with experimentalDecorators in TypeScript CommonJS run under tsx',
    async () => {
      const cwd = join(project, 'cjs-legacy');
      const out = await run(process.execPath, ['--import', 'tsx', 'main.ts'], cwd);
      expect(answer(out)).toEqual(EXPECTED);
    },
    2 * CONSUMER_TIMEOUT,
  );

  it(
    'serves a class declared with defineActive on a worker from a plain JavaScript ES module',
    async () => {
      const out = await run(process.execPath, ['main.js'], join(project, 'esm-js'));
      expect(answer(out)).toEqual(EXPECTED);
      // Every method has a group: no MULTIACTIVE_UNGROUPED warning, nor any other.
      expect(out.stderr).toBe('');
    },
    2 * CONSUMER_TIMEOUT,
  );

  it(
    'serves a class with no declarations, given by { module }, from a plain JavaScript ES module',
    async () => {
      const out = await run(process.execPath, ['main.js'], join(project, 'esm-js-classic'));
      expect(answer(out)).toEqual(EXPECTED);
    },
    2 * CONSUMER_TIMEOUT,
  );

  it(
    'serves a class declared with defineActive on a worker from CommonJS through require(esm)',
    async () => {
      const out = await run(process.execPath, ['main.js'], join(project, 'cjs-js'));
      expect(answer(out)).toEqual(EXPECTED);
    },
    2 * CONSUMER_TIMEOUT,
  );
});
