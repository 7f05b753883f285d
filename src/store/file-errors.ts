// Errors about the files a node keeps. Two kinds: a file the node needs that is missing or damaged (found
// when it resumes), and a file that cannot be written (a full or failing disk). Both name the file, so the
// operator knows where to look, and neither is ever handled by recreating or overwriting the file.

import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { ShoalError } from '../api/errors.js';

/** Which of the node's files is damaged: the daemon words its advice after it. */
export type StateFileKind = 'swarm-state' | 'certificate' | 'cluster-store' | 'data-key' | 'agent-db';

/**
 * A file the node needs to resume its swarm membership is missing, empty or unreadable. The message is
 * `<what> <file> <problem>`, e.g. `the cluster store /var/lib/shoal/swarm/manager/store.db is missing`.
 */
export class DamagedStateError extends Error {
  override name = 'DamagedStateError';
  readonly kind: StateFileKind;
  readonly file: string;

  constructor(
    details: { kind: StateFileKind; what: string; file: string; problem: string },
    options?: ErrorOptions,
  ) {
    super(`${details.what} ${details.file} ${details.problem}`, options);
    this.kind = details.kind;
    this.file = details.file;
  }
}

const DISK_FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT']);
const IO_ERROR_CODES = new Set(['EIO', 'EROFS', 'ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** SQLite's "file is not a database" or "database disk image is malformed", in any of their forms. */
export function isCorruptionError(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

/** A write failed because of the disk (full, read-only, failing) rather than because of the data. */
export function isDiskError(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && (IO_ERROR_CODES.has(code) || code.startsWith('SQLITE_IOERR'));
}

/**
 * Whether the filesystem holding `file` is full. SQLite reports ENOSPC as SQLITE_FULL on most paths, but as
 * SQLITE_IOERR_* on some (growing the shared-memory file, say), so the filesystem is asked as well.
 */
function diskIsFull(file: string, err: unknown): boolean {
  if (DISK_FULL_CODES.has(codeOf(err) ?? '')) return true;
  try {
    const stats = statfsSync(dirname(file));
    return stats.bavail * stats.bsize < 64 * 1024;
  } catch {
    return false;
  }
}

/**
 * The error for a file shoald could not write because of its disk: a 500 through the Engine API whose
 * message says which file and, when that is the cause, that the disk is full.
 */
export function fileWriteError(what: string, file: string, err: unknown): ShoalError {
  const cause = err instanceof Error ? err.message : String(err);
  const message = diskIsFull(file, err)
    ? `${what} ${file} could not be written because the disk is full`
    : `${what} ${file} could not be written because of an I/O error (${codeOf(err) ?? 'error'}: ${cause})`;
  const error = new ShoalError('Internal', message);
  error.cause = err;
  return error;
}
