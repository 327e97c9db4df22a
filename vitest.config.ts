/**
 * The suite runs twice: once with TC39 standard decorators, once with
 * `experimentalDecorators` + `emitDecoratorMetadata` (and reflect-metadata loaded).
 * Both compile through `ts.transpileModule`, so the emitted decorator code is tsc's own.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { tsTranspile } from './test/support/ts-transform.js';

const entry = fileURLToPath(new URL('./src/index.ts', import.meta.url));
const debuggerEntry = fileURLToPath(new URL('./debugger/index.ts', import.meta.url));

function project(mode: 'standard' | 'legacy') {
  return {
    esbuild: false as const,
    plugins: [tsTranspile(mode)],
    // Exact matches: `multiactive` must not also rewrite `multiactive/debugger`.
    resolve: {
      alias: [
        { find: /^multiactive$/, replacement: entry },
        { find: /^multiactive\/debugger$/, replacement: debuggerEntry },
      ],
    },
    test: {
      name: mode,
      include: ['test/**/*.test.ts'],
      setupFiles: mode === 'legacy' ? ['test/support/legacy-setup.ts'] : [],
      env: { MULTIACTIVE_DECORATORS: mode },
      testTimeout: 20_000,
      hookTimeout: 20_000,
    },
  };
}

export default defineConfig({
  test: {
    projects: [project('standard'), project('legacy')],
    reporters: ['default', './test/support/count-reporter.ts'],
  },
});
