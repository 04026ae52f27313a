#!/usr/bin/env node
// Builds the MPI addon (native/mpi -> native/mpi/build/Release/mnist_lab_mpi.node) when Open MPI is
// installed (`pkg-config --exists ompi`), for data-parallel training under mpirun. Runs after the
// oneDNN build at install and in `npm run build:native`, and never fails either: without Open MPI it
// prints one line and exits 0 (single-process training does not need it). `npm run build:mpi`
// passes --force: then a missing Open MPI or a failed build exits non-zero with the compiler output.
//   MNIST_LAB_SKIP_MPI=1   skip the build entirely
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const force = process.argv.includes('--force');
const mpiDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'mpi');
const installHint =
  'for training over several processes (mpirun): apt-get install libopenmpi-dev openmpi-bin (or brew install open-mpi), then npm run build:native';

function giveUp(reason, short) {
  if (force) {
    console.error(`build:mpi: ${reason}`);
    process.exit(1);
  }
  console.log(`mnist-lab: ${short}, so training runs in one process only; ${installHint}`);
  process.exit(0);
}

if (process.env.MNIST_LAB_SKIP_MPI === '1' && !force) process.exit(0);
if (!existsSync(join(mpiDir, 'binding.gyp')))
  giveUp(`no binding.gyp under ${mpiDir}`, 'the MPI sources are missing');
const probe = spawnSync('pkg-config', ['--exists', 'ompi'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  giveUp(
    probe.error ? `pkg-config is not available (${probe.error.message})` : 'pkg-config does not know ompi',
    'Open MPI not found',
  );
}
const result = spawnSync('node-gyp', ['rebuild'], {
  cwd: mpiDir,
  stdio: force ? 'inherit' : 'pipe',
  shell: process.platform === 'win32',
});
if (result.error || result.status !== 0) {
  giveUp(
    `node-gyp rebuild failed${result.error ? `: ${result.error.message}` : ` (exit ${result.status})`}`,
    "Open MPI found but the MPI addon did not build ('npm run build:mpi' shows the compiler's output)",
  );
}
console.log(
  force
    ? 'build:mpi: built native/mpi/build/Release/mnist_lab_mpi.node'
    : 'mnist-lab: built the MPI addon (mpirun -np N mnist-lab train ...)',
);
