// LoRA: an adapted model starts equal to its base, trains only its adapters (and a new head),
// and merging folds B·A·alpha/r into the kernels with predictions equal within 1e-5.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLora, loraLayers, mergeLora } from '../../src/finetune/lora.js';
import { fineTune } from '../../src/finetune/recipe.js';
import { trainableReport } from '../../src/finetune/report.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { noGrad } from '../../src/tensor/tensor.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Model } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { bitsEqual, copyOf, INPUT_SHAPE, PIXELS, syntheticData, tinyCnn } from './setup.js';

function batch(n: number, seed: number): Tensor {
  const random = new Random(seed);
  return tensor(
    Float32Array.from({ length: n * PIXELS }, () => random.nextFloat()),
    [n, ...INPUT_SHAPE],
  );
}

function outputs(model: Model, x: Tensor): Float32Array {
  return noGrad(() => copyOf(model.apply(x, { training: false, random: new Random(0) }).data));
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] as number))), 0);
}

describe('LoRA', () => {
  it('starts equal to the base (B = 0) and only adapters train', () => {
    const base = tinyCnn();
    const x = batch(5, 7);
    const expected = outputs(base, x);
    const adapted = applyLora(base, { rank: 2, alpha: 4, target: 'conv*,dense*' });
    assert.deepEqual(
      loraLayers(adapted).map((l) => l.className),
      ['LoraConv2D', 'LoraDense', 'LoraDense'],
    );
    assert.ok(bitsEqual(outputs(adapted, x), expected));
    assert.deepEqual(
      adapted.trainableWeights.map((w) => `${w.value.name} [${w.value.shape.join(',')}]`),
      [
        'conv2d/lora_A [3,3,1,2]',
        'conv2d/lora_B [1,1,2,4]',
        'dense/lora_A [16,2]',
        'dense/lora_B [2,8]',
        'dense_1/lora_A [8,2]',
        'dense_1/lora_B [2,3]',
      ],
    );
    // 26 + 48 + 22 adapter parameters over the base's 219.
    assert.equal(trainableReport(adapted), 'trainable 96 of 315 (30.5%)');
  });

  it('merges adapters into the kernels: predictions equal within 1e-5, then bases are plain layers', () => {
    const adapted = applyLora(tinyCnn(), { rank: 3, alpha: 6, target: 'conv*,dense*' });
    // Non-zero B, as after training (the merge must carry the alpha/r scale and the conv reshape).
    const random = new Random(11);
    for (const layer of loraLayers(adapted)) {
      const b = layer.loraB as Tensor;
      for (let i = 0; i < b.size; i++) b.data[i] = random.uniform(-0.5, 0.5);
    }
    const x = batch(6, 3);
    const before = outputs(adapted, x);
    const plain = outputs(tinyCnn(), x);
    assert.ok(maxDifference(before, plain) > 1e-3, 'the adapters change nothing: the test would be vacuous');
    const merged = mergeLora(adapted);
    assert.deepEqual(
      merged.layers.map((l) => l.className),
      ['Conv2D', 'BatchNormalization', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense'],
    );
    const difference = maxDifference(outputs(merged, x), before);
    assert.ok(difference < 1e-5, `merged predictions differ by ${difference}`);
  });

  it('trains adapters and a new head while the base weights stay bit-identical', async () => {
    const base = tinyCnn();
    const baseWeights = base.weights.filter((w) => w.trainable).map((w) => w.value);
    const before = baseWeights.map((t) => copyOf(t.data));
    const { images, labels } = syntheticData(48);
    const result = await fineTune(base, images, labels, {
      method: 'lora',
      classes: 3,
      lora: { rank: 2, dropout: 0.1 },
      epochs: 1,
      fit: { batchSize: 16, verbose: 0 },
    });
    assert.deepEqual(
      result.model.trainableWeights.map((w) => w.value.name),
      ['conv2d/lora_A', 'conv2d/lora_B', 'dense/lora_A', 'dense/lora_B', 'head/kernel', 'head/bias'],
    );
    // dense_1 (the old head) was replaced and is no longer part of the model.
    baseWeights
      .filter((t) => !(t.name as string).startsWith('dense_1/'))
      .forEach((t, i) => assert.ok(bitsEqual(t.data, before[i]!), `${t.name} moved`));
    const b = loraLayers(result.model)[0]!.loraB as Tensor;
    assert.ok(
      b.data.some((v) => v !== 0),
      'lora_B did not train',
    );

    // Without dropout the forward pass takes the effective-kernel path: it must train B too.
    const plain = await fineTune(tinyCnn(), images, labels, {
      method: 'lora',
      lora: { rank: 2 },
      epochs: 1,
      fit: { batchSize: 16, verbose: 0 },
    });
    for (const layer of loraLayers(plain.model)) {
      assert.ok(
        (layer.loraB as Tensor).data.some((v) => v !== 0),
        `${layer.name}/lora_B did not train`,
      );
    }
  });
});
