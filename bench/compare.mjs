/**
 * Side by side: the same benchmark family run by two builds of this repository, alternating
 * (A B, B A, A B, ...) so that the machine's drift and noise fall on both, and the medians
 * per case of ops/s and of the per-round ratio to the family's raw baseline.
 *
 *   npm run build                                  # in both trees
 *   node bench/compare.mjs core 9 ../base .        # family, rounds, tree A, tree B
 *
 * Each round runs `node --expose-gc dist/bench/run.js --family <family>` in each tree (a child
 * process per run). Quote B/A only with the raw rows' own B/A beside it: identical code moved
 * about ±3% in `core` and ±10% in `xw-core` on a 2-core machine.
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const [family, roundsText, dirA, dirB] = process.argv.slice(2);
const rounds = Number(roundsText);
if (family === undefined || !(rounds > 0) || dirA === undefined || dirB === undefined) {
  console.error('usage: node bench/compare.mjs <family> <rounds> <treeA> <treeB>');
  process.exit(2);
}
const trees = { A: resolve(dirA), B: resolve(dirB) };
const results = { A: {}, B: {} };

/** Every case object ({ name, opsPerSec, ratio }) in a family's report, keyed by its table and name. */
function collect(value, prefix, out) {
  if (Array.isArray(value)) {
    for (const item of value) collect(item, prefix, out);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  if (typeof value.name === 'string' && typeof value.opsPerSec === 'number') {
    const key = `${prefix}${value.name}`;
    (out[key] ??= { ops: [], ratio: [] }).ops.push(value.opsPerSec);
    if (typeof value.ratio === 'number') out[key].ratio.push(value.ratio);
    return;
  }
  for (const [k, v] of Object.entries(value)) collect(v, Array.isArray(v) ? `${k}: ` : prefix, out);
}

for (let round = 0; round < rounds; round++) {
  for (const tag of round % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
    const out = execFileSync('node', ['--expose-gc', 'dist/bench/run.js', '--family', family], {
      cwd: trees[tag],
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    const json = JSON.parse(out.slice(out.indexOf('{')));
    collect(json.report ?? json, '', results[tag]);
    process.stderr.write(`round ${round + 1}/${rounds}: ${tag} done\n`);
  }
}

const median = (xs) => {
  const sorted = [...xs].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)];
};
console.log(`family ${family}, ${rounds} rounds alternating; A = ${trees.A}, B = ${trees.B}`);
console.log('case | A ops/s | B ops/s | B/A | B/A of the ratio to the raw baseline');
for (const [key, a] of Object.entries(results.A)) {
  const b = results.B[key];
  if (b === undefined) continue;
  const ops = median(b.ops) / median(a.ops);
  const ratio = a.ratio.length > 0 && b.ratio.length > 0 ? median(b.ratio) / median(a.ratio) : Number.NaN;
  const k = (x) => `${(x / 1e3).toFixed(0)} k/s`;
  console.log(`${key} | ${k(median(a.ops))} | ${k(median(b.ops))} | ${ops.toFixed(3)} | ${ratio.toFixed(3)}`);
}
