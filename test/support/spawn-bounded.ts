/**
 * A child process with a bound: run in its own process group (tsx, npm and the tools they start
 * are killed with it), its output collected, and killed at `timeoutMs`. Always resolves; the
 * caller says what an exit code, a start failure or a timeout means for its test.
 */
import { spawn } from 'node:child_process';

export interface Spawned {
  readonly stdout: string;
  readonly stderr: string;
  /** Exit code, or the signal that ended it; undefined if it could not start. */
  readonly exit: number | NodeJS.Signals | undefined;
  readonly timedOut: boolean;
  /** Why it could not start. */
  readonly error: Error | undefined;
}

export function spawnBounded(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs: number },
): Promise<Spawned> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      ...(options.env === undefined ? {} : { env: options.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exit: undefined, timedOut: false, error });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, exit: code ?? signal ?? undefined, timedOut, error: undefined });
    });
  });
}
