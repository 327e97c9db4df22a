/**
 * `multiactive/debugger`: a web page that shows a running application's active objects, their
 * queues and why each request waits, a service timeline, and deadlocks; plus trace files and
 * their export to Perfetto. See docs/debugger.md.
 *
 * It consumes only the package's public entry (the event stream, `waitGraph`, `findDeadlocks`,
 * `configureDeadlocks`); nothing in the runtime imports it, except the lazy dynamic import of
 * this entry done when `MULTIACTIVE_DEBUG` is set.
 * @module multiactive/debugger
 */
import { ArgumentError, configureDeadlocks } from '../src/index.js';
import { type AttachOptions, attachDebugger, type DebuggerHandle } from './server.js';

export { type ChromeTrace, type ChromeTraceEvent, toChromeTrace } from './chrome-trace.js';
export { jsonSafe, type SafeError } from './json-safe.js';
export type { DebuggerOptions } from './options.js';
export {
  type AttachOptions,
  attachDebugger,
  type DebuggerHandle,
  type DebuggerStats,
} from './server.js';
export {
  type RecordTraceOptions,
  readTrace,
  recordTrace,
  type Trace,
  type TraceHeader,
  type TraceLine,
  type TraceRecording,
  type TraceWaits,
} from './trace.js';

/**
 * Attaches the debugger as the environment says, or returns `undefined` when
 * `MULTIACTIVE_DEBUG` is unset or empty. Called by the runtime on the main thread.
 *
 * - `MULTIACTIVE_DEBUG=<port>`: the port (`0`: any free port);
 * - `MULTIACTIVE_DEBUG_HOST`: the address to bind (default 127.0.0.1; others need a token);
 * - `MULTIACTIVE_DEBUG_TOKEN`: the token every request must carry;
 * - `MULTIACTIVE_DEBUG_TRACE`: also record a trace file there;
 * - `MULTIACTIVE_DEBUG_KEEP=1`: keep serving after the program is done (by default the
 *   debugger does not keep the process alive).
 *
 * Prints `multiactive debugger: <url>` to stderr and turns deadlock detection on. A bad value
 * rejects the promise with `ArgumentError`.
 */
export function attachFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<DebuggerHandle> | undefined {
  const raw = env.MULTIACTIVE_DEBUG;
  if (raw === undefined || raw.trim() === '') return undefined;
  return (async () => {
    if (!/^\d+$/.test(raw.trim())) {
      throw new ArgumentError(
        `Expected MULTIACTIVE_DEBUG to be a port number (0: any free port), got ${JSON.stringify(raw)}`,
      );
    }
    const options: AttachOptions = {
      port: Number(raw.trim()),
      keepAlive: env.MULTIACTIVE_DEBUG_KEEP === '1',
    };
    if (env.MULTIACTIVE_DEBUG_HOST) options.host = env.MULTIACTIVE_DEBUG_HOST;
    if (env.MULTIACTIVE_DEBUG_TOKEN) options.token = env.MULTIACTIVE_DEBUG_TOKEN;
    if (env.MULTIACTIVE_DEBUG_TRACE) options.trace = env.MULTIACTIVE_DEBUG_TRACE;
    const handle = await attachDebugger(options);
    configureDeadlocks({ detect: true });
    process.stderr.write(`multiactive debugger: ${handle.url}\n`);
    return handle;
  })();
}
export type { ModeMarker } from './subscription.js';
