#!/usr/bin/env node
// Builds the oneDNN addon (native/) when oneDNN is installed. Runs as the package's `install`
// script, where it must never fail the install: without oneDNN, or when the build fails, it prints
// one line naming the fallback and exits 0. `npm run build:native` passes --force: then a missing
// oneDNN or a failed build exits non-zero with the compiler output shown.
//   MNIST_LAB_SKIP_NATIVE=1   skip the build entirely
//   DNNL_ROOT=/opt/dnnl       look for include/oneapi/dnnl/dnnl.hpp and lib/ there first
//   MNIST_LAB_DNNL_PREFIXES   the prefixes to search instead of the usual ones (':'-separated,
//                             ';' on Windows); tests set it to hide the system's oneDNN
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const force = process.argv.includes('--force');
const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const installHint =
  'for the fast native backend: apt-get install libdnnl-dev (or brew install onednn), then npm run build:native';
const SYSTEM_PREFIXES = [
  '/usr',
  '/usr/local',
  '/opt/homebrew',
  '/opt/homebrew/opt/onednn',
  '/usr/local/opt/onednn',
];

/** Prefixes that may hold include/oneapi/dnnl/dnnl.hpp, most specific first. */
function candidatePrefixes() {
  const override = process.env.MNIST_LAB_DNNL_PREFIXES;
  const prefixes = [];
  if (process.env.DNNL_ROOT) prefixes.push(process.env.DNNL_ROOT);
  prefixes.push(...(override === undefined ? SYSTEM_PREFIXES : override.split(delimiter).filter(Boolean)));
  return prefixes;
}

function findOneDnn() {
  for (const prefix of candidatePrefixes()) {
    const include = join(prefix, 'include');
    if (existsSync(join(include, 'oneapi', 'dnnl', 'dnnl.hpp'))) {
      const lib = ['lib', 'lib64'].map((d) => join(prefix, d)).find((d) => existsSync(d));
      // System prefixes need no -L/-rpath; others get both so the addon finds libdnnl at run time.
      const system = prefix === '/usr';
      return { prefix, include, lib: system || lib === undefined ? '' : lib };
    }
  }
  return null;
}

/**
 * During install: one line, `short` (what happened, in the user's words) then `advice`, and exit 0.
 * Under --force: the full `reason` and exit 1.
 */
function giveUp(reason, short, advice = installHint) {
  if (force) {
    console.error(`build:native: ${reason}`);
    process.exit(1);
  }
  console.log(`mnist-lab: ${short}, so a portable backend (wasm, else js) will be used; ${advice}`);
  process.exit(0);
}

if (process.env.MNIST_LAB_SKIP_NATIVE === '1' && !force) {
  console.log(
    'mnist-lab: MNIST_LAB_SKIP_NATIVE=1, so the native addon was not built; a portable backend (wasm, else js) will be used',
  );
  process.exit(0);
}
if (!existsSync(join(nativeDir, 'binding.gyp'))) {
  giveUp(
    `no native/binding.gyp under ${nativeDir}`,
    'the native sources are missing',
    'reinstall mnist-lab to get them',
  );
}
const dnnl = findOneDnn();
if (dnnl === null) {
  const searched = candidatePrefixes().join(', ') || 'no prefixes (MNIST_LAB_DNNL_PREFIXES is empty)';
  giveUp(`oneDNN not found (looked for include/oneapi/dnnl/dnnl.hpp under ${searched})`, 'oneDNN not found');
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
    `oneDNN found in ${dnnl.prefix} but the native addon did not build`,
    "'npm run build:native' shows the compiler's output",
  );
}
console.log(
  force
    ? 'build:native: built native/build/Release/mnist_lab_native.node'
    : `mnist-lab: built the native backend (oneDNN from ${dnnl.prefix})`,
);
