/**
 * Every code block of README.md and docs/**\/*.md is a complete program, or says what it is
 * (the convention: docs/internals/docs.md, test/support/doc-blocks.ts). Complete blocks are
 * type-checked, all in one tsc program, in this vitest project's decorator mode (standard, or
 * experimentalDecorators with emitDecoratorMetadata, as tsconfig.legacy.json), then run under
 * tsx, each in a child process killed at its bound. A failure names the page and line.
 * Pages added later are picked up: the pages are listed when the test runs.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Block,
  brokenLinks,
  docBlocks,
  docPages,
  extractBlocks,
  type Mode,
  pooled,
  runBlock,
  typeCheck,
  writeBlocks,
} from './support/doc-blocks.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const mode: Mode = process.env.MULTIACTIVE_DECORATORS === 'legacy' ? 'legacy' : 'standard';
/** Inside the repository, so that tsx and tsc find its tsconfig and node_modules. */
const dir = join(root, 'test-artifacts', `docs-blocks-${mode}-${process.pid}`);
/** A block runs in 0.5-3 s under tsx (a worker start-up included); killed at this bound. */
const RUN_TIMEOUT = 30_000;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the convention', () => {
  const page = ['# t', '', '```ts', 'const a: number = 1;', 'const b: string = a; // line 5', '```', ''];
  const fragment = ['```ts fragment', 'not code at all', '```', '```sh', 'npm ci', '```'];

  it('extracts complete blocks, leaves fragments and other languages out, and refuses unknown words', () => {
    const blocks = extractBlocks(
      't.md',
      [...page, ...fragment, '```ts file=m.ts', 'export {};', '```'].join('\n'),
    );
    expect(blocks.map((b) => [b.line, b.kind, b.name])).toEqual([
      [3, 'program', 'block-L3.ts'],
      [14, 'module', 'm.ts'],
    ]);
    expect(() => extractBlocks('t.md', '```ts fragmnet\n```\n')).toThrow(/t\.md:1: unknown word `fragmnet`/);
  });

  it('finds links to missing pages and headings', () => {
    const text = [
      '# Top',
      '',
      'See [a](#top), [b](#nowhere), [c](docs/guide.md#2-creating-and-calling-active-objects),',
      '[d](docs/gone.md), `[e](#in-code)` and [f](https://example.com).',
    ].join('\n');
    expect(brokenLinks(root, 'README.md', text)).toEqual([
      'README.md:3: #nowhere',
      'README.md:4: docs/gone.md',
    ]);
  });

  it('names the page and line of a type error, and of a block that fails or hangs', async () => {
    const self = join(dir, 'self');
    mkdirSync(self, { recursive: true });
    const broken = extractBlocks('t.md', page.join('\n'));
    writeBlocks(root, self, broken, mode);
    const errors = typeCheck(self, broken);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^t\.md:5: TS2322: Type 'number' is not assignable to type 'string'/);

    const [throws, hangs] = extractBlocks(
      't.md',
      ['```ts', "throw new Error('boom');", '```', '```ts', 'setInterval(() => {}, 1000);', '```'].join('\n'),
    ) as [Block, Block];
    writeBlocks(root, self, [throws, hangs], mode);
    const [thrown, hung] = await pooled(
      [() => runBlock(self, throws, RUN_TIMEOUT), () => runBlock(self, hangs, 3000)],
      2,
    );
    expect(thrown).toMatch(/^t\.md:1: exited with 1\n[\s\S]*boom/);
    expect(hung).toMatch(/^t\.md:4: still running after 3000 ms \(killed\)/);
  }, 60_000);
});

describe(`the docs' code blocks (${mode} decorators)`, () => {
  const blocks = docBlocks(root);
  const docs = join(dir, 'docs');

  it('finds the pages and their blocks', () => {
    const pages = docPages(root);
    expect(pages).toContain('README.md');
    expect(pages).toContain('docs/semantics.md');
    expect(pages.some((p) => p.startsWith('docs/api/'))).toBe(false);
    // The README's quick example, the worker example and its module are checked.
    expect(blocks.filter((b) => b.page === 'README.md' && b.kind === 'program')).toHaveLength(1);
    expect(blocks.some((b) => b.page === 'docs/nodes.md' && b.name === 'primes.ts')).toBe(true);
  });

  it('link to files and headings that exist', () => {
    const broken = docPages(root).flatMap((page) =>
      brokenLinks(root, page, readFileSync(join(root, page), 'utf8')),
    );
    expect(broken, broken.join('\n')).toEqual([]);
  });

  it('type-check in one program', () => {
    writeBlocks(root, docs, blocks, mode);
    const errors = typeCheck(
      docs,
      blocks.filter((b) => b.lang === 'ts'),
    );
    expect(errors, errors.join('\n')).toEqual([]);
  }, 120_000);

  it('run, each to its end, within its bound', async () => {
    // Written again: this test may run alone (`-t run`).
    writeBlocks(root, docs, blocks, mode);
    const programs = blocks.filter((b) => b.kind === 'program');
    const failures = (
      await pooled(
        programs.map((b) => () => runBlock(docs, b, RUN_TIMEOUT)),
        2,
      )
    ).filter((f) => f !== undefined);
    expect(failures, failures.join('\n\n')).toEqual([]);
  }, 180_000);
});
