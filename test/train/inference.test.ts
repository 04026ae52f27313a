// The batched-inference loop shared by evaluation and the feature cache: batches in order, the last
// one holding the rest, the same outputs as predict(), a range of examples, a bad batch size refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toExamples } from '../../src/train/batches.js';
import { forEachOutputBatch } from '../../src/train/inference.js';
import { Random } from '../../src/util/random.js';
import { INPUT_SHAPE, smallModel, syntheticData } from './setup.js';

describe('forEachOutputBatch', () => {
  const { images } = syntheticData(11);
  const model = smallModel();
  model.build([null, ...INPUT_SHAPE], new Random(4));
  const examples = toExamples(images, undefined, INPUT_SHAPE, 'test');

  it('gives predict()’s outputs, batch by batch in order, the last batch short', () => {
    const starts: number[] = [];
    const sizes: number[] = [];
    const rows: number[] = [];
    forEachOutputBatch(model, examples, { batchSize: 4, inputShape: INPUT_SHAPE }, (output, start) => {
      starts.push(start);
      sizes.push(output.shape[0] as number);
      rows.push(...output.data);
    });
    assert.deepEqual(starts, [0, 4, 8]);
    assert.deepEqual(sizes, [4, 4, 3]);
    assert.deepEqual(rows, Array.from(model.predict(images, { batchSize: 11 }).data));
  });

  it('runs a range of examples, and refuses a batch size that is not a positive integer', () => {
    const starts: number[] = [];
    forEachOutputBatch(
      model,
      examples,
      { batchSize: 2, inputShape: INPUT_SHAPE, from: 5, to: 10 },
      (_o, start) => starts.push(start),
    );
    assert.deepEqual(starts, [5, 7, 9]);
    assert.throws(
      () => forEachOutputBatch(model, examples, { batchSize: 0, inputShape: INPUT_SHAPE }, () => undefined),
      /batchSize must be a positive integer, found 0/,
    );
  });
});
