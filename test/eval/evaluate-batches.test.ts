// evaluateClassifier's batching (the shared batched-inference loop, src/train/inference.ts): batches
// in order, the last one holding the rest (no example run twice), each example counted exactly once
// and keeping its own index.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Layer,
  evaluateClassifier,
  sequential,
  tensor,
  type CallContext,
  type Tensor,
} from '../../src/index.js';

const K = 3;

/** Logits with all weight on class (first pixel % K), from the pixel / 255 it is given; records batch sizes. */
class FirstPixelClass extends Layer {
  readonly className = 'FirstPixelClass';
  constructor(readonly batches: number[]) {
    super({ inputShape: [2, 2, 1] });
  }
  call(x: Tensor, _context: CallContext): Tensor {
    const rows = x.shape[0] as number;
    this.batches.push(rows);
    const logits = new Float32Array(rows * K);
    for (let i = 0; i < rows; i++) logits[i * K + (Math.round((x.data[i * 4] as number) * 255) % K)] = 10;
    return tensor(logits, [rows, K]);
  }
}

const fakeModel = (batches: number[]) => sequential([new FirstPixelClass(batches)]);

describe('evaluateClassifier batches', () => {
  // 10 examples of 2x2 pixels, all pixels of example i equal to i: the model predicts i % 3.
  const count = 10;
  const images = new Uint8Array(count * 4).map((_, j) => Math.floor(j / 4));
  const labels = Uint8Array.from({ length: count }, (_, i) => i % K);

  test('batches in order, the last one holding the rest; each example counted once', () => {
    const batches: number[] = [];
    const model = fakeModel(batches);
    model.build([null, 2, 2, 1]);
    batches.length = 0; // the build's trace
    const result = evaluateClassifier(model, { images, labels, count }, { batchSize: 4 });
    assert.deepEqual(batches, [4, 4, 2], 'examples 8-9 ran in a batch of two');
    assert.equal(result.count, count);
    assert.equal(
      result.confusionMatrix.flat().reduce((a, b) => a + b, 0),
      count,
    );
    assert.equal(result.accuracy, 1);
    const single = evaluateClassifier(fakeModel([]), { images, labels, count }, { batchSize: count });
    assert.deepEqual(result.confusionMatrix, single.confusionMatrix);
    assert.equal(result.loss, single.loss);
  });

  test('mistakes in the last batch keep their own example index; progress counts every example', () => {
    const wrongTail = Uint8Array.from(labels);
    wrongTail[8] = 0; // predicted 8 % 3 = 2
    const progress: number[] = [];
    const result = evaluateClassifier(
      fakeModel([]),
      { images, labels: wrongTail, count },
      { batchSize: 4, keepWorst: 5, onProgress: (done) => progress.push(done) },
    );
    assert.equal(result.confusionMatrix[0]?.[2], 1);
    assert.deepEqual(
      result.worst.map((w) => [w.index, w.label, w.predicted]),
      [[8, 0, 2]],
    );
    assert.deepEqual(progress, [4, 8, 10]);
  });

  test('a set smaller than one batch runs as it is', () => {
    const batches: number[] = [];
    const model = fakeModel(batches);
    model.build([null, 2, 2, 1]);
    batches.length = 0;
    evaluateClassifier(model, { images, labels, count }, { batchSize: 64 });
    assert.deepEqual(batches, [10]);
  });
});
