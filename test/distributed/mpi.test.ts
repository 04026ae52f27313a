// Data-parallel training over MPI (issue 20), as a user runs it: `mpirun -np 2 mnist-lab train`.
// Equivalence with one process, rank 0 alone writing, a rank killed mid-epoch, resume with the same
// and another number of processes, synchronised batch norm, and the refusal without the addon.
// Skipped, saying why, only when mpirun is not installed (CI installs openmpi-bin).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { addonPath } from '../../src/backend/native/binding.js';
import { loadModel } from '../../src/index.js';
import {
  largestRelativeDifference,
  lastStep,
  latestWeights,
  launch,
  mpirunMissing,
  processState,
  rankPid,
  rankPidAtStep,
  run,
} from './helpers.js';

const skip = mpirunMissing();
const root = mkdtempSync(join(tmpdir(), 'mnist-lab-mpi-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The target: weights equal to float rounding. */
const TOLERANCE = 1e-5;
/** An mlp (no batch norm, no dropout) on 1024 MNIST images, global batch 128: 8 steps an epoch. */
const MLP = ['--model', 'mlp', '--dataset', 'mnist', '--offline', '--limit', '1024', '--batch-size', '128'];
const QUIET = ['--json', '--threads', '1', '--seed', '5'];

describe('data-parallel training over MPI', { skip }, () => {
  for (const backend of ['js', 'native'] as const) {
    const noNative = backend === 'native' && !existsSync(addonPath) ? 'the native addon is not built' : false;
    it(
      `${backend}: 2 processes x global batch 128 end an epoch with one process's weights`,
      { skip: noNative },
      async () => {
        const one = join(root, `equal-${backend}-1`);
        const two = join(root, `equal-${backend}-2`);
        const args = [...MLP, '--epochs', '1', '--backend', backend, ...QUIET];
        await run(1, ['train', ...args, '--out', one]);
        await run(2, ['train', ...args, '--out', two]);
        const difference = largestRelativeDifference(latestWeights(two), latestWeights(one));
        assert.ok(difference <= TOLERANCE, `2 processes differ from 1 by ${difference} (relative)`);
        const config = JSON.parse(readFileSync(join(two, 'config.json'), 'utf8'));
        assert.equal(config.versions.processes, 2, 'config.json records the number of processes');
      },
    );
  }

  it('process 0 alone writes the run: process 1, in its own directory, writes nothing', async () => {
    const dirs = [join(root, 'rank0'), join(root, 'rank1')];
    for (const dir of dirs) mkdirSync(dir);
    const args = ['train', ...MLP, '--epochs', '1', '--backend', 'js', ...QUIET, '--out', 'run'];
    const exit = await launch(2, args, { perRankDirs: dirs }).exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(readdirSync(dirs[1] as string), [], 'process 1 wrote into its working directory');
    const runDir = join(dirs[0] as string, 'run');
    assert.deepEqual(readdirSync(runDir).sort(), [
      'checkpoints',
      'config.json',
      'evaluation.json',
      'latest',
      'metrics.jsonl',
      'report.html',
    ]);
    // One JSON result on stdout (process 0's) and one trainBegin in the metrics.
    assert.equal(JSON.parse(exit.stdout).runDir, 'run');
    const begins = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').match(/"trainBegin"/g);
    assert.equal(begins?.length, 1);
    assert.match(
      readFileSync(join(runDir, 'report.html'), 'utf8'),
      /processes \(training\)<\/t[hd]>\s*<td>2</,
    );
  });

  it('kill -9 of process 1 mid-epoch: all stop promptly naming it; --resume ends with the uninterrupted weights', async () => {
    // js backend: ~10-30 ms a step, so the kill lands mid-epoch. 2000 images, batch 50: 40 steps an epoch.
    const args = [
      '--model',
      'mlp',
      '--dataset',
      'mnist',
      '--offline',
      '--limit',
      '2000',
      '--batch-size',
      '50',
    ];
    const shaping = [...args, '--epochs', '3', '--backend', 'js', ...QUIET];
    const straight = join(root, 'straight');
    await run(2, ['train', ...shaping, '--out', straight]);

    const killed = join(root, 'killed');
    const training = launch(2, ['train', ...shaping, '--out', killed]);
    const pid = await rankPidAtStep(training, killed, 50, 60);
    const survivor = rankPid(training.pid, 0);
    assert.ok(survivor !== undefined, 'found no process of rank 0 under mpirun');
    const killedAt = performance.now();
    process.kill(pid, 'SIGKILL');
    const exit = await training.exited;
    const seconds = (performance.now() - killedAt) / 1000;
    assert.notEqual(exit.code, 0, 'mpirun reported success after a rank was killed');
    assert.ok(seconds < 15, `the job took ${seconds.toFixed(1)} s to stop after the kill`);
    assert.ok(lastStep(killed) < 119, 'the run finished before the kill');
    assert.match(exit.stderr, /rank 1 .*(signal 9|Killed)/, `no line names rank 1:\n${exit.stderr}`);

    // Rank 0 has ended too: gone, or exited and not yet reaped (its launcher may exit first).
    while (processState(survivor) === 'running') {
      assert.ok(
        performance.now() - killedAt < 15_000,
        `rank 0 (pid ${survivor}) still runs 15 s after the kill`,
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // The last checkpoint (epoch 1's) loads, and the resumed run ends where the straight one did.
    await loadModel(killed);
    await run(2, ['train', '--resume', killed, '--backend', 'js', '--offline', ...QUIET]);
    assert.deepEqual(latestWeights(killed), latestWeights(straight));
  });

  it('a run resumes with another number of processes (1 -> 2 and 2 -> 1)', async () => {
    const args = [...MLP, '--backend', 'js', ...QUIET];
    const straight = join(root, 'two-epochs');
    await run(1, ['train', ...args, '--epochs', '2', '--out', straight]);
    for (const [first, second] of [
      [1, 2],
      [2, 1],
    ] as const) {
      const dir = join(root, `resume-${first}-${second}`);
      await run(first, ['train', ...args, '--epochs', '1', '--out', dir]);
      await run(second, [
        'train',
        '--resume',
        dir,
        '--epochs',
        '2',
        '--backend',
        'js',
        '--offline',
        ...QUIET,
      ]);
      const difference = largestRelativeDifference(latestWeights(dir), latestWeights(straight));
      assert.ok(difference <= TOLERANCE, `${first} then ${second} processes differ by ${difference}`);
    }
  });

  it('--sync-bn: 2 processes of a batch-norm model match one process; per-process statistics do not', async () => {
    // A conv + batch-norm model on synthetic 6x6 images (batch-norm-worker.ts), js backend.
    const script = join(import.meta.dirname, 'batch-norm-worker.ts');
    const weights = async (processes: number, mode: string): Promise<[string, number[]][]> => {
      const out = join(root, `bn-${processes}-${mode}.json`);
      const exit = await launch(processes, [out, mode], { script }).exited;
      assert.equal(exit.code, 0, exit.stderr);
      return JSON.parse(readFileSync(out, 'utf8')) as [string, number[]][];
    };
    const one = await weights(1, 'one');
    const difference = (other: [string, number[]][]): number =>
      largestRelativeDifference(
        new Map(other.map(([, v], i) => [String(i), Float32Array.from(v)])),
        new Map(one.map(([, v], i) => [String(i), Float32Array.from(v)])),
      );
    const synced = difference(await weights(2, 'sync'));
    const local = difference(await weights(2, 'local'));
    assert.ok(synced <= TOLERANCE, `--sync-bn differs from one process by ${synced}`);
    assert.ok(local > 1e-2, `per-process statistics differ from one process by only ${local}`);
  });

  it('without the MPI addon a launched run refuses in one line saying how to install it', async () => {
    const exit = await launch(
      2,
      ['train', ...MLP, '--backend', 'js', ...QUIET, '--out', join(root, 'refused')],
      {
        env: { MNIST_LAB_NO_MPI: '1' },
      },
    ).exited;
    assert.notEqual(exit.code, 0);
    const ours = exit.stderr.split('\n').filter((line) => line.startsWith('mnist-lab:'));
    assert.equal(ours.length, 1, exit.stderr);
    assert.match(ours[0] as string, /process 0 of 2.*apt-get install libopenmpi-dev openmpi-bin/);
    assert.ok(!existsSync(join(root, 'refused')), 'a refused run wrote its directory');
  });
});
