/**
 * A Vite plugin that compiles TypeScript with `ts.transpileModule`, so tests see exactly what
 * `tsc` emits for decorators (esbuild lowers both modes but never emits
 * `emitDecoratorMetadata` output). One instance per decorator mode; see vitest.config.ts.
 */
import ts from 'typescript';
import type { Plugin } from 'vite';

export function tsTranspile(mode: 'standard' | 'legacy'): Plugin {
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    sourceMap: true,
    inlineSources: true,
    useDefineForClassFields: true,
    experimentalDecorators: mode === 'legacy',
    emitDecoratorMetadata: mode === 'legacy',
    verbatimModuleSyntax: false,
    isolatedModules: true,
  };
  return {
    name: `multiactive:ts-transpile-${mode}`,
    enforce: 'pre',
    transform(code, id) {
      const file = id.split('?')[0] ?? id;
      if (!file.endsWith('.ts') || file.endsWith('.d.ts') || file.includes('/node_modules/')) return null;
      const out = ts.transpileModule(code, { compilerOptions, fileName: file });
      return { code: out.outputText, map: out.sourceMapText ? JSON.parse(out.sourceMapText) : null };
    },
  };
}
