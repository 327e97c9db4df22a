/**
 * Where checkpoints go (docs/fault-tolerance.md): one small interface, a file store (the embedded default)
 * and an in-memory store (tests, objects that need no durability).
 *
 * A checkpoint is an opaque byte string, named by the object's key and a sequence number
 * that grows with every checkpoint of that object. Restoring takes the newest one; a
 * corrupted newest checkpoint is an error (`CheckpointError`), never a silent fallback to an
 * older one or to an empty state: the requests logged since the newest would be replayed on
 * the wrong state.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CheckpointError } from '../errors.js';

export interface StoredCheckpoint {
  readonly key: string;
  readonly seq: number;
  readonly data: Uint8Array;
}

/**
 * What the runtime needs of a store. Every call must return a promise; the runtime bounds how
 * long it waits for one (`@Checkpoint({ storeTimeoutMs })`) and turns a call that throws, or
 * returns something else than a promise, into a `CheckpointError` of that checkpoint.
 */
export interface CheckpointStore {
  /** Write checkpoint `seq` of `key`; resolves once it is durable (as far as the store goes). */
  put(key: string, seq: number, data: Uint8Array): Promise<void>;
  /** The newest checkpoint of `key`, or undefined when there is none. Rejects with `CheckpointError` if it is damaged. */
  latest(key: string): Promise<StoredCheckpoint | undefined>;
  /** The sequence numbers stored for `key`, ascending. */
  list(key: string): Promise<number[]>;
  /**
   * Forget every checkpoint of `key`. Optional: the runtime calls it for an object whose key
   * it chose itself (nobody else can ever restore those) once the object has ended and its
   * last write is done; a store without it keeps them.
   */
  remove?(key: string): Promise<void>;
}

/** Checkpoints kept per key: the newest, and the one before it while the newest is written. */
const KEEP = 2;

/**
 * Keeps checkpoints in memory: fast, and gone with the process (and with its worker: a
 * worker's memory store does not survive the worker). Data is copied in and out.
 */
export class MemoryStore implements CheckpointStore {
  private readonly entries = new Map<string, Map<number, Uint8Array>>();

  async put(key: string, seq: number, data: Uint8Array): Promise<void> {
    let perKey = this.entries.get(key);
    if (perKey === undefined) this.entries.set(key, (perKey = new Map()));
    perKey.set(seq, data.slice());
    const seqs = [...perKey.keys()].sort((a, b) => a - b);
    for (const old of seqs.slice(0, Math.max(0, seqs.length - KEEP))) perKey.delete(old);
  }

  async latest(key: string): Promise<StoredCheckpoint | undefined> {
    const perKey = this.entries.get(key);
    if (perKey === undefined || perKey.size === 0) return undefined;
    const seq = Math.max(...perKey.keys());
    return { key, seq, data: perKey.get(seq)!.slice() };
  }

  async list(key: string): Promise<number[]> {
    return [...(this.entries.get(key)?.keys() ?? [])].sort((a, b) => a - b);
  }

  async remove(key: string): Promise<void> {
    this.entries.delete(key);
  }
}

/**
 * File layout: `<dir>/<key, encoded>/<seq, 16 digits>.ckpt`, each file
 *
 *   "MACKPT01" | sha256(data) (32 bytes) | data length (8 bytes, big-endian) | data
 *
 * The key is encoded into one file name inside `dir` (`keyName`): no key names a place
 * outside it.
 *
 * Writing is atomic: a temporary file in the same directory is written in full (a short
 * write is continued, an error fails the checkpoint) and fsynced, then renamed over the final
 * name (rename is atomic on POSIX file systems), so a crash leaves either the whole new
 * checkpoint or none of it; then older checkpoints beyond the newest two are removed, and so
 * are temporary files nobody has written for `STALE_TEMPORARY_MS` (left by a crash mid-write).
 * Reading checks the magic, the length and the checksum.
 */
export class FileStore implements CheckpointStore {
  readonly dir: string;

  constructor(dir: string) {
    if (typeof dir !== 'string' || dir === '') {
      throw new CheckpointError('', `FileStore expects a directory path, got ${String(dir)}`);
    }
    this.dir = resolve(dir);
  }

  private keyDir(key: string): string {
    return join(this.dir, keyName(key));
  }

