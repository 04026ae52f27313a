// Node-only: a record of dataset files whose SHA-256 was already checked, so a file is hashed once
// per version instead of on every load (hashing MNIST's 55 MB is a visible part of a short run).
//
// <cache root>/verified.json maps a file's absolute path to {size, mtimeMs, sha256} as they were
// when the file's content hashed to the pinned digest. A later load skips the hash only when the
// file's size and modification time are unchanged and the pinned digest is the one recorded; any
// other case (a new, replaced, touched or resized file, a different pin) hashes again.
// NOTE: the trust is in the file's metadata: an edit that keeps both size and mtime (deliberate
// tampering, a filesystem with coarse timestamps and a same-size rewrite within one tick) is not
// detected. loadDataset({verify: 'always'}) or MNIST_LAB_VERIFY=always hash every time.
// The record is rewritten atomically; a cache that cannot be written only costs the hash.
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from './files.js';

export const VERIFIED_FILE = 'verified.json';
const FORMAT = 'mnist-lab/verified@1';

interface FileVersion {
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface VerifiedRecord {
  format: typeof FORMAT;
  files: Record<string, FileVersion>;
}

/** 'cached' (default): hash a file version once; 'always': hash on every load. */
export type VerifyMode = 'cached' | 'always';

export function verifyMode(mode: VerifyMode | undefined): VerifyMode {
  return mode ?? (process.env['MNIST_LAB_VERIFY'] === 'always' ? 'always' : 'cached');
}

/** The record under `cacheRoot` (empty when missing or unreadable). */
export async function readVerifiedRecord(cacheRoot: string): Promise<VerifiedRecord> {
  try {
    const parsed = JSON.parse(await readFile(join(cacheRoot, VERIFIED_FILE), 'utf8')) as VerifiedRecord;
    if (parsed.format === FORMAT && typeof parsed.files === 'object' && parsed.files !== null) return parsed;
  } catch {
    // missing or unreadable: nothing is known to be verified
  }
  return { format: FORMAT, files: {} };
}

/** The file's current size and mtime (undefined when it cannot be read). */
export async function fileVersion(path: string): Promise<{ size: number; mtimeMs: number } | undefined> {
  try {
    const info = await stat(path);
    return { size: info.size, mtimeMs: info.mtimeMs };
  } catch {
    return undefined;
  }
}

/** A file version (size and mtime, from fileVersion) recorded with the SHA-256 it hashed to. */
export interface VerifiedEntry {
  path: string;
  version: { size: number; mtimeMs: number };
  sha256: string;
}

/** True when `record` says this version of `path` hashed to `sha256`. */
export function isVerified(
  record: VerifiedRecord,
  path: string,
  version: VerifiedEntry['version'] | undefined,
  sha256: string,
): boolean {
  const known = record.files[resolve(path)];
  return (
    version !== undefined &&
    known !== undefined &&
    known.sha256 === sha256 &&
    known.size === version.size &&
    known.mtimeMs === version.mtimeMs
  );
}

/**
 * Records that `path`, at the `version` stat()ed before it was read and hashed, has `sha256`.
 * Best effort: a read-only cache leaves the record as it was.
 */
export async function rememberVerified(cacheRoot: string, entries: readonly VerifiedEntry[]): Promise<void> {
  if (entries.length === 0) return;
  try {
    const record = await readVerifiedRecord(cacheRoot);
    for (const { path, version, sha256 } of entries) record.files[resolve(path)] = { ...version, sha256 };
    await mkdir(cacheRoot, { recursive: true });
    await writeFileAtomic(
      join(cacheRoot, VERIFIED_FILE),
      new TextEncoder().encode(JSON.stringify(record, null, 1) + '\n'),
    );
  } catch {
    // not writable: the next load hashes again
  }
}
