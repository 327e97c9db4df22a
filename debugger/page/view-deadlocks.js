/**
 * View 4, deadlocks: every cycle reported by detection (`deadlock.found`) or found with the
 * "Find deadlocks now" button, drawn as a ring of requests (each waits for the next, the
 * arrow labelled with the rule), then explained in words, step by step.
 */
import { arrowMarker, h, s } from './dom.js';

const BOX_W = 200;
const BOX_H = 44;

/**
 * @param {import('./model.js').Model} model
 * @param {{ live: boolean, status: string, findNow(): void }} options
 */
export function deadlocksView(model, options) {
  const tools = options.live
    ? h(
        'p',
        { class: 'tools-line' },
        h(
          'button',
          { type: 'button', id: 'find-deadlocks', onclick: () => options.findNow() },
          'Find deadlocks now',
        ),
        ' ',
        h('span', { class: 'find-status' }, options.status),
      )
    : null;
  if (model.deadlocks.length === 0) {
    return h('section', { class: 'deadlocks' }, tools, h('p', { class: 'empty' }, 'No deadlock found.'));
  }
  const newestFirst = [...model.deadlocks].reverse();
  return h(
    'section',
    { class: 'deadlocks' },
    tools,
    newestFirst.map((found, i) => deadlockCard(found, model.deadlocks.length - i)),
  );
}

/** @param {import('./model.js').FoundDeadlock} found @param {number} number */
function deadlockCard(found, number) {
  const { cycle, stuck, message } = found.deadlock;
  const when = `${(found.time / 1000).toFixed(3)} s (${found.source === 'detected' ? 'detected' : 'found on request'})`;
  return h(
    'article',
    { class: 'deadlock' },
    h('h2', {}, `Deadlock ${number}: ${cycle.length} request${cycle.length === 1 ? '' : 's'} in a cycle`),
    h('p', { class: 'facts' }, `at ${when}`),
    ring(cycle),
    h('h3', {}, 'In words'),
    h(
      'ol',
      { class: 'steps' },
      cycle.map((/** @type {any} */ step) =>
        h(
          'li',
          {},
          h('span', { class: 'rule' }, step.rule),
          ' ',
          h('span', { class: 'step-text' }, step.text),
        ),
      ),
    ),
    stuck.length > 0
      ? h(
          'p',
          { class: 'stuck' },
          'Also stuck behind the cycle: ',
          stuck.map((/** @type {any} */ r) => `${r.objectName}.${r.method} #${r.requestId}`).join(', '),
        )
      : null,
    h('h3', {}, 'Report'),
    h('pre', { class: 'message' }, message),
  );
}

/** The cycle as a ring: boxes on a circle, step i -> step i+1 labelled with i's rule. @param {any[]} cycle */
function ring(cycle) {
  const n = cycle.length;
  // Neighbouring boxes' centres one box width plus 70 px apart (the chord), room for a label.
  const radius = n <= 1 ? 0 : Math.max(110, (BOX_W + 70) / (2 * Math.sin(Math.PI / Math.max(n, 2))));
  const points = cycle.map((_, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / n;
    return { x: radius * Math.cos(angle), y: radius * Math.sin(angle) };
  });
  // Shift so that the boxes (and a 2-cycle's bowed arrows, 70 px to each side) fit in the picture.
  const margin = n === 2 ? 110 : 40;
  const minX = Math.min(...points.map((p) => p.x)) - BOX_W / 2 - margin;
  const minY = Math.min(...points.map((p) => p.y)) - BOX_H / 2 - 20;
  const maxX = Math.max(...points.map((p) => p.x)) + BOX_W / 2 + margin;
  const maxY = Math.max(...points.map((p) => p.y)) + BOX_H / 2 + (n <= 1 ? 70 : 20);
  const centers = points.map((p) => ({ x: p.x - minX, y: p.y - minY }));
  const cx = -minX;
  const cy = -minY;
  const width = maxX - minX;
  const height = maxY - minY;

  const arrows = cycle.map((/** @type {any} */ step, /** @type {number} */ i) => {
    const a = centers[i];
    const b = centers[(i + 1) % n];
    if (n === 1) {
      // A request waiting for itself: a loop under its box.
      const d = `M ${a.x - 30} ${a.y + BOX_H / 2} C ${a.x - 60} ${a.y + 100}, ${a.x + 60} ${a.y + 100}, ${a.x + 30} ${a.y + BOX_H / 2}`;
      return s(
        'g',
        { class: 'cycle-edge' },
        s('path', { d, 'marker-end': 'url(#cycle-arrow)' }),
        s('text', { x: a.x, y: a.y + 90, 'text-anchor': 'middle' }, step.rule),
      );
    }
    const from = edgePoint(a, b);
    const to = edgePoint(b, a);
    // Bow outwards so that the two arrows of a 2-cycle do not overlap.
    const mx = (from.x + to.x) / 2;
    const my = (from.y + to.y) / 2;
    const ox = mx - cx;
    const oy = my - cy;
    const len = Math.hypot(ox, oy) || 1;
    const bow = n === 2 ? 60 : 25;
    const qx = mx + (ox / len) * bow + (n === 2 ? (i === 0 ? bow : -bow) : 0);
    const qy = my + (oy / len) * bow;
    return s(
      'g',
      { class: 'cycle-edge' },
      s('path', {
        d: `M ${from.x} ${from.y} Q ${qx} ${qy} ${to.x} ${to.y}`,
        'marker-end': 'url(#cycle-arrow)',
      }),
      s('text', { x: (mx + qx) / 2, y: (my + qy) / 2 - 4, 'text-anchor': 'middle' }, step.rule),
    );
  });

  const boxes = cycle.map((/** @type {any} */ step, /** @type {number} */ i) => {
    const c = centers[i];
    const r = step.request;
    return s(
      'g',
      { class: 'cycle-request', 'data-request-id': String(r.requestId) },
      s('rect', {
        class: 'cycle-rect',
        x: c.x - BOX_W / 2,
        y: c.y - BOX_H / 2,
        width: BOX_W,
        height: BOX_H,
        rx: 6,
      }),
      s(
        'text',
        { x: c.x, y: c.y - 4, 'text-anchor': 'middle', class: 'cycle-name' },
        `${r.objectName}.${r.method}`,
      ),
      s(
        'text',
        { x: c.x, y: c.y + 13, 'text-anchor': 'middle', class: 'cycle-detail' },
        `#${r.requestId} · ${r.group ?? '(ungrouped)'} · ${step.state}`,
      ),
    );
  });

  return s(
    'svg',
    {
      class: 'cycle',
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': 'deadlock cycle',
    },
    s('defs', {}, arrowMarker('cycle-arrow', 'arrowhead cycle-head')),
    arrows,
    boxes,
  );
}

/** Where the segment from box center `a` towards `b` leaves `a`'s box. */
function edgePoint(a, b) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const scale = Math.min(Math.abs(BOX_W / 2 / (dx || 1e-9)), Math.abs(BOX_H / 2 / (dy || 1e-9)));
  return { x: a.x + dx * Math.min(scale, 1), y: a.y + dy * Math.min(scale, 1) };
}
