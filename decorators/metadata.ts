/**
 * `Symbol.metadata` polyfill (side effect on import).
 *
 * TC39 standard decorators share data between the decorators of one class through
 * `context.metadata`, an object that TypeScript creates per class only when `Symbol.metadata`
 * exists at the moment the class is defined (and then stores as `Cls[Symbol.metadata]`). Node 20
 * has no `Symbol.metadata`, so without this module `context.metadata` is `undefined` and
 * `@MemberOf` could not tell the class decorators what it saw.
 *
 * Who must import it: `decorators/index.ts` (first), and every module of this folder that reads
 * the symbol, so the polyfill is installed before any decorated class is evaluated (ES modules
 * evaluate their imports first). `Symbol.for('Symbol.metadata')` is the key TypeScript's and
 * esbuild's helpers and other polyfills agree on, so metadata written by other libraries stays
 * visible.
 */

interface SymbolWithMetadata {
  metadata?: symbol;
}

const symbolConstructor = Symbol as unknown as SymbolWithMetadata;
if (symbolConstructor.metadata === undefined) {
  // Non-enumerable and non-writable, like a real well-known symbol.
  Object.defineProperty(Symbol, 'metadata', {
    value: Symbol.for('Symbol.metadata'),
    configurable: true,
    enumerable: false,
    writable: false,
  });
}

/** `Symbol.metadata` (native or polyfilled): the key of `Cls[Symbol.metadata]`. */
export const metadataSymbol: symbol = symbolConstructor.metadata ?? Symbol.for('Symbol.metadata');
