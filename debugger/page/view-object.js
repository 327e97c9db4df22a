/**
 * View 2, one object: its policy (groups, compatibility matrix, priority graph, limits) from
 * its `object.created` event, its live usage per group and its queue from the last wait-for
 * graph, each request with the reason it waits.
 */
import { arrowMarker, h, s } from './dom.js';

const UNGROUPED = '(ungrouped)';

/**
 * @param {import('./model.js').Model} model
 * @param {number | undefined} selected
 * @param {{ open(objectId: number): void }} actions
 */
export function objectView(model, selected, actions) {
  const objects = [...model.objects.values()];
  if (objects.length === 0) return h('p', { class: 'empty' }, 'No active object yet.');
  const object = model.objects.get(selected ?? -1) ?? objects[0];
  const list = h(
    'ul',
    { class: 'object-list' },
    objects.map((o) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: o === object ? 'selected' : undefined,
            'data-object-id': String(o.objectId),
            onclick: () => actions.open(o.objectId),
          },
          o.name,
          o.terminated ? ' (terminated)' : '',
        ),
      ),
    ),
  );
  return h('section', { class: 'object-view' }, list, details(model, object));
}

/** @param {import('./model.js').Model} model @param {import('./model.js').ObjectInfo} object */
function details(model, object) {
  const snapshot = model.snapshot(object.objectId);
  const policy = object.policy;
  const limit = snapshot?.limit ?? object.limit;
  const hard = snapshot?.hardLimit ?? object.hardLimit;
  const facts = [
    `node ${object.node ?? '?'}`,
    `limit ${limit === null ? 'unlimited' : `${limit} (${hard ? 'hard: waits hold their slot' : 'soft: waits give their slot back'})`}`,
    snapshot ? `${snapshot.active} active, ${snapshot.waiting} in wait-by-necessity` : 'nothing in flight',
  ];
  return h(
    'div',
    { class: 'object-details' },
    h('h2', {}, object.name, object.terminated ? ' (terminated)' : ''),
    h('p', { class: 'facts' }, facts.join(' · ')),
    policy === undefined
      ? h('p', { class: 'empty' }, 'Policy unknown: the object was created before the recorded window.')
      : [groupsTable(policy, snapshot), matrix(policy), priorityGraph(policy)],
    queue(model, object),
  );
}

/** @param {any} policy @param {any} snapshot */
function groupsTable(policy, snapshot) {
  const usage = (/** @type {string} */ name) =>
    snapshot?.groups.find((/** @type {any} */ g) => g.name === name);
  const rows = [
    ...policy.groups.map((/** @type {any} */ g) => ({ ...g, ungrouped: false })),
    {
      name: UNGROUPED,
      methods: policy.ungroupedMethods,
      minThreads: 0,
      maxThreads: null,
      superPriority: false,
      ungrouped: true,
    },
  ].filter((g) => !g.ungrouped || g.methods.length > 0);
  return h(
    'div',
    {},
    h('h3', {}, 'Groups'),
    h(
      'table',
      { class: 'groups' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['group', 'methods', 'min', 'max', 'queued', 'ready', 'held', 'in service'].map((c) =>
            h('th', {}, c),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((g) => {
          const u = usage(g.name);
          return h(
            'tr',
            {},
            h('td', {}, g.name, g.superPriority ? ' (super-priority)' : ''),
            h('td', {}, g.methods.join(', ')),
            h('td', {}, String(g.minThreads)),
            h('td', {}, g.maxThreads === null ? '—' : String(g.maxThreads)),
            ['queued', 'ready', 'held', 'inService'].map((k) =>
              h('td', { class: 'num' }, u ? String(u[k]) : '0'),
            ),
          );
        }),
      ),
    ),
  );
}

/** The compatibility matrix: ✓ always, "if" under a condition, blank never. @param {any} policy */
function matrix(policy) {
  const names = policy.groups.map((/** @type {any} */ g) => g.name);
  const cell = (/** @type {any} */ row, /** @type {string} */ column) => {
    if (row.compatible.includes(column)) return h('td', { class: 'yes', title: 'compatible' }, '✓');
    if (row.conditional.includes(column))
      return h('td', { class: 'if', title: 'compatible when the condition holds' }, 'if');
    return h('td', { class: 'no', title: 'not compatible' }, '');
  };
  return h(
    'div',
    {},
    h('h3', {}, 'Compatibility'),
    names.length === 0
      ? h('p', {}, 'No groups: every request runs alone (a classic active object).')
      : h(
          'table',
          { class: 'matrix' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, ''),
              names.map((n) => h('th', {}, n)),
            ),
          ),
          h(
            'tbody',
            {},
            policy.groups.map((/** @type {any} */ g) =>
              h(
                'tr',
                {},
                h('th', {}, g.name),
                names.map((n) => cell(g, n)),
              ),
            ),
          ),
        ),
    policy.ungroupedMethods.length > 0
      ? h('p', { class: 'hint' }, 'Ungrouped methods are compatible with nothing.')
      : null,
  );
}

