/**
 * The debugger's options, their defaults, and their validation. Every check throws the
 * package's `ArgumentError` with a message that says what to change; nothing is half-applied.
 */
import { isIP } from 'node:net';
import { ArgumentError } from '../src/index.js';

export interface DebuggerOptions {
  /** TCP port; `0` picks a free one (read it from `url`). @default 0 */
  port?: number;
  /**
   * Address to bind. Anything but a loopback address (`127.x.x.x`, `::1`, `localhost`) exposes
   * the application's method names and arguments to the network, so it requires `token`.
   * @default '127.0.0.1'
   */
  host?: string;
  /** Required by every HTTP request (`?token=` or `Authorization: Bearer`) when set. */
  token?: string;
  /** Also record every event (and polled wait graphs) to this JSON-lines file. */
  trace?: string;
  /** How many recent events the server keeps for pages opened late. @default 10_000 */
  ringSize?: number;
  /**
   * At most this many events wait for the next push to the pages (every 100 ms); beyond it the
   * oldest are dropped, and the page counts them ("dropped N"). @default 10_000
   */
  batchLimit?: number;
  /**
   * Bytes of the stream written for the pages and not yet taken by them, over all pages, at
   * most (a page that stops reading, or reads slowly, holds its backlog in the server). Past
   * it, the pages that have been behind the longest are dropped, each told why (a `dropped`
   * event before its stream ends) until the rest fit; a page that reconnects starts over. One
   * page may hold at most 16 MiB of it. Checked after every push. @default 64 MiB
   */
  maxBufferedBytes?: number;
}

export interface ResolvedOptions {
  readonly port: number;
  readonly host: string;
  readonly token: string | undefined;
  readonly trace: string | undefined;
  readonly ringSize: number;
  readonly batchLimit: number;
  readonly maxBufferedBytes: number;
}

export const defaults = {
  port: 0,
  host: '127.0.0.1',
  // 10k events is ~2 MB of JSON: with request events sampled (at most ~2000 requests a second
  // per node, ~6 events each), about the last second of a busy node; the whole run of a small
  // application.
  ringSize: 10_000,
  // 100k events a second reach a page at most: more than a browser draws, and a bound on the
  // server's memory however fast the application runs with every request observed.
  batchLimit: 10_000,
  // Four pages that stopped reading, at the most one page may hold (16 MiB); any number of
  // pages that keep up (they hold next to nothing).
  maxBufferedBytes: 64 << 20,
} as const;

export function isLoopback(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}

function shown(value: unknown): string {
  return typeof value === 'string'
    ? `${JSON.stringify(value)} (string)`
    : `\`${String(value)}\` (${typeof value})`;
}

export function resolveOptions(options: DebuggerOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentError(`Expected the debugger options to be an object, got ${shown(options)}`);
  }
  const {
    port = defaults.port,
    host = defaults.host,
    token,
    trace,
    ringSize = defaults.ringSize,
    batchLimit = defaults.batchLimit,
    maxBufferedBytes = defaults.maxBufferedBytes,
  } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ArgumentError(
      `Expected \`port\` to be an integer from 0 to 65535 (0: any free port), got ${shown(port)}`,
    );
  }
  if (typeof host !== 'string' || host === '') {
    throw new ArgumentError(`Expected \`host\` to be a non-empty string, got ${shown(host)}`);
  }
  if (token !== undefined && (typeof token !== 'string' || token === '')) {
    throw new ArgumentError(`Expected \`token\` to be a non-empty string, got ${shown(token)}`);
  }
  if (trace !== undefined && (typeof trace !== 'string' || trace === '')) {
    throw new ArgumentError(`Expected \`trace\` to be a file path, got ${shown(trace)}`);
  }
  if (!Number.isInteger(ringSize) || ringSize < 1) {
    throw new ArgumentError(`Expected \`ringSize\` to be an integer >= 1, got ${shown(ringSize)}`);
  }
  if (!Number.isInteger(batchLimit) || batchLimit < 1) {
    throw new ArgumentError(`Expected \`batchLimit\` to be an integer >= 1, got ${shown(batchLimit)}`);
  }
  if (!Number.isInteger(maxBufferedBytes) || maxBufferedBytes < 1) {
    throw new ArgumentError(
      `Expected \`maxBufferedBytes\` to be an integer >= 1 (bytes), got ${shown(maxBufferedBytes)}`,
    );
  }
  if (!isLoopback(host) && token === undefined) {
    throw new ArgumentError(
      `The debugger would serve the application's method names and arguments on \`${host}\`, beyond this machine. ` +
        'Pass a `token` (or set MULTIACTIVE_DEBUG_TOKEN) that every request must carry, or bind 127.0.0.1.',
    );
  }
  return { port, host, token, trace, ringSize, batchLimit, maxBufferedBytes };
}
