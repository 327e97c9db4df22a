/**
 * comlink 4.4 has no `exports` map, and its ESM files (.mjs) ship without declarations
 * beside them (TS7016). The benchmark imports the ESM builds on both sides of a worker, so
 * these re-declare them from the package's own types.
 */
declare module 'comlink/dist/esm/comlink.mjs' {
  export * from 'comlink';
}

declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink';
  /** A Node `Worker` or `MessagePort`. */
  export interface NodeEndpoint {
    postMessage(message: unknown, transfer?: readonly unknown[]): void;
    on(type: string, listener: (value: unknown) => void): void;
    off(type: string, listener: (value: unknown) => void): void;
    start?: () => void;
  }
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}
