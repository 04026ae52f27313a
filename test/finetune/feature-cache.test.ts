// Frozen-feature caching gives the same training as running the frozen layers every step (within
// float rounding: inference-mode vs training-mode kernels), keeps the run directory the full
// model's, and stays off where it would change the result (dropout before the frozen layers).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cacheablePrefix, fitWithFeatureCache } from '../../src/finetune/feature-cache.js';
import { freeze } from '../../src/finetune/select.js';
import { conv2d, dense, dropout, flatten, normalization } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { openRun } from '../../src/runs/node/writer.js';
import { loadModel } from '../../src/loading/node.js';
import { sequential } from '../../src/train/model.js';
import type { Sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { INPUT_SHAPE, compileAdam, scratchDir, syntheticData, tinyCnn } from './setup.js';

/** tinyCnn with a dropout inside the trained part, so the dropout stream's alignment is checked. */
function cnnWithDropout(): Sequential {
  const base = tinyCnn();
  const layers = [...base.layers];
  layers.splice(5, 0, dropout({ rate: 0.5 }));
  const model = sequential({ name: base.name, layers });
  freeze(model, 'conv*,batch_normalization');
  compileAdam(model);
  return model;
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

describe('frozen-feature cache', () => {
  it('trains the same weights as an uncached fit, and uses the cache', async () => {
    const { images, labels } = syntheticData(96);
    const fit = { epochs: 2, batchSize: 16, verbose: 0, seed: 3 } as const;
    const plain = cnnWithDropout();
    const plainHistory = await plain.fit(images, labels, fit);
    const cached = cnnWithDropout();
    const lines: string[] = [];
    const cachedHistory = await fitWithFeatureCache(cached, images, labels, fit, {
      log: (line) => lines.push(line),
    });
    assert.equal(lines.length, 1, 'the cache was not used');
    assert.match(lines[0]!, /conv2d\.\.flatten: 96 x \[16\]/);
    plain.weights.forEach((w, i) => {
      const other = cached.weights[i]!.value;
      assert.equal(other.name, w.value.name);
      const diff = maxAbsDifference(w.value.data, other.data);
      assert.ok(diff < 1e-5, `${w.value.name}: cached and uncached differ by ${diff}`);
    });
    plainHistory.history.loss.forEach((loss, i) =>
      assert.ok(Math.abs(loss - cachedHistory.history.loss[i]!) < 1e-5, `epoch ${i} loss differs`),
    );
    // Control: a different seed does change the weights (so the comparison can fail).
    const other = cnnWithDropout();
    await other.fit(images, labels, { ...fit, seed: 4 });
    const head = plain.weights.length - 2; // the last dense's kernel
    assert.ok(maxAbsDifference(other.weights[head]!.value.data, plain.weights[head]!.value.data) > 1e-4);
  });

  it("caches a base that carries its input normalisation (the layer folded into the prefix's batches)", async () => {
    const { images, labels } = syntheticData(64);
    const fit = { epochs: 2, batchSize: 16, verbose: 0, seed: 3 } as const;
    const standardised = (): Sequential => {
      const base = cnnWithDropout();
      const model = sequential({
        name: base.name,
        layers: [normalization({ inputShape: [...INPUT_SHAPE], mean: 0.3, std: 0.2 }), ...base.layers],
      });
      compileAdam(model);
      return model;
    };
    const plain = standardised();
    await plain.fit(images, labels, fit);
    const cached = standardised();
    assert.equal(cacheablePrefix(cached), 5, 'normalization, conv2d, batch_normalization, pooling, flatten');
    const lines: string[] = [];
    await fitWithFeatureCache(cached, images, labels, fit, { log: (line) => lines.push(line) });
    assert.match(lines[0] ?? '', /normalization\.\.flatten: 64 x \[16\]/);
    plain.weights.forEach((w, i) => {
      const diff = maxAbsDifference(w.value.data, cached.weights[i]!.value.data);
      assert.ok(diff < 1e-5, `${w.value.name}: cached and uncached differ by ${diff}`);
    });
  });

  it('fills every row when the example count is not a multiple of the pass batch', async () => {
    // 50 examples in passes of 16: the last pass is the full batch 34..49 (rows 34..47 twice).
    const { images, labels } = syntheticData(50);
    const fit = { epochs: 1, batchSize: 10, verbose: 0, seed: 5 } as const;
    const plain = cnnWithDropout();
    await plain.fit(images, labels, fit);
    const cached = cnnWithDropout();
    const lines: string[] = [];
    await fitWithFeatureCache(cached, images, labels, fit, { batchSize: 16, log: (l) => lines.push(l) });
    assert.match(lines[0] ?? '', /: 50 x \[16\]/);
    plain.weights.forEach((w, i) => {
      const diff = maxAbsDifference(w.value.data, cached.weights[i]!.value.data);
      assert.ok(diff < 1e-5, `${w.value.name}: cached and uncached differ by ${diff}`);
    });
  });

  it('empty validation data: the same answer as fit() without a cache', async () => {
    const { images, labels } = syntheticData(20);
    const fit = {
      epochs: 1,
      batchSize: 10,
      verbose: 0,
      validationData: [new Uint8Array(0), new Uint8Array(0)],
    } as const;
    const outcome = (run: Promise<unknown>) =>
      run.then(
        () => 'fitted',
        (error: Error) => error.message,
      );
    const plain = await outcome(cnnWithDropout().fit(images, labels, fit));
    const cached = await outcome(fitWithFeatureCache(cnnWithDropout(), images, labels, fit));
    assert.equal(cached, plain);
  });

  it('writes the full model to the run directory', async () => {
    const dir = scratchDir('cache-run');
    const { images, labels } = syntheticData(48);
    const model = cnnWithDropout();
    await fitWithFeatureCache(model, images, labels, {
      epochs: 1,
      batchSize: 16,
      verbose: 0,
      run: await openRun(dir),
    });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as {
      inputShape: number[];
      training: { fit: { featureCache?: { layers: number } } };
    };
    assert.deepEqual(config.inputShape, [...INPUT_SHAPE]);
    assert.equal(config.training.fit.featureCache?.layers, 4);
    const loaded = await loadModel(dir);
    assert.equal(loaded.layers.length, model.layers.length);
    const probe = syntheticData(8).images;
    const a = model.predict(probe).data;
    const b = loaded.predict(probe).data;
    assert.ok(maxAbsDifference(a, b) < 1e-6, 'the saved checkpoint is not the trained full model');
  });

  it('caches only frozen, deterministic leading layers, and only when they hold weights', () => {
    const model = tinyCnn();
    assert.equal(cacheablePrefix(model), 0, 'nothing frozen');
    freeze(model, 'conv*');
    assert.equal(cacheablePrefix(model), 1, 'stops at the trainable batch norm');
    freeze(model, 'batch_normalization');
    assert.equal(cacheablePrefix(model), 4, 'weightless pooling and flatten join the prefix');
    resetLayerNames();
    const noisy = sequential([
      dropout({ inputShape: [...INPUT_SHAPE], rate: 0.1 }),
      conv2d({ filters: 2, kernelSize: 3 }),
      flatten(),
      dense({ units: 3 }),
    ]);
    noisy.buildFor(INPUT_SHAPE, new Random(0));
    freeze(noisy, 'conv*');
    assert.equal(cacheablePrefix(noisy), 0, 'dropout before the frozen layers');
  });
});
