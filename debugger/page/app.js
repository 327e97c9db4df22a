/**
 * The page's wiring: the live stream (Server-Sent Events from /api/events) or a trace file
 * feeds a `Model`; the chosen view is rebuilt from the model at most every `RENDER_MS` while
 * something changed. Views are functions of (model, state): no view keeps state of its own.
 */
import { h } from './dom.js';
import { Model, modelFromTrace } from './model.js';
import { deadlocksView } from './view-deadlocks.js';
import { graphView } from './view-graph.js';
import { objectView } from './view-object.js';
import { timelineView } from './view-timeline.js';

// Four rebuilds a second keep the page live without spending the browser on layout.
const RENDER_MS = 250;

const state = {
  model: new Model(),
  /** 'live' or 'trace' */
  mode: 'live',
  view: 'graph',
  /** @type {number | undefined} */
  selected: undefined,
  paused: false,
  /** How much of the recent past the timeline shows (0: everything); read from `#window` at start. */
  windowMs: 10_000,
  status: 'connecting…',
  findStatus: '',
  rendered: -1,
  /** @type {EventSource | undefined} */
  source: undefined,
  /** @type {string | undefined} this page's id on the server (from `hello`), to say what it shows */
  client: undefined,
  /** The view last reported to the server. */
  reported: '',
  /** @type {string | undefined} why the server dropped this page's stream (until it reconnects) */
  dropReason: undefined,
  /** @type {string | undefined} why the server dropped this page's stream, the last time */
  lastDrop: undefined,
};

const actions = {
  /** @param {number} objectId */
  open(objectId) {
    state.selected = objectId;
    show('object');
  },
};

function connect() {
  state.source?.close();
  state.mode = 'live';
  const source = new EventSource('api/events');
  state.source = source;
  source.addEventListener('hello', (message) => {
    // A fresh connection replays the server's ring: start over.
    const hello = JSON.parse(message.data);
    state.model = new Model();
    state.model.requestMode = hello.requests;
    state.client = hello.client;
    state.reported = '';
    // Dropped before: say so (and why) while live again.
    if (state.dropReason !== undefined) state.lastDrop = state.dropReason;
    state.dropReason = undefined;
    setStatus('live');
    reportView();
  });
  source.addEventListener('events', (message) => {
    const { events, dropped, missing } = JSON.parse(message.data);
    // Back on the timeline after another view: what the ring no longer held of that time.
    if (missing !== undefined) state.model.addGap(missing.from, missing.to);
    for (const event of events) state.model.add(event);
    if (dropped > 0) {
      state.model.dropped += dropped;
      state.model.version++;
    }
  });
  source.addEventListener('waits', (message) => state.model.setWaits(JSON.parse(message.data)));
  // The server drops a page that holds too much unread (see `maxBufferedBytes`), saying why.
  source.addEventListener('dropped', (message) => {
    state.dropReason = JSON.parse(message.data).reason;
  });
  source.addEventListener('error', () =>
    setStatus(
      state.dropReason === undefined
        ? 'disconnected: retrying…'
        : `dropped by the server (${state.dropReason}): reconnecting…`,
    ),
  );
}

/**
 * Tells the server what this page shows, so that it takes every request's events while a
 * timeline is on screen and only a sample otherwise (the overview's cost stays low).
 */
function reportView() {
  if (state.mode !== 'live' || state.client === undefined) return;
  const view = document.visibilityState === 'hidden' ? 'hidden' : state.view;
  if (view === state.reported) return;
  state.reported = view;
  const query = `client=${encodeURIComponent(state.client)}&view=${encodeURIComponent(view)}`;
  fetch(`api/view?${query}`, { method: 'POST' })
    .then((response) => (response.ok ? response.json() : undefined))
    .then((body) => {
      if (body?.requests !== undefined && state.model.requestMode === undefined)
        state.model.requestMode = body.requests;
    })
    .catch(() => {
      state.reported = ''; // try again on the next change
    });
}

/** The header's "all requests" / "sampled 1 in N". */
function requestsText() {
  const { model } = state;
  if (state.mode !== 'live' && model.requestMode === undefined) return '';
  if (model.requestMode === 'all') return ' · all requests';
  if (model.requestMode === 'sampled') return ` · sampled 1 in ${model.sampleNow()}`;
  return '';
}

