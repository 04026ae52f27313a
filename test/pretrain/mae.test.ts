// The masked autoencoder and pretrain(): masks (seeded, ratio exact), the loss reads masked patches
// only, the encoder transfers to a classifier with equal weights, a resumed pretraining equals an
// uninterrupted one bit for bit, and a base that is not an encoder is refused in one line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { loadBase } from '../../src/finetune/base.js';
import { headClasses, replaceHead } from '../../src/finetune/head.js';
import { dense, flatten } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { LAYER_CLASSES } from '../../src/loading/index.js';
import {
  MaskedAutoencoder,
  classifierFromEncoder,
  maskedCount,
  pretrain,
  pretrainedEncoder,
  randomPatchMask,
} from '../../src/pretrain/index.js';
import { openRun } from '../../src/runs/node/writer.js';
import { gradients } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { mean } from '../../src/tensor/ops/reduce.js';
import { namedWeights } from '../../src/train/checkpoint.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

setBackendInstance(createJsBackend());

/** A small vit (patches of 7: 16 patches) and its masked autoencoder. */
function tinyMae(options: { maskRatio?: number; normPixLoss?: boolean } = {}): MaskedAutoencoder {
  resetLayerNames();
  const encoder = new VisionTransformer({
    name: 'vit',
    patchSize: 7,
    embedDim: 16,
    depth: 1,
    numHeads: 2,
    mlpDim: 16,
    normalization: { mean: 0.1307, std: 0.3081 },
  });
  return new MaskedAutoencoder({
    name: 'mae',
    encoder,
    decoderDim: 8,
    decoderDepth: 1,
    decoderHeads: 2,
    ...options,
  });
}

/** `count` u8 images 28x28: a bright square at a seeded place on noise. */
function images(count: number, seed = 1): Uint8Array {
  const random = new Random(seed);
  const out = new Uint8Array(count * 784);
  for (let n = 0; n < count; n++) {
    const top = random.nextInt(18);
    const left = random.nextInt(18);
    for (let i = 0; i < 784; i++) out[n * 784 + i] = random.nextInt(40);
    for (let r = top; r < top + 10; r++)
      for (let c = left; c < left + 10; c++) out[n * 784 + r * 28 + c] = 230;
  }
  return out;
}

function floats(u8: Uint8Array): Float32Array {
  return Float32Array.from(u8, (v) => v / 255);
}

const dirs: string[] = [];
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-lab-mae-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('randomPatchMask', () => {
  it('masks exactly round(ratio * N) patches per image, the rest kept, disjoint and complete', () => {
    for (const [patches, ratio, masked] of [
      [49, 0.75, 37],
      [16, 0.75, 12],
      [16, 0.5, 8],
      [49, 0.9, 44],
    ] as const) {
      assert.equal(maskedCount(patches, ratio), masked);
      const mask = randomPatchMask(5, patches, ratio, new Random(7));
      assert.equal(mask.masked.length, 5 * masked);
      assert.equal(mask.kept.length, 5 * (patches - masked));
      for (let b = 0; b < 5; b++) {
        const m = [...mask.masked.subarray(b * masked, (b + 1) * masked)];
        const k = [...mask.kept.subarray(b * (patches - masked), (b + 1) * (patches - masked))];
        assert.deepEqual(
          [...m, ...k].sort((x, y) => x - y),
          Array.from({ length: patches }, (_, i) => i),
        );
      }
    }
  });

  it('is seeded: the same seed gives the same masks, another seed and another image differ', () => {
    const a = randomPatchMask(4, 49, 0.75, new Random(3));
    const b = randomPatchMask(4, 49, 0.75, new Random(3));
    const c = randomPatchMask(4, 49, 0.75, new Random(4));
    assert.deepEqual(a.masked, b.masked);
    assert.notDeepEqual(a.masked, c.masked);
    assert.notDeepEqual(a.masked.subarray(0, 37), a.masked.subarray(37, 74));
  });
});

