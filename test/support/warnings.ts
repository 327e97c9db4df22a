/**
 * Capture the process warnings of one code for the rest of the current test, so a test that
 * expects a warning asserts it instead of letting Node print it (a printed
 * `[CODE] Warning:` block reads like a failure in the test output). Warnings of other codes
 * go through to Node as usual. `process.emitWarning` is replaced (a 'warning' listener would
 * not stop Node's own printing) and put back when the test finishes.
 */
import { onTestFinished, vi } from 'vitest';

export interface CapturedWarning {
  readonly message: string;
  readonly code: string | undefined;
}

/** The warning's code, from `emitWarning(message, { code })` or `emitWarning(message, type, code)`. */
function codeOf(args: readonly unknown[]): string | undefined {
  const [, second, third] = args;
  if (typeof second === 'object' && second !== null && 'code' in second) {
    const code: unknown = (second as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return typeof third === 'string' ? third : undefined;
}

/** Start capturing warnings of `code`; returns the list, filled as they are emitted. */
export function captureWarnings(code: string): CapturedWarning[] {
  const captured: CapturedWarning[] = [];
  const original = process.emitWarning.bind(process);
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation((...args: unknown[]) => {
    const warningCode = codeOf(args);
    if (warningCode !== code) {
      (original as (...a: unknown[]) => void)(...args);
      return;
    }
    const [warning] = args;
    captured.push({ message: warning instanceof Error ? warning.message : String(warning), code });
  });
  onTestFinished(() => spy.mockRestore());
  return captured;
}
