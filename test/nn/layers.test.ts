// Layers: Keras parameter counts, output shapes, configs that round-trip, shape errors, weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, inference, run, seeded, training } from './helpers.js';
import {
  Add,
  activation,
  add,
  averagePooling2d,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  globalAveragePooling2d,
  layerFromConfig,
  layerNormalization,
  maxPooling2d,
  registeredLayerClasses,
  rescaling,
  reshape,
} from '../../src/nn/index.js';
import type { Layer } from '../../src/nn/index.js';
import { fill, ones, randomNormal, tensor, zeros } from '../../src/tensor/ops/creation.js';
import { mean } from '../../src/tensor/ops/reduce.js';
import { tidy } from '../../src/tensor/tensor.js';

const params = (layer: Layer): number => layer.countParams();

test('Keras mnist_convnet: 320 + 18,496 + 16,010 = 34,826 parameters, shapes as Keras prints', () => {
  const layers = [
    conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
    maxPooling2d({ poolSize: 2 }),
    conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }),
    maxPooling2d({ poolSize: 2 }),
    flatten(),
    dropout({ rate: 0.5 }),
    dense({ units: 10, activation: 'softmax' }),
  ];
  const shapes: number[][] = [];
  let x = zeros([2, 28, 28, 1]);
  for (const layer of layers) {
    x = layer.apply(x, inference());
    shapes.push([...x.shape]);
  }
  assert.deepEqual(shapes, [
    [2, 26, 26, 32],
    [2, 13, 13, 32],
    [2, 11, 11, 64],
    [2, 5, 5, 64],
    [2, 1600],
    [2, 1600],
    [2, 10],
  ]);
  assert.deepEqual(layers.map(params), [320, 0, 18_496, 0, 0, 0, 16_010]);
  assert.equal(
    layers.map(params).reduce((a, b) => a + b),
    34_826,
  );
});

test('the seed MLP: Dense(128) on 784 has 100,480 parameters, Dense(10) on 128 has 1,290', () => {
  const layers = [
    flatten({ inputShape: [28, 28] }),
    dense({ units: 128, activation: 'relu' }),
    dense({ units: 10 }),
  ];
  const y = run(layers, zeros([3, 28, 28]));
  assert.deepEqual(y.shape, [3, 10]);
  assert.deepEqual(layers.map(params), [0, 100_480, 1_290]);
});

test('conv2d output shapes: valid, same, strides, dilation', () => {
  const shapeOf = (args: Parameters<typeof conv2d>[0], input: number[]): readonly number[] =>
    conv2d(args).apply(zeros(input), inference()).shape;
  assert.deepEqual(shapeOf({ filters: 4, kernelSize: 3 }, [1, 28, 28, 1]), [1, 26, 26, 4]);
  assert.deepEqual(shapeOf({ filters: 4, kernelSize: 3, padding: 'same' }, [1, 28, 28, 1]), [1, 28, 28, 4]);
  assert.deepEqual(shapeOf({ filters: 4, kernelSize: 3, strides: 2 }, [1, 28, 28, 1]), [1, 13, 13, 4]);
  assert.deepEqual(
    shapeOf({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }, [1, 27, 27, 1]),
    [1, 14, 14, 4],
  );
  assert.deepEqual(shapeOf({ filters: 4, kernelSize: 3, dilationRate: 2 }, [1, 28, 28, 1]), [1, 24, 24, 4]);
  assert.deepEqual(
    shapeOf({ filters: 4, kernelSize: 3, dilationRate: 2, padding: 'same' }, [1, 28, 28, 3]),
    [1, 28, 28, 4],
  );
  assert.deepEqual(shapeOf({ filters: 2, kernelSize: [5, 1] }, [1, 10, 10, 1]), [1, 6, 10, 2]);
});

