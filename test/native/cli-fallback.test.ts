// Without the native addon the toolkit still works: the install step skips the build with one
// line, and a training run falls back (to js here, with the wasm backend hidden too; the wasm
// fallback is test/wasm/fallback.test.ts) with one line saying how to get the fast backend.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];
// The addon and the wasm module hidden, and no backend forced by the caller's environment.
const { MNIST_LAB_BACKEND: _forced, ...inherited } = process.env;
const hidden = { ...inherited, MNIST_LAB_NO_NATIVE: '1', MNIST_LAB_NO_WASM: '1' };

test('the install step without a native build exits 0 with one line naming the portable fallback', () => {
  const run = spawnSync(process.execPath, ['scripts/build-native.mjs'], {
    env: { ...process.env, MNIST_LAB_SKIP_NATIVE: '1' },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0);
  assert.equal(run.stdout.trim().split('\n').length, 1);
  assert.match(run.stdout, /a portable backend \(wasm, else js\) will be used/);
});

test('train without the addon (and without wasm) runs on js and prints the one-line hint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-lab-fallback-'));
  try {
    const run = spawnSync(
      process.execPath,
      [
        ...cli,
        'train',
        '--model',
        'mlp',
        '--limit',
        '256',
        '--epochs',
        '1',
        '--out',
        join(dir, 'run'),
        '--json',
      ],
      { env: hidden, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const hints = run.stderr.split('\n').filter((line) => line.includes('libdnnl-dev'));
    assert.equal(hints.length, 1, run.stderr);
    assert.match(hints[0] ?? '', /using the js backend.*npm run build:native/);
    const result = JSON.parse(run.stdout) as { backend: string };
    assert.equal(result.backend, 'js');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('asking for the native backend without the addon fails with one clear line', () => {
  const run = spawnSync(
    process.execPath,
    [...cli, 'train', '--model', 'mlp', '--backend', 'native', '--limit', '64'],
    {
      env: hidden,
      encoding: 'utf8',
    },
  );
  assert.notEqual(run.status, 0);
  const lines = run.stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('npm warn'));
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] ?? '', /native backend is not available: .*MNIST_LAB_NO_NATIVE=1/);
});
