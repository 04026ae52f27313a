// A full disk while writing checkpoints (issue 9): the write fails with ENOSPC (injected through the
// atomic writer's fault hook at each stage, and for real on a tiny tmpfs when this machine lets us
// mount one), the previous checkpoint still loads and verifies, no temp file is left behind, and
// `mnist-lab train` ends with one line saying what survived and how to resume (exit 1).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readCheckpoint } from '../../src/runs/node/directory.js';
import { setWriteFaultHook, type WriteStage } from '../../src/runs/node/files.js';
import { openRun } from '../../src/runs/node/writer.js';
import { loadModel } from '../../src/loading/node.js';
import { listFiles, smallModel, syntheticData, weightBytes } from '../train/setup.js';

const root = mkdtempSync(join(tmpdir(), 'mnist-lab-disk-full-'));
after(() => rmSync(root, { recursive: true, force: true }));
const STAGES: WriteStage[] = ['opened', 'written', 'synced'];
const data = syntheticData(64);

function enospc(path: string): Error {
  return Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });
}

/** Files of the run that are not where they belong: temp files of the atomic writer. */
function tempFiles(runDir: string): string[] {
  return listFiles(runDir).filter((file) => /\.tmp-/.test(file));
}

describe('disk full while checkpointing (fit)', () => {
  for (const stage of STAGES) {
    it(`ENOSPC at '${stage}' of the second checkpoint: fit fails, the first still loads and verifies`, async () => {
      const runDir = join(root, `api-${stage}`);
      const model = smallModel();
      let firstCheckpoint: Uint8Array | undefined;
      let failed = 0;
      setWriteFaultHook((at, path) => {
        const step = /checkpoints[/\\](\d+)[/\\]/.exec(path)?.[1];
        if (step === undefined || Number(step) <= 4) return; // epoch 1: checkpoints/4
        if (at === stage) {
          failed++;
          throw enospc(path);
        }
      });
      try {
        await assert.rejects(
          model.fit(data.images, data.labels, {
            epochs: 3,
            batchSize: 16,
            seed: 5,
            verbose: 0,
            run: await openRun(runDir),
            callbacks: [],
            onEvent: (event) => {
              if (event.type === 'checkpoint' && event.step === 4) firstCheckpoint = weightBytes(model);
            },
          }),
          { code: 'ENOSPC' },
        );
      } finally {
        setWriteFaultHook(undefined);
      }
      assert.equal(failed, 1, 'the fault fired once and stopped the run');
      assert.ok(firstCheckpoint, 'epoch 1 wrote its checkpoint');
      assert.equal(readFileSync(join(runDir, 'latest'), 'utf8').trim(), 'checkpoints/4');
      const checkpoint = await readCheckpoint(join(runDir, 'checkpoints', '4')); // verifies SHA-256
      assert.equal(checkpoint.state.step, 4);
      assert.deepEqual(weightBytes(await loadModel(runDir)), firstCheckpoint);
      assert.deepEqual(tempFiles(runDir), []);
    });
  }
});

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
}

const TRAIN = [
  ...['train', '--model', 'cnn', '--optimizer', 'sgd', '--lr', '0.01', '--offline', '--json'],
  ...['--limit', '256', '--batch-size', '64', '--epochs', '4'],
];

/** The run ended with the one disk-full line, and its first checkpoint loads. */
async function assertDiskFullRun(run: Exit, runDir: string): Promise<void> {
  assert.equal(run.status, 1, `exit 1 (runtime error), got ${run.status}:\n${run.stderr}`);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, found:\n${run.stderr}`);
  assert.equal(
    lines[0],
    `mnist-lab: no space left on the disk of ${runDir} (ENOSPC) while writing the run; the last good ` +
      `checkpoint ${join(runDir, 'checkpoints', '4')} is intact: free space, then resume with: ` +
      `mnist-lab train --resume ${runDir}`,
  );
  assert.equal(readFileSync(join(runDir, 'latest'), 'utf8').trim(), 'checkpoints/4');
  await readCheckpoint(join(runDir, 'checkpoints', '4'));
  const model = await loadModel(runDir);
  assert.equal(model.countParams(), 34_826);
  assert.deepEqual(tempFiles(runDir), []);
}

describe('disk full while checkpointing (mnist-lab train)', () => {
  it('an injected ENOSPC: one line naming the run, the intact checkpoint and how to resume', async () => {
    const runDir = join(root, 'cli-injected');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fault-cli.ts'), 'written', ...TRAIN, '--out', runDir],
      { encoding: 'utf8', timeout: 120_000 },
    );
    await assertDiskFullRun(run, runDir);
  });

  it('a real 300 KB tmpfs fills up at the second checkpoint (skipped where mounting is not allowed)', async (t) => {
    const mountPoint = join(root, 'tmpfs');
    mkdirSync(mountPoint);
    // One cnn checkpoint is ~142 KB (139 KB of weights, SGD has no slots): the second does not fit.
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', mountPoint], {
      encoding: 'utf8',
    });
    if (mount.status !== 0) {
      t.skip(`cannot mount a tmpfs here (${(mount.stderr || mount.error?.message || '').trim()})`);
      return;
    }
    try {
      const runDir = join(mountPoint, 'run');
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../../src/cli/main.ts'), ...TRAIN, '--out', runDir],
        { encoding: 'utf8', timeout: 120_000 },
      );
      await assertDiskFullRun(run, runDir);
      assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).sort(), ['4', '8']); // 8: the failed one, empty
      assert.deepEqual(readdirSync(join(runDir, 'checkpoints', '8')), []);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });
});