test('conv2d: same padding pads with zeros around the image; kernel is HWIO', () => {
  const layer = conv2d({
    filters: 2,
    kernelSize: 3,
    padding: 'same',
    kernelInitializer: 'ones',
    useBias: false,
  });
  const y = layer.apply(ones([1, 3, 3, 1]), inference());
  assert.deepEqual(
    layer.weights.map((w) => [w.name, [...w.value.shape]]),
    [['kernel', [3, 3, 1, 2]]],
  );
  // Each output sums the 3x3 neighbourhood inside the image: corners 4, edges 6, centre 9.
  assert.deepEqual(y.toArray(), [4, 4, 6, 6, 4, 4, 6, 6, 9, 9, 6, 6, 4, 4, 6, 6, 4, 4]);
});

test('pooling output shapes and values', () => {
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
  assert.deepEqual(maxPooling2d().apply(x, inference()).toArray(), [6, 8, 14, 16]);
  assert.deepEqual(averagePooling2d({ poolSize: 2 }).apply(x, inference()).toArray(), [3.5, 5.5, 11.5, 13.5]);
  assert.deepEqual(maxPooling2d({ poolSize: 3, strides: 1 }).apply(x, inference()).shape, [1, 2, 2, 1]);
  assert.deepEqual(
    maxPooling2d({ poolSize: 2 }).apply(zeros([2, 13, 13, 3]), inference()).shape,
    [2, 6, 6, 3],
  );
  assert.deepEqual(
    maxPooling2d({ poolSize: 2, padding: 'same' }).apply(zeros([2, 13, 13, 3]), inference()).shape,
    [2, 7, 7, 3],
  );
  const gap = globalAveragePooling2d().apply(x, inference());
  assert.deepEqual([...gap.shape], [1, 1]);
  assert.deepEqual(gap.toArray(), [8.5]);
  assert.deepEqual(
    globalAveragePooling2d({ keepDims: true }).apply(zeros([2, 7, 7, 16]), inference()).shape,
    [2, 1, 1, 16],
  );
});

test('flatten and reshape', () => {
  assert.deepEqual(flatten().apply(zeros([4, 5, 5, 2]), inference()).shape, [4, 50]);
  assert.deepEqual(
    reshape({ targetShape: [28, 28, 1] }).apply(zeros([2, 784]), inference()).shape,
    [2, 28, 28, 1],
  );
  assert.deepEqual(reshape({ targetShape: [-1, 4] }).apply(zeros([2, 16]), inference()).shape, [2, 4, 4]);
  assert.throws(
    () => reshape({ name: 'to_image', targetShape: [28, 28, 1] }).apply(zeros([2, 100]), inference()),
    /Reshape 'to_image': expected input with 784 values per example for \[28, 28, 1\], found \[2, 100\]/,
  );
});

test('shape mismatches at build name the layer and both shapes', () => {
  assert.throws(
    () => dense({ name: 'head', units: 10 }).apply(zeros([2, 28, 28, 1]), inference()),
    /Dense 'head': expected input \[batch, features\], found \[2, 28, 28, 1\]; put flatten\(\) before it/,
  );
  assert.throws(
    () => conv2d({ name: 'stem', filters: 8, kernelSize: 3 }).apply(zeros([2, 784]), inference()),
    /Conv2D 'stem': expected input \[batch, height, width, channels\] \(NHWC\), found \[2, 784\]/,
  );
  assert.throws(
    () => maxPooling2d({ name: 'pool' }).apply(zeros([2, 28, 28]), inference()),
    /MaxPooling2D 'pool': expected input \[batch, height, width, channels\] \(NHWC\), found \[2, 28, 28\]/,
  );
  const built = dense({ name: 'fc', units: 3 });
  built.apply(zeros([1, 4]), inference());
  assert.throws(
    () => built.apply(zeros([1, 5]), inference()),
    /Dense 'fc': expected input \[batch, 4\].*found \[1, 5\]/,
  );
});

