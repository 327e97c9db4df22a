/**
 * View 3, the timeline (ProActive's viewer's core view): per object, one row per lane; each
 * request a bar from the start of its service to its end, lighter and hatched while in
 * wait-by-necessity. Compatible requests in service together are on separate lanes. An arrow
 * goes from each send (on the caller's lane, or the "(main script)" row) to the start.
 */
import { arrowMarker, duration, h, s } from './dom.js';

const LABEL_W = 170;
const PLOT_W = 1000;
const LANE_H = 20;
const GAP = 10;
const AXIS_H = 24;
/** Bounds the SVG: beyond this many requests in the window, the oldest are left out. */
const MAX_BARS = 4000;
const MAX_ARROWS = 1500;

/**
 * @param {import('./model.js').Model} model
 * @param {{ windowMs: number }} options `windowMs`: how much of the recent past (0: everything)
 */
export function timelineView(model, options) {
  const records = [...model.tracker.requests.values()].filter((r) => r.start !== undefined);
  if (records.length === 0) return h('p', { class: 'empty' }, 'No request has started yet.');
  const t1 = model.now;
  const t0 = options.windowMs > 0 ? Math.max(model.first ?? 0, t1 - options.windowMs) : (model.first ?? 0);
  const span = Math.max(t1 - t0, 1e-3);
  const x = (/** @type {number} */ t) => LABEL_W + ((Math.min(Math.max(t, t0), t1) - t0) / span) * PLOT_W;

  let visible = records.filter((r) => (r.end ?? t1) >= t0);
  const leftOut = Math.max(0, visible.length - MAX_BARS);
  if (leftOut > 0) visible = visible.slice(leftOut);

  // Rows: the main script's sends first, then each object's lanes.
  let y = AXIS_H + 4;
  const rows = [];
  const laneY = new Map(); // `${objectId}:${lane}` -> y of the lane's top
  const mainY = y;
  rows.push(s('text', { class: 'lane-label', x: 6, y: y + 14 }, '(main script)'));
  y += LANE_H + GAP;
  const byObject = new Map();
  for (const r of visible) {
    if (!byObject.has(r.objectId)) byObject.set(r.objectId, []);
    byObject.get(r.objectId).push(r);
  }
  for (const [objectId, list] of [...byObject].sort((a, b) => a[0] - b[0])) {
    const lanes = 1 + Math.max(...list.map((r) => r.lane ?? 0));
    const name = model.objects.get(objectId)?.name ?? `#${objectId}`;
    rows.push(
      s('rect', {
        class: 'object-band',
        x: 0,
        y: y - 3,
        width: LABEL_W + PLOT_W,
        height: lanes * LANE_H + 6,
      }),
      s('text', { class: 'lane-label', x: 6, y: y + 14 }, name),
    );
    for (let lane = 0; lane < lanes; lane++) {
      laneY.set(`${objectId}:${lane}`, y + lane * LANE_H);
      if (lane > 0)
        rows.push(
          s(
            'text',
            { class: 'lane-number', x: LABEL_W - 8, y: y + lane * LANE_H + 14, 'text-anchor': 'end' },
            `lane ${lane}`,
          ),
        );
    }
    y += lanes * LANE_H + GAP;
  }
  const height = y + 4;

  // Times this page never got the steps of requests for (it showed another view, and the
  // server's ring had moved on when it came back): marked, not left as unexplained blanks.
  const gaps = [];
  const gapLabels = [];
  for (const gap of model.gaps) {
    if (gap.to < t0 || gap.from > t1) continue;
    const x1 = x(gap.from);
    const x2 = Math.max(x1 + 2, x(gap.to));
    const what = `not recorded while you were on another tab (${duration(gap.to - gap.from)})`;
    gaps.push(
      s(
        'rect',
        { class: 'gap', x: x1, y: AXIS_H - 4, width: x2 - x1, height: height - AXIS_H + 4 },
        s('title', {}, what),
      ),
    );
    gapLabels.push(s('text', { class: 'gap-label', x: x1 + 4, y: mainY + 14 }, what));
  }

  const bars = [];
  for (const r of visible) {
    const top = laneY.get(`${r.objectId}:${r.lane}`);
    const label = `${model.objects.get(r.objectId)?.name ?? r.className}.${r.method} #${r.requestId}`;
    for (const segment of r.segments) {
      const x1 = x(segment.start);
      const x2 = Math.max(x1 + 1.5, x(segment.end ?? t1));
      bars.push(
        s(
          'rect',
          {
            class: `bar${segment.waiting ? ' waiting' : ''}${r.ok === false ? ' failed' : ''}${r.end === undefined ? ' open' : ''}`,
            x: x1,
            y: top + 2,
            width: x2 - x1,
            height: LANE_H - 4,
            'data-request-id': String(r.requestId),
          },
          s(
            'title',
            {},
            `${label}${segment.waiting ? ' (wait-by-necessity)' : ''}: ${duration((segment.end ?? t1) - segment.start)}`,
          ),
        ),
      );
    }
    const first = x(r.start);
    const last = x(r.end ?? t1);
    if (last - first > 36) {
      bars.push(
        s(
          'text',
          { class: `bar-label${r.ok === false ? ' failed' : ''}`, x: first + 3, y: top + 14 },
          r.method,
        ),
      );
    }
  }

  const arrows = [];
  for (const r of visible.slice(-MAX_ARROWS)) {
    if (r.sentAt === undefined || r.sentAt < t0) continue;
    const caller = model.tracker.requests.get(model.tracker.callerOf(r) ?? -1);
    const fromTop = caller?.lane !== undefined ? laneY.get(`${caller.objectId}:${caller.lane}`) : mainY;
    const toTop = laneY.get(`${r.objectId}:${r.lane}`);
    if (fromTop === undefined || toTop === undefined) continue;
    arrows.push(
      s('line', {
        class: 'send',
        x1: x(r.sentAt),
        y1: fromTop + LANE_H / 2,
        x2: x(r.start),
        y2: toTop + LANE_H / 2,
        'marker-end': 'url(#send-arrow)',
      }),
    );
  }

  const ticks = [];
  const step = niceStep(span / 8);
  // Ticks at round offsets from the left edge: the labels read as elapsed time.
  for (let t = t0; t <= t1; t += step) {
    ticks.push(
      s('line', { class: 'tick', x1: x(t), y1: AXIS_H - 6, x2: x(t), y2: height }),
      s('text', { class: 'tick-label', x: x(t), y: AXIS_H - 10, 'text-anchor': 'middle' }, duration(t - t0)),
    );
  }

  return h(
    'section',
    { class: 'timeline' },
    h(
      'p',
      { class: 'hint' },
      `${duration(span)} shown. Bars: requests in service (lighter, hatched: in wait-by-necessity); arrows: from a send to the start of its service.`,
      leftOut > 0 ? ` The ${leftOut} oldest requests of the window are left out.` : '',
      gaps.length > 0
        ? ' Grey bands: times this page showed another view, whose requests the debugger no longer held when it came back (it keeps its last events, see ringSize).'
        : '',
      model.requestMode === 'sampled'
        ? ` Only a sample of requests is shown (1 in ${model.sampleNow()}): the debugger takes every request while a page shows this view.`
        : model.allSince !== undefined && model.allSince > t0
          ? ` Every request from ${duration(model.allSince - t0)} on; before it, only a sample.`
          : '',
    ),
    s(
      'svg',
      {
        width: LABEL_W + PLOT_W + 10,
        height,
        viewBox: `0 0 ${LABEL_W + PLOT_W + 10} ${height}`,
        role: 'img',
        'aria-label': 'timeline',
      },
      s(
        'defs',
        {},
        arrowMarker('send-arrow', 'arrowhead send-head'),
        s(
          'pattern',
          {
            id: 'hatch',
            width: 6,
            height: 6,
            patternUnits: 'userSpaceOnUse',
            patternTransform: 'rotate(45)',
          },
          s('rect', { class: 'hatch-bg', width: 6, height: 6 }),
          s('line', { class: 'hatch-line', x1: 0, y1: 0, x2: 0, y2: 6 }),
        ),
      ),
      rows,
      gaps,
      ticks,
      bars,
      arrows,
      gapLabels,
    ),
  );
}

/** 1, 2 or 5 times a power of ten, at least `raw`. @param {number} raw */
function niceStep(raw) {
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}