  private file(key: string, seq: number): string {
    return join(this.keyDir(key), `${String(seq).padStart(16, '0')}.ckpt`);
  }

  async put(key: string, seq: number, data: Uint8Array): Promise<void> {
    const dir = this.keyDir(key);
    const final = this.file(key, seq);
    const temporary = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await makeDirectory(dir);
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header, 0);
      createHash('sha256').update(data).digest().copy(header, MAGIC.length);
      header.writeBigUInt64BE(BigInt(data.byteLength), MAGIC.length + 32);
      const handle = await open(temporary, 'w');
      try {
        await writeFully(handle, header, data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, final);
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => {});
      throw new CheckpointError(
        key,
        `Checkpoint ${seq} of ${key} could not be written to ${final}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    // The checkpoint is durable: tidying up is best effort (what is left goes next time).
    await this.tidy(key).catch(() => {});
  }

  /**
   * After a write: remove checkpoints beyond the newest KEEP, and temporary files left by a
   * writer that crashed (untouched for STALE_TEMPORARY_MS). Time: O(files of the key).
   */
  private async tidy(key: string): Promise<void> {
    const dir = this.keyDir(key);
    const names = await readdir(dir);
    const seqs = names
      .filter((name) => CHECKPOINT_NAME.test(name))
      .map((name) => Number(name.slice(0, 16)))
      .sort((a, b) => a - b);
    for (const old of seqs.slice(0, Math.max(0, seqs.length - KEEP))) {
      await rm(this.file(key, old), { force: true });
    }
    for (const name of names) {
      if (!TEMPORARY_NAME.test(name)) continue;
      const path = join(dir, name);
      try {
        if (Date.now() - (await stat(path)).mtimeMs > STALE_TEMPORARY_MS) await rm(path, { force: true });
      } catch {
        // Renamed or removed meanwhile by its writer: nothing to clean.
      }
    }
  }

  /**
   * Remove every checkpoint of `key`, and its directory. For keys no writer uses any more
   * (a write under way would fail: its temporary file is removed too).
   */
  async remove(key: string): Promise<void> {
    const dir = this.keyDir(key);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new CheckpointError(
        key,
        `Checkpoints of ${key} could not be removed from ${dir}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    try {
      for (const name of names) {
        if (CHECKPOINT_NAME.test(name) || TEMPORARY_NAME.test(name))
          await rm(join(dir, name), { force: true });
      }
      await rmdir(dir);
    } catch (error) {
      // Something else lives in the directory: leave it there. Or it is gone already.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
      throw new CheckpointError(
        key,
        `Checkpoints of ${key} could not be removed from ${dir}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async latest(key: string): Promise<StoredCheckpoint | undefined> {
    const seqs = await this.list(key);
    if (seqs.length === 0) return undefined;
    const seq = seqs[seqs.length - 1]!;
    const file = this.file(key, seq);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      throw new CheckpointError(
        key,
        `Checkpoint ${seq} of ${key} could not be read from ${file}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    const damaged = (why: string): CheckpointError =>
      new CheckpointError(
        key,
        `Checkpoint ${seq} of ${key} in ${file} is damaged (${why}); refusing to restore from it. ` +
          'Restore that file from a backup or remove it to restore from the previous checkpoint, knowingly.',
      );
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw damaged('not a multiactive checkpoint file, or its header is cut short');
    }
    const length = Number(bytes.readBigUInt64BE(MAGIC.length + 32));
    if (bytes.length - HEADER_BYTES !== length) {
      throw damaged(`it holds ${bytes.length - HEADER_BYTES} bytes of data, its header says ${length}`);
    }
    const data = bytes.subarray(HEADER_BYTES);
    const sum = createHash('sha256').update(data).digest();
    if (!sum.equals(bytes.subarray(MAGIC.length, MAGIC.length + 32))) throw damaged('checksum mismatch');
    return { key, seq, data: new Uint8Array(data) };
  }

  async list(key: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.keyDir(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CheckpointError(
        key,
        `Checkpoints of ${key} could not be listed in ${this.keyDir(key)}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    return names
      .filter((name) => CHECKPOINT_NAME.test(name))
      .map((name) => Number(name.slice(0, 16)))
      .sort((a, b) => a - b);
  }
}

const MAGIC = Buffer.from('MACKPT01', 'latin1');
const HEADER_BYTES = MAGIC.length + 32 + 8;
const CHECKPOINT_NAME = /^\d{16}\.ckpt$/;
/** `<seq>.ckpt.<pid>.<random>.tmp`, as `put` names its temporary files. */
const TEMPORARY_NAME = /^\d{16}\.ckpt\..+\.tmp$/;

/**
 * A temporary file nobody has written to for this long is left by a writer that crashed (or
 * gave up) mid-write, and is removed. A live writer touches its file at every write and
 * renames it right after its fsync, which the runtime waits for at most `storeTimeoutMs`
 * (30 s by default); one hour leaves a wide margin for slow disks and for other processes
 * sharing the directory, whose liveness cannot be checked from here (they may be on other
 * machines). Removing a live writer's file could only fail that writer's checkpoint (its
 * rename finds nothing), never damage one.
 */
export const STALE_TEMPORARY_MS = 60 * 60 * 1000;

/**
 * The key as one file name inside the store's directory. `encodeURIComponent` escapes `/`,
 * `\`, `%` and control characters, but leaves `.` and `..`, which name the directory itself
 * and its parent: those two are written `%2E` and `%2E%2E` (which no other key encodes to,
 * since `%` itself is escaped). Every other key keeps the name earlier versions gave it.
 */
export function keyName(key: string): string {
  if (typeof key !== 'string' || key === '') {
    throw new CheckpointError(
      String(key),
      `A checkpoint key is a non-empty string, got ${JSON.stringify(key)}`,
    );
  }
  const name = encodeURIComponent(key);
  return name === '.' ? '%2E' : name === '..' ? '%2E%2E' : name;
}

/**
 * Write `header` then `data` at the start of the file, all of it: `writev` may write fewer
 * bytes than asked (a full disk, a file size limit), and then the rest is written again from
 * where it stopped, until it is all there or the file system reports an error (ENOSPC,
 * EFBIG), which fails the checkpoint. Time: O(bytes), one system call when nothing is short.
 */
async function writeFully(handle: FileHandle, header: Buffer, data: Uint8Array): Promise<void> {
  const total = header.byteLength + data.byteLength;
  let written = (await handle.writev([header, data], 0)).bytesWritten;
  while (written < total) {
    const [buffer, offset] =
      written < header.byteLength ? [header, written] : [data, written - header.byteLength];
    const { bytesWritten } = await handle.write(buffer, offset, buffer.byteLength - offset, written);
    if (bytesWritten <= 0) {
      throw new Error(`the file system accepted no more bytes after ${written} of ${total}`);
    }
    written += bytesWritten;
  }
}

/**
 * `mkdir -p` that always settles. Node's `mkdir(path, { recursive: true })` (Node 20) never
 * settles when a directory exists but `mkdir` of a child in it says ENOENT, as under `/proc`:
 * it steps back to the parent on ENOENT and forward again on EEXIST, for ever (strace:
 * `mkdir("/proc/x/k") = ENOENT`, `mkdir("/proc/x") = ENOENT`, `mkdir("/proc") = EEXIST`,
 * `mkdir("/proc/x") = ENOENT`, ...), burning a core. (A dangling symbolic link, which makes
 * Bun's walk loop the same way, gets ENOTDIR from Node: that one settles.) Here each
 * missing directory is created once, from the deepest existing ancestor down, and an error
 * after that is final. Time: O(depth) system calls, one when the directory exists.
 */
async function makeDirectory(path: string): Promise<void> {
  const missing: string[] = [];
  for (let at = path; ; ) {
    try {
      await mkdir(at);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') break;
      const parent = dirname(at);
      if (code !== 'ENOENT' || parent === at) throw error;
      missing.push(at);
      at = parent;
    }
  }
  // The deepest existing ancestor is there now; create the missing ones below it, in order.
  for (let i = missing.length - 1; i >= 0; i--) {
    try {
      await mkdir(missing[i]!);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** The store the decorator names: a directory path, a store object, or the default directory. */
export function resolveStore(given: string | object | undefined): CheckpointStore {
  if (given === undefined) {
    return new FileStore(
      process.env.MULTIACTIVE_CHECKPOINT_DIR || join(process.cwd(), '.multiactive', 'checkpoints'),
    );
  }
  if (typeof given === 'string') return new FileStore(given);
  return given as CheckpointStore;
}
