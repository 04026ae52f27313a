import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Shape } from '../../src/backend/kernels.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import type { CallContext } from '../../src/nn/layer.js';
import { dense } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { type RandomSource, tensor } from '../../src/tensor/ops/creation.js';
import { reshape } from '../../src/tensor/ops/shape.js';
import { type Tensor, tidy } from '../../src/tensor/tensor.js';
import { Model } from '../../src/train/model.js';
import type { TrainEvent } from '../../src/train/types.js';
import { CLASSES, INPUT_SHAPE, PIXELS, smallModel, syntheticData, weightBytes } from './setup.js';

const data = syntheticData(96);
const test = syntheticData(30, 7);

describe('fit / evaluate / predict', () => {
  it('learns the synthetic task and returns a Keras-shaped History', async () => {
    const model = smallModel();
    const history = await model.fit(data.images, data.labels, {
      epochs: 6,
      batchSize: 16,
      seed: 3,
      verbose: 0,
    });
    assert.deepEqual(history.epoch, [0, 1, 2, 3, 4, 5]);
    assert.equal(history.history.loss.length, 6);
    assert.equal(history.history.accuracy.length, 6);
    assert.deepEqual(history.history.lr, [0.01, 0.01, 0.01, 0.01, 0.01, 0.01]);
    assert.equal(history.history.val_loss, undefined);
    assert.ok(history.history.loss[5]! < history.history.loss[0]! / 2, `loss ${history.history.loss}`);
    const result = await model.evaluate(test.images, test.labels);
    assert.ok(result.accuracy > 0.9, `accuracy ${result.accuracy}`);
    assert.ok(result.loss > 0 && result.loss < history.history.loss[0]!);
  });

  it('same seed gives bit-identical weights; another seed does not', async () => {
    const run = async (seed: number) => {
      const model = smallModel(); // dropout on: masks must be seeded too
      await model.fit(data.images, data.labels, {
        epochs: 2,
        batchSize: 16,
        seed,
        verbose: 0,
        validationSplit: 0.25,
      });
      return weightBytes(model);
    };
    const [a, b, c] = [await run(11), await run(11), await run(12)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('evaluate reports the mean loss and accuracy over every example', async () => {
    const model = smallModel();
    await model.fit(data.images, data.labels, { epochs: 1, batchSize: 32, seed: 1, verbose: 0 });
    const whole = await model.evaluate(test.images, test.labels, { batchSize: 30 });
    const batched = await model.evaluate(test.images, test.labels, { batchSize: 7 });
    assert.ok(Math.abs(whole.loss - batched.loss) < 1e-5);
    assert.equal(whole.accuracy, batched.accuracy);
    // accuracy by hand from predict()
    const outputs = model.predict(test.images).data;
    let correct = 0;
    for (let n = 0; n < 30; n++) {
      const row = Array.from(outputs.subarray(n * CLASSES, (n + 1) * CLASSES));
      if (row.indexOf(Math.max(...row)) === test.labels[n]) correct++;
    }
    assert.equal(whole.accuracy, correct / 30);
  });

  it('predict returns (N, K) in inference mode, batch-size independent, and survives tidy', async () => {
    const model = smallModel();
    await model.fit(data.images, data.labels, { epochs: 1, seed: 2, verbose: 0 });
    const kept = tidy(() => model.predict(test.images, { batchSize: 4 }));
    const whole = model.predict(test.images, { batchSize: 64 });
    assert.deepEqual(kept.shape, [30, CLASSES]);
    assert.equal(kept.disposed, false);
    // Dropout is off in inference: the same values whatever the batching (up to summation order).
    kept.data.forEach((v, i) => assert.ok(Math.abs(v - whole.data[i]!) < 1e-6));
  });

  it('accepts Float32Array, Tensor and number[] inputs and the normalize option', async () => {
    const floats = Float32Array.from(data.images, (p) => p / 255);
    const a = smallModel();
    const b = smallModel();
    const c = smallModel();
    await a.fit(data.images, data.labels, { epochs: 1, seed: 4, verbose: 0 });
    await b.fit(floats, Array.from(data.labels), { epochs: 1, seed: 4, verbose: 0 });
    await c.fit(tensor(floats, [96, ...INPUT_SHAPE]), Int32Array.from(data.labels), {
      epochs: 1,
      seed: 4,
      verbose: 0,
    });
    assert.deepEqual(weightBytes(a), weightBytes(b));
    assert.deepEqual(weightBytes(a), weightBytes(c));
    const standardized = Float32Array.from(data.images, (p) => (p / 255 - 0.2) / 0.3);
    const d = smallModel();
    const e = smallModel();
    await d.fit(data.images, data.labels, {
      epochs: 1,
      seed: 4,
      verbose: 0,
      normalize: { mean: 0.2, std: 0.3 },
    });
    await e.fit(standardized, data.labels, { epochs: 1, seed: 4, verbose: 0 });
    const [wd, we] = [d.weights[0]!.value.data, e.weights[0]!.value.data];
    for (let i = 0; i < wd.length; i++) assert.ok(Math.abs(wd[i]! - we[i]!) < 1e-5);
  });

  it('validationSplit holds out a stratified share and reports val_loss / val_accuracy', async () => {
    const model = smallModel();
    const events: TrainEvent[] = [];
    const history = await model.fit(data.images, data.labels, {
      epochs: 2,
      batchSize: 16,
      validationSplit: 0.25,
      seed: 5,
      verbose: 0,
      onEvent: (e) => events.push(e),
    });
    const begin = events.find((e) => e.type === 'trainBegin');
    assert.ok(begin && begin.type === 'trainBegin');
    assert.equal(begin.samples, 72);
    assert.equal(begin.validationSamples, 24);
    assert.equal(begin.stepsPerEpoch, 5);
    assert.equal(history.history.val_loss?.length, 2);
    assert.equal(history.history.val_accuracy?.length, 2);
    const ends = events.filter((e) => e.type === 'epochEnd');
    assert.deepEqual(
      ends.map((e) => e.type === 'epochEnd' && e.valLoss),
      history.history.val_loss,
    );
  });

  it('stepsPerEpoch and limit shorten epochs; batchEnd reports images per second', async () => {
    const model = smallModel();
    const events: TrainEvent[] = [];
    await model.fit(data.images, data.labels, {
      epochs: 2,
      batchSize: 8,
      stepsPerEpoch: 3,
      limit: 40,
      verbose: 0,
      onEvent: (e) => events.push(e),
    });
    const batches = events.filter((e) => e.type === 'batchEnd');
    assert.equal(batches.length, 6);
    assert.deepEqual(
      batches.map((e) => e.type === 'batchEnd' && e.step),
      [0, 1, 2, 3, 4, 5],
    );
    assert.ok(batches.every((e) => e.type === 'batchEnd' && e.imagesPerSecond > 0 && e.size === 8));
  });

  it('fails clearly before compile and on mismatched inputs', async () => {
    const model = smallModel();
    model.compiled = undefined;
    await assert.rejects(model.fit(data.images, data.labels), /not compiled; call model.compile/);
    const compiled = smallModel();
    await assert.rejects(
      compiled.fit(data.images.subarray(0, PIXELS * 3 + 5), data.labels),
      /whole number of examples/,
    );
    await assert.rejects(
      compiled.fit(data.images, data.labels.subarray(0, 10), { verbose: 0 }),
      /96 images but 10 labels/,
    );
  });
});

describe('building before fit', () => {
  it('a model built by summary() still trains (its weights are not degenerate)', async () => {
    const model = smallModel({ dropout: false });
    model.summary(() => undefined);
    const kernel = Array.from(model.weights[0]!.value.data);
    assert.ok(new Set(kernel).size > 1, 'summary() built constant weights');
    await model.fit(data.images, data.labels, { epochs: 6, batchSize: 16, seed: 3, verbose: 0 });
    assert.ok((await model.evaluate(test.images, test.labels)).accuracy > 0.9);
  });

  it('a model whose build leaves a sublayer unbuilt is refused at its first step, naming the weights', async () => {
    // Without the Model's trace (traced: false) the second dense builds only at its first call,
    // after fit() gave the optimizer the weights that existed.
    class TwoDense extends Model {
      readonly className = 'TwoDense';
      readonly first = this.track(dense({ name: 'first', units: 4 }));
      readonly second = this.track(dense({ name: 'second', units: CLASSES }));
      constructor(readonly traced: boolean) {
        super({ inputShape: [...INPUT_SHAPE] });
      }
      protected override createWeights(inputShape: Shape, random: RandomSource): void {
        this.first.build([null, PIXELS], random);
        if (this.traced) super.createWeights(inputShape, random);
      }
      call(x: Tensor, context: CallContext): Tensor {
        const flat = reshape(x, [x.shape[0] as number, PIXELS]);
        return this.second.apply(this.first.apply(flat, context), context);
      }
    }
    const compiled = (traced: boolean): TwoDense => {
      const model = new TwoDense(traced);
      model.compile({ optimizer: adam(), loss: sparseCategoricalCrossentropy({ fromLogits: true }) });
      return model;
    };
    await assert.rejects(
      compiled(false).fit(data.images, data.labels, { epochs: 1, batchSize: 16, verbose: 0 }),
      (error: Error) =>
        /^fit\(\): model '.*' created weights during its first training step that its build did not \(second\/kernel, second\/bias\)/.test(
          error.message,
        ) && !error.message.includes('\n'),
    );
    const history = await compiled(true).fit(data.images, data.labels, {
      epochs: 1,
      batchSize: 16,
      verbose: 0,
    });
    assert.equal(history.history.loss.length, 1);
  });
});
