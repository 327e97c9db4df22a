/**
 * `node dist/debugger/cli.js to-chrome <in.jsonl> <out.json>`: converts a trace file (written
 * by `recordTrace` or `attachDebugger({ trace })`) to the Chrome trace format, for Perfetto
 * (https://ui.perfetto.dev) or chrome://tracing. In the repository: `npx tsx debugger/cli.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { toChromeTrace } from './chrome-trace.js';
import { readTrace } from './trace.js';

const usage = 'usage: node dist/debugger/cli.js to-chrome <trace.jsonl> <out.json>';

export function cli(args: readonly string[], print: (line: string) => void = console.log): number {
  const [command, input, output] = args;
  if (command !== 'to-chrome' || input === undefined || output === undefined || args.length !== 3) {
    print(usage);
    return 2;
  }
  const trace = readTrace(readFileSync(input, 'utf8'));
  const chrome = toChromeTrace(trace.events);
  writeFileSync(output, JSON.stringify(chrome));
  print(
    `${output}: ${chrome.traceEvents.length} trace events from ${trace.events.length} events (open in https://ui.perfetto.dev)`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = cli(process.argv.slice(2));
}
