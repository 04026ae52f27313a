import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type ImageSet } from '../../src/index.js';
import { IDENTITY_WARP, warpAffine } from '../../src/data/augment.js';
import { type Batch, batches, DataLoader } from '../../src/data/loader.js';
import { readIdxFile } from '../../src/data/node/files.js';
import { pixelStatistics, standardize } from '../../src/data/normalize.js';
import { MNIST_MEAN, MNIST_STD } from '../../src/data/registry.js';
import { TINY_IDX } from './helpers.js';

async function tinyTrain(): Promise<ImageSet> {
  const images = await readIdxFile(join(TINY_IDX, 'train-images-idx3-ubyte.gz'));
  const labels = await readIdxFile(join(TINY_IDX, 'train-labels-idx1-ubyte.gz'));
  return { images: images.data as Uint8Array, labels: labels.data as Uint8Array, count: labels.shape[0]! };
}

/** A set whose image i is filled with value i, so a batch reveals which examples it holds. */
function numberedSet(count: number): ImageSet {
  const images = new Uint8Array(count * 784);
  for (let i = 0; i < count; i++) images.fill(i, i * 784, (i + 1) * 784);
  return { images, labels: Uint8Array.from({ length: count }, (_, i) => i % 10), count };
}

const examplesOf = (batch: Batch) =>
  Array.from({ length: batch.size }, (_, i) => Math.round(batch.x[i * 784]! * 255));

describe('DataLoader', () => {
  test('batch shapes (B, 28, 28, 1) and Int32 labels; the last batch is smaller unless dropped', () => {
    const set = numberedSet(10);
    const all = [...batches(set, { batchSize: 4 })];
    assert.deepEqual(
      all.map((b) => b.size),
      [4, 4, 2],
    );
    assert.ok(all[0]!.x instanceof Float32Array && all[0]!.y instanceof Int32Array);
    assert.equal(all[0]!.x.length, 4 * 28 * 28 * 1);
    assert.equal(all[2]!.y.length, 2);
    const loader = new DataLoader(set, { batchSize: 4, dropLast: true });
    assert.equal(loader.batchesPerEpoch, 2);
    assert.deepEqual(
      [...loader.epoch(0)].map((b) => b.size),
      [4, 4],
    );
  });

  test('each epoch visits every example once, with labels that belong to it', () => {
    const set = numberedSet(37);
    const seen = [...batches(set, { batchSize: 8, seed: 1 })].flatMap((batch) => {
      examplesOf(batch).forEach((example, i) => assert.equal(batch.y[i], example % 10));
      return examplesOf(batch);
    });
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...Array(37).keys()],
    );
    assert.notDeepEqual(seen, [...Array(37).keys()], 'shuffled');
  });

  test('the same seed gives the same batches; epochs and seeds differ; shuffle off keeps order', () => {
    const set = numberedSet(30);
    const order = (options: { seed?: number; shuffle?: boolean }, epoch = 0) =>
      [...new DataLoader(set, { batchSize: 7, ...options }).epoch(epoch)].flatMap(examplesOf);
    assert.deepEqual(order({ seed: 4 }), order({ seed: 4 }));
    assert.notDeepEqual(order({ seed: 4 }), order({ seed: 5 }));
    assert.notDeepEqual(order({ seed: 4 }, 0), order({ seed: 4 }, 1));
    assert.deepEqual(order({ shuffle: false }), [...Array(30).keys()]);
    const loader = new DataLoader(set, { batchSize: 7, seed: 4 });
    assert.deepEqual([...loader].flatMap(examplesOf), order({ seed: 4 }, 0));
    assert.deepEqual(
      [...loader].flatMap(examplesOf),
      order({ seed: 4 }, 1),
      'iterating again runs the next epoch',
    );
  });

  test('normalisation: scale to [0, 1] or standardise with mean/std', () => {
    const set: ImageSet = { images: new Uint8Array(784).fill(255), labels: Uint8Array.of(3), count: 1 };
    set.images[1] = 0;
    const [scaled] = [...batches(set, { batchSize: 1 })];
    assert.equal(scaled!.x[0], 1);
    assert.equal(scaled!.x[1], 0);
    const [standard] = [...batches(set, { batchSize: 1, normalization: standardize() })];
    assert.ok(Math.abs(standard!.x[0]! - (1 - MNIST_MEAN) / MNIST_STD) < 1e-6);
    assert.ok(Math.abs(standard!.x[1]! - -MNIST_MEAN / MNIST_STD) < 1e-6);
  });
});

describe('augmentation', () => {
  test('the identity warp reproduces the image; an integer shift moves it exactly', async () => {
    const set = await tinyTrain();
    const out = new Float32Array(784);
    warpAffine(set.images, 0, IDENTITY_WARP, out, 0);
    assert.deepEqual(Array.from(out), Array.from(set.images.subarray(0, 784)));
    warpAffine(set.images, 0, { ...IDENTITY_WARP, shiftX: 2, shiftY: -1 }, out, 0);
    for (let y = 0; y < 28; y++) {
      for (let x = 0; x < 28; x++) {
        const sourceX = x - 2;
        const sourceY = y + 1;
        const inside = sourceX >= 0 && sourceX < 28 && sourceY >= 0 && sourceY < 28;
        assert.equal(out[y * 28 + x], inside ? set.images[sourceY * 28 + sourceX] : 0);
      }
    }
  });

  test('a 90 degree rotation turns content clockwise about the centre', () => {
    const image = new Uint8Array(784);
    image[13 * 28 + 27] = 200; // right edge, row 13
    const out = new Float32Array(784);
    warpAffine(image, 0, { ...IDENTITY_WARP, rotation: 90 }, out, 0);
    // (27, 13) relative to the centre (13.5, 13.5) is (13.5, -0.5); clockwise it goes to (0.5, 13.5).
    const brightest = out.indexOf(Math.max(...out));
    assert.equal(brightest, 27 * 28 + 14);
  });

  test('augmented batches keep labels, stay deterministic and keep pixel statistics sane', async () => {
    const set = await tinyTrain();
    const options = { batchSize: 20, seed: 8, shuffle: false, augment: true } as const;
    const augmented = [...batches(set, options)];
    const again = [...batches(set, options)];
    const plain = [...batches(set, { ...options, augment: false })];
    assert.deepEqual(
      augmented.map((b) => Array.from(b.x)),
      again.map((b) => Array.from(b.x)),
    );
    augmented.forEach((batch, i) => assert.deepEqual(batch.y, plain[i]!.y));
    const x = Float32Array.from(augmented.flatMap((b) => Array.from(b.x)));
    const original = pixelStatistics(set.images);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    assert.ok(x.every((v) => v >= 0 && v <= 1));
    assert.ok(Math.abs(mean - original.mean) < 0.2 * original.mean, `mean ${mean} vs ${original.mean}`);
    // Every image changed, but stays correlated with its source (same digit, small warp).
    for (let i = 0; i < set.count; i++) {
      const a = augmented[Math.floor(i / 20)]!.x.subarray((i % 20) * 784, ((i % 20) + 1) * 784);
      const b = plain[Math.floor(i / 20)]!.x.subarray((i % 20) * 784, ((i % 20) + 1) * 784);
      assert.notDeepEqual(Array.from(a), Array.from(b));
      let dot = 0,
        normA = 0,
        normB = 0;
      for (let p = 0; p < 784; p++) {
        dot += a[p]! * b[p]!;
        normA += a[p]! ** 2;
        normB += b[p]! ** 2;
      }
      assert.ok(dot / Math.sqrt(normA * normB) > 0.2, `image ${i} barely resembles its source`);
    }
  });
});