test('every layer config round-trips through layerFromConfig (and JSON)', () => {
  const layers: Layer[] = [
    dense({ units: 7, activation: 'gelu', useBias: false, kernelInitializer: 'he_normal', inputShape: [3] }),
    conv2d({
      filters: 5,
      kernelSize: [3, 2],
      strides: 2,
      padding: 'same',
      dilationRate: 1,
      activation: 'relu',
      biasInitializer: { className: 'Constant', config: { value: 0.1 } },
    }),
    maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
    averagePooling2d({ poolSize: [2, 1] }),
    globalAveragePooling2d({ keepDims: true }),
    flatten({ inputShape: [28, 28] }),
    reshape({ targetShape: [7, -1] }),
    dropout({ rate: 0.25 }),
    batchNormalization({ momentum: 0.9, epsilon: 1e-5, center: false, trainable: false }),
    layerNormalization({ epsilon: 1e-6, scale: false }),
    activation({ activation: 'tanh' }),
    rescaling({ scale: 1 / 255, offset: -0.5 }),
    add(),
  ];
  for (const layer of layers) {
    const saved = JSON.parse(JSON.stringify(layer.toConfig()));
    const copy = layerFromConfig(saved);
    assert.equal(copy.className, layer.className);
    assert.deepEqual(copy.getConfig(), layer.getConfig(), `${layer.className} config`);
  }
  const classes = registeredLayerClasses();
  for (const name of layers.map((l) => l.className)) assert.ok(classes.includes(name), name);
  assert.deepEqual(layers[0]?.getConfig(), {
    name: layers[0]?.name,
    trainable: true,
    inputShape: [3],
    units: 7,
    activation: 'gelu',
    useBias: false,
    kernelInitializer: 'he_normal',
    biasInitializer: 'zeros',
  });
});

test('Keras class names and default layer names', () => {
  assert.equal(conv2d({ filters: 1, kernelSize: 1 }).className, 'Conv2D');
  assert.equal(maxPooling2d().className, 'MaxPooling2D');
  assert.match(maxPooling2d().name, /^max_pooling2d(_\d+)?$/);
  assert.match(batchNormalization().name, /^batch_normalization(_\d+)?$/);
  assert.match(globalAveragePooling2d().name, /^global_average_pooling2d(_\d+)?$/);
});

test('weights: Keras names, trainable flags, survive the tidy they were built in', () => {
  const fc = dense({ units: 2 });
  tidy(() => fc.apply(ones([1, 3]), training()));
  assert.deepEqual(
    fc.weights.map((w) => w.name),
    ['kernel', 'bias'],
  );
  assert.equal(
    fc.weights.every((w) => !w.value.disposed),
    true,
  );
  assert.equal(fc.weights[0]?.value.name, `${fc.name}/kernel`);
  assert.deepEqual(fc.trainableWeights.length, 2);

  const bn = batchNormalization();
  tidy(() => bn.apply(ones([2, 4]), training()));
  assert.deepEqual(
    bn.weights.map((w) => [w.name, w.trainable]),
    [
      ['gamma', true],
      ['beta', true],
      ['moving_mean', false],
      ['moving_variance', false],
    ],
  );
  assert.equal(bn.trainableWeights.length, 2);
  assert.equal(bn.nonTrainableWeights.length, 2);
  assert.equal(bn.countParams(), 16);
  assert.equal(
    bn.weights.every((w) => !w.value.disposed),
    true,
  );

  const frozen = dense({ units: 2, trainable: false });
  frozen.apply(ones([1, 3]), training());
  assert.equal(frozen.trainableWeights.length, 0);
  frozen.trainable = true;
  assert.equal(frozen.trainableWeights.length, 2);
});

test('dense computes x @ kernel + bias, then the activation', () => {
  const fc = dense({
    units: 2,
    activation: 'relu',
    kernelInitializer: 'ones',
    biasInitializer: { className: 'Constant', config: { value: -4 } },
  });
  assert.deepEqual(
    fc
      .apply(
        tensor([
          [1, 2, 3],
          [1, 1, 1],
        ]),
        inference(),
      )
      .toArray(),
    [2, 2, 0, 0],
  );
});

