// The install step's messages (scripts/build-native.mjs, the package's `install` script): what a
// user reads during `npm ci` when oneDNN is missing or the addon does not build. oneDNN is hidden
// by MNIST_LAB_DNNL_PREFIXES, which replaces the prefixes the script searches.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-install-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The caller's environment without anything that would point the script at a oneDNN. */
function environment(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { DNNL_ROOT: _root, MNIST_LAB_SKIP_NATIVE: _skip, ...inherited } = process.env;
  return { ...inherited, ...extra };
}

function runScript(script: string, env: NodeJS.ProcessEnv, args: string[] = []) {
  return spawnSync(process.execPath, [script, ...args], { env, encoding: 'utf8' });
}

describe('the install script', () => {
  const empty = join(scratch, 'empty-prefix');
  mkdirSync(empty);

  it('without oneDNN: exit 0 and one line saying so, the fallback and how to get the fast backend', () => {
    const run = runScript(
      join(ROOT, 'scripts', 'build-native.mjs'),
      environment({ MNIST_LAB_DNNL_PREFIXES: empty }),
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(
      run.stdout,
      'mnist-lab: oneDNN not found, so a portable backend (wasm, else js) will be used; for the fast native backend: ' +
        'apt-get install libdnnl-dev (or brew install onednn), then npm run build:native\n',
    );
  });

  it('build:native (--force) without oneDNN: exit 1 naming where it looked', () => {
    const run = runScript(
      join(ROOT, 'scripts', 'build-native.mjs'),
      environment({ MNIST_LAB_DNNL_PREFIXES: empty }),
      ['--force'],
    );
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      `build:native: oneDNN not found (looked for include/oneapi/dnnl/dnnl.hpp under ${empty})\n`,
    );
  });

  it('oneDNN found but the build fails: exit 0 and one line pointing at build:native', () => {
    // A copy of the script beside a copy of native/binding.gyp (the build must not touch the
    // checkout's native/build), a prefix holding the header, and a node-gyp that fails.
    const tree = join(scratch, 'package');
    mkdirSync(join(tree, 'scripts'), { recursive: true });
    mkdirSync(join(tree, 'native'));
    copyFileSync(join(ROOT, 'scripts', 'build-native.mjs'), join(tree, 'scripts', 'build-native.mjs'));
    copyFileSync(join(ROOT, 'native', 'binding.gyp'), join(tree, 'native', 'binding.gyp'));
    const prefix = join(scratch, 'dnnl');
    mkdirSync(join(prefix, 'include', 'oneapi', 'dnnl'), { recursive: true });
    writeFileSync(join(prefix, 'include', 'oneapi', 'dnnl', 'dnnl.hpp'), '#error not a real oneDNN\n');
    const bin = join(scratch, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'node-gyp'), '#!/bin/sh\necho "gyp: simulated failure" >&2\nexit 1\n');
    chmodSync(join(bin, 'node-gyp'), 0o755);
    const run = runScript(
      join(tree, 'scripts', 'build-native.mjs'),
      environment({ MNIST_LAB_DNNL_PREFIXES: prefix, PATH: bin }),
    );
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    assert.equal(
      run.stdout,
      `mnist-lab: oneDNN found in ${prefix} but the native addon did not build, so a portable backend ` +
        "(wasm, else js) will be used; 'npm run build:native' shows the compiler's output\n",
    );
  });
});
