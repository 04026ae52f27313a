#!/usr/bin/env node
// Builds the wasm backend's kernels (wasm/src/*.c) with clang's wasm32 target and lld, into
//   wasm/build/kernels.shared.wasm   shared memory + atomics: zero-copy storage and threads
//   wasm/build/kernels.wasm          plain memory: for pages without SharedArrayBuffer (copy mode)
// Part of `npm run build`. Without clang or wasm-ld it prints one line and exits 0 (the backend then
// reports itself unavailable and mnist-lab falls back to js); with --force (`npm run build:wasm`) that
// is an error. A compile error in the sources always fails.
//   CLANG=/path/to/clang  WASM_LD=/path/to/wasm-ld   use these instead of searching PATH
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const force = process.argv.includes('--force');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = join(root, 'wasm', 'src');
const outDir = join(root, 'wasm', 'build');
const HINT =
  "install clang and lld ('apt-get install clang lld', 'brew install llvm lld'), then run 'npm run build'";

/** The first of `names` that runs with --version, or null. */
function findTool(names) {
  for (const name of names) {
    const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return name;
  }
  return null;
}

const versions = [21, 20, 19, 18, 17, 16, 15, 14];
const clang = findTool(
  process.env.CLANG ? [process.env.CLANG] : ['clang', ...versions.map((v) => `clang-${v}`)],
);
const wasmLd = findTool(
  process.env.WASM_LD ? [process.env.WASM_LD] : ['wasm-ld', ...versions.map((v) => `wasm-ld-${v}`)],
);
if (!clang || !wasmLd) {
  const missing = [clang ? null : 'clang', wasmLd ? null : 'wasm-ld (lld)'].filter(Boolean).join(' and ');
  const line = `mnist-lab: ${missing} not found, wasm backend not built (js is used without native); ${HINT}`;
  if (force) {
    console.error(line);
    process.exit(1);
  }
  console.log(line);
  process.exit(0);
}

const sources = readdirSync(sourceDir)
  .filter((name) => name.endsWith('.c'))
  .sort()
  .map((name) => join(sourceDir, name));
// -O3 and SIMD128; no libc (the kernels call none), exports named in the sources.
const common = [
  '--target=wasm32',
  '-O3',
  '-msimd128',
  '-mbulk-memory',
  '-mmutable-globals',
  '-mnontrapping-fptoint',
  '-nostdlib',
  '-fno-builtin',
  '-std=c11',
  '-Wall',
  '-Wextra',
  // The linker path only matters to the link step; clang would warn about it on each compile.
  '-Wno-unused-command-line-argument',
  `--ld-path=${wasmLd}`,
  '-Wl,--no-entry',
  '-Wl,--import-memory',
  '-Wl,--export=__heap_base',
  '-Wl,--export=__stack_pointer',
  '-Wl,--max-memory=2147483648',
  '-Wl,-z,stack-size=262144',
];
const builds = [
  { file: 'kernels.shared.wasm', flags: ['-matomics', '-Wl,--shared-memory'] },
  { file: 'kernels.wasm', flags: [] },
];
mkdirSync(outDir, { recursive: true });
const started = Date.now();
for (const build of builds) {
  const target = join(outDir, build.file);
  const temp = `${target}.${process.pid}.tmp`;
  const run = spawnSync(clang, [...common, ...build.flags, '-o', temp, ...sources], { encoding: 'utf8' });
  if (run.status !== 0) {
    rmSync(temp, { force: true });
    console.error(
      `build-wasm: ${clang} failed building ${build.file}:\n${run.stderr || run.error?.message || ''}`,
    );
    process.exit(1);
  }
  if (run.stderr.trim()) process.stderr.write(run.stderr);
  renameSync(temp, target);
}
console.log(`build-wasm: ${builds.map((b) => b.file).join(', ')} in ${outDir} (${Date.now() - started} ms)`);
