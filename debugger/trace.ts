/**
 * Trace files: every event of a run as JSON lines, to open after the run in the debugger's
 * page or to convert for Perfetto (`toChromeTrace`).
 *
 * Format (one JSON value per line):
 * 1. a header `{ "type": "trace.header", "format": "multiactive-trace", "version": 1, ... }`;
 * 2. every `MultiactiveEvent`, JSON-safe (see json-safe.ts), in stream order;
 * 3. interleaved, wait graphs polled while recording: `{ "type": "trace.waits", "time", "graph" }`.
 *
 * Writing is batched: lines are joined and written at most every 100 ms (or once 1 MiB is
 * pending), so a busy application pays one string append per event, not one write per event.
 */
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { finished } from 'node:stream';
import { ArgumentError, type MultiactiveEvent, onEvent, type WaitGraph, waitGraph } from '../src/index.js';
import { jsonSafe, toJson } from './json-safe.js';
import type { ModeMarker } from './subscription.js';

export const TRACE_FORMAT = 'multiactive-trace';

export interface TraceHeader {
  readonly type: 'trace.header';
  readonly format: typeof TRACE_FORMAT;
  readonly version: 1;
  /** Wall-clock start, ISO 8601. */
  readonly startedAt: string;
  /** `performance.timeOrigin` of the recording process: event times are relative to it. */
  readonly timeOrigin: number;
}

export interface TraceWaits {
  readonly type: 'trace.waits';
  readonly time: number;
  readonly graph: WaitGraph;
}

export type TraceLine = TraceHeader | TraceWaits | ModeMarker | MultiactiveEvent;

export interface Trace {
  readonly header: TraceHeader;
  readonly events: MultiactiveEvent[];
  readonly waitGraphs: TraceWaits[];
  /**
   * Where the debugger's request mode changed (a file saved from a live page's ring): before a
   * switch to `'all'`, only a sample of requests is in `events`.
   */
  readonly modes: ModeMarker[];
}

const FLUSH_MS = 100;
const FLUSH_BYTES = 1 << 20;

/** Appends trace lines to a file. Internal: `recordTrace` and the debugger server use it. */
export class TraceWriter {
  private pending: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private readonly stream;
  private closed: Promise<void> | undefined;

  /**
   * Opens (creates or truncates) the file now, synchronously, so that a path that cannot be
   * written (a missing directory, a directory, no permission) fails here, where the caller
   * passed it, and not when the trace is closed. Throws `ArgumentError` naming the path.
   */
  constructor(readonly path: string) {
    let fd: number;
    try {
      fd = openSync(path, 'w');
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ArgumentError(`Cannot write the trace file ${JSON.stringify(path)}: ${reason}`, {
        cause: error,
      });
    }
    try {
      this.stream = createWriteStream(path, { fd });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.stream.on('error', (error) => {
      this.failure ??= error;
    });
    const header: TraceHeader = {
      type: 'trace.header',
      format: TRACE_FORMAT,
      version: 1,
      startedAt: new Date().toISOString(),
      timeOrigin: performance.timeOrigin,
    };
    this.line(header);
  }

  event(event: MultiactiveEvent): void {
    this.line(jsonSafe(event));
  }

  waits(graph: WaitGraph): void {
    this.line({ type: 'trace.waits', time: graph.time, graph });
  }

  /** Writes what is pending and closes the file; rejects if any write failed. Idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve, reject) => {
      this.flush();
      this.stream.end();
      // `finished` also reports an error the file had before (it could not be opened, say).
      finished(this.stream, (error) => {
        const failure = error ?? this.failure;
        if (failure) reject(failure);
        else resolve();
      });
    });
    return this.closed;
  }

  private line(value: TraceLine): void {
    if (this.closed !== undefined) return;
    const text = `${toJson(value)}\n`;
    this.pending.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref(); // a trace never keeps the process alive
    }
  }

  private flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.stream.write(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
  }
}

// Recordings in progress (recordTrace): while one runs, the runtime builds every request's
// events anyway, so an attached debugger takes them all too (see server.ts).
let recordings = 0;
const recordingHooks = new Set<() => void>();

/** Whether a `recordTrace` recording is in progress in this process. */
export function recordingInProgress(): boolean {
  return recordings > 0;
}

/** Calls `hook` whenever a recording starts or stops; returns the function that stops it. */
export function onRecordingChange(hook: () => void): () => void {
  recordingHooks.add(hook);
  return () => recordingHooks.delete(hook);
}

function recordingChanged(by: 1 | -1): void {
  recordings += by;
  for (const hook of recordingHooks) hook();
}

export interface RecordTraceOptions {
  /** Also poll `waitGraph()` every so many milliseconds and record it (`0`: never). @default 0 */
  waitGraphIntervalMs?: number;
}

export interface TraceRecording {
  readonly path: string;
  /** Stops recording and closes the file (resolves once every line is written). */
  stop(): Promise<void>;
}

/**
 * Records every event of this process (objects on worker nodes included) to `path`, as JSON
 * lines, until `stop()`. Listening to the stream makes the runtime build events: see the cost
 * in docs/benchmarks.md.
 */
export function recordTrace(path: string, options: RecordTraceOptions = {}): TraceRecording {
  const writer = new TraceWriter(path);
  // Every request's events (`requests: 'all'`, the default): a trace is read request by request.
  const unsubscribe = onEvent((event) => writer.event(event), { requests: 'all' });
  recordingChanged(1);
  const interval = options.waitGraphIntervalMs ?? 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  // One poll at a time: the next is scheduled only when the previous one has answered.
  const poll = (): void => {
    timer = setTimeout(() => {
      waitGraph()
        .then(
          (graph) => {
            if (!stopped) writer.waits(graph);
          },
          () => undefined, // a node that does not answer: skip this poll, try the next
        )
        .finally(() => {
          if (!stopped) poll();
        });
    }, interval);
    timer.unref();
  };
  if (interval > 0) poll();
  return {
    path,
    stop() {
      if (!stopped) {
        stopped = true;
        if (timer !== undefined) clearTimeout(timer);
        unsubscribe();
        recordingChanged(-1);
      }
      return writer.close();
    },
  };
}

/**
 * Parses a trace file's text. Lines that are not JSON (a file cut short by a crash) are
 * skipped; a file without the header is refused.
 */
export function readTrace(text: string): Trace {
  const events: MultiactiveEvent[] = [];
  const waitGraphs: TraceWaits[] = [];
  const modes: ModeMarker[] = [];
  let header: TraceHeader | undefined;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: TraceLine;
    try {
      line = JSON.parse(raw) as TraceLine;
    } catch {
      continue;
    }
    if (line.type === 'trace.header') header = line;
    else if (line.type === 'trace.waits') waitGraphs.push(line);
    else if (line.type === 'debugger.mode') modes.push(line);
    else events.push(line);
  }
  if (header?.format !== TRACE_FORMAT) {
    throw new ArgumentError(
      `Not a multiactive trace: expected a line {"type":"trace.header","format":"${TRACE_FORMAT}",...} (written by recordTrace or attachDebugger({ trace }))`,
    );
  }
  return { header, events, waitGraphs, modes };
}
