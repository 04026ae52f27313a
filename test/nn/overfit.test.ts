// Tiny-data overfit: with layers, a loss and an optimizer wired by hand (no trainer), an MLP and a
// small conv net drive the loss on 16 random examples to near zero. Catches wrong gradients or
// updates anywhere in the path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, seeded } from './helpers.js';
import {
  activation,
  batchNormalization,
  conv2d,
  dense,
  flatten,
  globalAveragePooling2d,
  maxPooling2d,
} from '../../src/nn/index.js';
import type { Layer } from '../../src/nn/index.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { adam } from '../../src/optim/index.js';
import type { Optimizer } from '../../src/optim/index.js';
import { gradients } from '../../src/tensor/autograd.js';
import { randomNormal, tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { tidy } from '../../src/tensor/tensor.js';

function overfit(layers: Layer[], x: Tensor, y: Tensor, optimizer: Optimizer, steps: number): number[] {
  const loss = sparseCategoricalCrossentropy({ fromLogits: true });
  const random = seeded(99);
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const value = tidy(() => {
      const out = run(layers, x, { training: true, random });
      const l = loss.compute(y, out);
      const params = layers.flatMap((layer) => layer.trainableWeights.map((w) => w.value));
      optimizer.applyGradients(params, gradients(l, params));
      return l.item();
    });
    losses.push(value);
  }
  return losses;
}

function labels(n: number, classes: number, seed: number): Tensor {
  const random = seeded(seed);
  return tensor(
    Array.from({ length: n }, () => Math.floor(random.nextFloat() * classes)),
    [n],
    'int32',
  );
}

test('an MLP overfits 16 random examples', () => {
  const random = seeded(1);
  const layers = [flatten(), dense({ units: 32, activation: 'relu' }), dense({ units: 4 })];
  run(layers, randomNormal([1, 8, 8], random), { training: false, random });
  const losses = overfit(
    layers,
    randomNormal([16, 8, 8], seeded(2)),
    labels(16, 4, 3),
    adam({ learningRate: 0.01 }),
    150,
  );
  assert.ok(losses[0]! > 0.8, `initial loss ${losses[0]}`);
  assert.ok(losses.at(-1)! < 0.01, `final loss ${losses.at(-1)}`);
});

test('a small conv net with batch norm and pooling overfits 16 random examples', () => {
  const random = seeded(4);
  const layers = [
    conv2d({ filters: 8, kernelSize: 3, padding: 'same' }),
    batchNormalization(),
    activation({ activation: 'relu' }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 16, kernelSize: 3, activation: 'relu' }),
    globalAveragePooling2d(),
    dense({ units: 4 }),
  ];
  run(layers, randomNormal([2, 8, 8, 1], random), { training: false, random });
  const losses = overfit(
    layers,
    randomNormal([16, 8, 8, 1], seeded(5)),
    labels(16, 4, 6),
    adam({ learningRate: 0.02 }),
    150,
  );
  assert.ok(losses[0]! > 0.8, `initial loss ${losses[0]}`);
  const tail = losses.slice(-10);
  assert.ok(Math.max(...tail) < 0.05, `final losses ${tail.join(', ')}`);
});
