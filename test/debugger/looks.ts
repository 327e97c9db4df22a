/**
 * What a person sees on the debugger page, from the browser's computed styles (the code that
 * runs in the page is looks-page.js: plain JavaScript, since the tests are compiled without the
 * DOM's types).
 */
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

const inPage = readFileSync(new URL('./looks-page.js', import.meta.url), 'utf8');

/** A label drawn on a shape, as seen. */
export interface Look {
  readonly what: string;
  /** The label's computed fill, `rgb(...)`. */
  readonly fill: string;
  /** The shape's computed fill. */
  readonly background: string;
  /** WCAG contrast ratio of the two (1 to 21). */
  readonly contrast: number;
  /** Whether the label's box lies inside the shape's. */
  readonly inside: boolean;
}

function call<T>(page: Page, name: string, args: unknown[]): Promise<T> {
  // Evaluated through the DevTools protocol: the page's Content-Security-Policy does not apply.
  return page.evaluate(`${inPage}\n;globalThis.__looks.${name}(...${JSON.stringify(args)})`) as Promise<T>;
}

/** Per element matching `selector`: how its `label` looks on its `shape`. */
export function labelOnShape(page: Page, selector: string, shape: string, label: string): Promise<Look[]> {
  return call(page, 'labelOnShape', [selector, shape, label]);
}

/**
 * What under `root` is hard or impossible to see, as sentences (none: fine): SVG shapes in the
 * default black, invisible lines, text under `minContrast` against what is behind it.
 */
export function unreadable(page: Page, root: string, minContrast = 4.5): Promise<string[]> {
  return call(page, 'unreadable', [root, minContrast]);
}
