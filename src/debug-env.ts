/**
 * `MULTIACTIVE_DEBUG=<port>` attaches the web debugger without code changes (docs/deadlocks.md).
 *
 * src/ does not depend on the debugger: only when the variable is set, and only on the main
 * thread, the package loads its own optional entry `multiactive/debugger` by name (the
 * specifier is a value, so nothing here is typed against it) and calls its
 * `attachFromEnv()`. A debugger that cannot be loaded is a warning, never a failure.
 */
import { isMainThread } from 'node:worker_threads';

const requested = process.env.MULTIACTIVE_DEBUG;
if (isMainThread && requested !== undefined && requested !== '') {
  const entry: string = 'multiactive/debugger';
  const warn = (error: unknown): void =>
    process.emitWarning(
      `multiactive: MULTIACTIVE_DEBUG is set, but the debugger could not start: ${String(error)}`,
      {
        code: 'MULTIACTIVE_DEBUG',
      },
    );
  import(entry)
    .then((debuggerEntry: { attachFromEnv?: () => unknown }) => debuggerEntry.attachFromEnv?.())
    .catch(warn);
}
