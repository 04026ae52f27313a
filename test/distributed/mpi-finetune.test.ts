// Fine-tuning and pretraining data-parallel over MPI (issue 20), as a user runs them:
// `mpirun -np 2 mnist-lab finetune` (lora, full, and head, whose frozen features are computed in
// shares and gathered) and `mpirun -np 2 mnist-lab pretrain` (a masked autoencoder, whose masks are
// drawn for the global batch). 2 processes x global batch B end with the weights of 1 process with
// batch B, process 1 (in its own working directory, without the base) writes nothing, and a
// pretraining run whose process 1 was killed resumes with the same and with another number of
// processes. Skipped only when mpirun is not installed.
import assert from 'node:assert/strict';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { addonPath } from '../../src/backend/native/binding.js';
import { dense, flatten, sequential } from '../../src/index.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import {
  largestRelativeDifference,
  lastStep,
  latestWeights,
  launch,
  mpirunMissing,
  rankPidAtStep,
  run,
} from './helpers.js';

const skip = mpirunMissing();
const root = mkdtempSync(join(tmpdir(), 'mnist-lab-mpi-finetune-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** The target: weights equal to float rounding. */
const TOLERANCE = 1e-5;
const QUIET = ['--json', '--threads', '1'];
const TINY = `idx:${join(import.meta.dirname, '../fixtures/data/tiny-idx')}`;

/**
 * 2 ranks, each in a directory of its own (`files` copied into process 0's only); returns process
 * 0's run directory.
 */
async function inOwnDirectories(
  name: string,
  args: readonly string[],
  files: string[] = [],
): Promise<string> {
  const dirs = [join(root, `${name}-rank0`), join(root, `${name}-rank1`)];
  for (const dir of dirs) mkdirSync(dir);
  for (const file of files) cpSync(file, join(dirs[0] as string, basename(file)));
  const exit = await launch(2, [...args, '--out', 'run'], { perRankDirs: dirs }).exited;
  assert.equal(exit.code, 0, exit.stderr);
  assert.deepEqual(readdirSync(dirs[1] as string), [], 'process 1 wrote into its working directory');
  return join(dirs[0] as string, 'run');
}

function processesOf(runDir: string): unknown {
  return JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).versions.processes;
}

describe('data-parallel fine-tuning and pretraining over MPI', { skip }, () => {
  // A base without batch norm or dropout: Flatten -> Dense(16, relu) -> Dense(5), from a file.
  const base = join(root, 'base.safetensors');
  const model = sequential([
    flatten({ inputShape: [28, 28, 1] }),
    dense({ units: 16, activation: 'relu' }),
    dense({ units: 5 }),
  ]);
  model.buildFor([28, 28, 1]);
  writeFileSync(base, encodeModel(model));
  // digits-transfer (digits 5-9, a new head): 512 images, global batch 64, 8 steps, seed 0.
  // NOTE: Adam moves a weight whose gradient is near its epsilon (1e-7) by up to the learning rate
  // whatever the gradient's rounding: with --seed 5, 11 of lora_A's 3,136 values (border pixels,
  // rarely lit) end 1.7e-5 apart (relative to the largest), every other weight < 1e-6.
  const finetune = (method: string, from = base): string[] => [
    ...['finetune', '--from', from, '--task', 'digits-transfer', '--method', method],
    ...['--epochs', '1', '--limit', '512', '--batch-size', '64', '--offline', '--backend', 'js', ...QUIET],
  ];

  for (const method of ['lora', 'full', 'head'] as const) {
    it(`finetune --method ${method}: 2 processes x global batch 64 end with one process's weights; process 0 alone writes`, async () => {
      const one = join(root, `finetune-${method}-1`);
      await run(1, [...finetune(method), '--out', one]);
      // Process 0 alone reads the base: process 1's directory has none.
      const two = await inOwnDirectories(`finetune-${method}`, finetune(method, 'base.safetensors'), [base]);
      const difference = largestRelativeDifference(latestWeights(two), latestWeights(one));
      assert.ok(difference <= TOLERANCE, `2 processes differ from 1 by ${difference} (relative)`);
      assert.equal(processesOf(two), 2, 'config.json records the number of processes');
      const fit = JSON.parse(readFileSync(join(two, 'config.json'), 'utf8')).training.fit;
      if (method === 'lora') {
        assert.deepEqual(readdirSync(join(two, 'adapter')).sort(), ['adapter.json', 'adapter.safetensors']);
      }
      // head: the frozen features were computed in shares and gathered (not a plain fit).
      if (method === 'head') assert.deepEqual(fit.featureCache, { layers: 2, featureShape: [16] });
    });
  }

  it('finetune --resume of a 1-process run under 2 processes ends with the weights of an uninterrupted run', async () => {
    // A constant rate: a schedule's length is fixed by the first run's epochs, so extending one
    // with --epochs does not retrace the 2-epoch schedule.
    const epochs = (n: number) => [
      ...finetune('full').map((a, i, all) => (all[i - 1] === '--epochs' ? String(n) : a)),
      ...['--schedule', 'constant'],
    ];
    const straight = join(root, 'finetune-resume-straight');
    await run(1, [...epochs(2), '--out', straight]);
    // One epoch as one process; only process 0's directory holds the run it continues.
    const dirs = [join(root, 'finetune-resume-rank0'), join(root, 'finetune-resume-rank1')];
    for (const dir of dirs) mkdirSync(dir);
    const first = join(dirs[0] as string, 'run');
    await run(1, [...epochs(1), '--out', first]);
    const resumed = launch(2, ['finetune', '--resume', first, '--epochs', '2', ...QUIET], {
      perRankDirs: dirs,
    });
    const exit = await resumed.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.deepEqual(readdirSync(dirs[1] as string), [], 'process 1 wrote into its working directory');
    assert.equal(lastStep(first), lastStep(straight));
    const difference = largestRelativeDifference(latestWeights(first), latestWeights(straight));
    assert.ok(difference <= TOLERANCE, `resumed under 2 processes, differs by ${difference} (relative)`);
  });

  it('finetune: SIGINT to process 1 stops both processes with a checkpoint; --resume ends with the uninterrupted weights', async () => {
    // 2,000 images, global batch 20: 100 steps an epoch, 300 in all; the interrupt lands in epoch 2.
    const shaping = [
      ...finetune('full').map((a, i, all) =>
        all[i - 1] === '--epochs'
          ? '3'
          : all[i - 1] === '--limit'
            ? '2000'
            : all[i - 1] === '--batch-size'
              ? '20'
              : a,
      ),
      ...['--schedule', 'constant'],
    ];
    const straight = join(root, 'finetune-sigint-straight');
    await run(1, [...shaping, '--out', straight]);

    const interrupted = join(root, 'finetune-sigint');
    const training = launch(2, [...shaping, '--out', interrupted]);
    const pid = await rankPidAtStep(training, interrupted, 100, 120);
    // Process 1 alone is told: every process stops at the same step, process 0 checkpoints.
    process.kill(pid, 'SIGINT');
    const exit = await training.exited;
    assert.equal(exit.code, 0, `an interrupted fine-tune is resumable, not failed:\n${exit.stderr}`);
    assert.match(exit.stderr, /interrupted: checkpoint saved/);
    assert.ok(lastStep(interrupted) < 299, 'the fine-tune finished before the interrupt');

    await run(2, ['finetune', '--resume', interrupted, ...QUIET]);
    assert.equal(lastStep(interrupted), lastStep(straight));
    const difference = largestRelativeDifference(latestWeights(interrupted), latestWeights(straight));
    assert.ok(difference <= TOLERANCE, `interrupted and resumed, differs by ${difference} (relative)`);
  });

  const noNative = !existsSync(addonPath) ? 'the native addon is not built' : false;
  it(
    'pretrain: kill -9 of process 1 in epoch 2; the run resumes with 2 and with 1 process to the weights of one process',
    { skip: noNative },
    async () => {
      // A vit-7 masked autoencoder on 60 images, global batch 16: 4 steps an epoch, 40 in all (on a
      // quiet machine a short run ends before the kill lands: the epochs after 1 are the margin).
      const args = [
        'pretrain',
        '--model',
        'vit-7',
        '--dataset',
        TINY,
        '--batch-size',
        '16',
        '--epochs',
        '10',
      ];
      const shaping = [...args, '--backend', 'native', ...QUIET, '--seed', '3'];
      const straight = join(root, 'pretrain-straight');
      await run(1, [...shaping, '--out', straight]);

      const dirs = [join(root, 'pretrain-rank0'), join(root, 'pretrain-rank1')];
      for (const dir of dirs) mkdirSync(dir);
      const killed = join(dirs[0] as string, 'run');
      const training = launch(2, [...shaping, '--out', 'run'], { perRankDirs: dirs });
      // Step 4 is epoch 2's first: epoch 1's checkpoint is written.
      const pid = await rankPidAtStep(training, killed, 4, 120);
      process.kill(pid, 'SIGKILL');
      const exit = await training.exited;
      assert.notEqual(exit.code, 0, 'mpirun reported success after a rank was killed');
      assert.ok(lastStep(killed) < 39, 'the run finished before the kill');
      assert.deepEqual(readdirSync(dirs[1] as string), [], 'process 1 wrote into its working directory');
      assert.equal(processesOf(killed), 2, 'config.json records the number of processes');

      const other = join(root, 'pretrain-other');
      cpSync(killed, other, { recursive: true });
      for (const [processes, dir] of [
        [2, killed],
        [1, other],
      ] as const) {
        await run(processes, ['pretrain', '--resume', dir, '--backend', 'native', ...QUIET]);
        const difference = largestRelativeDifference(
          withoutKeyBiases(latestWeights(dir)),
          withoutKeyBiases(latestWeights(straight)),
        );
        assert.ok(
          difference <= TOLERANCE,
          `2 then ${processes} processes differ by ${difference} (relative)`,
        );
      }
      assert.match(
        readFileSync(join(killed, 'report.html'), 'utf8'),
        /processes \(training\)<\/t[hd]>\s*<td>2</,
      );
    },
  );
});

/**
 * NOTE: an attention key bias adds q.b to every score of a query, which softmax cancels: its gradient
 * is zero but for rounding, which Adam scales up to steps of the learning rate, so it differs between
 * any two summation orders (one process or two alike). Every other weight is compared.
 */
function withoutKeyBiases(weights: Map<string, Float32Array>): Map<string, Float32Array> {
  return new Map([...weights].filter(([name]) => !name.endsWith('attention/key/bias')));
}
