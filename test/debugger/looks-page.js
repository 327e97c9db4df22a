/**
 * Runs in the debugger page (see looks.ts, which evaluates this file's text there): what a
 * person sees, from the browser's computed styles. Colours and WCAG contrast ratios
 * (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio). Plain JavaScript: it is not compiled.
 */

/** `rgb(1, 2, 3)` / `rgba(1, 2, 3, 0.5)` as [r, g, b, a]; `undefined` for anything else. @param {string} colour */
function rgba(colour) {
  const m = colour.match(/rgba?\(([^)]+)\)/);
  if (m === null) return undefined;
  const parts = m[1]
    .split(/[,\s/]+/)
    .filter(Boolean)
    .map(Number);
  return parts.length === 3 ? [...parts, 1] : parts;
}

/** @param {number[]} colour */
function luminance(colour) {
  const [r, g, b] = colour.slice(0, 3).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** @param {number[]} a @param {number[]} b */
function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** A shape's fill as a colour: a pattern stands for the fill of its first shape. @param {Element} element */
function fillOf(element) {
  const fill = getComputedStyle(element).fill;
  const ref = fill.match(/url\("?#([^")]+)"?\)/);
  if (ref !== null) {
    const first = document.getElementById(ref[1])?.querySelector('rect, path');
    return first ? fillOf(first) : undefined;
  }
  const colour = rgba(fill);
  return colour !== undefined && colour[3] > 0 ? colour : undefined;
}

/** The nearest ancestor's background colour (white if none). @param {Element | null} element */
function htmlBackground(element) {
  for (let e = element; e !== null; e = e.parentElement) {
    const colour = rgba(getComputedStyle(e).backgroundColor);
    if (colour !== undefined && colour[3] > 0) return colour;
  }
  return [255, 255, 255, 1];
}

/** @param {Element} e */
function named(e) {
  const cls = e.getAttribute('class');
  return `<${e.tagName.toLowerCase()}${cls ? ` class="${cls}"` : ''}> "${(e.textContent ?? '').trim().slice(0, 40)}"`;
}

/** @param {Element} e */
function visible(e) {
  const r = e.getBoundingClientRect();
  const style = getComputedStyle(e);
  return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
}

/**
 * For each element matching `selector` (a group of a shape and its label): the label's and the
 * shape's computed fills, the contrast between them, and whether the label lies inside the shape.
 * @param {string} selector @param {string} shape @param {string} label
 */
function labelOnShape(selector, shape, label) {
  return [...document.querySelectorAll(selector)].map((group) => {
    const box = group.querySelector(shape);
    const text = group.querySelector(label);
    const fill = getComputedStyle(text).fill;
    const background = getComputedStyle(box).fill;
    const t = text.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    return {
      what: text.textContent ?? '',
      fill,
      background,
      contrast: contrast(rgba(fill), rgba(background)),
      inside: t.left >= b.left && t.right <= b.right && t.top >= b.top && t.bottom <= b.bottom,
    };
  });
}

/**
 * Everything under `root` that a person would find hard or impossible to see, as sentences
 * (none: fine): an SVG shape outside `<defs>` painted the SVG default, black (a style that
 * missed it); a line or unfilled shape without a stroke (invisible); text whose colour has a
 * contrast under `minContrast` with what is behind it: for SVG text its own halo
 * (`paint-order: stroke`), else the topmost filled shape under its centre, else the page; for
 * HTML text the nearest ancestor with a background colour (else white).
 * @param {string} root @param {number} minContrast
 */
function unreadable(root, minContrast) {
  const problems = [];
  const scope = document.querySelector(root);
  if (scope === null) return [`nothing matches ${root}`];
  for (const shape of scope.querySelectorAll(
    'svg rect, svg path, svg circle, svg ellipse, svg polygon, svg line',
  )) {
    if (shape.closest('defs') !== null) continue;
    const style = getComputedStyle(shape);
    if (shape.tagName !== 'line' && style.fill === 'rgb(0, 0, 0)')
      problems.push(`${named(shape)} is painted the SVG default, black`);
    if ((shape.tagName === 'line' || style.fill === 'none') && style.stroke === 'none')
      problems.push(`${named(shape)} has neither fill nor stroke`);
  }
  for (const text of scope.querySelectorAll('svg text')) {
    if (!visible(text) || (text.textContent ?? '').trim() === '') continue;
    const style = getComputedStyle(text);
    const colour = rgba(style.fill);
    if (colour === undefined) {
      problems.push(`${named(text)} has no fill colour (${style.fill})`);
      continue;
    }
    let behind;
    if (style.paintOrder.startsWith('stroke') && Number.parseFloat(style.strokeWidth) >= 2)
      behind = rgba(style.stroke);
    if (behind === undefined) {
      const r = text.getBoundingClientRect();
      for (const under of document.elementsFromPoint(r.x + r.width / 2, r.y + r.height / 2)) {
        if (under === text || under.tagName === 'text' || under.tagName === 'line') continue;
        if (under instanceof SVGElement && under.tagName !== 'svg') {
          const fill = fillOf(under);
          if (fill !== undefined) {
            behind = fill;
            break;
          }
          continue;
        }
        behind = htmlBackground(under);
        break;
      }
    }
    behind ??= htmlBackground(text.closest('svg')?.parentElement ?? null);
    const ratio = contrast(colour, behind);
    if (ratio < minContrast)
      problems.push(
        `${named(text)}: contrast ${ratio.toFixed(2)} (${style.fill} on rgb(${behind.slice(0, 3).join(', ')}))`,
      );
  }
  const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
    const element = node.parentElement;
    if (element === null || seen.has(element) || element.closest('svg') !== null) continue;
    if ((node.textContent ?? '').trim() === '' || !visible(element)) continue;
    seen.add(element);
    const ratio = contrast(rgba(getComputedStyle(element).color), htmlBackground(element));
    if (ratio < minContrast) problems.push(`${named(element)}: contrast ${ratio.toFixed(2)}`);
  }
  return problems;
}

globalThis.__looks = { labelOnShape, unreadable };
