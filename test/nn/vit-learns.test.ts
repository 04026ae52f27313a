// A small vision transformer learns MNIST through fit(): 512 training images, a few epochs, the
// zoo's recipe ingredients (AdamW, warm-up + cosine, label smoothing), on the js backend and on the
// native backend. The loss must fall clearly and held-out accuracy rise far above chance.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { loadMnist } from '../../src/data/node/load.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { adamW, cosineDecay } from '../../src/optim/index.js';
import { standardize } from '../../src/data/normalize.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

const TRAIN = 512;
const TEST = 256;
const EPOCHS = 10;
const BATCH = 32;

async function learn(backend: Backend): Promise<{ losses: number[]; accuracy: number }> {
  setBackendInstance(backend);
  const { train, test } = await loadMnist({ offline: true });
  // Patches of 7 (16 tokens + class token), width 32, 2 blocks of 4 heads: ~3 MFLOP per image.
  const model = new VisionTransformer({
    patchSize: 7,
    embedDim: 32,
    depth: 2,
    numHeads: 4,
    mlpDim: 64,
    normalization: standardize(),
  });
  const steps = EPOCHS * Math.ceil(TRAIN / BATCH);
  model.compile({
    optimizer: adamW({
      learningRate: cosineDecay({
        initialLearningRate: 2e-4,
        warmupTarget: 2e-3,
        warmupSteps: 8,
        decaySteps: steps - 8,
      }),
      weightDecay: 0.05,
    }),
    loss: sparseCategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 }),
    metrics: ['accuracy'],
  });
  const history = await model.fit(train.images.subarray(0, TRAIN * 784), train.labels.subarray(0, TRAIN), {
    epochs: EPOCHS,
    batchSize: BATCH,
    seed: 0,
    verbose: 0,
  });
  const result = await model.evaluate(test.images.subarray(0, TEST * 784), test.labels.subarray(0, TEST));
  return { losses: history.history.loss, accuracy: result.accuracy };
}

function check({ losses, accuracy }: { losses: number[]; accuracy: number }): void {
  const [first, last] = [losses[0] as number, losses[losses.length - 1] as number];
  // Label smoothing 0.1 puts the floor of the loss near 0.5; chance is ln 10 = 2.30.
  assert.ok(first > 1.8, `first epoch's loss ${first.toFixed(3)} is near chance`);
  assert.ok(last < 0.5 * first, `the loss fell from ${first.toFixed(3)} to ${last.toFixed(3)} only`);
  // Transformers need data: with 512 images this one reaches ~60% (chance 10%).
  assert.ok(accuracy > 0.5, `held-out accuracy ${(accuracy * 100).toFixed(1)}% after ${TRAIN} images`);
}

const availability = nativeBackendAvailable();

describe('a small vit learns MNIST digits', () => {
  it('js backend', async () => check(await learn(createJsBackend())));
  it(
    'native backend',
    availability.available ? {} : { skip: `native addon unavailable: ${availability.reason}` },
    async () => check(await learn(createNativeBackend())),
  );
});
