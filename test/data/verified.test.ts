// The verification record (src/data/node/verified.ts): a pinned file is hashed once per version
// (path, size, mtime); a changed file is hashed again; verify 'always' hashes every load.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../src/index.js';
import { DataError } from '../../src/data/errors.js';
import { tempDir, TINY_FILE_NAMES, tinyBytes, tinySpec } from './helpers.js';

const FIXED_TIME = new Date('2025-01-01T00:00:00Z');

/** The tiny dataset as raw IDX files with a fixed mtime, in a fresh directory. */
function rawCopy(): string {
  const dir = tempDir();
  for (const name of TINY_FILE_NAMES) {
    writeFileSync(join(dir, name), tinyBytes(name));
    utimesSync(join(dir, name), FIXED_TIME, FIXED_TIME);
  }
  return dir;
}

/** Flips one pixel of the train images, keeping the size and (optionally) the mtime. */
function tamper(dir: string, keepMtime: boolean): void {
  const path = join(dir, 'train-images-idx3-ubyte');
  const bytes = readFileSync(path);
  bytes[16 + 400] = (bytes[16 + 400] as number) ^ 0xff;
  writeFileSync(path, bytes);
  if (keepMtime) utimesSync(path, FIXED_TIME, FIXED_TIME);
}

describe('verification record', () => {
  test('records each verified file once and re-hashes a file that changed', async () => {
    const dataDir = rawCopy();
    const cacheDir = tempDir();
    const options = { dataDir, cacheDir, offline: true } as const;
    await loadDataset(tinySpec(), options);
    const record = JSON.parse(readFileSync(join(cacheDir, 'verified.json'), 'utf8')) as {
      files: Record<string, { size: number; sha256: string }>;
    };
    assert.deepEqual(
      Object.keys(record.files)
        .map((p) => p.slice(dataDir.length + 1))
        .sort(),
      [...TINY_FILE_NAMES].sort(),
    );
    assert.equal((await loadDataset(tinySpec(), options)).train.count, 60);
    tamper(dataDir, false); // new mtime: hashed again, and refused
    await assert.rejects(loadDataset(tinySpec(), options), (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.match(error.message, /train-images-idx3-ubyte: expected SHA-256 [0-9a-f]{64}, found/);
      return true;
    });
  });

  test("verify 'always' catches a change that kept size and mtime (the documented blind spot of 'cached')", async () => {
    const dataDir = rawCopy();
    const cacheDir = tempDir();
    await loadDataset(tinySpec(), { dataDir, cacheDir, offline: true });
    tamper(dataDir, true);
    const cached = await loadDataset(tinySpec(), { dataDir, cacheDir, offline: true });
    assert.equal(cached.train.count, 60, "'cached' trusts the unchanged size and mtime");
    await assert.rejects(
      loadDataset(tinySpec(), { dataDir, cacheDir, offline: true, verify: 'always' }),
      /expected SHA-256/,
    );
  });
});
