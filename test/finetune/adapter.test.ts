// Adapters save alone and load onto their base (same predictions); another base is refused.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadAdapter, saveAdapter } from '../../src/finetune/adapter.js';
import { baseHash, loadBase } from '../../src/finetune/base.js';
import { loraLayers } from '../../src/finetune/lora.js';
import { prepareFineTune } from '../../src/finetune/recipe.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/tensor/tensor.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { LAYER_CLASSES, modelFromBytes } from '../../src/loading/index.js';
import type { Model } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { INPUT_SHAPE, PIXELS, bitsEqual, scratchDir, tinyCnn } from './setup.js';

function predict(model: Model, x: Tensor): Float32Array {
  return noGrad(() => Float32Array.from(model.apply(x, { training: false, random: new Random(0) }).data));
}

describe('adapter save/load', () => {
  const dir = scratchDir('adapter');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const basePath = join(dir, 'base.safetensors');
  const otherPath = join(dir, 'other.safetensors');
  writeFileSync(basePath, encodeModel(tinyCnn(3, 0)));
  writeFileSync(otherPath, encodeModel(tinyCnn(3, 1))); // same architecture, other weights

  it('round-trips LoRA adapters and a new head onto the same base', async () => {
    const base = await loadBase(basePath, LAYER_CLASSES);
    const { model, headName } = prepareFineTune(base.model, {
      method: 'lora',
      classes: 2,
      lora: { rank: 2, alpha: 4 },
    });
    // Stand-in for training: non-zero adapters and head.
    const random = new Random(5);
    for (const w of model.trainableWeights) {
      for (let i = 0; i < w.value.size; i++) w.value.data[i] = random.uniform(-0.3, 0.3);
    }
    const adapterDir = join(dir, 'adapter');
    await saveAdapter(model, adapterDir, {
      baseSha256: base.sha256,
      basePath,
      ...(headName ? { headName } : {}),
    });
    assert.ok(existsSync(join(adapterDir, 'adapter.safetensors')));
    const config = JSON.parse(readFileSync(join(adapterDir, 'adapter.json'), 'utf8'));
    assert.equal(config.base.sha256, await baseHash(basePath));
    assert.deepEqual(config.lora.targets, ['conv2d', 'dense']);
    assert.deepEqual(config.head, { name: 'head', classes: 2 });

    const x = tensor(
      Float32Array.from({ length: 4 * PIXELS }, () => random.nextFloat()),
      [4, ...INPUT_SHAPE],
    );
    const loaded = await loadAdapter(adapterDir, basePath, LAYER_CLASSES);
    assert.equal(loraLayers(loaded).length, 2);
    assert.ok(bitsEqual(predict(loaded, x), predict(model, x)));
    // Saved whole (what a fine-tune run's checkpoints hold), the model loads the same without its base.
    const whole = modelFromBytes(encodeModel(model));
    assert.deepEqual(
      loraLayers(whole).map((l) => [l.className, l.name, l.rank, l.alpha]),
      [
        ['LoraConv2D', 'conv2d', 2, 4],
        ['LoraDense', 'dense', 2, 4],
      ],
    );
    assert.deepEqual(
      whole.trainableWeights.map((w) => w.value.name),
      model.trainableWeights.map((w) => w.value.name),
    );
    assert.ok(bitsEqual(predict(whole, x), predict(model, x)));
  });

  it('refuses to load onto a different base, naming both hashes', async () => {
    await assert.rejects(
      loadAdapter(join(dir, 'adapter'), otherPath, LAYER_CLASSES),
      /trained on the base with model\.safetensors SHA-256 [0-9a-f]{12}.*but this base's is [0-9a-f]{12}.*load the adapter onto the base it was trained on/,
    );
  });
});