describe('MaskedAutoencoder', () => {
  it('the loss reads the masked patches only: its gradient on the prediction is zero elsewhere', () => {
    const model = tinyMae();
    const x = tensor(floats(images(3)), [3, 28, 28, 1]);
    model.buildFor([28, 28, 1]);
    const mask = randomPatchMask(3, 16, 0.75, new Random(5));
    const out = model.forward(x, { training: true, random: new Random(0) }, mask);
    const [dPrediction] = gradients(mean(out.loss), [out.prediction]) as [typeof out.prediction];
    const Q = 49;
    for (let b = 0; b < 3; b++) {
      const masked = new Set(mask.masked.subarray(b * 12, (b + 1) * 12));
      for (let patch = 0; patch < 16; patch++) {
        const row = dPrediction.data.subarray((b * 16 + patch) * Q, (b * 16 + patch + 1) * Q);
        const touched = row.some((g) => g !== 0);
        assert.equal(touched, masked.has(patch), `image ${b} patch ${patch}`);
      }
    }
  });

  it('the loss is the mean squared error of the masked patches (also with per-patch targets)', () => {
    for (const normPixLoss of [false, true]) {
      const model = tinyMae({ normPixLoss });
      model.buildFor([28, 28, 1]);
      const x = tensor(floats(images(2)), [2, 28, 28, 1]);
      const mask = randomPatchMask(2, 16, 0.75, new Random(9));
      const out = model.forward(x, { training: false, random: new Random(0) }, mask);
      for (let b = 0; b < 2; b++) {
        let sum = 0;
        for (const patch of mask.masked.subarray(b * 12, (b + 1) * 12)) {
          const at = (b * 16 + patch) * 49;
          const p = out.prediction.data.subarray(at, at + 49);
          let t = Array.from(out.target.data.subarray(at, at + 49));
          if (normPixLoss) {
            const mu = t.reduce((a, v) => a + v, 0) / 49;
            const sigma = Math.sqrt(t.reduce((a, v) => a + (v - mu) ** 2, 0) / 49 + 1e-6);
            t = t.map((v) => (v - mu) / sigma);
          }
          for (let q = 0; q < 49; q++) sum += ((p[q] as number) - (t[q] as number)) ** 2;
        }
        assert.ok(Math.abs((out.loss.data[b] as number) - sum / (12 * 49)) < 1e-4);
      }
    }
  });

  it('pretrain() lowers the reconstruction loss, and the encoder transfers with equal weights', async () => {
    const model = tinyMae();
    const dir = join(scratch(), 'run');
    const history = await pretrain(model, images(64), {
      epochs: 3,
      batchSize: 16,
      learningRate: 0.01,
      verbose: 0,
      run: await openRun(dir),
    });
    const losses = history.history.loss;
    assert.ok((losses[2] as number) < (losses[0] as number), `losses ${losses.join(', ')}`);
    // The run's model is the autoencoder; its encoder becomes a classifier with a fresh head.
    const base = await loadBase(dir, LAYER_CLASSES);
    const encoder = pretrainedEncoder(base.model, dir);
    const classifier = classifierFromEncoder(encoder, 10, 1);
    const saved = new Map(namedWeights(model.encoder).map((w) => [w.name, w.value.data]));
    let compared = 0;
    for (const { name, value } of namedWeights(classifier)) {
      if (name.startsWith('head/')) continue;
      assert.deepEqual(value.data, saved.get(name), name);
      compared++;
    }
    assert.equal(compared, namedWeights(model.encoder).length - 2);
    // replaceHead (what fine-tuning calls) does the same for a vit.
    const viaHead = replaceHead(encoder, 3);
    assert.equal(headClasses(viaHead), 3);
    assert.deepEqual(
      namedWeights(viaHead).find((w) => w.name === 'block1/attention/query/kernel')?.value.data,
      saved.get('block1/attention/query/kernel'),
    );
    // The labels were never needed, and the events carry the loss only.
    assert.equal(history.history.val_loss, undefined);
  });

  it('a pretraining interrupted mid-epoch and resumed equals an uninterrupted one, bit for bit', async () => {
    const data = images(48, 2);
    const options = { epochs: 2, batchSize: 16, seed: 3, learningRate: 0.01, verbose: 0 as const };
    const whole = tinyMae();
    await pretrain(whole, data, { ...options, run: await openRun(join(scratch(), 'whole')) });

    const dir = join(scratch(), 'parts');
    const stop = new AbortController();
    const first = tinyMae();
    await pretrain(first, data, {
      ...options,
      run: await openRun(dir),
      signal: stop.signal,
      onEvent: (event) => {
        if (event.type === 'batchEnd' && event.step === 3) stop.abort(); // mid-epoch 1
      },
    });
    const resumed = tinyMae();
    await pretrain(resumed, data, { ...options, run: await openRun(dir, { resume: true }), resume: true });
    const expected = namedWeights(whole);
    const actual = namedWeights(resumed);
    assert.equal(actual.length, expected.length);
    actual.forEach((w, i) => assert.deepEqual(w.value.data, expected[i]?.value.data, w.name));
  });

  it('a base that is not a pretrained encoder, or made for other images, is refused in one line', () => {
    resetLayerNames();
    const cnn = sequential([flatten({ inputShape: [28, 28, 1] }), dense({ units: 10 })]);
    assert.throws(
      () => pretrainedEncoder(cnn, 'runs/cnn'),
      (error: Error) =>
        /^runs\/cnn holds a Sequential \('sequential'\), not a pretrained encoder; give a run of 'mnist-lab pretrain'/.test(
          error.message,
        ) && !error.message.includes('\n'),
    );
    assert.throws(
      () => pretrainedEncoder(tinyMae(), 'runs/mae', [32, 32, 1]),
      /runs\/mae: its encoder takes 28x28x1 images, the task has 32x32x1; pretrain on images of the task's shape$/,
    );
  });
});
