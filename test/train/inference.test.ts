// The batched-inference loop shared by evaluation and the feature cache: batches in order, the last
// one holding the rest, the same outputs as predict(), a range of examples, a bad batch size refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toExamples } from '../../src/train/batches.js';
import { forEachOutputBatch } from '../../src/train/inference.js';
import { Random } from '../../src/util/random.js';
import { INPUT_SHAPE, PIXELS, smallModel, syntheticData } from './setup.js';

describe('forEachOutputBatch', () => {
  const { images } = syntheticData(11);
  const model = smallModel();
  model.build([null, ...INPUT_SHAPE], new Random(4));
  const examples = toExamples(images, undefined, INPUT_SHAPE, 'test');

  it('gives predict()’s outputs, batch by batch in order, the last batch short (eager and replayed)', () => {
    for (const compile of [false, true]) {
      const starts: number[] = [];
      const sizes: number[] = [];
      const rows: number[] = [];
      const options = { batchSize: 4, inputShape: INPUT_SHAPE, execution: { compile } };
      forEachOutputBatch(model, examples, options, ({ output, start, indices }) => {
        starts.push(start);
        sizes.push(output.shape[0] as number);
        assert.deepEqual(
          Array.from(indices),
          [...Array(output.shape[0]).keys()].map((i) => start + i),
        );
        rows.push(...output.data);
      });
      assert.deepEqual(starts, [0, 4, 8]);
      assert.deepEqual(sizes, [4, 4, 3]);
      assert.deepEqual(rows, Array.from(model.predict(images, { batchSize: 11 }).data));
    }
  });

  it('predict() on N not a multiple of the batch size equals predict() one example at a time, bit for bit', () => {
    // 11 examples in batches of 4 (the last of 3, run replayed as the last 4) and of 200 (one
    // short batch past the 128-example chunk: the last chunk overlaps the first).
    const many = syntheticData(131, 3).images;
    const single = (x: Uint8Array): number[] =>
      Array.from({ length: x.length / PIXELS }, (_, n) =>
        Array.from(model.predict(x.subarray(n * PIXELS, (n + 1) * PIXELS), { batchSize: 1 }).data),
      ).flat();
    for (const compile of [true, false]) {
      assert.deepEqual(Array.from(model.predict(images, { batchSize: 4, compile }).data), single(images));
      assert.deepEqual(Array.from(model.predict(many, { batchSize: 200, compile }).data), single(many));
      assert.deepEqual(Array.from(model.predict(many, { batchSize: 50, compile }).data), single(many));
    }
  });

  it('runs a range of examples, and refuses a batch size that is not a positive integer', () => {
    const starts: number[] = [];
    forEachOutputBatch(
      model,
      examples,
      { batchSize: 2, inputShape: INPUT_SHAPE, from: 5, to: 10 },
      ({ start }) => starts.push(start),
    );
    assert.deepEqual(starts, [5, 7, 9]);
    assert.throws(
      () => forEachOutputBatch(model, examples, { batchSize: 0, inputShape: INPUT_SHAPE }, () => undefined),
      /batchSize must be a positive integer, found 0/,
    );
  });
});
