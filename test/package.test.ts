/**
 * The published shape works: `tsc` builds the package, and a plain Node process (no tsx, no
 * vitest) imports it by name through its `exports` map and serves calls. Decorator modes do
 * not matter here, so it runs in one vitest project only (two builds would race on dist/).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe.skipIf(process.env.MULTIACTIVE_DECORATORS === 'legacy')('the built package', () => {
  it('builds with tsc and serves calls when imported by name from plain Node', () => {
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        stdio: 'pipe',
      },
    );
    const dir = mkdtempSync(join(tmpdir(), 'multiactive-pkg-'));
    try {
      // A script inside the package resolves `multiactive` through package self-reference.
      const script = join(root, 'dist', `smoke-${process.pid}.mjs`);
      writeFileSync(
        script,
        `import { newActive, control, Future } from 'multiactive';
         class Counter { n = 0; inc(by) { return (this.n += by); } }
         const c = newActive(Counter);
         const values = await Promise.all([c.inc(1), c.inc(2), c.inc(3)]);
         console.log(JSON.stringify({ values, limit: control(c).limit, future: Future.isFuture(c.inc(0)) }));`,
      );
      try {
        const out = execFileSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
        expect(JSON.parse(out)).toEqual({ values: [1, 3, 6], limit: null, future: true });
      } finally {
        rmSync(script, { force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
