// Finite-difference gradient checks, in float64, for every differentiable op: the analytic
// gradient of L = sum(op(inputs) * W) (W fixed, random) must match central differences.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/tensor/tensor.js';
import { gradients } from '../../src/tensor/autograd.js';
import { fromStorage, randomNormal, tensor } from '../../src/tensor/ops/creation.js';
import * as ew from '../../src/tensor/ops/elementwise.js';
import * as red from '../../src/tensor/ops/reduce.js';
import * as shp from '../../src/tensor/ops/shape.js';
import * as nn from '../../src/tensor/ops/nn.js';
import { getBackend } from '../../src/backend/registry.js';
import { Random } from '../../src/util/random.js';
import { seeded } from './setup.js';

interface InputSpec {
  shape: number[];
  /** Keep values away from kinks (relu, abs, max ties): |x| >= margin. */
  margin?: number;
  positive?: boolean;
}

function makeInput(spec: InputSpec, seed: number): Tensor {
  const t = randomNormal(spec.shape, seeded(seed), 0, 1, { dtype: 'float64' });
  const data = t.data;
  for (let i = 0; i < data.length; i++) {
    let v = data[i] as number;
    if (spec.positive) v = Math.abs(v) + 0.5;
    if (spec.margin !== undefined && Math.abs(v) < spec.margin) v = v < 0 ? v - spec.margin : v + spec.margin;
    data[i] = v;
  }
  t.requiresGrad = true;
  return t;
}

function checkGradients(
  specs: InputSpec[],
  f: (...xs: Tensor[]) => Tensor,
  options: { eps?: number; rtol?: number; atol?: number; maxChecks?: number } = {},
): void {
  const eps = options.eps ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-7;
  const inputs = specs.map((s, i) => makeInput(s, 100 + i));
  const out = f(...inputs);
  const weights = randomNormal(out.shape, seeded(7), 0, 1, { dtype: 'float64' });
  const lossOf = (): number => noGrad(() => red.sum(ew.mul(f(...inputs), weights)).item());
  const loss = red.sum(ew.mul(out, weights));
  const analytic = gradients(loss, inputs);
  inputs.forEach((input, k) => {
    const data = input.data as Float64Array;
    const grad = analytic[k]?.data as Float64Array;
    assert.equal(grad.length, data.length, `gradient ${k} has the input's size`);
    const stride = Math.max(1, Math.floor(data.length / (options.maxChecks ?? 60)));
    for (let i = 0; i < data.length; i += stride) {
      const original = data[i] as number;
      data[i] = original + eps;
      const plus = lossOf();
      data[i] = original - eps;
      const minus = lossOf();
      data[i] = original;
      const numeric = (plus - minus) / (2 * eps);
      const a = grad[i] as number;
      assert.ok(
        Math.abs(a - numeric) <=
          atol + rtol * Math.max(Math.abs(numeric), Math.abs(a)) + 1e-6 * Math.abs(numeric),
        `input ${k} element ${i}: analytic ${a} vs numeric ${numeric}`,
      );
    }
  });
}

