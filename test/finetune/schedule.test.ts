// Fine-tuning schedules and task defaults: a cosine rate reaches 0 exactly at the last step (the
// step count follows fit's batching), and runFineTune takes a task's defaults where its options
// are silent, its options over them, and writes one checkpoint per run.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fineTune } from '../../src/finetune/recipe.js';
import { runFineTune } from '../../src/finetune/session.js';
import { LAYER_CLASSES } from '../../src/loading/index.js';
import { scratchDir, syntheticData, syntheticTask, tinyBase, tinyCnn } from './setup.js';

describe('fine-tuning schedules', () => {
  it('cosine and one-cycle end at their last step, counting limit and batching', async () => {
    const { images, labels } = syntheticData(40);
    for (const schedule of ['cosine', 'one-cycle'] as const) {
      // 30 examples (limit) in batches of 8: 4 steps per epoch, 8 in all.
      const result = await fineTune(tinyCnn(), images, labels, {
        method: 'full',
        epochs: 2,
        learningRate: 0.01,
        schedule,
        fit: { batchSize: 8, limit: 30, verbose: 0 },
      });
      const lr = result.histories[0]!.history.lr;
      assert.ok(lr[0]! > lr[1]!, `${schedule}: the rate falls (${lr.join(', ')})`);
      assert.ok(lr[1]! < 1e-5, `${schedule}: the last step's rate is ${lr[1]}, expected ~0`);
    }
    const constant = await fineTune(tinyCnn(), images, labels, {
      epochs: 2,
      learningRate: 0.01,
      fit: { batchSize: 8, verbose: 0 },
    });
    assert.deepEqual(constant.histories[0]!.history.lr, [0.01, 0.01]);
  });

  it('refuses an unknown schedule, naming the choices', async () => {
    const { images, labels } = syntheticData(8);
    await assert.rejects(
      fineTune(tinyCnn(), images, labels, { schedule: 'linear' as 'cosine' }),
      /schedule 'linear' is unknown; choose one of constant, cosine, one-cycle/,
    );
  });
});

describe('runFineTune task defaults', () => {
  const task = syntheticTask(40, { epochs: 3, batchSize: 8, learningRate: 0.02, schedule: 'cosine' });
  const base = tinyBase;
  const fitConfig = (runDir: string) =>
    JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')).training as {
      optimizer: { config: { learningRate: unknown } };
      fit: { epochs: number; batchSize: number };
    };

  it("uses the task's defaults where options are silent, and writes one checkpoint", async () => {
    const runDir = join(scratchDir('defaults'), 'run');
    await runFineTune({
      task,
      layers: LAYER_CLASSES,
      base: base(),
      runDir,
      method: 'full',
      freeze: 'conv2d',
    });
    const training = fitConfig(runDir);
    assert.equal(training.fit.epochs, 3);
    assert.equal(training.fit.batchSize, 8);
    // optim's scheduleByName('cosine'), as train --schedule cosine: 15 steps, the first (5%) warming up.
    assert.deepEqual(training.optimizer.config.learningRate, {
      className: 'CosineDecay',
      config: { initialLearningRate: 0, warmupTarget: 0.02, warmupSteps: 1, decaySteps: 14, alpha: 0 },
    });
    assert.deepEqual(readdirSync(join(runDir, 'checkpoints')), ['15']);
  });

  it("lets options win over the task's defaults", async () => {
    const runDir = join(scratchDir('override'), 'run');
    await runFineTune({
      task,
      layers: LAYER_CLASSES,
      base: base(),
      runDir,
      method: 'full',
      epochs: 1,
      batchSize: 20,
      schedule: 'constant',
    });
    const training = fitConfig(runDir);
    assert.equal(training.fit.epochs, 1);
    assert.equal(training.fit.batchSize, 20);
    assert.equal(training.optimizer.config.learningRate, 0.02);
  });
});
