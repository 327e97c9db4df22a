/** Types for digest.mjs (a plain JavaScript task file, for piscina's threads). */
export default function digest(job: { text: string; rounds: number }): string;
