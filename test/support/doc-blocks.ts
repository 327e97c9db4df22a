/**
 * The code blocks of the docs, checked as programs (test/docs-blocks.test.ts). The convention
 * is in docs/internals/docs.md: a ```ts or ```js block is a complete program unless its info
 * string says otherwise:
 *
 * - ```ts fragment     an excerpt: not checked;
 * - ```ts no-run       a complete program that is type-checked but not run (a server, a file);
 * - ```ts file=name.ts a module of its page, written as `name.ts` next to the page's other
 *                      blocks, which import it as `./name.js`; type-checked, not run itself.
 *
 * Blocks of other languages (sh, jsonc, text, none) are not checked.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { spawnBounded } from './spawn-bounded.js';

export type Mode = 'standard' | 'legacy';

export interface Block {
  /** The page, relative to the repository root (`docs/nodes.md`). */
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: 'ts' | 'js';
  kind: 'program' | 'no-run' | 'module';
  /** The file name the block is written to, inside its page's directory. */
  name: string;
  code: string;
}

const LANGS: Record<string, 'ts' | 'js'> = {
  ts: 'ts',
  typescript: 'ts',
  js: 'js',
  javascript: 'js',
  mjs: 'js',
};

/** `README.md` and every `docs/**\/*.md` except the generated API reference (docs/api). */
export function docPages(root: string): string[] {
  const pages = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (path !== 'docs/api') walk(path);
      } else if (entry.name.endsWith('.md')) pages.push(path);
    }
  };
  walk('docs');
  return pages.sort();
}

/**
 * The checked blocks of one page (fragments and other languages left out). Throws, naming the
 * page and line, on an info string it does not understand (a misspelt `fragment` would
 * otherwise turn an excerpt into a failing program, or worse, be ignored).
 */
export function extractBlocks(page: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    // The closing fence: the same character, at least as many times, nothing else.
    const close = new RegExp(`^\\s*${fence[0]}{${fence.length},}\\s*$`);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !close.test(lines[j]!); j++) {
      const line = lines[j]!;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line);
    }
    const start = i + 1;
    i = j;
    const [langWord = '', ...words] = info.trim().split(/\s+/);
    const lang = LANGS[langWord];
    if (lang === undefined) continue;
    let kind: Block['kind'] = 'program';
    let name = `block-L${start}.${lang === 'ts' ? 'ts' : 'mjs'}`;
    let fragment = false;
    for (const word of words) {
      if (word === 'fragment') fragment = true;
      else if (word === 'no-run') kind = 'no-run';
      else if (/^file=[\w.-]+\.(ts|mts|js|mjs)$/.test(word)) {
        kind = 'module';
        name = word.slice('file='.length);
      } else {
        throw new Error(
          `${page}:${start}: unknown word \`${word}\` in the code block's info string (known: fragment, no-run, file=<name>.ts)`,
        );
      }
    }
    if (!fragment) blocks.push({ page, line: start, lang, kind, name, code: `${body.join('\n')}\n` });
  }
  return blocks;
}

/** The directory a page's blocks are written to, inside `dir`. */
function pageDir(dir: string, page: string): string {
  return join(dir, page.replace(/\.md$/, '').replace(/[/\\]/g, '_'));
}

/** Where each block is written. */
export function blockPath(dir: string, block: Block): string {
  return join(pageDir(dir, block.page), block.name);
}

/**
 * Writes the blocks under `dir` (emptied first), one directory per page, with a tsconfig.json
 * for `mode` that extends the repository's base config (so `multiactive` resolves to the
 * sources through its `paths`, for tsc and for tsx alike).
 */
export function writeBlocks(root: string, dir: string, blocks: readonly Block[], mode: Mode): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const seen = new Map<string, Block>();
  for (const block of blocks) {
    const path = blockPath(dir, block);
    const other = seen.get(path);
    if (other !== undefined)
      throw new Error(`${block.page}:${block.line}: file=${block.name} is also given at line ${other.line}`);
    seen.set(path, block);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, block.code);
  }
  const base = relative(dir, join(root, 'tsconfig.base.json')).split('\\').join('/');
  writeFileSync(
    join(dir, 'tsconfig.json'),
    `${JSON.stringify(
      {
        extends: base,
        compilerOptions: {
          noEmit: true,
          experimentalDecorators: mode === 'legacy',
          emitDecoratorMetadata: mode === 'legacy',
          // Examples may declare what they do not use (the repository's own code may not).
          noUnusedLocals: false,
          noUnusedParameters: false,
        },
        include: ['**/*.ts'],
      },
      null,
      2,
    )}\n`,
  );
}

