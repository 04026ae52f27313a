// Training paths beyond the small MLP: conv models with batch norm through checkpoints, string
// identifiers in compile(), and non-sparse losses (one-hot and binary targets built from labels).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { binaryCrossentropy, categoricalCrossentropy } from '../../src/losses/index.js';
import {
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  Layer,
  maxPooling2d,
  type CallContext,
} from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { sequential } from '../../src/train/model.js';
import { loadModel } from '../../src/loading/node.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { INPUT_SHAPE, newRun, resumeRun, syntheticData, tempDir, weightBytes } from './setup.js';

const data = syntheticData(48);

describe('other models and losses', () => {
  it('a conv model with batch norm round-trips through a run directory (moving statistics included)', async () => {
    const model = sequential([
      conv2d({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [...INPUT_SHAPE] }),
      batchNormalization({}),
      maxPooling2d({ poolSize: 2 }),
      flatten(),
      dropout({ rate: 0.5 }),
      dense({ units: 3 }),
    ]);
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    const dir = tempDir();
    try {
      await model.fit(data.images, data.labels, {
        epochs: 2,
        batchSize: 16,
        seed: 1,
        verbose: 0,
        ...(await newRun(dir.path)),
      });
      const loaded = await loadModel(dir.path);
      assert.deepEqual(weightBytes(loaded), weightBytes(model));
      assert.equal(loaded.nonTrainableWeights.length, 2); // moving mean and variance
      assert.deepEqual(
        Array.from(loaded.predict(data.images).data),
        Array.from(model.predict(data.images).data),
      );
      assert.deepEqual(weightBytes(modelFromBytes(encodeModel(model))), weightBytes(model));
    } finally {
      dir.remove();
    }
  });

  it('categorical cross-entropy gets one-hot targets from class indices', async () => {
    const model = sequential([flatten({ inputShape: [...INPUT_SHAPE] }), dense({ units: 3 })]);
    model.compile({
      optimizer: adam({ learningRate: 0.05 }),
      loss: categoricalCrossentropy({ fromLogits: true }),
    });
    const history = await model.fit(data.images, data.labels, { epochs: 5, batchSize: 8, verbose: 0 });
    assert.ok(history.history.accuracy.at(-1)! > 0.9, `accuracy ${history.history.accuracy}`);
  });

  it('binary cross-entropy with one sigmoid output takes 0/1 labels as targets', async () => {
    const labels = Uint8Array.from(data.labels, (label) => (label === 0 ? 1 : 0));
    const model = sequential([
      flatten({ inputShape: [...INPUT_SHAPE] }),
      dense({ units: 1, activation: 'sigmoid' }),
    ]);
    model.compile({ optimizer: adam({ learningRate: 0.05 }), loss: binaryCrossentropy() });
    const history = await model.fit(data.images, labels, { epochs: 5, batchSize: 8, verbose: 0 });
    assert.ok(history.history.accuracy.at(-1)! > 0.9, `accuracy ${history.history.accuracy}`);
    assert.ok(history.history.loss.at(-1)! < history.history.loss[0]!);
  });
});

describe('an error from inside a layer', () => {
  class QuotaError extends Error {
    constructor(readonly quota: number) {
      super(`over the quota of ${quota}`);
      this.name = 'QuotaError';
    }
  }
  /** Throws a QuotaError on every call; `readStack` reads its stack first (a logger would). */
  class Refusing extends Layer {
    readonly className = 'Refusing';
    constructor(private readonly readStack: boolean) {
      super({ name: 'refusing' }, 'refusing');
    }
    call(_x: Tensor, _context: CallContext): Tensor {
      const error = new QuotaError(3);
      if (this.readStack) void error.stack;
      throw error;
    }
  }

  for (const readStack of [false, true]) {
    it(`names the layer and its input shape and keeps the error's class${readStack ? ' (stack read first)' : ''}`, () => {
      const model = sequential([flatten({ inputShape: [...INPUT_SHAPE] }), new Refusing(readStack)]);
      assert.throws(
        () => model.predict(data.images.subarray(0, 2 * 36)),
        (error: unknown) => {
          assert.ok(error instanceof QuotaError, `a QuotaError, found ${String(error)}`);
          assert.equal(error.quota, 3);
          assert.match(error.message, /^Refusing 'refusing' \(input .*\b36\W*\): over the quota of 3$/);
          assert.equal(error.stack?.split('\n')[0], `QuotaError: ${error.message}`);
          return true;
        },
      );
    });
  }
});

describe('augmentation', () => {
  // 28x28 images: a bright square whose position encodes the class.
  const count = 36;
  const images = new Uint8Array(count * 784);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    labels[n] = n % 3;
    for (let y = 4; y < 12; y++)
      for (let x = 0; x < 8; x++) images[n * 784 + (y + 6 * labels[n]!) * 28 + x + 8] = 200;
  }
  const mlp = () => {
    const model = sequential([
      flatten({ inputShape: [28, 28] }),
      dense({ units: 8, activation: 'relu' }),
      dense({ units: 3 }),
    ]);
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy', metrics: ['accuracy'] });
    return model;
  };
  const options = { batchSize: 12, seed: 4, verbose: 0, augment: { maxShift: 2 } } as const;

  it('warps images from a seeded stream: deterministic, different from no augmentation, resumable', async () => {
    const a = mlp();
    await a.fit(images, labels, { ...options, epochs: 2 });
    const b = mlp();
    await b.fit(images, labels, { ...options, epochs: 2 });
    const plain = mlp();
    await plain.fit(images, labels, { ...options, augment: false, epochs: 2 });
    assert.deepEqual(weightBytes(a), weightBytes(b));
    assert.notDeepEqual(weightBytes(a), weightBytes(plain));
    const dir = tempDir();
    try {
      await mlp().fit(images, labels, {
        ...options,
        epochs: 1,
        ...(await newRun(dir.path)),
        runConfig: { note: 'test' },
      });
      const resumed = mlp();
      await resumed.fit(images, labels, { ...options, epochs: 2, ...(await resumeRun(dir.path)) });
      assert.deepEqual(weightBytes(resumed), weightBytes(a));
      const config = JSON.parse(readFileSync(join(dir.path, 'config.json'), 'utf8'));
      assert.deepEqual(config.runConfig, { note: 'test' });
    } finally {
      dir.remove();
    }
  });

  it('refuses images that are not u8 28x28', async () => {
    const model = sequential([flatten({ inputShape: [...INPUT_SHAPE] }), dense({ units: 3 })]);
    model.compile({ optimizer: 'adam', loss: 'sparse_categorical_crossentropy' });
    await assert.rejects(
      model.fit(data.images, data.labels, { verbose: 0, augment: true }),
      /expected u8 images of 28x28/,
    );
  });
});
