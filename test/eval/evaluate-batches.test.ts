// evaluateClassifier's batching: every forward pass has the same shape (a short tail is run as the
// last full batch, overlapping the one before), and each example is still counted exactly once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, type Model, type Tensor } from '../../src/index.js';
import { evaluateClassifier } from '../../src/eval/evaluate.js';

const K = 3;

/**
 * A stand-in model of 2x2 images: its logits put all weight on class (first pixel % K); records
 * batch sizes. Run eagerly (compile: false), so every batch reaches apply().
 */
function fakeModel(batches: number[]): Model {
  return {
    built: true,
    inputShape: [2, 2, 1],
    inputNormalization: undefined,
    apply(x: Tensor) {
      const rows = x.shape[0] as number; // x (B, 2, 2, 1): pixel / 255
      batches.push(rows);
      const logits = new Float32Array(rows * K);
      for (let i = 0; i < rows; i++) logits[i * K + (Math.round((x.data[i * 4] as number) * 255) % K)] = 10;
      return tensor(logits, [rows, K]);
    },
  } as unknown as Model;
}

const eager = { compile: false } as const;

describe('evaluateClassifier batches', () => {
  // 10 examples of 2x2 pixels, all pixels of example i equal to i: the model predicts i % 3.
  const count = 10;
  const images = new Uint8Array(count * 4).map((_, j) => Math.floor(j / 4));
  const labels = Uint8Array.from({ length: count }, (_, i) => i % K);

  test('a short last batch runs as the last full batch; each example counted once', () => {
    const batches: number[] = [];
    const result = evaluateClassifier(
      fakeModel(batches),
      { images, labels, count },
      { ...eager, batchSize: 4 },
    );
    assert.deepEqual(batches, [4, 4, 4], 'examples 8-9 ran in the batch 6-9');
    assert.equal(result.count, count);
    assert.equal(
      result.confusionMatrix.flat().reduce((a, b) => a + b, 0),
      count,
    );
    assert.equal(result.accuracy, 1);
    const single = evaluateClassifier(
      fakeModel([]),
      { images, labels, count },
      { ...eager, batchSize: count },
    );
    assert.deepEqual(result.confusionMatrix, single.confusionMatrix);
    assert.equal(result.loss, single.loss);
  });

  test('mistakes in the overlapped tail keep their own example index', () => {
    const wrongTail = Uint8Array.from(labels);
    wrongTail[8] = 0; // predicted 8 % 3 = 2
    const result = evaluateClassifier(
      fakeModel([]),
      { images, labels: wrongTail, count },
      { ...eager, batchSize: 4, keepWorst: 5 },
    );
    assert.equal(result.confusionMatrix[0]?.[2], 1);
    assert.deepEqual(
      result.worst.map((w) => [w.index, w.label, w.predicted]),
      [[8, 0, 2]],
    );
  });

  test('a set smaller than one batch runs as it is', () => {
    const batches: number[] = [];
    evaluateClassifier(fakeModel(batches), { images, labels, count }, { ...eager, batchSize: 64 });
    assert.deepEqual(batches, [10]);
  });
});
