// Keras habits: model.getWeights() / setWeights(), layer.build(inputShape) without a batch of data,
// and a classifier's logits from a model that ends in softmax (predict(x, {logits: true})).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { activation, conv2d, dense, flatten } from '../../src/nn/index.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { softmax } from '../../src/tensor/ops/nn.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { getRecipe } from '../../src/zoo/recipes.js';
import { assertClose } from './helpers.js';

/** `count` images of 4x4x1 with values in [0, 1). */
function images(count: number, seed = 3): Float32Array {
  const random = new Random(seed);
  return Float32Array.from({ length: count * 16 }, () => random.nextFloat());
}

describe('getWeights / setWeights', () => {
  it('returns copies in the order of weights, and writes tensors or flat arrays back', () => {
    const layer = dense({ units: 3 });
    layer.build([null, 4]);
    const [kernel, bias] = layer.getWeights();
    assert.deepEqual(kernel!.shape, [4, 3]);
    assert.deepEqual(bias!.shape, [3]);
    assert.deepEqual(Array.from(kernel!.data), Array.from(layer.kernel!.data));
    // Copies: changing one leaves the layer alone.
    kernel!.data[0] = 42;
    assert.notEqual(layer.kernel!.data[0], 42);
    layer.setWeights([kernel!, [1, 2, 3]]);
    assert.equal(layer.kernel!.data[0], 42);
    assert.deepEqual(Array.from(layer.bias!.data), [1, 2, 3]);
  });

  it('moves a model into another of the same architecture: the same predictions', () => {
    const make = () =>
      sequential([
        flatten({ inputShape: [4, 4, 1] }),
        dense({ units: 8, activation: 'relu' }),
        dense({ units: 3 }),
      ]);
    const a = make();
    const b = make();
    a.build([null, 4, 4, 1], new Random(1));
    b.build([null, 4, 4, 1], new Random(2));
    const x = images(5);
    assert.notDeepEqual(Array.from(a.predict(x).data), Array.from(b.predict(x).data));
    b.setWeights(a.getWeights());
    assert.deepEqual(Array.from(b.predict(x).data), Array.from(a.predict(x).data));
  });

  it('refuses a wrong count or shape, naming the weight, and writes nothing', () => {
    const layer = dense({ name: 'head', units: 2 });
    assert.throws(() => layer.setWeights([]), /layer 'head' has no weights yet; build it first/);
    layer.build([null, 3]);
    const before = Array.from(layer.kernel!.data);
    assert.throws(
      () => layer.setWeights([[1, 2, 3, 4, 5, 6]]),
      /layer 'head' has 2 weights \(kernel \[3, 2\], bias \[2\]\), found 1 arrays/,
    );
    assert.throws(
      () => layer.setWeights([[0, 0, 0, 0, 0, 0], tensor([1, 2, 3])]),
      /weight 1 'head\/bias' is \[2\] \(2 values\), found \[3\]/,
    );
    assert.throws(
      () =>
        layer.setWeights([
          tensor([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          [0, 0],
        ]),
      /weight 0 'head\/kernel' is \[3, 2\] \(6 values\), found \[2, 3\]/,
    );
    assert.deepEqual(Array.from(layer.kernel!.data), before);
  });
});

describe('build(inputShape)', () => {
  it('builds a layer from a shape alone, once, and its first call does not build again', () => {
    const layer = conv2d({ filters: 4, kernelSize: 3 });
    layer.build([null, 8, 8, 2]);
    assert.equal(layer.built, true);
    assert.deepEqual(layer.inputShape, [8, 8, 2]);
    assert.deepEqual(layer.kernel!.shape, [3, 3, 2, 4]);
    const kernel = layer.kernel;
    layer.build([null, 8, 8, 5]); // built: nothing happens
    assert.equal(layer.kernel, kernel);
    assert.equal(layer.weights.length, 2);
  });

  it('initialises from the Random given, seed 0 by default', () => {
    const weightsOf = (random?: Random) => {
      const layer = dense({ units: 4 });
      layer.build([null, 6], random);
      return Array.from(layer.kernel!.data);
    };
    assert.deepEqual(weightsOf(), weightsOf(new Random(0)));
    assert.notDeepEqual(weightsOf(new Random(1)), weightsOf(new Random(0)));
  });

  it('builds a whole model without a batch of data: the cnn recipe has its 34,826 parameters', () => {
    const model = getRecipe('cnn').model();
    assert.equal(model.countParams(), 0);
    model.build([null, 28, 28, 1]);
    assert.equal(model.built, true);
    assert.equal(model.countParams(), 34826);
    assert.ok(model.layers.every((layer) => layer.built));
  });

  it('refuses a shape without its batch dimension', () => {
    assert.throws(
      () => dense({ name: 'd', units: 2 }).build([null, null]),
      /build\(\): Dense 'd' expects an input shape with the batch dimension first, e.g. \[null, 28, 28, 1\] .*found \[null, null\]/,
    );
  });
});

describe('predict(x, {logits: true})', () => {
  const x = images(6);

  it("gives a softmax model's logits: softmax of them is its probabilities", () => {
    for (const last of ['dense', 'activation'] as const) {
      const model = sequential([
        flatten({ inputShape: [4, 4, 1] }),
        ...(last === 'dense'
          ? [dense({ units: 5, activation: 'softmax' })]
          : [dense({ units: 5 }), activation({ activation: 'softmax' })]),
      ]);
      const probabilities = model.predict(x);
      const logits = model.predict(x, { logits: true });
      assert.deepEqual(logits.shape, [6, 5]);
      assertClose(Array.from(softmax(logits).data), Array.from(probabilities.data), 1e-6);
      // The logits are x W + b, not probabilities: rows do not sum to 1.
      const head = model.layers[1]!;
      const [kernel, bias] = head.getWeights();
      const expected: number[] = [];
      for (let n = 0; n < 6; n++) {
        for (let k = 0; k < 5; k++) {
          let sum = bias!.data[k]!;
          for (let i = 0; i < 16; i++) sum += x[n * 16 + i]! * kernel!.data[i * 5 + k]!;
          expected.push(sum);
        }
      }
      assertClose(Array.from(logits.data), expected, 1e-5);
      // The view shares the weights: the model is unchanged.
      assert.equal(model.layers.length, last === 'dense' ? 2 : 3);
      assert.deepEqual(Array.from(model.predict(x).data), Array.from(probabilities.data));
    }
  });

  it('gives a logits model its outputs unchanged', () => {
    const model = sequential([flatten({ inputShape: [4, 4, 1] }), dense({ units: 3 })]);
    assert.equal(model.logitsModel(), model);
    assert.deepEqual(Array.from(model.predict(x, { logits: true }).data), Array.from(model.predict(x).data));
  });
});
