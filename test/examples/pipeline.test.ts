/**
 * examples/pipeline keeps working, and shows what it claims: every document comes out of the
 * pipeline once, with the right digest (computed here, independently), and the Digester, under
 * a soft limit of 1, has many requests in service but never more than one active: the others
 * wait by necessity (for the Source's futures and, through `waitFor`, for the pool).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/pipeline/main.js';

function digest(text: string, rounds: number): string {
  let value = text;
  for (let i = 0; i < rounds; i++) value = createHash('sha256').update(value).digest('hex');
  return value;
}

describe('examples/pipeline', () => {
  it('digests every document once and correctly, with many requests in flight and one active', async () => {
    const printed: string[] = [];
    const run = await main((line) => printed.push(line), 24);

    const ids = Array.from({ length: 24 }, (_, id) => String(id));
    expect(Object.keys(run.results).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const text = `document ${id}: ${'lorem ipsum '.repeat(1 + (Number(id) % 5))}`;
      expect(run.results[Number(id)], `document ${id}`).toBe(digest(text, 2000));
    }
    expect(run.expected).toEqual(run.results);
    expect(run.digested).toBe(24);

    expect(run.maxActive).toBe(1);
    expect(run.maxInService).toBeGreaterThan(2);
    expect(printed[0]).toMatch(/^24 documents through source -> digester -> sink in \d+ ms$/);
    expect(printed).toContain(
      `digest requests in service at once: up to ${run.maxInService}; active at once: up to 1 (soft limit 1)`,
    );
    expect(printed).toContain('results: 24 collected, 24 correct, last count 24');
  });
});
