/**
 * Small helpers that render values and names in `DefinitionError` messages. Cold path only
 * (class definition), so clarity wins over speed.
 */

/** Render a value as it would be written in source: `'lookup'`, `['a', 'b']`, `4`, `Infinity`. */
export function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'function') return value.name ? `function ${value.name}` : 'function';
  if (typeof value === 'symbol' || typeof value === 'bigint') return String(value);
  if (value === null || typeof value !== 'object') return String(value);
  const entries = Object.entries(value).map(([key, v]) => `${key}: ${literal(v)}`);
  return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
}

/** Describe an offending value with its type: `` `0` (number) ``, `` `'x'` (string) ``. */
export function show(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `\`${literal(value)}\` (${type})`;
}

/** `routing, lookup, monitoring`, or `none`. */
export function nameList(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

/** ` Did you mean `routing`?` when a candidate is within a small edit distance, else ''. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    // Never suggest a name that shares (almost) nothing with the given one: `q` is not `a`.
    if (d < bestDistance && d < Math.min(name.length, candidate.length)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` Did you mean \`${best}\`?`;
}

/** Levenshtein distance. Time: O(|a|·|b|), on group and option names only. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** A class's name for messages. */
export function classNameOf(cls: { readonly name?: unknown }): string {
  return typeof cls.name === 'string' && cls.name !== '' ? cls.name : '(anonymous class)';
}
