// Losses against hand-computed values, stability at extreme logits, gradients, names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from '../nn/helpers.js';
import {
  BinaryCrossentropy,
  CLASSIFIER_LOSS_NAMES,
  CategoricalCrossentropy,
  MeanSquaredError,
  SparseCategoricalCrossentropy,
  binaryCrossentropy,
  categoricalCrossentropy,
  classifierLoss,
  getLoss,
  meanSquaredError,
  serializeLoss,
  sparseCategoricalCrossentropy,
} from '../../src/losses/index.js';
import { gradients } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { softmax } from '../../src/tensor/ops/nn.js';

// log(1 + e^-1 + e^-2): cross-entropy of logits [2, 1, 0] against class 0. Values computed in
// float32 are compared with a relative tolerance of 1e-5.
const CE_210 = Math.log(1 + Math.exp(-1) + Math.exp(-2));

test('sparse CE from logits: [[2, 1, 0]] with label 0 is log(1 + e^-1 + e^-2) = 0.40760596', () => {
  const loss = sparseCategoricalCrossentropy({ fromLogits: true });
  assertClose([CE_210], [0.40760596], 1e-8);
  assertClose([loss.compute(tensor([0], [1], 'int32'), tensor([[2, 1, 0]])).item()], [0.40760596], 1e-5);
  // Labels as float (N) or (N, 1) are accepted too; the mean is over the batch.
  const batch = loss.compute(
    tensor([[0], [2]]),
    tensor([
      [2, 1, 0],
      [2, 1, 0],
    ]),
  );
  assertClose([batch.item()], [(CE_210 + CE_210 + 2) / 2], 1e-5);
});

test('sparse CE with label smoothing 0.1: targets 0.9 * onehot + 0.1 / 3', () => {
  // -sum t log p = LSE - sum t x = (2 + CE_210) - (0.9333 * 2 + 0.0333 * 1) = CE_210 + 0.1
  const loss = sparseCategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 });
  assertClose([loss.compute(tensor([0], [1], 'int32'), tensor([[2, 1, 0]])).item()], [CE_210 + 0.1], 1e-5);
  const fromProbabilities = sparseCategoricalCrossentropy({ labelSmoothing: 0.1 });
  assertClose(
    [fromProbabilities.compute(tensor([0], [1], 'int32'), softmax(tensor([[2, 1, 0]]))).item()],
    [CE_210 + 0.1],
    1e-5,
  );
});

test('sparse CE from probabilities: -log p[label], clipped to [1e-7, 1 - 1e-7]', () => {
  const loss = sparseCategoricalCrossentropy();
  assertClose(
    [loss.compute(tensor([0], [1], 'int32'), tensor([[0.7, 0.2, 0.1]])).item()],
    [-Math.log(0.7)],
    1e-5,
  );
  const zero = loss.compute(tensor([2], [1], 'int32'), tensor([[0.5, 0.5, 0]])).item();
  assertClose([zero], [-Math.log(1e-7)], 1e-5);
  assert.ok(Number.isFinite(zero));
});

test('sparse CE from probabilities rescales each row to sum 1 first, as Keras 3 does', () => {
  const loss = sparseCategoricalCrossentropy();
  // Rows summing to 0.5 and 4: [0.35, 0.1, 0.05] is [0.7, 0.2, 0.1]; [1, 1, 2] is [0.25, 0.25, 0.5].
  const predictions = tensor([
    [0.35, 0.1, 0.05],
    [1, 1, 2],
  ]);
  const value = loss.compute(tensor([0, 2], [2], 'int32'), predictions).item();
  assertClose([value], [(-Math.log(0.7) - Math.log(0.5)) / 2], 1e-6);
  // Its gradient is categorical CE's on the same rows (which rescales too): d/dp of -log(p_y / sum p).
  const p = tensor([[0.35, 0.1, 0.05]]);
  p.requiresGrad = true;
  const [sparseGrad] = gradients(loss.compute(tensor([0], [1], 'int32'), p), [p]);
  // -log(p0 / S): d/dp0 = -1/p0 + 1/S, d/dpk = 1/S with S = 0.5.
  assertClose(Array.from(sparseGrad!.data), [-1 / 0.35 + 2, 2, 2], 1e-5);
  const onehot = categoricalCrossentropy().compute(tensor([[1, 0, 0]]), p);
  const [categoricalGrad] = gradients(onehot, [p]);
  assertClose(Array.from(sparseGrad!.data), Array.from(categoricalGrad!.data), 1e-6);
});

