// Gradient accumulation: fit({accumulateSteps: N}) with batchSize B takes one optimizer step per
// N micro-batches, and for a model without batch norm or dropout that step is the step of one
// batch of N*B, up to float rounding.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { adam, sgd } from '../../src/optim/index.js';
import type { Optimizer } from '../../src/optim/optimizer.js';
import type { TrainEvent } from '../../src/train/types.js';
import { runCli } from '../eval/helpers.js';
import { smallModel, syntheticData } from './setup.js';

const data = syntheticData(96);

function modelWith(optimizer: Optimizer) {
  const model = smallModel({ dropout: false });
  model.compile({
    optimizer,
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  return model;
}

function weights(model: ReturnType<typeof smallModel>): number[] {
  return model.weights.flatMap((w) => Array.from(w.value.data));
}

function largestDifference(a: number[], b: number[]): number {
  assert.equal(a.length, b.length);
  let largest = 0;
  for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
  return largest;
}

async function train(
  optimizer: () => Optimizer,
  options: { batchSize: number; accumulateSteps?: number; limit?: number },
): Promise<{ weights: number[]; losses: number[]; events: TrainEvent[] }> {
  const model = modelWith(optimizer());
  const events: TrainEvent[] = [];
  const history = await model.fit(data.images, data.labels, {
    epochs: 3,
    seed: 5,
    verbose: 0,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { weights: weights(model), losses: history.history.loss, events };
}

describe('gradient accumulation', () => {
  for (const [name, optimizer] of [
    ['sgd', () => sgd({ learningRate: 0.1 })],
    ['adam', () => adam({ learningRate: 0.01 })],
  ] as const) {
    it(`4 micro-batches of 8 equal one batch of 32 (${name}), a short last step included`, async () => {
      // limit 90: every epoch ends with a step of 26 examples = 8 + 8 + 8 + 2, each weighted by its share.
      const whole = await train(optimizer, { batchSize: 32, limit: 90 });
      const accumulated = await train(optimizer, { batchSize: 8, accumulateSteps: 4, limit: 90 });
      const small = await train(optimizer, { batchSize: 8, limit: 90 });
      const difference = largestDifference(whole.weights, accumulated.weights);
      assert.ok(difference < 2e-5, `accumulated weights differ from the batch of 32 by ${difference}`);
      // Not a test that cannot fail: plain batches of 8 (4x the steps) end somewhere else.
      assert.ok(largestDifference(whole.weights, small.weights) > 1e-2);
      accumulated.losses.forEach((loss, i) => assert.ok(Math.abs(loss - whole.losses[i]!) < 1e-5));
    });
  }

  it('counts optimizer steps in events: the batch of a step is batchSize * accumulateSteps', async () => {
    const { events } = await train(() => sgd({ learningRate: 0.1 }), { batchSize: 8, accumulateSteps: 4 });
    const begin = events.find((e) => e.type === 'trainBegin');
    assert.ok(begin?.type === 'trainBegin');
    assert.equal(begin.stepsPerEpoch, 3); // 96 / 32
    assert.equal(begin.batchSize, 32);
    const sizes = events.flatMap((e) => (e.type === 'batchEnd' ? [e.size] : []));
    assert.deepEqual(sizes, Array(9).fill(32));
  });

  it('refuses an accumulateSteps that is not a positive integer, naming it', async () => {
    const model = modelWith(sgd({ learningRate: 0.1 }));
    for (const accumulateSteps of [0, 1.5, -2]) {
      await assert.rejects(
        model.fit(data.images, data.labels, { accumulateSteps, verbose: 0 }),
        /fit\(\): accumulateSteps must be a positive integer, found/,
      );
    }
  });

  it('train --accumulate N: steps of N x --batch-size, saved with the run for --resume', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mnist-lab-accumulate-'));
    try {
      const out = join(root, 'run');
      const args = ['train', '--model', 'mlp', '--epochs', '1', '--limit', '512', '--batch-size', '32'];
      const result = await runCli([...args, '--accumulate', '4', '--offline', '--out', out, '--json']);
      assert.equal(result.code, 0, result.stderr);
      const events = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as TrainEvent);
      const begin = events.find((e) => e.type === 'trainBegin');
      assert.ok(begin?.type === 'trainBegin');
      assert.equal(begin.stepsPerEpoch, 4); // 512 / (32 * 4)
      assert.equal(begin.batchSize, 128);
      const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
        runConfig: { flags: { accumulate?: number } };
        training: { fit: { accumulateSteps: number; batchSize: number } };
      };
      assert.equal(config.runConfig.flags.accumulate, 4);
      assert.equal(config.training.fit.accumulateSteps, 4);
      assert.equal(config.training.fit.batchSize, 32);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
