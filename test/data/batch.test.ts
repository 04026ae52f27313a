// The one batch pipeline (src/data/batch.ts): the DataLoader and fit/evaluate/predict build the same
// bits for the same examples, and its standardisation is the Normalization layer's arithmetic bit for
// bit on every backend, which is what lets a batch fold a model's leading layer in.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { setBackend, setBackendInstance } from '../../src/backend/registry.js';
import { gatherBatch } from '../../src/data/batch.js';
import { DataLoader } from '../../src/data/loader.js';
import { normalizedLevel, standardize, type InputNormalization } from '../../src/data/normalize.js';
import { FASHION_MNIST, MNIST_MEAN, MNIST_STD } from '../../src/data/registry.js';
import { readIdxFile } from '../../src/data/node/files.js';
import { dense, flatten, normalization } from '../../src/nn/index.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { tidy } from '../../src/tensor/tensor.js';
import { imageBatch, toExamples } from '../../src/train/batches.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { TINY_IDX } from './helpers.js';

setBackendInstance(createJsBackend());
const native = nativeBackendAvailable();
if (native.available) setBackendInstance(createNativeBackend());
setBackend('js');
const BACKENDS = native.available ? ['js', 'native'] : ['js'];

async function tinyImages(): Promise<{ images: Uint8Array; labels: Uint8Array; count: number }> {
  const images = await readIdxFile(join(TINY_IDX, 'train-images-idx3-ubyte.gz'));
  const labels = await readIdxFile(join(TINY_IDX, 'train-labels-idx1-ubyte.gz'));
  return { images: images.data as Uint8Array, labels: labels.data as Uint8Array, count: labels.shape[0]! };
}

const STATISTICS: InputNormalization[] = [
  standardize(),
  FASHION_MNIST.stats as InputNormalization,
  { mean: 0.4, std: 0.07 },
];

function sameBits(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) {
      assert.fail(`${what}: value ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

describe('the batch pipeline', () => {
  test("a DataLoader batch and fit's batch of the same examples are the same bits (standardised, augmented)", async () => {
    setBackend('js');
    const set = await tinyImages();
    const indices = Int32Array.from({ length: 8 }, (_, i) => i);
    const examples = toExamples(set.images, set.labels, [28, 28, 1], 'test');
    for (const augment of [false, true]) {
      const loader = new DataLoader(set, {
        batchSize: 8,
        shuffle: false,
        seed: 5,
        normalization: standardize(),
        augment,
      });
      const [first] = [...loader.epoch(0)];
      // fit's stream for the same warps: the loader draws epoch 0's from Random(seed, epoch).
      const warps = augment ? { random: new Random(5, 0), options: {} } : undefined;
      const fromFit = tidy(() =>
        Float32Array.from(
          imageBatch(examples, indices, [28, 28, 1], { normalization: standardize(), augment: warps }).data,
        ),
      );
      sameBits(first!.x, fromFit, augment ? 'augmented' : 'plain');
    }
  });

  test('MNIST mean and std are written once: standardize() defaults to the registry', () => {
    assert.deepEqual(standardize(), { mean: MNIST_MEAN, std: MNIST_STD });
  });

  for (const backend of BACKENDS) {
    test(`standardised levels equal the Normalization layer on pixel / 255, bit for bit (${backend})`, () => {
      setBackend(backend);
      const random = new Random(3);
      // Every u8 level, then warped (non-integer) levels as augmentation makes them.
      const levels = Float32Array.from({ length: 256 + 4000 }, (_, i) =>
        i < 256 ? i : random.nextFloat() * 255,
      );
      for (const stats of STATISTICS) {
        const layer = normalization({ mean: stats.mean, std: stats.std });
        const expected = Float32Array.from(levels, (level) => normalizedLevel(level, stats));
        const x = Float32Array.from(levels, (level) => normalizedLevel(level));
        const actual = tidy(() =>
          Float32Array.from(
            layer.apply(tensor(x, [x.length]), { training: false, random: new Random(0) }).data,
          ),
        );
        sameBits(actual, expected, `mean ${stats.mean}, std ${stats.std}`);
      }
    });

    test(`a model starting with Normalization predicts the same bits from u8 pixels (folded) and from pixel / 255 (${backend})`, async () => {
      setBackend(backend);
      const set = await tinyImages();
      const model = sequential([
        normalization({ inputShape: [28, 28, 1], ...standardize() }),
        flatten(),
        dense({ units: 10 }),
      ]);
      model.buildFor([28, 28, 1], new Random(1));
      const scaled = Float32Array.from(set.images, (p) => normalizedLevel(p));
      const [folded, layered] = tidy(() => [
        Float32Array.from(model.predict(set.images, { batchSize: 16 }).data),
        Float32Array.from(model.predict(scaled, { batchSize: 16 }).data),
      ]);
      sameBits(folded!, layered!, 'predict');
    });
  }

  test('float rows are copied as they are; normalising or warping them is refused', () => {
    const images = Float32Array.from({ length: 3 * 4 }, (_, i) => i / 7);
    const out = new Float32Array(2 * 4);
    gatherBatch(images, [2, 0], 4, out);
    sameBits(out, [...images.subarray(8, 12), ...images.subarray(0, 4)], 'gathered');
    assert.throws(
      () => gatherBatch(images, [0], 4, out, { normalization: standardize() }),
      /apply to u8 pixels, found Float32Array/,
    );
  });
});
