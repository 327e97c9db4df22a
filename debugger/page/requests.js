/**
 * What happened to each request, rebuilt from the public event stream: when it was sent and by
 * which request, when it was in service (and which parts of that were wait-by-necessity), and
 * the lane (slot row) it occupies in its object's timeline.
 *
 * Shared by the page (live and recorded traces) and by the server's Chrome-trace export, so the
 * timeline and Perfetto show the same lanes. Plain JavaScript with JSDoc; `requests.d.ts` gives
 * TypeScript its types. No DOM, no Node API.
 *
 * Lanes: a request takes, when it starts, the lowest lane of its object that is free at that
 * moment, and keeps it until it finishes (wait-by-necessity included, drawn lighter). So
 * compatible requests in service together sit on separate lanes, and the number of lanes is the
 * most requests its object ever served at once. Time: O(lanes) per start.
 */

/**
 * @typedef {import('./requests.d.ts').Segment} Segment
 * @typedef {import('./requests.d.ts').RequestRecord} RequestRecord
 */

/** The caller of a call made outside any request (or by a request not known here). */
export const MAIN_SCRIPT = 'main';

export class RequestTracker {
  constructor() {
    /** @type {Map<number, RequestRecord>} requestId -> record, in order of first sight. */
    this.requests = new Map();
    /** @type {Map<string, number | undefined>} `${node}:${rid}` of a `call.remote` -> its caller request. */
    this.remoteCalls = new Map();
    /** @type {Map<number, (number | undefined)[]>} objectId -> per lane, the end of its last request (`undefined`: busy). */
    this.lanes = new Map();
    /** Finished records, oldest first, for pruning (see `prune`). */
    this.finished = [];
    this.finishedHead = 0;
  }

  /**
   * Feed one event (in stream order). Returns the record it touched, if any.
   * @param {any} event a `MultiactiveEvent` (JSON-safe form)
   * @returns {RequestRecord | undefined}
   */
  add(event) {
    switch (event.type) {
      case 'call.remote':
        this.remoteCalls.set(`${event.node}:${event.rid}`, event.callerRequestId);
        return undefined;
      case 'request.sent': {
        const record = this.record(event.request);
        record.sentAt = event.time;
        record.callerRequestId = event.callerRequestId ?? undefined;
        record.callerObjectId = event.callerObjectId ?? undefined;
        record.sample = typeof event.sample === 'number' && event.sample > 1 ? event.sample : 1;
        if (event.via) record.via = `${event.via.node}:${event.via.rid}`;
        return record;
      }
      case 'debugger.mode':
        // Back to a sample: requests in flight that were not sampled send nothing more. End
        // them here (`cut`) rather than show them in service for ever; a sampled one that
        // finishes later gets its real end.
        if (event.requests !== 'all') this.cutOpen(event.time);
        return undefined;
      case 'request.started': {
        const record = this.record(event.request);
        record.start = event.time;
        record.lane = this.takeLane(record.objectId);
        record.segments.push({ start: event.time, end: undefined, waiting: false });
        return record;
      }
      case 'request.waiting':
      case 'request.resumed': {
        const record = this.record(event.request);
        const open = record.segments.at(-1);
        if (open !== undefined && open.end === undefined) open.end = event.time;
        record.segments.push({
          start: event.time,
          end: undefined,
          waiting: event.type === 'request.waiting',
        });
        return record;
      }
      case 'request.finished':
      case 'request.cancelled': {
        const record = this.record(event.request);
        const wasCut = record.cut;
        record.end = event.time;
        record.cut = false;
        record.ok = event.type === 'request.finished' ? event.ok : false;
        const open = record.segments.at(-1);
        if (open !== undefined && (open.end === undefined || wasCut)) open.end = event.time;
        if (record.lane !== undefined) this.lanesOf(record.objectId)[record.lane] = event.time;
        if (!wasCut) this.finished.push(record.requestId);
        return record;
      }
      default:
        return undefined;
    }
  }

  /**
   * The request that made this call, if known: directly (`callerRequestId`) or, for a call from
   * another node, through the sender's `call.remote` event.
   * @param {RequestRecord} record
   * @returns {number | undefined}
   */
  callerOf(record) {
    if (record.callerRequestId !== undefined) return record.callerRequestId;
    if (record.via !== undefined) return this.remoteCalls.get(record.via);
    return undefined;
  }

  /**
   * Ends, at `time`, every request not finished (see 'debugger.mode'). Time: O(requests).
   * @param {number} time
   */
  cutOpen(time) {
    for (const record of this.requests.values()) {
      if (record.end !== undefined) continue;
      record.end = time;
      record.cut = true;
      const open = record.segments.at(-1);
      if (open !== undefined && open.end === undefined) open.end = time;
      if (record.lane !== undefined) this.lanesOf(record.objectId)[record.lane] = time;
      this.finished.push(record.requestId);
    }
  }

  /**
   * Forget the oldest finished requests beyond `keep`, so a long session stays bounded.
   * @param {number} keep
   */
  prune(keep) {
    while (this.finished.length - this.finishedHead > keep) {
      this.requests.delete(this.finished[this.finishedHead++]);
    }
    // Requests whose end never comes here (the stream without their steps, or not sampled
    // after a switch): beyond twice `keep`, forget the oldest seen, finished or not.
    if (this.requests.size > keep * 2) {
      for (const id of this.requests.keys()) {
        if (this.requests.size <= keep) break;
        this.requests.delete(id);
      }
    }
    // Compact the head-indexed queue once half of it is consumed: amortised O(1).
    if (this.finishedHead > 1024 && this.finishedHead * 2 > this.finished.length) {
      this.finished = this.finished.slice(this.finishedHead);
      this.finishedHead = 0;
    }
  }

  /** @param {any} ref a `RequestRef` @returns {RequestRecord} */
  record(ref) {
    let record = this.requests.get(ref.requestId);
    if (record === undefined) {
      record = {
        requestId: ref.requestId,
        objectId: ref.objectId,
        className: ref.className,
        method: ref.method,
        group: ref.group ?? undefined,
        sentAt: undefined,
        callerRequestId: undefined,
        callerObjectId: undefined,
        sample: 1,
        via: undefined,
        start: undefined,
        end: undefined,
        ok: undefined,
        cut: false,
        lane: undefined,
        segments: [],
      };
      this.requests.set(ref.requestId, record);
    }
    return record;
  }

  /** @param {number} objectId */
  lanesOf(objectId) {
    let lanes = this.lanes.get(objectId);
    if (lanes === undefined) this.lanes.set(objectId, (lanes = []));
    return lanes;
  }

  /** The lowest lane free now (its last request finished): requests start in time order. */
  takeLane(objectId) {
    const lanes = this.lanesOf(objectId);
    let lane = lanes.findIndex((end) => end !== undefined);
    if (lane < 0) lane = lanes.length;
    lanes[lane] = undefined;
    return lane;
  }
}
