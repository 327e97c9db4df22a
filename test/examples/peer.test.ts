/**
 * The main demo (`npm start`) keeps working: run it and check what its timeline shows.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../examples/peer/main.js';

describe('examples/peer', () => {
  it('runs, and its timeline shows lookups overlapping and routing changes alone', async () => {
    const printed: string[] = [];
    const rows = await main((line) => printed.push(line));
    expect(rows).toHaveLength(9);
    const span = (row: string): [number, number] => {
      const bar = row.slice(row.indexOf('|') + 1, row.lastIndexOf('|'));
      return [bar.indexOf('#'), bar.lastIndexOf('#')];
    };
    const routing = rows.filter((r) => r.startsWith('add'));
    const lookups = rows.filter((r) => r.startsWith('get'));
    expect(routing).toHaveLength(2);
    // No lookup overlaps a routing change.
    for (const r of routing) {
      const [rs, re] = span(r);
      for (const l of lookups) {
        const [ls, le] = span(l);
        expect(le < rs || ls > re).toBe(true);
      }
    }
    expect(printed.some((l) => l.includes('get(a)  -> {"value":"alpha","version":1}'))).toBe(true);
  });
});