test('batch normalization, training: normalises with batch statistics, updates moving ones', () => {
  const bn = batchNormalization();
  const x = tensor([
    [1, 10],
    [3, 20],
    [5, 30],
    [7, 40],
  ]); // channel means 4, 25; biased variances 5, 125
  const y = bn.apply(x, training());
  assertClose(mean(y, 0).toArray(), [0, 0], 1e-5);
  assertClose(y.toArray().slice(0, 2), [-3 / Math.sqrt(5 + 1e-3), -15 / Math.sqrt(125 + 1e-3)], 1e-5);
  const [, , movingMean, movingVariance] = bn.weights;
  assertClose(movingMean?.value.toArray() ?? [], [0.04, 0.25], 1e-5);
  assertClose(movingVariance?.value.toArray() ?? [], [0.99 + 0.05, 0.99 + 1.25], 1e-4);
  // Inference uses the moving statistics and leaves them alone.
  const yInference = bn.apply(x, inference());
  assertClose(
    yInference.toArray().slice(0, 2),
    [(1 - 0.04) / Math.sqrt(1.04 + 1e-3), (10 - 0.25) / Math.sqrt(2.24 + 1e-3)],
    1e-4,
  );
  assertClose(movingMean?.value.toArray() ?? [], [0.04, 0.25], 1e-5);
});

test('a frozen batch normalization runs in inference mode during training and keeps its statistics', () => {
  const bn = batchNormalization();
  const x = tensor([
    [1, 10],
    [3, 20],
    [5, 30],
    [7, 40],
  ]);
  bn.apply(x, training()); // moving stats move once
  const before = bn.weights.map((w) => w.value.toArray());
  bn.trainable = false;
  const y = bn.apply(x, training());
  const after = bn.weights.map((w) => w.value.toArray());
  assert.deepEqual(after, before);
  assert.deepEqual(y.toArray(), bn.apply(x, inference()).toArray());
  assert.equal(bn.trainableWeights.length, 0);
  // A trainable one in training mode would have used batch statistics instead.
  assert.notDeepEqual(y.toArray(), batchNormalization().apply(x, training()).toArray());
});

test('batch normalization on NHWC normalises per channel', () => {
  const x = randomNormal([4, 3, 3, 2], seeded(3), 5, 2);
  const y = batchNormalization().apply(x, training());
  assertClose(mean(y, [0, 1, 2]).toArray(), [0, 0], 1e-5);
});

test('layer normalization normalises each example over its features', () => {
  const y = layerNormalization().apply(
    tensor([
      [1, 2, 3],
      [10, 20, 30],
    ]),
    inference(),
  );
  const s = Math.sqrt(2 / 3 + 1e-3);
  assertClose(
    y.toArray(),
    [-1 / s, 0, 1 / s, -10 / Math.sqrt(200 / 3 + 1e-3), 0, 10 / Math.sqrt(200 / 3 + 1e-3)],
    1e-5,
  );
});

test('dropout: identity at inference, inverted-dropout scaling in training', () => {
  const layer = dropout({ rate: 0.25 });
  const x = ones([4000]);
  assert.equal(layer.apply(x, inference()), x);
  const y = layer.apply(x, training(7)).toArray();
  const zeros = y.filter((v) => v === 0).length;
  assert.ok(
    y.every((v) => v === 0 || Math.abs(v - 1 / 0.75) < 1e-6),
    'kept values are scaled by 1 / (1 - rate)',
  );
  assert.ok(Math.abs(zeros / 4000 - 0.25) < 0.03, `dropped fraction ${zeros / 4000}`);
  // Seeded: the same random stream drops the same elements.
  assert.deepEqual(layer.apply(x, training(7)).toArray(), y);
  assert.throws(() => dropout({ rate: 1 }), /rate must be in \[0, 1\), found 1/);
});

test('activation, rescaling and add', () => {
  assert.deepEqual(
    activation({ activation: 'relu' })
      .apply(tensor([[-1, 2]]), inference())
      .toArray(),
    [0, 2],
  );
  assertClose(
    rescaling({ scale: 1 / 255, offset: -1 })
      .apply(tensor([[0, 255]]), inference())
      .toArray(),
    [-1, 0],
  );
  const merge = new Add();
  assert.deepEqual(
    merge.apply([tensor([[1, 2]]), tensor([[10, 20]]), fill([1, 2], 100)]).toArray(),
    [111, 122],
  );
  assert.throws(
    () => merge.apply([zeros([1, 2]), zeros([1, 3])]),
    /Add '.*': inputs must have one shape, found \[1, 2\] and \[1, 3\]/,
  );
});