/** The priority graph: groups in layers, an arrow from each group to the groups it goes before. @param {any} policy */
function priorityGraph(policy) {
  /** @type {[string, string][]} */
  const edges = policy.priorities;
  const title = h('h3', {}, 'Priority');
  if (edges.length === 0)
    return h('div', {}, title, h('p', {}, 'No priorities: ready requests start in arrival order.'));
  // Layer = the longest path from a group no one precedes. Time: O(groups × edges), tiny.
  const layer = new Map();
  const names = [...new Set(edges.flat())];
  for (const name of names) layer.set(name, 0);
  for (let changed = true, rounds = 0; changed && rounds < names.length; rounds++) {
    changed = false;
    for (const [higher, lower] of edges) {
      if (layer.get(lower) <= layer.get(higher)) {
        layer.set(lower, layer.get(higher) + 1);
        changed = true;
      }
    }
  }
  // Wide enough for the longest name (12 px text: about 7.2 px a character), 130 px at least.
  const W = Math.max(130, Math.ceil(18 + 7.2 * Math.max(...names.map((n) => n.length))));
  const H = 30;
  const at = new Map();
  const perLayer = new Map();
  for (const name of names) {
    const l = layer.get(name);
    const i = perLayer.get(l) ?? 0;
    perLayer.set(l, i + 1);
    at.set(name, { x: 10 + l * (W + 60), y: 10 + i * (H + 16) });
  }
  const width = 20 + (Math.max(...layer.values()) + 1) * (W + 60);
  const height = 20 + Math.max(...perLayer.values()) * (H + 16);
  return h(
    'div',
    {},
    title,
    h(
      'p',
      { class: 'hint' },
      'A queued request of a group goes before the ready requests of the groups its arrows point to.',
    ),
    s(
      'svg',
      { class: 'priority', width, height, viewBox: `0 0 ${width} ${height}` },
      s('defs', {}, arrowMarker('priority-arrow', 'arrowhead')),
      edges.map(([higher, lower]) => {
        const a = at.get(higher);
        const b = at.get(lower);
        return s('line', {
          x1: a.x + W,
          y1: a.y + H / 2,
          x2: b.x,
          y2: b.y + H / 2,
          'marker-end': 'url(#priority-arrow)',
        });
      }),
      names.map((name) => {
        const p = at.get(name);
        return s(
          'g',
          { class: 'group-box' },
          s('rect', { class: 'group-rect', x: p.x, y: p.y, width: W, height: H, rx: 5 }),
          s('text', { class: 'group-label', x: p.x + 8, y: p.y + 19 }, name),
        );
      }),
    ),
  );
}

/** The object's requests in flight, from the last wait-for graph. */
function queue(model, object) {
  const title = h('h3', {}, 'Queue and requests in flight');
  if (model.waits?.error)
    return h(
      'div',
      {},
      title,
      h('p', { class: 'error' }, `Wait-for graph unavailable: ${model.waits.error}`),
    );
  if (model.waits?.graph === undefined)
    return h('div', {}, title, h('p', { class: 'empty' }, 'Waiting for the first wait-for graph…'));
  const requests = model.queue(object.objectId);
  if (requests.length === 0) return h('div', {}, title, h('p', { class: 'empty' }, 'Nothing in flight.'));
  return h(
    'div',
    {},
    title,
    h(
      'table',
      { class: 'queue' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['request', 'group', 'state', 'why it waits', 'waits for'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        requests.map((/** @type {any} */ r) =>
          h(
            'tr',
            { class: `state-${r.state}`, 'data-request-id': String(r.request.requestId) },
            h('td', {}, `#${r.request.requestId} ${r.request.method}`),
            h('td', {}, r.request.group ?? '(ungrouped)'),
            h('td', {}, r.state),
            h('td', { class: 'reason' }, r.reason),
            h(
              'td',
              {},
              r.edges.length === 0
                ? '—'
                : h(
                    'ul',
                    { class: 'wait-edges' },
                    r.edges.map((/** @type {any} */ e) =>
                      h(
                        'li',
                        {},
                        h('span', { class: 'rule' }, e.rule),
                        ' ',
                        e.to
                          ? `${e.to.objectName}.${e.to.method} #${e.to.requestId}`
                          : 'an unknown computation',
                      ),
                    ),
                  ),
              r.edges.length > 1
                ? h('div', { class: 'hint' }, r.any ? 'any one of these will do' : 'needs all of these')
                : null,
            ),
          ),
        ),
      ),
    ),
  );
}
