/**
 * The pipeline's CPU-bound task: a pure function that the piscina pool runs in its threads. A
 * plain .mjs file, because piscina loads it by file name in threads where no TypeScript loader
 * runs (docs/cpu-helpers.md).
 *
 * Hashes `text` with SHA-256, then hashes the hex digest again, `rounds` times in all.
 * @param {{ text: string, rounds: number }} job
 * @returns {string} the last hex digest
 */
import { createHash } from 'node:crypto';

export default function digest({ text, rounds }) {
  let value = text;
  for (let i = 0; i < rounds; i++) value = createHash('sha256').update(value).digest('hex');
  return value;
}
