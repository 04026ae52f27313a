// Downloads against a real HTTP server on 127.0.0.1 playing good and broken mirrors.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../../src/index.js';
import type { DataEvent } from '../../src/data/dataset.js';
import { DataError } from '../../src/data/errors.js';
import {
  filesUnder,
  startMirrorServer,
  tempDir,
  tinyBytes,
  tinySpec,
  TINY_FILE_NAMES,
  TINY_IDX,
  type MirrorServer,
} from './helpers.js';

let server: MirrorServer;
before(async () => {
  server = await startMirrorServer();
});
after(async () => {
  await server.close();
});

async function load(
  mirrors: string[],
  options: { cacheDir?: string; offline?: boolean; timeoutMs?: number } = {},
) {
  const cacheDir = options.cacheDir ?? tempDir();
  const events: DataEvent[] = [];
  const promise = loadDataset(tinySpec(mirrors), {
    cacheDir,
    offline: options.offline ?? false,
    timeoutMs: options.timeoutMs ?? 2000,
    onEvent: (event) => events.push(event),
  });
  return { promise, cacheDir, events };
}

describe('download mirrors', () => {
  test('falls back past 404, 500, truncated, wrong-checksum, oversized and hanging mirrors', async () => {
    const routes = ['missing', 'error', 'truncated', 'wrong', 'big', 'hang', 'good'];
    const { promise, cacheDir, events } = await load(
      routes.map((r) => server.url(r)),
      { timeoutMs: 300 },
    );
    const dataset = await promise;
    assert.equal(dataset.train.count, 60);
    assert.equal(dataset.test.count, 20);
    assert.equal(dataset.verified, true);
    assert.deepEqual(dataset.source, { kind: 'download', location: server.url('good') });
    // The four files, and the record of their verified checksums (no temp files left behind).
    assert.deepEqual(
      filesUnder(cacheDir).sort(),
      [...TINY_FILE_NAMES.map((n) => join('tiny', n)), 'verified.json'].sort(),
    );
    const failures = events.filter((e) => e.kind === 'download-failed').map((e) => e.message);
    assert.equal(failures.length, 6, 'after the first file, the mirror that worked is tried first');
    assert.equal(server.hits.get('hang'), 1);
    const firstFile = failures.join('\n');
    assert.match(firstFile, /missing.*HTTP 404/);
    assert.match(firstFile, /error.*HTTP 500/);
    assert.match(firstFile, /truncated.*unexpected end of file/);
    assert.match(firstFile, /wrong.*SHA-256 mismatch/);
    assert.match(firstFile, /big.*more than the expected/);
    assert.match(firstFile, /hang.*timed out/);
  });

  test('follows redirects', async () => {
    const { promise } = await load([server.url('redirect')]);
    assert.equal((await promise).train.count, 60);
  });

  test('when every mirror fails, the error names each failure and the cache stays empty', async () => {
    const { promise, cacheDir } = await load([
      server.url('missing'),
      server.url('wrong'),
      server.url('truncated'),
    ]);
    await assert.rejects(promise, (error: unknown) => {
      assert.ok(error instanceof DataError);
      assert.doesNotMatch(error.message, /\n/);
      assert.match(
        error.message,
        /tiny: no local copy found .* the download failed: train-images-idx3-ubyte: every mirror failed/,
      );
      assert.match(error.message, /HTTP 404.*SHA-256 mismatch.*unexpected end of file/);
      return true;
    });
    assert.deepEqual(filesUnder(cacheDir), []);
  });

  test('a timeout leaves no file behind', async () => {
    const { promise, cacheDir } = await load([server.url('hang')], { timeoutMs: 200 });
    await assert.rejects(promise, /timed out/);
    assert.deepEqual(filesUnder(cacheDir), []);
  });

  test('a corrupt cached file is reported, replaced by a verified download, and the rest reused', async () => {
    const cacheDir = tempDir();
    mkdirSync(join(cacheDir, 'tiny'));
    for (const name of TINY_FILE_NAMES) writeFileSync(join(cacheDir, 'tiny', name), tinyBytes(name));
    const corrupt = tinyBytes('train-labels-idx1-ubyte');
    corrupt[20] = (corrupt[20]! + 1) % 10;
    writeFileSync(join(cacheDir, 'tiny', 'train-labels-idx1-ubyte'), corrupt);
    const before = server.hits.get('good') ?? 0;
    const { promise, events } = await load([server.url('good')], { cacheDir });
    const dataset = await promise;
    assert.equal(dataset.source.kind, 'download');
    assert.equal((server.hits.get('good') ?? 0) - before, 1, 'only the corrupt file is fetched');
    assert.ok(events.some((e) => e.kind === 'source-skipped' && /cache .*expected SHA-256/.test(e.message)));
    const second = await (await load([], { cacheDir, offline: true })).promise;
    assert.equal(second.source.kind, 'cache');
  });

  test("source: 'download' skips a working local copy; source: 'cache' never downloads", async () => {
    const cacheDir = tempDir();
    const dataset = await loadDataset(tinySpec([server.url('good')]), {
      dataDir: TINY_IDX,
      cacheDir,
      source: 'download',
    });
    assert.equal(dataset.source.kind, 'download');
    const empty = tempDir();
    await assert.rejects(
      loadDataset(tinySpec([server.url('good')]), { dataDir: TINY_IDX, cacheDir: empty, source: 'cache' }),
      /tiny: the cache source failed \(cache .*: no such directory\)/,
    );
    assert.deepEqual(filesUnder(empty), []);
  });

  test('--offline never touches the network', async () => {
    const total = () => [...server.hits.values()].reduce((a, b) => a + b, 0);
    const before = total();
    const { promise, cacheDir } = await load([server.url('good')], { offline: true });
    await assert.rejects(promise, /--offline forbids downloading/);
    assert.equal(total(), before);
    assert.deepEqual(filesUnder(cacheDir), []);
  });
});
