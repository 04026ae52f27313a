// Models carry their input normalisation (issue 14): a leading Normalization layer saved with the
// model, folded into fit's u8 batches bit for bit; the deprecated normalize option trains behind
// such a layer; runs saved before (normalisation in config.json only) load restored.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { normalizedLevel, type InputNormalization } from '../../src/data/normalize.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { dense, dropout, flatten, normalization, resetLayerNames } from '../../src/nn/index.js';
import { adam } from '../../src/optim/index.js';
import { tidy } from '../../src/tensor/tensor.js';
import { restoreInputNormalization } from '../../src/train/legacy-normalization.js';
import { sequential, withInputNormalization, type Model } from '../../src/train/model.js';
import { openRun } from '../../src/runs/node/writer.js';
import { loadModel } from '../../src/loading/node.js';
import type { FitOptions } from '../../src/train/types.js';
import { INPUT_SHAPE, smallModel, syntheticData, tempDir, weightBytes } from './setup.js';

const data = syntheticData(64);
const validation = syntheticData(12, 3);
const STATS: InputNormalization = { mean: 0.2, std: 0.3 };
const BASE: FitOptions = { batchSize: 16, seed: 5, verbose: 0 };

/** smallModel's layers behind a Normalization layer, freshly named (so two builds match). */
function standardisedModel(): Model {
  resetLayerNames();
  const model = sequential([
    normalization({ inputShape: [...INPUT_SHAPE], ...STATS }),
    flatten(),
    dense({ units: 16, activation: 'relu' }),
    dropout({ rate: 0.25 }),
    dense({ units: 3 }),
  ]);
  model.compile({
    optimizer: adam({ learningRate: 0.01 }),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  return model;
}

function outputs(model: Model, images: Uint8Array | Float32Array, options = {}): Float32Array {
  return tidy(() => Float32Array.from(model.predict(images, options).data));
}

async function withDir(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await fn(dir.path);
  } finally {
    dir.remove();
  }
}

describe('input normalisation carried by the model', () => {
  it('a run trained with fit({normalize}) loads as a model that standardises its own inputs', () =>
    withDir(async (runDir) => {
      const model = smallModel();
      await model.fit(data.images, data.labels, {
        ...BASE,
        epochs: 1,
        run: await openRun(runDir),
        normalize: STATS,
      });
      const loaded = await loadModel(runDir);
      assert.equal(loaded.inputNormalization?.mean, STATS.mean);
      // loadModel(run).predict(pixels) is what the in-memory model predicts with the option.
      assert.deepEqual(
        outputs(loaded, validation.images),
        outputs(model, validation.images, { normalize: STATS }),
      );
    }));

  it('fit folds the layer into u8 batches: the same weights as pixel / 255 input through the layer', async () => {
    const folded = standardisedModel();
    await folded.fit(data.images, data.labels, { ...BASE, epochs: 2 });
    const layered = standardisedModel();
    const scaled = Float32Array.from(data.images, (p) => normalizedLevel(p));
    await layered.fit(scaled, data.labels, { ...BASE, epochs: 2 });
    assert.deepEqual(weightBytes(folded), weightBytes(layered));
  });

  it('fit({normalize}) trains the same weights as the model with the layer in front', async () => {
    resetLayerNames();
    const viaOption = smallModel();
    await viaOption.fit(data.images, data.labels, { ...BASE, epochs: 2, normalize: STATS });
    const viaLayer = standardisedModel();
    await viaLayer.fit(data.images, data.labels, { ...BASE, epochs: 2 });
    assert.deepEqual(weightBytes(viaOption), weightBytes(viaLayer));
    assert.deepEqual(
      outputs(viaOption, validation.images, { normalize: STATS }),
      outputs(viaLayer, validation.images),
    );
  });

  it('refuses to standardise twice, naming the layer', async () => {
    const model = standardisedModel();
    await assert.rejects(
      model.fit(data.images, data.labels, { ...BASE, normalize: STATS }),
      /already standardises its inputs \(its layer 'normalization'.*drop the normalize option/,
    );
    assert.throws(() => withInputNormalization(model, STATS), /already standardises/);
  });

  it('an old run (normalisation in config.json, not in the model) loads restored, and only once', () =>
    withDir(async (runDir) => {
      const model = smallModel();
      await model.fit(data.images, data.labels, { ...BASE, epochs: 1, run: await openRun(runDir) });
      const configPath = join(runDir, 'config.json');
      const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
      // What `train` wrote before models carried it: runConfig.recipe.normalize.
      config['runConfig'] = { recipe: { model: 'mlp', dataset: 'mnist', normalize: STATS } };
      writeFileSync(configPath, JSON.stringify(config));
      const loaded = await loadModel(runDir);
      assert.ok(loaded.inputNormalization, 'restored');
      assert.ok(loaded.compiled, 'compiled from the run config');
      assert.deepEqual(
        outputs(loaded, validation.images),
        outputs(model, validation.images, { normalize: STATS }),
      );
      assert.equal(restoreInputNormalization(loaded, STATS), loaded, 'a model that carries it is kept');
      // Resumed by today's code, the run's newer checkpoints carry the layer: not added twice.
      const resumed = withInputNormalization(smallModel(), STATS);
      await resumed.fit(data.images, data.labels, {
        ...BASE,
        epochs: 2,
        run: await openRun(runDir, { resume: true }),
        resume: true,
      });
      const reloaded = await loadModel(runDir);
      assert.equal(reloaded.layers.filter((l) => l.className === 'Normalization').length, 1);
    }));

  it('resume stays bit-identical for a model that starts with Normalization', () =>
    withDir(async (runDir) => {
      const straight = standardisedModel();
      await straight.fit(data.images, data.labels, { ...BASE, epochs: 3 });
      await standardisedModel().fit(data.images, data.labels, {
        ...BASE,
        epochs: 1,
        run: await openRun(runDir),
      });
      const resumed = standardisedModel();
      await resumed.fit(data.images, data.labels, {
        ...BASE,
        epochs: 3,
        run: await openRun(runDir, { resume: true }),
        resume: true,
      });
      assert.deepEqual(weightBytes(resumed), weightBytes(straight));
    }));
});