test('sparse CE gradient from logits is (softmax - onehot) / N', () => {
  const logits = tensor([
    [2, 1, 0],
    [0, 0, 0],
  ]);
  logits.requiresGrad = true;
  const loss = sparseCategoricalCrossentropy({ fromLogits: true }).compute(
    tensor([0, 1], [2], 'int32'),
    logits,
  );
  const [g] = gradients(loss, [logits]);
  const e = [Math.exp(2), Math.exp(1), 1];
  const z = e[0]! + e[1]! + e[2]!;
  const expected = [(e[0]! / z - 1) / 2, e[1]! / z / 2, e[2]! / z / 2, 1 / 6, 1 / 6 - 1 / 2, 1 / 6];
  assertClose(g?.toArray() ?? [], expected, 1e-5);
});

test('sparse CE rejects one-hot targets and out-of-range labels with a hint', () => {
  const loss = sparseCategoricalCrossentropy();
  assert.throws(
    () => loss.compute(tensor([[1, 0, 0]]), tensor([[0.7, 0.2, 0.1]])),
    /expected 1 class indices shaped \[1\] or \[1, 1\], found \[1, 3\] \(one-hot targets need categoricalCrossentropy\)/,
  );
  assert.throws(
    () => loss.compute(tensor([3], [1], 'int32'), tensor([[0.7, 0.2, 0.1]])),
    /label 3 at position 0 is outside the 3 classes/,
  );
});

test('categorical CE: one-hot targets equal sparse; logits, probabilities, label smoothing', () => {
  const oneHot = tensor([[1, 0, 0]]);
  assertClose(
    [
      categoricalCrossentropy({ fromLogits: true })
        .compute(oneHot, tensor([[2, 1, 0]]))
        .item(),
    ],
    [CE_210],
    1e-5,
  );
  assertClose(
    [
      categoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 })
        .compute(oneHot, tensor([[2, 1, 0]]))
        .item(),
    ],
    [CE_210 + 0.1],
    1e-5,
  );
  // Probability targets: -sum t log p. Predictions are rescaled to sum to 1 first (as Keras does).
  const t = tensor([[0.25, 0.75]]);
  assertClose(
    [
      categoricalCrossentropy()
        .compute(t, tensor([[0.4, 1.6]]))
        .item(),
    ],
    [-(0.25 * Math.log(0.2) + 0.75 * Math.log(0.8))],
    1e-5,
  );
  assert.throws(
    () => categoricalCrossentropy().compute(tensor([0], [1], 'int32'), tensor([[1, 0]])),
    /look like class indices/,
  );
});

test('binary CE from logits: max(x, 0) - x z + log(1 + exp(-|x|)), finite at ±100', () => {
  const loss = binaryCrossentropy({ fromLogits: true });
  const x = tensor([[100, -100, 0, 2]]);
  x.requiresGrad = true;
  const z = tensor([[1, 1, 0, 0]]);
  const value = loss.compute(z, x);
  assertClose([value.item()], [(0 + 100 + Math.log(2) + 2 + Math.log(1 + Math.exp(-2))) / 4], 1e-5);
  const [g] = gradients(value, [x]);
  // d/dx = (sigmoid(x) - z) / n
  const sig = (v: number): number => 1 / (1 + Math.exp(-v));
  assertClose(g?.toArray() ?? [], [(sig(100) - 1) / 4, (sig(-100) - 1) / 4, 0.5 / 4, sig(2) / 4], 1e-5);
  assert.ok(g?.toArray().every(Number.isFinite));
});

test('binary CE from probabilities, clipped', () => {
  const loss = binaryCrossentropy();
  assertClose(
    [loss.compute(tensor([1, 0]), tensor([0.8, 0.4])).item()],
    [-(Math.log(0.8) + Math.log(0.6)) / 2],
    1e-5,
  );
  assert.ok(Number.isFinite(loss.compute(tensor([1]), tensor([0])).item()));
  assertClose(
    [
      binaryCrossentropy({ labelSmoothing: 0.2 })
        .compute(tensor([1]), tensor([0.8]))
        .item(),
    ],
    [-(0.9 * Math.log(0.8) + 0.1 * Math.log(0.2))],
    1e-5,
  );
});

