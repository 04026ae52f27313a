// How the wasm backend plugs into backend selection (src/backend/select.ts: native, then wasm, then
// js) and what happens without it: the build without clang or wasm-ld says so in one line and
// succeeds, MNIST_LAB_NO_WASM=1 hides the module, a run without the native addon trains on wasm with
// the one-line hint, and asking for wasm where it is unavailable fails with one clear line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { wasmBackendAvailable } from '../../src/backend/wasm/node.js';

const cli = ['--import', 'tsx', 'src/cli/main.ts'];
const { MNIST_LAB_BACKEND: _forced, ...inherited } = process.env;
const availability = wasmBackendAvailable();
const skip = availability.available ? false : `wasm module unavailable: ${availability.reason}`;

it('the build without clang exits 0 with one line; build:wasm (--force) fails', () => {
  const env = { ...process.env, CLANG: '/no/such/clang' };
  const soft = spawnSync(process.execPath, ['scripts/build-wasm.mjs'], { env, encoding: 'utf8' });
  assert.equal(soft.status, 0, soft.stderr);
  assert.equal(soft.stdout.trim().split('\n').length, 1);
  assert.match(soft.stdout, /clang not found, wasm backend not built .*apt-get install clang lld/);
  const hard = spawnSync(process.execPath, ['scripts/build-wasm.mjs', '--force'], { env, encoding: 'utf8' });
  assert.equal(hard.status, 1);
  assert.match(hard.stderr, /clang not found/);
});

it('MNIST_LAB_NO_WASM=1 makes the wasm backend unavailable, with a reason', async () => {
  const run = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "import { wasmBackendAvailable, createNodeWasmBackend } from './src/backend/wasm/node.ts';" +
        'console.log(JSON.stringify(wasmBackendAvailable()));' +
        'try { createNodeWasmBackend(); } catch (e) { console.log(e.message); }',
    ],
    { env: { ...inherited, MNIST_LAB_NO_WASM: '1' }, encoding: 'utf8' },
  );
  assert.equal(run.status, 0, run.stderr);
  const [first, second] = run.stdout.trim().split('\n');
  assert.deepEqual(JSON.parse(first ?? ''), {
    available: false,
    reason: 'the wasm backend is disabled by MNIST_LAB_NO_WASM=1',
  });
  assert.match(second ?? '', /wasm backend unavailable: .*MNIST_LAB_NO_WASM=1/);
});

it('train without the native addon runs on wasm and prints the one-line hint', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-lab-wasm-fallback-'));
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
      { env: { ...inherited, MNIST_LAB_NO_NATIVE: '1' }, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    const hints = run.stderr.split('\n').filter((line) => line.includes('libdnnl-dev'));
    assert.equal(hints.length, 1, run.stderr);
    assert.match(hints[0] ?? '', /using the wasm backend.*npm run build:native/);
    assert.equal((JSON.parse(run.stdout) as { backend: string }).backend, 'wasm');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('asking for the wasm backend where it is unavailable fails with one clear line', () => {
  const run = spawnSync(
    process.execPath,
    [...cli, 'train', '--model', 'mlp', '--backend', 'wasm', '--limit', '64'],
    {
      env: { ...inherited, MNIST_LAB_NO_WASM: '1' },
      encoding: 'utf8',
    },
  );
  assert.notEqual(run.status, 0);
  const lines = run.stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('npm warn'));
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] ?? '', /wasm backend is not available: .*MNIST_LAB_NO_WASM=1/);
});
