#!/usr/bin/env node
// Builds the oneDNN addon (native/) when oneDNN is installed. Runs as the package's `install`
// script, where it must never fail the install: without oneDNN, or when the build fails, it prints
// one line naming the fallback and exits 0. `npm run build:native` passes --force: then a missing
// oneDNN or a failed build exits non-zero with the compiler output shown.
//   MNIST_LAB_SKIP_NATIVE=1   skip the build entirely
//   DNNL_ROOT=/opt/dnnl       look for include/oneapi/dnnl/dnnl.hpp and lib/ there first
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const force = process.argv.includes('--force');
const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const hint =
  'the js backend will be used; for the fast native one install oneDNN ' +
  '(apt-get install libdnnl-dev / brew install onednn), then run `npm run build:native`';

/** Prefixes that may hold include/oneapi/dnnl/dnnl.hpp, most specific first. */
function candidatePrefixes() {
  const prefixes = [];
  if (process.env.DNNL_ROOT) prefixes.push(process.env.DNNL_ROOT);
  prefixes.push('/usr', '/usr/local', '/opt/homebrew', '/opt/homebrew/opt/onednn', '/usr/local/opt/onednn');
  return prefixes;
}

function findOneDnn() {
  for (const prefix of candidatePrefixes()) {
    const include = join(prefix, 'include');
    if (existsSync(join(include, 'oneapi', 'dnnl', 'dnnl.hpp'))) {
      const lib = ['lib', 'lib64'].map((d) => join(prefix, d)).find((d) => existsSync(d));
      // System prefixes need no -L/-rpath; others get both so the addon finds libdnnl at run time.
      const system = prefix === '/usr';
      return { include, lib: system || lib === undefined ? '' : lib };
    }
  }
  return null;
}

/** One line and exit 0 during install; the full reason and exit 1 under --force. */
function giveUp(reason, short) {
  if (force) {
    console.error(`build:native: ${reason}`);
    process.exit(1);
  }
  console.log(`mnist-lab: ${short}; ${hint}`);
  process.exit(0);
}

if (process.env.MNIST_LAB_SKIP_NATIVE === '1' && !force) {
  console.log('mnist-lab: MNIST_LAB_SKIP_NATIVE=1, native addon not built; the js backend will be used');
  process.exit(0);
}
if (!existsSync(join(nativeDir, 'binding.gyp'))) {
  giveUp(`no native/binding.gyp under ${nativeDir}`, 'native sources missing');
}
const dnnl = findOneDnn();
if (dnnl === null) {
  giveUp(
    `oneDNN not found (looked for include/oneapi/dnnl/dnnl.hpp under ${candidatePrefixes().join(', ')})`,
  );
}

// Inside npm scripts node-gyp is on PATH and npm's nodedir points at installed headers.
const result = spawnSync('node-gyp', ['rebuild'], {
  cwd: nativeDir,
  stdio: force ? 'inherit' : 'pipe',
  shell: process.platform === 'win32',
  env: { ...process.env, MNIST_LAB_DNNL_INCLUDE: dnnl.include, MNIST_LAB_DNNL_LIB: dnnl.lib },
});
if (result.error || result.status !== 0) {
  giveUp(
    `node-gyp rebuild failed${result.error ? `: ${result.error.message}` : ` (exit ${result.status})`}`,
    'the native addon did not build (`npm run build:native` shows why)',
  );
}
if (force) console.log('build:native: built native/build/Release/mnist_lab_native.node');
