/**
 * Where checkpoints go (SPEC §9): one small interface, a file store (the embedded default)
 * and an in-memory store (tests, objects that need no durability).
 *
 * A checkpoint is an opaque byte string, named by the object's key and a sequence number
 * that grows with every checkpoint of that object. Restoring takes the newest one; a
 * corrupted newest checkpoint is an error (`CheckpointError`), never a silent fallback to an
 * older one or to an empty state: the requests logged since the newest would be replayed on
 * the wrong state.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MultiactiveError } from '../errors.js';

/** A checkpoint could not be written, found or read back intact. */
export class CheckpointError extends MultiactiveError {
  /** The object's checkpoint key. */
  readonly key: string;
  constructor(key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.key = key;
  }
}

export interface StoredCheckpoint {
  readonly key: string;
  readonly seq: number;
  readonly data: Uint8Array;
}

export interface CheckpointStore {
  /** Write checkpoint `seq` of `key`; resolves once it is durable (as far as the store goes). */
  put(key: string, seq: number, data: Uint8Array): Promise<void>;
  /** The newest checkpoint of `key`, or undefined when there is none. Rejects with `CheckpointError` if it is damaged. */
  latest(key: string): Promise<StoredCheckpoint | undefined>;
  /** The sequence numbers stored for `key`, ascending. */
  list(key: string): Promise<number[]>;
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
}

/**
 * File layout: `<dir>/<encodeURIComponent(key)>/<seq, 16 digits>.ckpt`, each file
 *
 *   "MACKPT01" | sha256(data) (32 bytes) | data length (8 bytes, big-endian) | data
 *
 * Writing is atomic: a temporary file in the same directory is written and fsynced, then
 * renamed over the final name (rename is atomic on POSIX file systems), so a crash leaves
 * either the whole new checkpoint or none of it; then older checkpoints beyond the newest
 * two are removed. Reading checks the magic, the length and the checksum.
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
    return join(this.dir, encodeURIComponent(key));
  }

  private file(key: string, seq: number): string {
    return join(this.keyDir(key), `${String(seq).padStart(16, '0')}.ckpt`);
  }

  async put(key: string, seq: number, data: Uint8Array): Promise<void> {
    const dir = this.keyDir(key);
    const final = this.file(key, seq);
    const temporary = `${final}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      await mkdir(dir, { recursive: true });
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header, 0);
      createHash('sha256').update(data).digest().copy(header, MAGIC.length);
      header.writeBigUInt64BE(BigInt(data.byteLength), MAGIC.length + 32);
      const handle = await open(temporary, 'w');
      try {
        await handle.writev([header, data]);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, final);
    } catch (error) {
      await rm(temporary, { force: true });
      throw new CheckpointError(
        key,
        `Checkpoint ${seq} of ${key} could not be written to ${final}: ${String(error)}`,
        {
          cause: error,
        },
      );
    }
    const seqs = await this.list(key);
    for (const old of seqs.slice(0, Math.max(0, seqs.length - KEEP))) {
      await rm(this.file(key, old), { force: true });
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
      .filter((name) => /^\d{16}\.ckpt$/.test(name))
      .map((name) => Number(name.slice(0, 16)))
      .sort((a, b) => a - b);
  }
}

const MAGIC = Buffer.from('MACKPT01', 'latin1');
const HEADER_BYTES = MAGIC.length + 32 + 8;

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
