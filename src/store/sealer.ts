// Encryption of sensitive fields at rest (secret data, the root CA key, join tokens, registry credentials).
// The cluster store seals them before they reach the KV and opens them when it loads, so the store file (or
// etcd's) never holds them in clear.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { DamagedStateError } from './file-errors.js';

export interface Sealer {
  /** Encrypts and authenticates; the result is printable text, safe to store in JSON. */
  seal(plaintext: Buffer): string;
  /** Reverses `seal`; throws if the text was not sealed with this key or has been altered. */
  open(sealed: string): Buffer;
}

export const DATA_KEY_BYTES = 32;

/** The data key is wrapped under an unlock key (autolock) and none was given. */
export class SwarmLockedError extends Error {
  override name = 'SwarmLockedError';
  constructor() {
    super('the data key is locked: the swarm needs its unlock key');
  }
}

/** The unlock key given does not unwrap the data key. */
export class InvalidUnlockKeyError extends Error {
  override name = 'InvalidUnlockKeyError';
  constructor() {
    super('the unlock key does not open the data key');
  }
}

/** First bytes of a key file holding the data key wrapped under an unlock key (then base64 of the seal). */
const WRAPPED_MAGIC = 'shoal-wrapped-data-key-v1:';

/** Sealed data that this key cannot open: another key sealed it, or it was altered. */
export class SealedDataError extends Error {
  override name = 'SealedDataError';
}

/** First byte of every sealed blob, so that a future format (another cipher, a key ID) can be told apart. */
const FORMAT_V1 = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM with a fresh random 96-bit IV per seal. Sealed text is base64 of
 * `format byte ‖ IV ‖ ciphertext ‖ tag`. Random IVs are safe far beyond the number of secrets a cluster
 * will ever write under one key.
 */
export class AesGcmSealer implements Sealer {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== DATA_KEY_BYTES) throw new RangeError(`data key must be ${DATA_KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
  }

  seal(plaintext: Buffer): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.of(FORMAT_V1), iv, ciphertext, cipher.getAuthTag()]).toString('base64');
  }

  open(sealed: string): Buffer {
    const blob = Buffer.from(sealed, 'base64');
    if (blob.length < 1 + IV_BYTES + TAG_BYTES || blob[0] !== FORMAT_V1) {
      throw new SealedDataError('sealed data is malformed or in an unknown format');
    }
    const iv = blob.subarray(1, 1 + IV_BYTES);
    const tag = blob.subarray(blob.length - TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(blob.subarray(1 + IV_BYTES, blob.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      throw new SealedDataError('sealed data cannot be opened: wrong data key, or the data was altered');
    }
  }
}

/** An `AesGcmSealer` whose key lives in a file of its own (mode 0600), created on first use. */
export class KeyFileSealer extends AesGcmSealer {
  readonly #dataKey: Buffer;

  private constructor(
    key: Buffer,
    readonly path: string,
  ) {
    super(key);
    this.#dataKey = Buffer.from(key);
  }

  /**
   * Rewrites the key file: the data key wrapped under `unlockKey` (autolock), or in clear without one.
   * Atomic (a temporary file renamed into place), so a crash leaves the old file or the new one.
   */
  rewrap(unlockKey: Buffer | undefined): void {
    const content = unlockKey
      ? Buffer.from(`${WRAPPED_MAGIC}${new AesGcmSealer(unlockKey).seal(this.#dataKey)}\n`)
      : this.#dataKey;
    const temporary = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, this.path);
    fsyncDirectory(dirname(this.path));
  }

  /** Whether the key file at `path` holds the data key wrapped under an unlock key. */
  static isWrapped(path: string): boolean {
    return readFileSync(path).subarray(0, WRAPPED_MAGIC.length).toString() === WRAPPED_MAGIC;
  }

  /**
   * Loads the data key from `path`, which must exist (a node resuming its swarm: a new key would not open
   * what the old one sealed). A missing or malformed key file is a `DamagedStateError`.
   */
  static load(path: string, unlockKey?: Buffer): KeyFileSealer {
    const damaged = (problem: string, cause?: unknown) =>
      new DamagedStateError({ kind: 'data-key', what: 'the data key', file: path, problem }, { cause });
    let key: Buffer;
    try {
      key = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw damaged('is missing');
      throw damaged(`cannot be read (${(err as Error).message})`, err);
    }
    if (key.length === 0) throw damaged('is empty');
    if (key.subarray(0, WRAPPED_MAGIC.length).toString() === WRAPPED_MAGIC) {
      // Autolock: the data key is wrapped under the unlock key, which only the operator has.
      if (!unlockKey) throw new SwarmLockedError();
      let unwrapped: Buffer;
      try {
        unwrapped = new AesGcmSealer(unlockKey).open(key.subarray(WRAPPED_MAGIC.length).toString().trim());
      } catch (err) {
        if (err instanceof SealedDataError || err instanceof RangeError) throw new InvalidUnlockKeyError();
        throw err;
      }
      if (unwrapped.length !== DATA_KEY_BYTES) throw damaged('holds a wrapped key of the wrong size');
      return new KeyFileSealer(unwrapped, path);
    }
    if (key.length !== DATA_KEY_BYTES)
      throw damaged(`holds ${key.length} bytes instead of ${DATA_KEY_BYTES}`);
    return new KeyFileSealer(key, path);
  }

  /**
   * Loads the data key from `path`, or creates it (32 random bytes) if the file does not exist. Creation
   * is atomic: the key is written and fsynced under a temporary name, then linked into place, so a crash
   * never leaves a truncated key behind and two processes racing to create it end up sharing one key.
   */
  static loadOrCreate(path: string): KeyFileSealer {
    const existing = readKey(path);
    if (existing) return new KeyFileSealer(existing, path);
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, randomBytes(DATA_KEY_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, path);
      fsyncDirectory(dirname(path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Someone else created it first: use theirs.
    } finally {
      unlinkSync(temporary);
    }
    const key = readKey(path);
    if (!key) throw new Error(`data key file ${path} vanished while it was being created`);
    return new KeyFileSealer(key, path);
  }
}

function readKey(path: string): Buffer | undefined {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (key.length !== DATA_KEY_BYTES) {
    throw new Error(`data key file ${path} holds ${key.length} bytes, expected ${DATA_KEY_BYTES}`);
  }
  return key;
}

/** Makes a new directory entry durable (the file's own fsync does not cover its name). */
function fsyncDirectory(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
