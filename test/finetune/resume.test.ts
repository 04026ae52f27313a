// `mnist-lab finetune --resume RUN` as a process, on the js backend and the tiny IDX dataset (60
// training, 20 test images): a LoRA fine-tune of a tiny vit stopped by SIGINT after its first epoch
// and a `full` one of a tiny convnet continued after its first epoch each end with the weights of an
// uninterrupted run, bit for bit (model, adapter and head); --resume restores the run's flags, and a
// run that is not a fine-tune run, or a flag that would change the run, is refused in one line.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeSafetensors } from '../../src/formats/safetensors.js';
import { conv2d, dense, dropout, flatten, maxPooling2d } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { scratchDir, tinyVit } from './setup.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const TINY = `idx:${join(import.meta.dirname, '../fixtures/data/tiny-idx')}`;
const STEPS_PER_EPOCH = 30; // 60 images / --batch-size 2
/** Only what does not shape the run: --resume restores the rest from the run's config.json. */
const RESUME_FLAGS = ['--offline', '--json'];

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: string[]): { child: ReturnType<typeof spawn>; exited: Promise<Exit> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MNIST_LAB_BACKEND: 'js' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited };
}

function cli(args: string[]): Exit {
  const result = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, MNIST_LAB_BACKEND: 'js' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function succeeds(args: string[]): Exit {
  const exit = cli(args);
  assert.equal(exit.code, 0, `mnist-lab ${args.join(' ')} failed:\n${exit.stderr}`);
  return exit;
}

/** The first epoch ended: its line is written at once (batch lines are buffered). */
function firstEpochEnded(runDir: string): boolean {
  const path = join(runDir, 'metrics.jsonl');
  return existsSync(path) && readFileSync(path, 'utf8').includes('"type":"epochEnd"');
}

/** The run's latest checkpoint step. */
function latestStep(runDir: string): number {
  return Number(readFileSync(join(runDir, 'latest'), 'utf8').trim().replace('checkpoints/', ''));
}

/** [name, shape, bytes] of every tensor of a safetensors file. */
function tensors(path: string): [string, string, Buffer][] {
  const file = decodeSafetensors(readFileSync(path));
  return [...file.tensors].map(([name, t]) => [name, t.shape.join('x'), Buffer.from(t.bytes)]);
}

function finalModel(runDir: string): [string, string, Buffer][] {
  return tensors(join(runDir, readFileSync(join(runDir, 'latest'), 'utf8').trim(), 'model.safetensors'));
}

describe('mnist-lab finetune --resume', () => {
  const dir = scratchDir('resume');
  const vitBase = join(dir, 'vit.safetensors');
  const cnnBase = join(dir, 'cnn.safetensors');
  after(() => rmSync(dir, { recursive: true, force: true }));

  before(() => {
    // The tiny vit (10 classes) and a tiny convnet with dropout: random bases
    // do for bit-equality, and keep the js runs short.
    const vit = tinyVit(10);
    writeFileSync(vitBase, encodeModel(vit));
    resetLayerNames();
    const cnn = sequential([
      conv2d({ inputShape: [28, 28, 1], filters: 4, kernelSize: 3, activation: 'relu' }),
      maxPooling2d({ poolSize: 2 }),
      flatten(),
      dropout({ rate: 0.25 }),
      dense({ units: 10 }),
    ]);
    cnn.buildFor([28, 28, 1], new Random(2));
    writeFileSync(cnnBase, encodeModel(cnn));
  });

  const lora = [
    ...['finetune', '--from', vitBase, '--task', TINY, '--method', 'lora', '--rank', '2'],
    ...['--target', 'block*/attention/query,block*/attention/value', '--lr', '0.01'],
    ...['--epochs', '3', '--batch-size', '2', '--seed', '4', '--offline', '--json'],
  ];

  it('LoRA: SIGINT after epoch 1, then --resume RUN alone: the same model and adapter as one run', async () => {
    const straight = join(dir, 'lora-straight');
    succeeds([...lora, '--out', straight]);
    assert.equal(latestStep(straight), 3 * STEPS_PER_EPOCH);

    const runDir = join(dir, 'lora-interrupted');
    const training = spawnCli([...lora, '--out', runDir]);
    let ended = false;
    void training.exited.then(() => (ended = true));
    const deadline = Date.now() + 120_000;
    while (!firstEpochEnded(runDir)) {
      if (ended)
        assert.fail(`the fine-tune exited before its first epoch ended:\n${(await training.exited).stderr}`);
      if (Date.now() > deadline) assert.fail('timed out waiting for the first epoch');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    training.child.kill('SIGINT');
    const stopped = await training.exited;
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(stopped.stdout, '', '--json prints no summary for an interrupted run');
    assert.match(
      stopped.stderr,
      new RegExp(
        `interrupted: checkpoint saved in .*; resume with: mnist-lab finetune --resume ${runDir.replace(/\W/g, '\\$&')}\\n`,
      ),
    );
    assert.equal(existsSync(join(runDir, 'run.lock')), false, 'the lock is released on SIGINT');
    assert.equal(existsSync(join(runDir, 'adapter')), false, 'no adapter before the run ends');
    const interruptedAt = latestStep(runDir);
    assert.ok(
      interruptedAt >= STEPS_PER_EPOCH && interruptedAt < 3 * STEPS_PER_EPOCH,
      `a mid-run checkpoint, found step ${interruptedAt}`,
    );

    const resumed = succeeds(['finetune', '--resume', runDir, ...RESUME_FLAGS]);
    const summary = JSON.parse(resumed.stdout) as {
      method: string;
      trainableParams: number;
      adapterDir: string;
    };
    assert.equal(summary.method, 'lora');
    assert.equal(latestStep(runDir), 3 * STEPS_PER_EPOCH);
    assert.deepEqual(finalModel(runDir), finalModel(straight), `resumed from step ${interruptedAt}`);
    const adapter = (run: string) => tensors(join(run, 'adapter', 'adapter.safetensors'));
    assert.ok(
      adapter(straight).some(([name]) => name.includes('lora_B')),
      'the adapter holds LoRA weights',
    );
    assert.ok(
      adapter(straight).some(([name]) => name.startsWith('head')),
      'and the new head',
    );
    assert.deepEqual(adapter(runDir), adapter(straight));
  });

  const full = [
    ...['finetune', '--from', cnnBase, '--task', TINY, '--method', 'full', '--batch-size', '4'],
    ...['--seed', '5', '--offline', '--json'],
  ];

  it('full: a run of 1 epoch continued with --resume RUN --epochs 2 equals a run of 2', () => {
    const straight = join(dir, 'full-straight');
    succeeds([...full, '--epochs', '2', '--out', straight]);
    const runDir = join(dir, 'full-continued');
    succeeds([...full, '--epochs', '1', '--out', runDir]);
    const first = finalModel(runDir);
    assert.notDeepEqual(first, finalModel(straight), 'one epoch is not two');
    succeeds(['finetune', '--resume', runDir, '--epochs', '2', ...RESUME_FLAGS]);
    assert.deepEqual(finalModel(runDir), finalModel(straight));
    const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')) as {
      runConfig: { flags: Record<string, unknown> };
    };
    assert.equal(config.runConfig.flags['method'], 'full');
    assert.equal(config.runConfig.flags['seed'], 5);
  });

  it('refuses a run that is not a fine-tune run, naming the command that continues it', () => {
    const trained = join(dir, 'trained');
    succeeds(['train', '--model', 'mlp', '--dataset', TINY, '--epochs', '1', '--offline', '--out', trained]);
    const refused = cli(['finetune', '--resume', trained, '--offline']);
    assert.equal(refused.code, 2);
    assert.equal(
      refused.stderr,
      `mnist-lab: --resume ${trained}: not a fine-tune run (its config.json has no finetune section); ` +
        `continue it with 'mnist-lab train --resume ${trained}', or give a directory 'mnist-lab finetune' wrote\n`,
    );
  });

  it('refuses, in one line and before any work, what would change the run or start another', () => {
    const runDir = join(dir, 'full-continued');
    const cases: [string[], RegExp][] = [
      [
        ['--method', 'lora'],
        /^mnist-lab: --method lora: the run in .* was fine-tuned with --method full, and --resume continues it as it was; drop --method\n$/,
      ],
      [
        ['--seed', '6'],
        /^mnist-lab: --seed 6: the run in .* was fine-tuned with --seed 5, .*; drop --seed\n$/,
      ],
      [
        ['--overwrite'],
        /^mnist-lab: --overwrite starts a new run and --resume continues one: give one of them\n$/,
      ],
      [
        ['--out', join(dir, 'elsewhere')],
        /^mnist-lab: --resume continues the run in its own directory; drop --out/,
      ],
    ];
    for (const [flags, says] of cases) {
      const refused = cli(['finetune', '--resume', runDir, ...flags, '--offline']);
      assert.equal(refused.code, 2, flags.join(' '));
      assert.match(refused.stderr, says);
    }
    // The same value again is no change.
    const again = succeeds([
      'finetune',
      '--resume',
      runDir,
      '--method',
      'full',
      '--seed',
      '5',
      ...RESUME_FLAGS,
    ]);
    assert.equal((JSON.parse(again.stdout) as { method: string }).method, 'full');
    // A new run into it is pointed at --resume.
    const taken = cli([...full, '--out', runDir]);
    assert.equal(taken.code, 2);
    assert.match(
      taken.stderr,
      new RegExp(`continue it with 'mnist-lab finetune --resume ${runDir.replace(/\W/g, '\\$&')}'`),
    );
  });
});
