/**
 * "Without hanging" made checkable: a promise that settles as `promise` does, or rejects with a
 * `Timeout` naming `what` once `ms` have passed. Tests wait on the event they expect through it,
 * never on a sleep.
 */
export class Timeout extends Error {}

export function within<T>(promise: PromiseLike<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Timeout(`${what} did not settle within ${ms} ms`)), ms);
    Promise.resolve(promise).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