test('mean squared error', () => {
  const loss = meanSquaredError();
  assert.equal(
    loss
      .compute(
        tensor([
          [1, 1],
          [1, 1],
        ]),
        tensor([
          [1, 2],
          [3, 4],
        ]),
      )
      .item(),
    3.5,
  );
  assert.throws(
    () => loss.compute(tensor([1, 2]), tensor([[1, 2]])),
    /targets \[2\] and predictions \[1, 2\] must have one shape/,
  );
});

test('mean squared error from logits: softmax first, then the mean square against the targets', () => {
  const logits = tensor([[2, 1, 0]]);
  const e = [Math.exp(2), Math.exp(1), 1];
  const total = e[0]! + e[1]! + e[2]!;
  const [p0, p1, p2] = e.map((v) => v / total) as [number, number, number];
  const expected = ((p0 - 1) ** 2 + p1 ** 2 + p2 ** 2) / 3;
  const loss = meanSquaredError({ fromLogits: true });
  assertClose([loss.compute(tensor([[1, 0, 0]]), logits).item()], [expected], 1e-6);
  assert.deepEqual(getLoss(serializeLoss(loss)).getConfig(), { fromLogits: true });
  assert.deepEqual(meanSquaredError().getConfig(), {});
});

test('classifierLoss: the short names train --loss takes, all on logits', () => {
  assert.deepEqual([...CLASSIFIER_LOSS_NAMES], ['sparse-ce', 'ce', 'mse', 'bce']);
  const sparse = classifierLoss('sparse-ce', { labelSmoothing: 0.1 });
  assert.ok(sparse instanceof SparseCategoricalCrossentropy);
  assert.deepEqual(sparse.getConfig(), { fromLogits: true, labelSmoothing: 0.1 });
  const ce = classifierLoss('ce');
  assert.ok(ce instanceof CategoricalCrossentropy);
  assert.deepEqual(ce.getConfig(), { fromLogits: true, labelSmoothing: 0 });
  const bce = classifierLoss('bce', { labelSmoothing: 0.2 });
  assert.ok(bce instanceof BinaryCrossentropy);
  assert.deepEqual(bce.getConfig(), { fromLogits: true, labelSmoothing: 0.2 });
  const mse = classifierLoss('mse');
  assert.ok(mse instanceof MeanSquaredError);
  assert.deepEqual(mse.getConfig(), { fromLogits: true });
  // ce on one-hot targets and sparse-ce on class indices are the same number.
  const logits = tensor([
    [2, 1, 0],
    [0.5, -1, 3],
  ]);
  assertClose(
    [
      ce
        .compute(
          tensor([
            [1, 0, 0],
            [0, 0, 1],
          ]),
          logits,
        )
        .item(),
    ],
    [
      classifierLoss('sparse-ce')
        .compute(tensor([0, 2], [2], 'int32'), logits)
        .item(),
    ],
    1e-6,
  );
  assert.throws(() => classifierLoss('mse', { labelSmoothing: 0.1 }), /loss 'mse' takes no label smoothing/);
  assert.throws(
    () => classifierLoss('hinge'),
    /unknown loss 'hinge': expected one of sparse-ce, ce, mse, bce/,
  );
});

test('losses are addressable by Keras and TF.js names and round-trip their configs', () => {
  assert.equal(getLoss('sparse_categorical_crossentropy').name, 'sparse_categorical_crossentropy');
  assert.equal(getLoss('sparseCategoricalCrossentropy').name, 'sparse_categorical_crossentropy');
  assert.equal(getLoss('mse').name, 'mean_squared_error');
  assert.equal(getLoss('binary_crossentropy').name, 'binary_crossentropy');
  assert.equal(getLoss('categorical_crossentropy').name, 'categorical_crossentropy');
  const original = sparseCategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 });
  assert.equal(getLoss(original), original);
  const copy = getLoss(JSON.parse(JSON.stringify(serializeLoss(original))));
  assert.deepEqual(copy.getConfig(), { fromLogits: true, labelSmoothing: 0.1 });
  assert.throws(() => getLoss('hinge'), /unknown loss 'hinge' \(known: sparse_categorical_crossentropy/);
});
