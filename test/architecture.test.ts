/**
 * The house's dependency direction (`debugger -> src -> decorators -> scheduler`): decorators/
 * never imports src/ (or debugger/); scheduler/ imports neither src/ nor decorators/ nor
 * node:* (it stays pure and portable); debugger/ sees the runtime only through the package
 * entry. Read from the import specifiers of the sources.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Every `import ... from 'x'`, `export ... from 'x'`, `import 'x'` and `import('x')` specifier. */
function specifiers(source: string): string[] {
  const pattern =
    /(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  return [...source.matchAll(pattern)].map((match) => match[1] ?? match[2] ?? match[3] ?? '');
}

/** `folder`'s .ts and .js files (recursively) and, per file, where each import points (a folder of the repo, or the specifier). */
function imports(folder: string): { file: string; specifier: string; target: string }[] {
  const dir = join(root, folder);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => (name.endsWith('.ts') || name.endsWith('.js')) && !name.endsWith('.d.ts'))
    .flatMap((name) => {
      const file = join(dir, name);
      return specifiers(readFileSync(file, 'utf8')).map((specifier) => ({
        file: relative(root, file),
        specifier,
        target: specifier.startsWith('.') ? relative(root, resolve(dirname(file), specifier)) : specifier,
      }));
    });
}

describe('dependency direction', () => {
  it('reads the import specifiers it checks', () => {
    expect(specifiers("import type { A } from '../scheduler/policy.js';\nimport './metadata.js';")).toEqual([
      '../scheduler/policy.js',
      './metadata.js',
    ]);
    expect(imports('decorators').some((entry) => entry.target.startsWith('scheduler/'))).toBe(true);
  });

  it('keeps decorators/ free of src/ and debugger/', () => {
    const wrong = imports('decorators').filter(
      ({ target }) => target.startsWith('src/') || target.startsWith('debugger/') || target === 'multiactive',
    );
    expect(wrong).toEqual([]);
  });

  it('keeps scheduler/ free of src/, decorators/ and node:*', () => {
    const wrong = imports('scheduler').filter(
      ({ target }) =>
        target.startsWith('node:') ||
        target.startsWith('src/') ||
        target.startsWith('decorators/') ||
        target.startsWith('debugger/') ||
        target === 'multiactive',
    );
    expect(wrong).toEqual([]);
  });

  it('keeps src/ free of debugger/ (the debugger consumes the public event stream only)', () => {
    const wrong = imports('src').filter(({ target }) => target.startsWith('debugger/'));
    expect(wrong).toEqual([]);
    // One exception, by design: MULTIACTIVE_DEBUG loads the package's optional entry by name.
    const naming = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .filter((name) => readFileSync(join(root, 'src', name), 'utf8').includes('multiactive/debugger'));
    expect(naming).toEqual(['debug-env.ts']);
    expect(imports('src').some((entry) => entry.target.startsWith('scheduler/'))).toBe(true);
  });

  it('keeps debugger/ to the package entry (src/index.ts), node:* and its own files', () => {
    const entries = imports('debugger');
    const wrong = entries.filter(
      ({ target }) =>
        !(target === 'src/index.js' || target.startsWith('node:') || target.startsWith('debugger/')),
    );
    expect(wrong).toEqual([]);
    expect(entries.some((entry) => entry.target === 'src/index.js')).toBe(true);
    expect(entries.some((entry) => entry.file.startsWith('debugger/page/'))).toBe(true);
  });

  // Inside src/ (the layering the restructuring of src/ extends, folder by folder).
  it('keeps src/values/ a leaf: it imports only src/symbols and node:*', () => {
    const wrong = imports('src/values').filter(
      ({ target }) =>
        !(target.startsWith('node:') || target.startsWith('src/values/') || target === 'src/symbols.js'),
    );
    expect(wrong).toEqual([]);
  });

  it('keeps src/checkpoint/ below the object engine and the nodes: it imports values/, errors and node:* only', () => {
    const wrong = imports('src/checkpoint').filter(
      ({ target }) =>
        !(
          target.startsWith('node:') ||
          target.startsWith('src/checkpoint/') ||
          target.startsWith('src/values/') ||
          target === 'src/errors.js'
        ),
    );
    expect(wrong).toEqual([]);
  });

  it('keeps src/shapes.ts (the shared plain data: node ids, request references, wait-for graph) a leaf', () => {
    const shapes = specifiers(readFileSync(join(root, 'src', 'shapes.ts'), 'utf8'));
    expect(shapes).toEqual([]);
    // events.ts and errors.ts take their shapes from it, not from each other's neighbours.
    const errors = imports('src')
      .filter(({ file }) => file === 'src/errors.ts')
      .map(({ target }) => target);
    expect(errors.filter((t) => t.startsWith('src/'))).toEqual(['src/shapes.js']);
  });

  it('lets nothing in src/ import the package entry, but the worker bootstrap (a known back-edge, to go)', () => {
    const importers = imports('src')
      .filter(({ target }) => target === 'src/index.js')
      .map(({ file }) => file);
    expect(importers).toEqual(['src/node/worker-main.ts']);
  });

  it('lets examples import the package entries, not their internals: relative imports stay in their folder', () => {
    const wrong = imports('examples').filter(
      ({ file, specifier, target }) =>
        (specifier.startsWith('.') && !target.startsWith(dirname(file))) ||
        (specifier.startsWith('multiactive/') && specifier !== 'multiactive/debugger'),
    );
    expect(wrong).toEqual([]);
    expect(imports('examples').some((entry) => entry.target === 'multiactive')).toBe(true);
  });
});
