/**
 * View 1, the object graph: a column per node (the main script's calls in a column of their
 * own), a box per active object with the requests it served (exact, from the wait-for graph),
 * an arrow per (caller object -> callee object) with the number of calls and the rate over the
 * last few seconds, "≈" when counted from a sample of requests. Click an object to open it.
 */
import { arrowMarker, h, s } from './dom.js';
import { MAIN_SCRIPT, RATE_WINDOW_MS } from './model.js';

const BOX_W = 190;
const BOX_H = 70;
const COLUMN_GAP = 150;
const ROW_GAP = 26;
const TOP = 48;
const LEFT = 20;

/**
 * @param {import('./model.js').Model} model
 * @param {{ open(objectId: number): void }} actions
 */
export function graphView(model, actions) {
  const columns = new Map(); // node label -> boxes
  const place = (/** @type {string} */ column, /** @type {any} */ box) => {
    if (!columns.has(column)) columns.set(column, []);
    columns.get(column).push(box);
  };
  const usesMain = [...model.edges.values()].some((edge) => edge.from === MAIN_SCRIPT);
  if (usesMain)
    place('(main script)', {
      key: MAIN_SCRIPT,
      name: '(main script)',
      detail: 'calls from outside any request',
    });
  const nodes = [...new Set([...model.objects.values()].map((o) => o.node))].sort(
    (a, b) => (a ?? -1) - (b ?? -1),
  );
  for (const node of nodes) {
    const label =
      node === undefined ? 'node ?' : node === 0 ? 'node 0 (main thread)' : `node ${node} (worker)`;
    for (const object of model.objects.values()) {
      if (object.node !== node) continue;
      const snapshot = model.snapshot(object.objectId);
      const queued =
        snapshot === undefined ? 0 : snapshot.groups.reduce((n, g) => n + g.queued + g.held + g.ready, 0);
      const detail = object.terminated
        ? 'terminated'
        : snapshot === undefined
          ? 'idle'
          : `${snapshot.active} active · ${snapshot.waiting} waiting · ${queued} queued`;
      const rate = model.servedRate(object);
      const served =
        object.served === undefined
          ? ''
          : `${object.served} served${rate === undefined ? '' : ` · ${rate.toFixed(1)}/s`}`;
      place(label, { key: object.objectId, name: object.name, detail, served, object });
    }
  }
  if (columns.size === 0) return h('p', { class: 'empty' }, 'No active object yet.');

  // Layout: columns left to right, boxes top to bottom.
  const at = new Map();
  let column = 0;
  let height = 0;
  const frames = [];
  for (const [label, boxes] of columns) {
    const x = LEFT + column * (BOX_W + COLUMN_GAP);
    for (const [row, box] of boxes.entries()) at.set(box.key, { x, y: TOP + row * (BOX_H + ROW_GAP), box });
    const bottom = TOP + boxes.length * (BOX_H + ROW_GAP);
    height = Math.max(height, bottom);
    frames.push(
      s('rect', {
        class: 'node-frame',
        x: x - 10,
        y: TOP - 30,
        width: BOX_W + 20,
        height: bottom - TOP + 30,
        rx: 8,
      }),
      s('text', { class: 'node-label', x: x, y: TOP - 12 }, label),
    );
    column++;
  }
  // Room on the right of the last column for same-column arrows and their labels.
  const width = LEFT + column * (BOX_W + COLUMN_GAP) + 120;

  const edges = [...model.edges.values()].map((edge) => {
    const from = at.get(edge.from);
    const to = at.get(edge.to);
    if (from === undefined || to === undefined) return null;
    // Counted from sampled sends (each standing for `sample` calls): an estimate.
    const count = `${edge.approx ? '≈' : ''}${edge.count} call${edge.count === 1 ? '' : 's'}`;
    const rate = `${model.rateApprox(edge) ? '≈' : ''}${model.rate(edge).toFixed(1)}/s`;
    const label = `${count} · ${rate}`;
    let d;
    let mid;
    if (from === to) {
      // A call to itself (selfRef): a loop on the box's right side.
      const x = from.x + BOX_W;
      const y = from.y + BOX_H / 2;
      d = `M ${x} ${y - 10} C ${x + 60} ${y - 40}, ${x + 60} ${y + 40}, ${x} ${y + 10}`;
      mid = { x: x + 50, y: y, anchor: 'middle' };
    } else {
      const forward = to.x >= from.x + BOX_W;
      const x1 = forward || to.x === from.x ? from.x + BOX_W : from.x;
      const x2 = forward ? to.x : to.x === from.x ? to.x + BOX_W : to.x + BOX_W;
      const y1 = from.y + BOX_H / 2;
      const y2 = to.y + BOX_H / 2;
      // Same column: bow to the right, upward calls farther out than downward ones, so that
      // the two directions between a pair of objects stay apart.
      const sameColumn = to.x === from.x;
      const bow = to.y < from.y ? 130 : 70;
      const bend = sameColumn ? bow : (x2 - x1) / 2;
      d = `M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - (sameColumn ? -bow : bend)} ${y2}, ${x2} ${y2}`;
      mid = sameColumn
        ? { x: x1 + bow * 0.75 + 6, y: (y1 + y2) / 2 + (to.y < from.y ? 14 : -8), anchor: 'start' }
        : { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, anchor: 'middle' };
    }
    return s(
      'g',
      { class: 'call-edge', 'data-from': String(edge.from), 'data-to': String(edge.to) },
      s('path', { d, 'marker-end': 'url(#graph-arrow)' }),
      s('text', { x: mid.x, y: mid.y, 'text-anchor': mid.anchor }, label),
    );
  });

  const boxes = [...at.values()].map(({ x, y, box }) =>
    s(
      'g',
      {
        class: `object-box${box.object?.terminated ? ' terminated' : ''}${box.key === MAIN_SCRIPT ? ' main-script' : ''}`,
        'data-object-id': String(box.key),
        tabindex: box.object ? 0 : undefined,
        onclick: box.object ? () => actions.open(box.object.objectId) : undefined,
      },
      s('rect', { x, y, width: BOX_W, height: BOX_H, rx: 6 }),
      s('text', { class: 'object-name', x: x + 10, y: y + 21 }, box.name),
      s('text', { class: 'object-detail', x: x + 10, y: y + 40 }, box.detail),
      box.served
        ? s('text', { class: 'object-detail object-served', x: x + 10, y: y + 58 }, box.served)
        : null,
    ),
  );

  return h(
    'section',
    { class: 'graph' },
    h(
      'p',
      { class: 'hint' },
      `Arrows: calls from the requests of one object to another, with their count and rate over the last ${RATE_WINDOW_MS / 1000} s (≈: estimated from a sample of requests). Served: requests each object finished, and their rate (exact). Click an object to see its queue.`,
    ),
    s(
      'svg',
      {
        width,
        height: height + 10,
        viewBox: `0 0 ${width} ${height + 10}`,
        role: 'img',
        'aria-label': 'object graph',
      },
      s('defs', {}, arrowMarker('graph-arrow', 'arrowhead')),
      frames,
      edges,
      boxes,
    ),
  );
}
