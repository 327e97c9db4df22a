/**
 * The API reference builds (`npm run docs:api`, TypeDoc; docs/internals/docs.md) and lists the
 * main exports of both entry points. Run into a directory of its own under test-artifacts/
 * (not docs/api, which may hold the user's build). Decorator modes do not matter here, so it
 * runs in one vitest project only.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnBounded } from './support/spawn-bounded.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'test-artifacts', `api-${process.pid}`);
/** TypeDoc takes 10-20 s on 2 shared cores; killed at this bound. */
const TIMEOUT = 150_000;

afterAll(() => rmSync(out, { recursive: true, force: true }));

/** `npm run docs:api -- <args>` in its own process group; rejects unless it exits with 0. */
async function docsApi(args: readonly string[]): Promise<string> {
  const ran = await spawnBounded('npm', ['run', 'docs:api', '--', ...args], {
    cwd: root,
    timeoutMs: TIMEOUT,
  });
  const output = ran.stdout + ran.stderr;
  if (ran.error !== undefined) throw ran.error;
  if (ran.timedOut) throw new Error(`npm run docs:api still running after ${TIMEOUT} ms (killed)\n${output}`);
  if (ran.exit !== 0) throw new Error(`npm run docs:api exited with ${ran.exit}\n${output}`);
  return output;
}

interface Reflection {
  name: string;
  children?: Reflection[];
}

describe.skipIf(process.env.MULTIACTIVE_DECORATORS === 'legacy')('the API reference', () => {
  it(
    'is generated from the TSDoc by npm run docs:api and lists the main exports',
    async () => {
      const html = join(out, 'html');
      const json = join(out, 'api.json');
      await docsApi(['--out', html, '--json', json]);

      const project = JSON.parse(readFileSync(json, 'utf8')) as Reflection;
      const modules = project.children ?? [];
      expect(modules).toHaveLength(2); // multiactive and multiactive/debugger
      const names = new Set(modules.flatMap((m) => (m.children ?? []).map((c) => c.name)));
      for (const name of [
        'newActive',
        'Group',
        'MemberOf',
        'Compatible',
        'Priority',
        'ThreadConfig',
        'Checkpoint',
        'createWorkerNode',
        'Future',
        'control',
        'shutdown',
        'onEvent',
        'attachDebugger',
      ]) {
        expect(names, `${name} in the API reference`).toContain(name);
      }

      // The HTML: an index, and a page per export, with the TSDoc text in it.
      const pages = readdirSync(html, { recursive: true, encoding: 'utf8' });
      expect(pages).toContain('index.html');
      const newActivePage = pages.find((p) => /(^|[/.])newActive\.html$/.test(p));
      expect(newActivePage, 'a page for newActive').toBeDefined();
      expect(readFileSync(join(html, newActivePage!), 'utf8')).toMatch(/Active/);
    },
    TIMEOUT + 10_000,
  );
});
