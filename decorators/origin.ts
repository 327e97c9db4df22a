/**
 * Where a class is defined: its module URL, captured when its first class decorator is
 * applied (the decorators of a class are applied by code in the class's own module, whether
 * the helpers are inlined or come from tslib or reflect-metadata). Worker nodes import the class from there
 * (SPEC §8: no registration). Read from the call stack, skipping this library's frames.
 */

const origins = new WeakMap<object, string>();

/** The root of this library (source tree or dist/): frames under it are ours. */
const libraryRoot = new URL('..', import.meta.url).href;
const ownFolders = ['decorators/', 'src/', 'scheduler/'].map((folder) => libraryRoot + folder);

/** Packages that apply decorators on behalf of the class's module (`__decorate` delegates). */
const DECORATOR_HELPERS = [
  '/node_modules/tslib/',
  '/node_modules/reflect-metadata/',
  '/node_modules/@swc/helpers/',
  '/node_modules/@babel/runtime/',
];

/** `file:///a/b.ts:3:4`, `/a/b.ts:3:4`, `(file:///a/b.ts:3:4)` -> `file:///a/b.ts`. */
const LOCATION = /(file:\/\/[^\s()]+?|\/[^\s():]+?)(?::\d+){1,2}\)?$/;

function toUrl(location: string): string {
  const clean = location.split('?')[0] ?? location;
  return clean.startsWith('file://') ? clean : `file://${encodeURI(clean)}`;
}

/** The first module on the stack that is not this library (nor tslib). */
function callerModule(): string | undefined {
  const stack = new Error().stack;
  if (stack === undefined) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const match = LOCATION.exec(line.trim());
    if (match === null) continue;
    const url = toUrl(match[1]!);
    if (ownFolders.some((folder) => url.startsWith(folder))) continue;
    if (DECORATOR_HELPERS.some((helper) => url.includes(helper))) continue;
    return url;
  }
  return undefined;
}

/** Called by every class decorator when applied; the first call for a class wins. */
export function recordOrigin(cls: object): void {
  if (origins.has(cls)) return;
  const url = callerModule();
  if (url !== undefined) origins.set(cls, url);
}

/** The module URL a decorated class was defined in, if it could be told. */
export function originOf(cls: object): string | undefined {
  return origins.get(cls);
}
