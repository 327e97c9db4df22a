/**
 * The page builds its DOM only through these helpers. Application text (class, method and
 * group names, arguments, error messages) becomes text nodes or attribute values set with
 * `setAttribute`: never markup. Nothing in the page uses innerHTML, and the server's
 * Content-Security-Policy refuses inline scripts anyway.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * @typedef {Node | string | number | null | undefined | false | Child[]} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>} Attributes
 */

/**
 * @param {Element} element
 * @param {Attributes} attributes `on*` functions become listeners; `false`/`null`/`undefined` are skipped
 * @param {Child[]} children strings become text nodes
 */
function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    // `on*` attributes would be code; `href`/`src` could be `javascript:` URLs. Never set them from here.
    else if (/^on|^href$|^src$/i.test(name)) throw new Error(`dom.js refuses the attribute ${name}`);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** @param {Element} element @param {Child[]} children */
function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (typeof child === 'string' || typeof child === 'number')
      element.append(document.createTextNode(String(child)));
    else element.append(child);
  }
}

/** An HTML element. @param {string} tag @param {Attributes} [attributes] @param {...Child} children */
export function h(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element. @param {string} tag @param {Attributes} [attributes] @param {...Child} children */
export function s(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

/** An arrowhead marker, to put in an SVG's `<defs>`. @param {string} id @param {string} className */
export function arrowMarker(id, className) {
  return s(
    'marker',
    {
      id,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    },
    s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: className }),
  );
}

/** `12.3 ms`, `1.24 s`. @param {number} ms */
export function duration(ms) {
  if (ms === 0) return '0';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
