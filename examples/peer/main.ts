/**
 * `npm start`: a Peer serving a burst of calls. Prints, for each request, when it was in
 * service, so you can see lookups overlap, routing run alone, and the scheduler's choices.
 *
 * `npm start -- --debug [--deadlock] [--port N]`: the same objects, live in the web debugger
 * until Ctrl-C (debug.ts); with `--deadlock`, a deadlock is found and shown too.
 */
import { pathToFileURL } from 'node:url';
import { control, type MultiactiveEvent, newActive, onEvent, shutdown } from 'multiactive';
import { debugDemo } from './debug.js';
import { Peer } from './peer.js';

export async function main(print: (line: string) => void = console.log): Promise<string[]> {
  const events: MultiactiveEvent[] = [];
  const stop = onEvent((e) => events.push(e));
  const peer = newActive(Peer, ['p1']);

  const labels = ['add(a)', 'get(a)', 'get(b)', 'get(a)', 'log', 'add(b)', 'get(b)', 'get(c)', 'log'];
  print(`Sending, in this order: ${labels.join(' ')}`);
  const calls = [
    peer.add('a', 'alpha'),
    peer.get('a'),
    peer.get('b'),
    peer.get('a'),
    peer.log('hello'),
    peer.add('b', 'beta'),
    peer.get('b'),
    peer.get('c'),
    peer.log('bye'),
  ];
  const results = await Promise.all(calls);
  stop();

  // A text timeline: one row per request, '#' while in service.
  const t0 = events[0]!.time;
  const spans = new Map<number, { label: string; start: number; end: number }>();
  const sent = events.filter((e) => e.type === 'request.sent').map((e) => e.request.requestId);
  for (const e of events) {
    if (e.type === 'request.started') {
      const label = labels[sent.indexOf(e.request.requestId)] ?? e.request.method;
      spans.set(e.request.requestId, { label, start: e.time - t0, end: Number.NaN });
    } else if (e.type === 'request.finished') {
      const span = spans.get(e.request.requestId);
      if (span !== undefined) span.end = e.time - t0;
    }
  }
  const end = Math.max(...[...spans.values()].map((s) => s.end));
  const width = 60;
  const lines: string[] = [];
  for (const span of spans.values()) {
    const from = Math.round((span.start / end) * width);
    const to = Math.max(from + 1, Math.round((span.end / end) * width));
    const label = span.label.padEnd(7);
    lines.push(`${label}|${' '.repeat(from)}${'#'.repeat(to - from)}${' '.repeat(width - to)}|`);
  }
  print('');
  print(`Service timeline, rows in start order ('#' = in service, 0 to ${end.toFixed(0)} ms):`);
  for (const line of lines) print(line);
  print('');
  print('Results, in call order:');
  for (const [i, r] of results.entries()) {
    print(`  ${labels[i]!.padEnd(7)} -> ${r === undefined ? 'undefined' : JSON.stringify(r)}`);
  }
  print(
    `Stats after the burst: ${JSON.stringify(
      control(peer)
        .stats()
        .groups.map((g) => [g.name, g.inService]),
    )}`,
  );
  await shutdown();
  return lines;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (args.includes('--debug')) {
    const portAt = args.indexOf('--port');
    const demo = await debugDemo({
      deadlock: args.includes('--deadlock'),
      port: portAt >= 0 ? Number(args[portAt + 1]) : 0,
    });
    console.log('Serving the debugger until Ctrl-C.');
    await new Promise((resolve) => process.once('SIGINT', resolve));
    await demo.close();
  } else {
    await main();
  }
}
