/**
 * Export to the Chrome trace event format (the JSON that chrome://tracing, Perfetto and
 * speedscope open): https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU
 *
 * Mapping:
 * - a process (`pid`) per node (0: the main thread);
 * - a thread (`tid`) per lane of an object (the debugger timeline's rows, see page/requests.js),
 *   named `Peer#1 · lane 0`, plus tid 0 `(main script)` for calls made outside any request;
 * - a complete event (`ph: 'X'`) per stretch of service: `get` while in service, `get (waiting)`
 *   during wait-by-necessity;
 * - a flow (`ph: 's'` then `ph: 'f'`, same `id` = the request id) from the send to the start of
 *   service. A flow start binds to a slice of its thread, so each send is also a 1 µs slice
 *   `→ Peer#1.get` on the sender's lane.
 *
 * Times are microseconds on the recording process's `performance.now()` clock.
 */
import type { MultiactiveEvent, NodeId } from '../src/index.js';
import { jsonSafe } from './json-safe.js';
import { type RequestRecord, RequestTracker } from './page/requests.js';
import type { StreamEvent } from './subscription.js';

export interface ChromeTraceEvent {
  readonly name: string;
  readonly ph: 'X' | 's' | 'f' | 'M';
  readonly pid: number;
  readonly tid: number;
  readonly ts?: number;
  readonly dur?: number;
  readonly cat?: string;
  readonly id?: number;
  readonly bp?: 'e';
  readonly args?: Record<string, unknown>;
}

export interface ChromeTrace {
  readonly traceEvents: ChromeTraceEvent[];
  readonly displayTimeUnit: 'ms';
}

const MAIN_SCRIPT_TID = 0;
const us = (ms: number): number => Math.round(ms * 1000);

/**
 * `events`: a run's events in stream order; the debugger's mode markers among them (the
 * ring's) end, where the debugger went back to sampling, the requests whose end it no longer
 * sees (as the page does).
 */
export function toChromeTrace(events: Iterable<MultiactiveEvent | StreamEvent>): ChromeTrace {
  const tracker = new RequestTracker();
  const objects = new Map<number, { name: string; node: NodeId }>();
  let last = 0;
  for (const event of events) {
    last = Math.max(last, event.time);
    if (event.type === 'object.created') {
      objects.set(event.objectId, { name: `${event.className}#${event.objectId}`, node: event.node });
    }
    tracker.add(jsonSafe(event));
  }

  const out: ChromeTraceEvent[] = [];
  const nodes = new Set<NodeId>([0]);
  const tids = new Map<string, number>();
  const nodeOf = (record: RequestRecord): NodeId => objects.get(record.objectId)?.node ?? 0;
  const objectName = (record: RequestRecord): string =>
    objects.get(record.objectId)?.name ?? `${record.className}#${record.objectId}`;
  // One thread per (object, lane), numbered in order of first use; named by metadata events.
  const laneTid = (record: RequestRecord): number => {
    const key = `${record.objectId}:${record.lane}`;
    let tid = tids.get(key);
    if (tid === undefined) {
      tid = tids.size + 1;
      tids.set(key, tid);
      const pid = nodeOf(record);
      nodes.add(pid);
      out.push({
        name: 'thread_name',
        ph: 'M',
        pid,
        tid,
        args: { name: `${objectName(record)} · lane ${record.lane}` },
      });
      out.push({
        name: 'thread_sort_index',
        ph: 'M',
        pid,
        tid,
        args: { sort_index: record.objectId * 1000 + record.lane! },
      });
    }
    return tid;
  };

  for (const record of tracker.requests.values()) {
    if (record.start === undefined || record.lane === undefined) continue;
    const pid = nodeOf(record);
    const tid = laneTid(record);
    const args = { requestId: record.requestId, object: objectName(record), group: record.group ?? null };
    for (const segment of record.segments) {
      const end = segment.end ?? last;
      out.push({
        name: segment.waiting ? `${record.method} (waiting)` : record.method,
        cat: segment.waiting ? 'wait-by-necessity' : 'request',
        ph: 'X',
        pid,
        tid,
        ts: us(segment.start),
        dur: Math.max(1, us(end) - us(segment.start)),
        args: record.ok === false ? { ...args, ok: false } : args,
      });
    }
    if (record.sentAt === undefined) continue;
    // The sender: the calling request's lane, or the main script of the caller's node.
    const caller = tracker.requests.get(tracker.callerOf(record) ?? -1);
    const from =
      caller?.lane !== undefined
        ? { pid: nodeOf(caller), tid: laneTid(caller) }
        : { pid: record.via !== undefined ? Number(record.via.split(':')[0]) : 0, tid: MAIN_SCRIPT_TID };
    nodes.add(from.pid);
    const ts = us(record.sentAt);
    const target = `${objectName(record)}.${record.method}`;
    out.push({
      name: `→ ${target}`,
      cat: 'send',
      ph: 'X',
      ...from,
      ts,
      dur: 1,
      args: { requestId: record.requestId },
    });
    out.push({ name: 'call', cat: 'call', ph: 's', id: record.requestId, ...from, ts });
    out.push({
      name: 'call',
      cat: 'call',
      ph: 'f',
      bp: 'e',
      id: record.requestId,
      pid,
      tid,
      ts: us(record.start),
    });
  }

  for (const pid of nodes) {
    const name = pid === 0 ? 'node 0 (main thread)' : `node ${pid} (worker)`;
    out.push({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name } });
    out.push({ name: 'thread_name', ph: 'M', pid, tid: MAIN_SCRIPT_TID, args: { name: '(main script)' } });
  }
  return { traceEvents: out, displayTimeUnit: 'ms' };
}