/**
 * Type-checks every TypeScript block written under `dir` in one program. Returns one message
 * per diagnostic, located at the line of the page it comes from (`docs/nodes.md:42 ...`).
 */
export function typeCheck(dir: string, blocks: readonly Block[]): string[] {
  const configPath = join(dir, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error(`cannot read ${configPath}`);
  const byPath = new Map(blocks.map((b) => [resolve(blockPath(dir, b)), b]));
  const roots = config.fileNames.filter((f) => byPath.has(resolve(f)));
  const program = ts.createProgram({ rootNames: roots, options: config.options });
  const diagnostics = [
    ...config.errors,
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...roots.flatMap((f) => {
      const source = program.getSourceFile(f);
      return source === undefined
        ? []
        : [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    }),
  ];
  return diagnostics.map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (d.file === undefined || d.start === undefined) return `TS${d.code}: ${text}`;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const block = byPath.get(resolve(d.file.fileName));
    const where =
      block !== undefined ? `${block.page}:${block.line + 1 + line}` : `${d.file.fileName}:${line + 1}`;
    return `${where}: TS${d.code}: ${text}`;
  });
}

/** The environment of a user's shell: none of the test runner's variables. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !/^(VITEST|NODE_OPTIONS$|NODE_ENV$|TSX|MULTIACTIVE_|TEST$)/.test(key),
    ),
  );
}

/**
 * Runs one block under tsx (`node --import tsx`), in its page's directory, in a process group
 * of its own. Resolves to `undefined` when it exits with 0 within `timeoutMs`, else to a
 * message naming the block's page and line, with its output; on timeout the group is killed.
 */
export async function runBlock(dir: string, block: Block, timeoutMs: number): Promise<string | undefined> {
  const file = blockPath(dir, block);
  const ran = await spawnBounded(process.execPath, ['--import', 'tsx', file], {
    cwd: dirname(file),
    env: userEnv(),
    timeoutMs,
  });
  const where = `${block.page}:${block.line}`;
  const output = ran.stdout + ran.stderr;
  if (ran.error !== undefined) return `${where}: could not start: ${ran.error.message}`;
  if (ran.timedOut) return `${where}: still running after ${timeoutMs} ms (killed)\n${output}`;
  if (ran.exit !== 0) return `${where}: exited with ${ran.exit}\n${output}`;
  return undefined;
}

/** Runs `tasks` at most `limit` at a time; the results in the order of `tasks`. */
export async function pooled<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Every checked block of the docs. */
export function docBlocks(root: string): Block[] {
  return docPages(root).flatMap((page) => extractBlocks(page, readFileSync(join(root, page), 'utf8')));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/**
 * The relative links of one page (`[text](path#anchor)`, outside code blocks and inline code)
 * that lead nowhere: a missing file, or an anchor no heading of the target page has. Each as
 * `page:line: link`.
 */
export function brokenLinks(root: string, page: string, text: string): string[] {
  const broken: string[] = [];
  const anchorsOf = (markdown: string): Set<string> => {
    const anchors = new Set<string>();
    let inCode = false;
    for (const line of markdown.split('\n')) {
      if (/^\s*(`{3,}|~{3,})/.test(line)) inCode = !inCode;
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (!inCode && heading !== null) anchors.add(slug(heading[1]!));
    }
    return anchors;
  };
  let inCode = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(`{3,}|~{3,})/.test(line)) inCode = !inCode;
    if (inCode) return;
    for (const match of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [path = '', anchor] = target.split('#');
      const file = resolve(dirname(join(root, page)), path);
      const ok =
        path === ''
          ? anchorsOf(text).has(anchor ?? '')
          : existsSync(file) &&
            (anchor === undefined ||
              !file.endsWith('.md') ||
              anchorsOf(readFileSync(file, 'utf8')).has(anchor));
      if (!ok) broken.push(`${page}:${i + 1}: ${target}`);
    }
  });
  return broken;
}
