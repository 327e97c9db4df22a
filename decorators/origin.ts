/**
 * Where a class is defined: its module URL, captured when its first class decorator is
 * applied (the decorators of a class are applied by code in the class's own module, whether
 * the helpers are inlined or come from tslib or reflect-metadata). Worker nodes import the
 * class from there (no registration). Read from the call stack, skipping this library's frames.
 *
 * The stack is read as V8's structured call sites (`getFileName()`), not as the `stack`
 * string: under `node --enable-source-maps` or tsx the string is source-mapped, so a frame
 * of the built package (`dist/decorators/decorators.js`) reads as the source it came from
 * (`decorators/decorators.ts`, outside `dist/`), and an application's compiled module reads
 * as its `.ts` source, which a worker without tsx cannot import. The call sites name the code
 * that actually runs: the URL of an ES module, the path of a CommonJS one. Node passes a
 * replaced `Error.prepareStackTrace` V8's own call sites, with or without source maps (checked
 * on Node 20; Node >= 20.12 also defines a default `Error.prepareStackTrace`, which is put
 * back). The string is parsed only where call sites are not available (a runtime without
 * V8's stack trace API).
 *
 * Cost: one captured stack of at most `FRAMES` frames per decorated class, once.
 */

const origins = new WeakMap<object, string>();

/**
 * The folders of this library's modules: next to this one (in the sources, or in `dist/`),
 * and, for a build, the sources its source maps point to (one level up), which is where a
 * source-mapped `stack` string places its frames.
 */
const libraryRoots = [new URL('..', import.meta.url).href];
if (libraryRoots[0]!.endsWith('/dist/')) libraryRoots.push(new URL('../..', import.meta.url).href);
const ownFolders = libraryRoots.flatMap((root) =>
  ['decorators/', 'src/', 'scheduler/'].map((folder) => root + folder),
);

/** Packages that apply decorators on behalf of the class's module (`__decorate` delegates). */
const DECORATOR_HELPERS = [
  '/node_modules/tslib/',
  '/node_modules/reflect-metadata/',
  '/node_modules/@swc/helpers/',
  '/node_modules/@babel/runtime/',
];

/**
 * Frames captured: the class's module is reached after this library's two or three frames
 * and at most a few of a decorator helper (reflect-metadata's `decorate` adds two), whatever
 * `Error.stackTraceLimit` the application set.
 */
const FRAMES = 32;

/** V8's stack trace API (Node, Deno, Chromium; Bun implements it too). */
interface CallSite {
  getFileName(): string | null | undefined;
  getFunctionName(): string | null | undefined;
}

interface Frame {
  readonly fileName: string | undefined;
  readonly functionName: string | undefined;
}
interface V8ErrorConstructor {
  prepareStackTrace?: ((error: Error, frames: CallSite[]) => unknown) | undefined;
  stackTraceLimit?: number | undefined;
  captureStackTrace?: (target: object, constructorOpt?: object) => void;
}

/**
 * The file names of the frames that called `callerModule`, innermost first, as the engine
 * runs them (never source-mapped); undefined without V8's API. `Error.prepareStackTrace` and
 * `Error.stackTraceLimit` are replaced only while the stack is formatted (V8 formats a
 * captured stack at the first read of `stack`, so it is read before they are restored).
 */
function frameFileNames(): (string | undefined)[] | undefined {
  return frames(callerModule)?.map((frame) => frame.fileName);
}

/** The frames that called `below`, innermost first, as the engine runs them; undefined without V8's API. */
function frames(below: Function): Frame[] | undefined {
  const V8Error = Error as unknown as V8ErrorConstructor;
  if (typeof V8Error.captureStackTrace !== 'function') return undefined;
  const hadPrepare = Object.hasOwn(Error, 'prepareStackTrace');
  const savedPrepare = V8Error.prepareStackTrace;
  const savedLimit = V8Error.stackTraceLimit;
  try {
    V8Error.stackTraceLimit = FRAMES;
    V8Error.prepareStackTrace = (_error, sites) =>
      sites.map((site) => ({
        fileName: site.getFileName() ?? undefined,
        functionName: site.getFunctionName() ?? undefined,
      }));
    const holder: { stack?: unknown } = {};
    V8Error.captureStackTrace(holder, below);
    return Array.isArray(holder.stack) ? (holder.stack as Frame[]) : undefined;
  } catch {
    return undefined;
  } finally {
    if (hadPrepare) V8Error.prepareStackTrace = savedPrepare;
    else delete V8Error.prepareStackTrace;
    V8Error.stackTraceLimit = savedLimit;
  }
}

/** `file:///a/b.ts:3:4`, `/a/b.ts:3:4`, `(file:///a/b.ts:3:4)` -> `file:///a/b.ts`. */
const LOCATION = /(file:\/\/[^\s()]+?|\/[^\s():]+?)(?::\d+){1,2}\)?$/;

/** The file names in the `stack` string (source-mapped where source maps are on). */
function stackStringFileNames(): string[] {
  const stack = new Error().stack ?? '';
  return stack
    .split('\n')
    .slice(1)
    .flatMap((line) => LOCATION.exec(line.trim())?.[1] ?? []);
}

/**
 * A frame's file name as a module URL without its query (tsx and vitest may add one):
 * ES modules are named by URL, CommonJS ones by an absolute path (POSIX or Windows).
 * Anything else (`node:internal/...`, `evalmachine.<anonymous>`, `native`) is no module.
 */
function toModuleUrl(fileName: string): string | undefined {
  let url: URL;
  if (fileName.startsWith('file:')) url = new URL(fileName);
  else if (fileName.startsWith('/') || /^[A-Za-z]:[\\/]/.test(fileName)) {
    const path = fileName.replaceAll('\\', '/').replace(/^(?=[A-Za-z]:)/, '/');
    // `%`, `#` and `?` are file name characters here, not URL syntax.
    url = new URL(`file://${path.replace(/%/g, '%25').replace(/#/g, '%23').replace(/\?/g, '%3F')}`);
  } else return undefined;
  url.search = '';
  url.hash = '';
  return url.href;
}

/** The first module on the stack that is not this library (nor a decorator helper). */
function callerModule(): string | undefined {
  for (const fileName of frameFileNames() ?? stackStringFileNames()) {
    if (fileName === undefined) continue;
    const url = toModuleUrl(fileName);
    if (url === undefined) continue;
    if (ownFolders.some((folder) => url.startsWith(folder))) continue;
    if (DECORATOR_HELPERS.some((helper) => url.includes(helper))) continue;
    return url;
  }
  return undefined;
}

/**
 * Whether the code running this library now was called by hand rather than by decorator
 * syntax: the first frame outside this library is neither a decorator helper package nor a
 * function named like one (`__decorate` of tsc and tslib, `__decorateClass` of esbuild,
 * `_ts_decorate` of swc, reflect-metadata's `DecorateConstructor`). False when it cannot be
 * told. Cold path only: read when a legacy decorator's check fails.
 *
 * @internal
 */
export function calledByHand(): boolean {
  for (const frame of frames(calledByHand) ?? []) {
    if (frame.fileName === undefined) continue;
    const url = toModuleUrl(frame.fileName);
    if (url === undefined) continue;
    if (ownFolders.some((folder) => url.startsWith(folder))) continue;
    if (DECORATOR_HELPERS.some((helper) => url.includes(helper))) return false;
    return !/decorat/i.test(frame.functionName ?? '');
  }
  return false;
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