async function findNow() {
  state.findStatus = 'looking…';
  state.model.version++;
  try {
    const response = await fetch('api/deadlocks', { method: 'POST' });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error ?? response.statusText);
    let added = 0;
    for (const deadlock of body.deadlocks)
      if (state.model.addDeadlock(deadlock, state.model.now, 'find now')) added++;
    state.findStatus =
      body.deadlocks.length === 0 ? 'No deadlock now.' : `${body.deadlocks.length} found (${added} new).`;
  } catch (error) {
    state.findStatus = `Failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  state.model.version++;
}

/** @param {File} file */
async function openTrace(file) {
  try {
    const model = modelFromTrace(await file.text());
    state.source?.close();
    state.source = undefined;
    state.client = undefined;
    state.mode = 'trace';
    state.model = model;
    setStatus(`trace ${file.name}`);
    render();
  } catch (error) {
    setStatus(`cannot open ${file.name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** @param {string} status */
function setStatus(status) {
  state.status = status;
  document.body.dataset.connection =
    status === 'live' ? 'live' : state.mode === 'trace' ? 'trace' : 'connecting';
  state.model.version++;
}

/** @param {string} view */
function show(view) {
  state.view = view;
  state.rendered = -1;
  reportView();
  render();
}

function render() {
  const { model } = state;
  document.body.dataset.mode = state.mode;
  document.body.dataset.view = state.view;
  for (const button of document.querySelectorAll('#tabs button')) {
    button.setAttribute('aria-selected', String(button.getAttribute('data-view') === state.view));
  }
  document.getElementById('deadlock-count').textContent =
    model.deadlocks.length > 0 ? `(${model.deadlocks.length})` : '';
  document.getElementById('back-live').hidden = state.mode === 'live';
  const age = model.waits?.graph ? ` · wait-for graph of ${model.waits.graph.nodes.length} node(s)` : '';
  const dropped = model.dropped > 0 ? ` · dropped ${model.dropped}` : '';
  document.getElementById('status').textContent =
    `${state.status} · ${model.objects.size} objects · ${model.eventCount} events${dropped}${age}${state.paused ? ' · paused' : ''}${state.lastDrop === undefined ? '' : ` · reconnected after the server dropped this page: ${state.lastDrop}`}`;
  const requests = document.getElementById('requests-mode');
  requests.textContent = requestsText().slice(3);
  requests.dataset.requests = model.requestMode ?? '';

  let content;
  if (state.view === 'graph') content = graphView(model, actions);
  else if (state.view === 'object') content = objectView(model, state.selected, actions);
  else if (state.view === 'timeline') content = timelineView(model, { windowMs: state.windowMs });
  else content = deadlocksView(model, { live: state.mode === 'live', status: state.findStatus, findNow });
  document
    .getElementById('view')
    .replaceChildren(h('div', { id: `view-${state.view}`, class: 'view' }, content));
  state.rendered = model.version;
}

function start() {
  for (const button of document.querySelectorAll('#tabs button')) {
    button.addEventListener('click', () => show(button.getAttribute('data-view')));
  }
  document.getElementById('trace-file').addEventListener('change', (event) => {
    const file = event.target.files?.[0];
    if (file) openTrace(file);
  });
  document.getElementById('back-live').addEventListener('click', () => {
    setStatus('connecting…');
    connect();
  });
  document.getElementById('pause').addEventListener('click', (event) => {
    state.paused = !state.paused;
    event.target.setAttribute('aria-pressed', String(state.paused));
    event.target.textContent = state.paused ? 'Resume' : 'Pause';
    render();
  });
  // The recent past by default (index.html selects "last 10 s"): everything since the start
  // of a long session would squeeze each request into a fraction of a pixel.
  state.windowMs = Number(document.getElementById('window').value);
  document.getElementById('window').addEventListener('change', (event) => {
    state.windowMs = Number(event.target.value);
    render();
  });
  // Open a view from the address: `#deadlocks`, `#timeline`, ...
  const fromHash = () => {
    const view = location.hash.slice(1);
    if (['graph', 'object', 'timeline', 'deadlocks'].includes(view)) state.view = view;
  };
  fromHash();
  window.addEventListener('hashchange', () => {
    fromHash();
    show(state.view);
  });
  document.addEventListener('visibilitychange', reportView);
  connect();
  render();
  setInterval(() => {
    if (!state.paused && state.rendered !== state.model.version) render();
  }, RENDER_MS);
}

start();
