// Shape mismatches in user models (issue 9) fail when the model is built, with the layer's name and
// both shapes (what it expected or could fit, and what it was given), never deep inside a kernel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { add, conv2d, dense, flatten, maxPooling2d, ops, sequential, tensor } from '../../src/index.js';
import { Random } from '../../src/util/random.js';

const inference = { training: false, random: new Random(0) };

describe('model shape errors name the layer and both shapes', () => {
  it('a Dense after a Conv2D without flatten()', () => {
    const model = sequential([
      conv2d({ filters: 4, kernelSize: 3, name: 'features' }),
      dense({ units: 10, name: 'head' }),
    ]);
    assert.throws(
      () => model.buildFor([28, 28, 1]),
      /^Error: Dense 'head': expected input \[batch, features\], found \[1, 26, 26, 4\]; put flatten\(\) before it$/,
    );
  });

  it('a Conv2D after flatten()', () => {
    const model = sequential([
      flatten({ name: 'flat' }),
      conv2d({ filters: 4, kernelSize: 3, name: 'conv' }),
    ]);
    assert.throws(
      () => model.buildFor([28, 28, 1]),
      /Conv2D 'conv': expected input \[batch, height, width, channels\].*found \[1, 784\]/,
    );
  });

  it('a built Dense given the wrong number of features', () => {
    const model = sequential([flatten({ name: 'f' }), dense({ units: 4, name: 'logits' })]);
    model.buildFor([8]);
    assert.throws(
      () => model.apply(ops.zeros([1, 9]), inference),
      /Dense 'logits': expected input \[batch, 8\] \(kernel \[8, 4\]\), found \[1, 9\]/,
    );
  });

  it('a built Conv2D given the wrong number of channels', () => {
    const model = sequential([conv2d({ filters: 4, kernelSize: 3, name: 'stem' })]);
    model.buildFor([8, 8, 1]);
    assert.throws(
      () => model.apply(ops.zeros([1, 8, 8, 3]), inference),
      /Conv2D 'stem': expected input \[batch, height, width, 1\] \(NHWC\), found \[1, 8, 8, 3\]/,
    );
  });

  it('a kernel larger than what reaches it (the window and the input size)', () => {
    const pools = [1, 2, 3].map((k) => maxPooling2d({ poolSize: 2, name: `pool${k}` }));
    const model = sequential([...pools, conv2d({ filters: 4, kernelSize: 5, name: 'late_conv' })]);
    assert.throws(
      () => model.buildFor([28, 28, 1]),
      /^Error: Conv2D 'late_conv' \(input \(None, 3, 3, 1\)\): a 5x5 window .*does not fit a 3x3 input/,
    );
  });

  it('a pooling window larger than the image', () => {
    const model = sequential([maxPooling2d({ poolSize: 30, name: 'huge_pool' })]);
    assert.throws(
      () => model.buildFor([28, 28, 1]),
      /MaxPooling2D 'huge_pool' \(input \(None, 28, 28, 1\)\): a 30x30 window/,
    );
  });

  it('an Add of two different shapes', () => {
    assert.throws(
      () => add({ name: 'residual' }).apply([tensor([[1, 2, 3, 4]]), tensor([[1, 2, 3, 4, 5]])]),
      /Add 'residual': inputs must have one shape, found \[1, 4\] and \[1, 5\]/,
    );
  });
});