describe('gradient checks (float64, central differences)', () => {
  test('matmul, every transpose combination, and batched', () => {
    checkGradients([{ shape: [3, 4] }, { shape: [4, 5] }], (a, b) => nn.matmul(a, b));
    checkGradients([{ shape: [3, 4] }, { shape: [5, 4] }], (a, b) => nn.matmul(a, b, { transposeB: true }));
    checkGradients([{ shape: [4, 3] }, { shape: [4, 5] }], (a, b) => nn.matmul(a, b, { transposeA: true }));
    checkGradients([{ shape: [4, 3] }, { shape: [5, 4] }], (a, b) =>
      nn.matmul(a, b, { transposeA: true, transposeB: true }),
    );
    checkGradients([{ shape: [2, 3, 4] }, { shape: [2, 4, 2] }], (a, b) => nn.matmul(a, b));
  });

  test('matmul with broadcast batch axes (attention heads, a weight shared over tokens)', () => {
    // [B, H, T, d] x [B, H, S, d]^T: attention scores over B*H heads.
    checkGradients([{ shape: [2, 2, 3, 4] }, { shape: [2, 2, 5, 4] }], (q, k) =>
      nn.matmul(q, k, { transposeB: true }),
    );
    // A 2-D weight over a batch of token rows (folded into one product), also transposed.
    checkGradients([{ shape: [2, 3, 4] }, { shape: [4, 5] }], (a, b) => nn.matmul(a, b));
    checkGradients([{ shape: [2, 3, 4] }, { shape: [5, 4] }], (a, b) =>
      nn.matmul(a, b, { transposeB: true }),
    );
    // Broadcasts that need a copy: a transposed batch against a 2-D b, a 2-D a against a batch,
    // and size-1 batch axes on both sides.
    checkGradients([{ shape: [2, 4, 3] }, { shape: [4, 5] }], (a, b) =>
      nn.matmul(a, b, { transposeA: true }),
    );
    checkGradients([{ shape: [3, 4] }, { shape: [2, 4, 5] }], (a, b) => nn.matmul(a, b));
    checkGradients([{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }], (a, b) => nn.matmul(a, b));
  });

  test('broadcasting add, sub, mul, div', () => {
    checkGradients([{ shape: [2, 3] }, { shape: [3] }], (a, b) => ew.add(a, b));
    checkGradients([{ shape: [2, 1, 4] }, { shape: [3, 1] }], (a, b) => ew.sub(a, b));
    checkGradients([{ shape: [2, 3] }, { shape: [2, 1] }], (a, b) => ew.mul(a, b));
    checkGradients([{ shape: [2, 3] }, { shape: [3], positive: true }], (a, b) => ew.div(a, b));
    checkGradients([{ shape: [] }, { shape: [2, 2] }], (a, b) => ew.mul(a, b));
  });

  test('pow, maximum, minimum', () => {
    checkGradients([{ shape: [2, 3], positive: true }, { shape: [3] }], (a, b) => ew.pow(a, b));
    checkGradients([{ shape: [2, 3] }, { shape: [2, 3] }], (a, b) => ew.maximum(a, b));
    checkGradients([{ shape: [2, 3] }, { shape: [3] }], (a, b) => ew.minimum(a, b));
  });

  test('unary: neg, exp, log, sqrt, abs, square', () => {
    checkGradients([{ shape: [7] }], (x) => ew.neg(x));
    checkGradients([{ shape: [7] }], (x) => ew.exp(x));
    checkGradients([{ shape: [7], positive: true }], (x) => ew.log(x));
    checkGradients([{ shape: [7], positive: true }], (x) => ew.sqrt(x));
    checkGradients([{ shape: [7], margin: 0.01 }], (x) => ew.abs(x));
    checkGradients([{ shape: [7] }], (x) => ew.square(x));
  });

  test('activations: relu, leaky relu, sigmoid, tanh, gelu', () => {
    checkGradients([{ shape: [3, 5], margin: 0.01 }], (x) => ew.relu(x));
    checkGradients([{ shape: [3, 5], margin: 0.01 }], (x) => ew.leakyRelu(x, 0.2));
    checkGradients([{ shape: [3, 5] }], (x) => ew.sigmoid(x));
    checkGradients([{ shape: [3, 5] }], (x) => ew.tanh(x));
    checkGradients([{ shape: [3, 5] }], (x) => ew.gelu(x));
    checkGradients([{ shape: [3, 5] }], (x) => ew.gelu(x, { approximate: true }));
  });

  test('softmax and log-softmax over the last axis', () => {
    checkGradients([{ shape: [3, 6] }], (x) => nn.softmax(x));
    checkGradients([{ shape: [2, 2, 5] }], (x) => nn.logSoftmax(x));
  });

  test('softmax and log-softmax over another axis', () => {
    checkGradients([{ shape: [3, 4, 2] }], (x) => nn.softmax(x, 1));
    checkGradients([{ shape: [3, 4] }], (x) => nn.softmax(x, 0));
    checkGradients([{ shape: [2, 3, 4] }], (x) => nn.logSoftmax(x, -3));
  });

  test('gather: the gradient reaches the rows picked, summed over repeats', () => {
    const indices = tensor([2, 0, 2, 3, 2, 1], [2, 3], 'int32');
    checkGradients([{ shape: [4, 3] }], (table) => nn.gather(table, indices));
  });

  test('broadcastTo sums its gradient back', () => {
    checkGradients([{ shape: [3, 1] }], (x) => ew.broadcastTo(x, [2, 3, 4]));
  });

  test('fused softmax cross-entropy, with and without label smoothing', () => {
    const labels = tensor([0, 3, 1, 2], [4], 'int32');
    checkGradients([{ shape: [4, 5] }], (x) => nn.softmaxCrossEntropy(x, labels));
    checkGradients([{ shape: [4, 5] }], (x) => nn.softmaxCrossEntropy(x, labels, 0.1));
  });

  test('reductions: sum, mean, max over axes', () => {
    checkGradients([{ shape: [2, 3, 4] }], (x) => red.sum(x));
    checkGradients([{ shape: [2, 3, 4] }], (x) => red.sum(x, [0, 2]));
    checkGradients([{ shape: [2, 3, 4] }], (x) => red.mean(x, 1, true));
    checkGradients([{ shape: [2, 3, 4] }], (x) => red.max(x, -1));
    checkGradients([{ shape: [2, 3, 4] }], (x) => red.max(x, [0, 1]));
  });

  test('shape ops: reshape, transpose, concat, slice, pad', () => {
    checkGradients([{ shape: [2, 6] }], (x) => shp.reshape(x, [3, -1]));
    checkGradients([{ shape: [2, 3, 4] }], (x) => shp.transpose(x, [2, 0, 1]));
    checkGradients([{ shape: [2, 3] }, { shape: [2, 2] }], (a, b) => shp.concat([a, b], 1));
    checkGradients([{ shape: [4, 5] }], (x) => shp.slice(x, [1, 2], [2, -1]));
    checkGradients([{ shape: [2, 3] }], (x) =>
      shp.pad(
        x,
        [
          [1, 0],
          [2, 1],
        ],
        0.5,
      ),
    );
  });

  test('conv2d: valid, same, stride 2, dilation 2, bias', () => {
    checkGradients([{ shape: [2, 5, 5, 2] }, { shape: [3, 3, 2, 3] }], (x, w) => nn.conv2d(x, w));
    checkGradients([{ shape: [1, 5, 6, 3] }, { shape: [3, 2, 3, 2] }, { shape: [2] }], (x, w, b) =>
      nn.conv2d(x, w, b, { padding: 'same' }),
    );
    checkGradients([{ shape: [2, 7, 7, 2] }, { shape: [3, 3, 2, 4] }], (x, w) =>
      nn.conv2d(x, w, null, { strides: 2, padding: 'same' }),
    );
    checkGradients([{ shape: [1, 7, 7, 1] }, { shape: [3, 3, 1, 2] }], (x, w) =>
      nn.conv2d(x, w, null, { dilations: 2 }),
    );
  });

  test('conv2d with fused relu (FusedConv2D, Conv2DBackpropFilterBias)', () => {
    checkGradients([{ shape: [2, 5, 5, 2] }, { shape: [3, 3, 2, 3] }, { shape: [3] }], (x, w, b) =>
      nn.conv2d(x, w, b, { activation: 'relu' }),
    );
    checkGradients([{ shape: [1, 6, 5, 3] }, { shape: [3, 3, 3, 2] }], (x, w) =>
      nn.conv2d(x, w, null, { padding: 'same', activation: 'relu' }),
    );
    // Max pooling over it applies ReLU's mask at the pooled size (nn.ts, reluMaskedGradients).
    checkGradients([{ shape: [2, 6, 6, 2] }, { shape: [3, 3, 2, 3] }, { shape: [3] }], (x, w, b) =>
      nn.maxPool2d(nn.conv2d(x, w, b, { activation: 'relu' }), { poolSize: 2 }),
    );
    checkGradients([{ shape: [1, 7, 7, 2] }, { shape: [2, 2, 2, 3] }], (x, w) =>
      nn.maxPool2d(nn.conv2d(x, w, null, { activation: 'relu' }), {
        poolSize: 3,
        strides: 2,
        padding: 'same',
      }),
    );
  });

  test('conv2d relu + max pool: same values and gradients as the unfused composition', () => {
    const [x, w, b] = [
      makeInput({ shape: [2, 8, 8, 3] }, 1),
      makeInput({ shape: [3, 3, 3, 4] }, 2),
      makeInput({ shape: [4] }, 3),
    ];
    const fused = nn.maxPool2d(nn.conv2d(x, w, b, { activation: 'relu' }), { poolSize: 2, strides: 1 });
    const plain = nn.maxPool2d(ew.relu(nn.conv2d(x, w, b)), { poolSize: 2, strides: 1 });
    assert.deepEqual(fused.data, plain.data);
    const weights = randomNormal(fused.shape, seeded(9), 0, 1, { dtype: 'float64' });
    const gFused = gradients(red.sum(ew.mul(fused, weights)), [x, w, b]);
    const gPlain = gradients(red.sum(ew.mul(plain, weights)), [x, w, b]);
    gFused.forEach((g, i) => assert.deepEqual(g?.data, gPlain[i]?.data, `gradient ${i}`));
  });

  test('pooling: max, average (same and valid, strides), global average', () => {
    checkGradients([{ shape: [2, 4, 4, 3] }], (x) => nn.maxPool2d(x, { poolSize: 2 }));
    checkGradients([{ shape: [1, 5, 5, 2] }], (x) =>
      nn.maxPool2d(x, { poolSize: 3, strides: 2, padding: 'same' }),
    );
    checkGradients([{ shape: [2, 4, 4, 3] }], (x) => nn.avgPool2d(x, { poolSize: 2 }));
    checkGradients([{ shape: [1, 5, 5, 2] }], (x) =>
      nn.avgPool2d(x, { poolSize: 3, strides: 2, padding: 'same' }),
    );
    checkGradients([{ shape: [2, 3, 3, 4] }], (x) => nn.globalAvgPool2d(x));
  });

  test('dropout with a fixed mask', () => {
    checkGradients([{ shape: [4, 6] }], (x) => nn.dropout(x, 0.5, seeded(3)));
    // A Random: the Dropout kernel draws the mask.
    checkGradients([{ shape: [4, 6] }], (x) => nn.dropout(x, 0.5, new Random(3)));
  });

  test('batch norm: training statistics and inference statistics', () => {
    const movingMean = makeInput({ shape: [3] }, 1);
    const movingVariance = makeInput({ shape: [3], positive: true }, 2);
    movingMean.requiresGrad = false;
    movingVariance.requiresGrad = false;
    const options = { movingMean, movingVariance };
    checkGradients([{ shape: [2, 2, 2, 3] }, { shape: [3] }, { shape: [3] }], (x, g, b) =>
      nn.batchNorm(x, g, b, { ...options, training: true }),
    );
    checkGradients([{ shape: [4, 3] }, { shape: [3] }, { shape: [3] }], (x, g, b) =>
      nn.batchNorm(x, g, b, { ...options, training: false }),
    );
  });

  test('layer norm over the last axis', () => {
    checkGradients([{ shape: [3, 5] }, { shape: [5] }, { shape: [5] }], (x, g, b) => nn.layerNorm(x, g, b));
  });

  test('a gradient reaching an input through two paths is summed', () => {
    checkGradients([{ shape: [3] }], (x) => ew.mul(ew.add(x, ew.exp(x)), x));
  });
});

test('gradients() rejects a non-scalar output without an output gradient', () => {
  const x = fromStorage(getBackend().alloc('float64', 3).fill(1), [3]);
  x.requiresGrad = true;
  assert.throws(() => gradients(ew.mul(x, 2), [x]), /needs an outputGrad/);
});
