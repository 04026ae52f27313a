// LoRA inside attention (issue 17): targets are layer-path globs that reach the projections of a
// vit's blocks; merge / unmerge; adapters bound to their base by hash; a glob matching nothing
// names the paths it could have matched.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { applyAdapter, encodeAdapter } from '../../src/finetune/adapter.js';
import { replaceHead } from '../../src/finetune/head.js';
import {
  LoraDense,
  applyLora,
  foldPaths,
  loraLayers,
  mergeAdapters,
  mergeLora,
  unmergeAdapters,
} from '../../src/finetune/lora.js';
import { decodeSafetensors, encodeSafetensors, tensorValues } from '../../src/formats/safetensors.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { adam, sgd } from '../../src/optim/index.js';
import { openRun } from '../../src/runs/node/writer.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { loadModel } from '../../src/loading/node.js';
import { randomUniform } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import type { Model } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { scratchDir, tinyVit } from './setup.js';

const images = randomUniform([4, 28, 28, 1], new Random(9), 0, 1); // (4, 28, 28, 1)

function outputs(model: Model): number[] {
  return Array.from(model.predict(images).data);
}

function close(a: number[], b: number[], tolerance: number, what: string): void {
  assert.equal(a.length, b.length);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(worst < tolerance, `${what}: differs by ${worst}`);
}

/** Gives every adapter a non-zero B, as training would. */
function perturb(model: Model): void {
  const random = new Random(3);
  for (const wrapper of loraLayers(model)) {
    const b = wrapper.loraB as Tensor;
    for (let i = 0; i < b.size; i++) b.data[i] = random.nextFloat() - 0.5;
  }
}

const QUERY_VALUE = 'block*/attention/query,block*/attention/value';

describe('LoRA on attention (layer paths)', () => {
  it('wraps the projections a path glob names, inside every block, and starts equal to its base', () => {
    const model = tinyVit();
    const before = outputs(model);
    const adapted = applyLora(model, { target: QUERY_VALUE, rank: 2, trainable: 'head' });
    assert.equal(adapted, model, 'a vit is adapted in place');
    assert.deepEqual(
      loraLayers(adapted).map((l) => l.name),
      [
        'block1/attention/query',
        'block1/attention/value',
        'block2/attention/query',
        'block2/attention/value',
      ],
    );
    // Trainable: A [8, 2] and B [2, 8] per wrapper, and the head (8 x 3 + 3).
    const names = adapted.trainableWeights.map((w) => w.value.name).sort();
    assert.ok(names.includes('block1/attention/query/lora_A'));
    assert.ok(names.includes('head/kernel'));
    assert.ok(!names.some((n) => n === 'block1/attention/query/kernel' || n?.includes('/key/') === true));
    const count = adapted.trainableWeights.reduce((total, w) => total + w.value.size, 0);
    assert.equal(count, 4 * (8 * 2 + 2 * 8) + 8 * 3 + 3);
    close(outputs(adapted), before, 1e-6, 'B = 0: the adapted model starts as its base');
  });

  it('reaches the output projection and the MLP denses too', () => {
    const model = applyLora(tinyVit(), { target: 'block2/attention/output,block*/mlp/dense*' });
    assert.deepEqual(
      loraLayers(model).map((l) => l.name),
      [
        'block1/mlp/dense1',
        'block1/mlp/dense2',
        'block2/attention/output',
        'block2/mlp/dense1',
        'block2/mlp/dense2',
      ],
    );
    // The MLP's first dense keeps its gelu: the wrapper applies the base's activation.
    assert.ok(loraLayers(model).every((l) => l instanceof LoraDense));
  });

  it('trains only the adapters: the base kernels do not move', async () => {
    const model = applyLora(tinyVit(), { target: QUERY_VALUE, rank: 2 });
    const query = model.weights.find((w) => w.value.name === 'block1/attention/query/kernel')!.value;
    const frozen = Float32Array.from(query.data);
    model.compile({
      optimizer: sgd({ learningRate: 0.5 }),
      loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    });
    const pixels = new Uint8Array(8 * 784).map((_, i) => (i * 37) % 256);
    await model.fit(pixels, new Uint8Array([0, 1, 2, 0, 1, 2, 0, 1]), {
      epochs: 2,
      batchSize: 4,
      verbose: 0,
    });
    assert.deepEqual(Float32Array.from(query.data), frozen);
    const b = loraLayers(model)[0]!.loraB as Tensor;
    assert.ok(
      Array.from(b.data).some((v) => v !== 0),
      'B moved from zero',
    );
  });

  it('merge folds the updates in, unmerge takes them out again, mergeLora leaves a plain vit', () => {
    const model = applyLora(tinyVit(), { target: 'block*/attention/*', rank: 2 });
    perturb(model);
    const adapted = outputs(model);
    const kernel = model.weights.find((w) => w.value.name === 'block2/attention/key/kernel')!.value;
    const baseKernel = Float32Array.from(kernel.data);

    mergeAdapters(model);
    assert.ok(loraLayers(model).every((l) => l.merged));
    assert.notDeepEqual(Float32Array.from(kernel.data), baseKernel);
    close(outputs(model), adapted, 1e-5, 'merged');
    mergeAdapters(model); // twice changes nothing
    close(outputs(model), adapted, 1e-5, 'merged twice');

    unmergeAdapters(model);
    close(Array.from(kernel.data), Array.from(baseKernel), 1e-6, 'unmerged kernel');
    close(outputs(model), adapted, 1e-5, 'unmerged');

    const plain = mergeLora(model);
    assert.equal(loraLayers(plain).length, 0);
    assert.ok(plain.weights.every((w) => !w.value.name?.includes('lora')));
    close(outputs(plain), adapted, 1e-5, 'mergeLora');
  });

  it('an adapter loads onto the base with its hash and refuses another', () => {
    const base = tinyVit(3, 5);
    const reference = replaceHead(applyLora(tinyVit(3, 5), { target: QUERY_VALUE, rank: 2 }), 3, { seed: 2 });
    perturb(reference);
    const { weights, config } = encodeAdapter(reference, { baseSha256: 'a'.repeat(64) });
    assert.deepEqual(
      config.lora?.targets,
      loraLayers(reference).map((l) => l.name),
    );
    const loaded = applyAdapter({ model: base, sha256: 'a'.repeat(64) }, config, weights);
    close(outputs(loaded), outputs(reference), 1e-6, 'adapter on its base');
    assert.throws(
      () => applyAdapter({ model: tinyVit(3, 5), sha256: 'b'.repeat(64) }, config, weights),
      /trained on the base with model.safetensors SHA-256 aaaaaaaaaaaa…, but this base's is bbbbbbbbbbbb…/,
    );
  });

  it('a glob that matches nothing fails with one line listing the layer paths it could have matched', () => {
    assert.throws(
      () => applyLora(tinyVit(), { target: 'block*/attn/query' }),
      (error: Error) => {
        assert.equal(error.message.split('\n').length, 1);
        assert.match(
          error.message,
          /^LoRA target 'block\*\/attn\/query' matches no layer of model 'tiny_vit'/,
        );
        assert.match(error.message, /block\{1-2\}\/attention\/query, block\{1-2\}\/attention\/key/);
        assert.match(error.message, /block\{1-2\}\/mlp\/dense2, head$/);
        return true;
      },
    );
  });

  it('foldPaths folds numbered siblings and leaves the rest', () => {
    assert.equal(foldPaths(['b1/q', 'b2/q', 'b3/q', 'head']), 'b{1-3}/q, head');
    assert.equal(foldPaths(['b1/q', 'b3/q']), 'b{1,3}/q');
    assert.equal(foldPaths(['b2/q']), 'b2/q');
  });
});

/** Every weight's name and values, and which of them train. */
function state(model: Model): { weights: [string, number[]][]; trainable: string[] } {
  return {
    weights: model.weights.map((w) => [w.value.name as string, Array.from(w.value.data)]),
    trainable: model.trainableWeights.map((w) => w.value.name as string),
  };
}

describe('a fine-tuned vit saved whole (a run of its own)', () => {
  const dir = scratchDir('vit-run');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('loads back with its adapters, its new head and its frozen layers', () => {
    const adapted = replaceHead(applyLora(tinyVit(3, 4), { target: QUERY_VALUE, rank: 2 }), 5, { seed: 3 });
    perturb(adapted);
    const loaded = modelFromBytes(encodeModel(adapted));
    assert.deepEqual(
      loraLayers(loaded).map((l) => [l.name, l.rank, l.alpha]),
      loraLayers(adapted).map((l) => [l.name, l.rank, l.alpha]),
    );
    assert.deepEqual(state(loaded), state(adapted));
    assert.deepEqual(outputs(loaded), outputs(adapted));
  });

  it('a model saved with its adapters merged loads merged (the update is not added twice)', () => {
    const adapted = applyLora(tinyVit(3, 4), { target: 'block*/attention/*', rank: 2 });
    perturb(adapted);
    const expected = outputs(adapted);
    mergeAdapters(adapted);
    const loaded = modelFromBytes(encodeModel(adapted));
    assert.equal(loraLayers(loaded).length, 8);
    assert.ok(loraLayers(loaded).every((l) => l.merged));
    close(outputs(loaded), expected, 1e-5, 'loaded merged');
    unmergeAdapters(loaded);
    close(outputs(loaded), expected, 1e-5, 'loaded, then unmerged');
  });

  it('a file recording a wrapper in place of a layer the model lacks fails with one line', () => {
    const adapted = applyLora(tinyVit(3, 4), { target: 'block2/attention/query', rank: 2 });
    const file = decodeSafetensors(encodeModel(adapted));
    const metadata = { ...file.metadata };
    metadata['model_config'] = (metadata['model_config'] as string).replaceAll('block2/', 'block7/');
    const tensors = [...file.tensors].map(
      ([name, entry]) =>
        [name, { dtype: 'F32', shape: entry.shape, data: tensorValues(entry) as Float32Array }] as const,
    );
    const bytes = encodeSafetensors(tensors, metadata);
    assert.throws(
      () => modelFromBytes(bytes, 'edited.safetensors'),
      (error: Error) => {
        assert.equal(error.message.split('\n').length, 1);
        assert.match(
          error.message,
          /^edited\.safetensors: records a LoraDense in place of layer 'block7\/attention\/query', but VisionTransformer 'tiny_vit' has no layer 'block7\/attention\/query' \(its layers: .*block\{1-2\}\/attention\/query/,
        );
        return true;
      },
    );
  });

  it('a file of adapter weights its architecture does not describe (saved before) is refused, not dropped', () => {
    const adapted = applyLora(tinyVit(3, 4), { target: QUERY_VALUE, rank: 2 });
    const file = decodeSafetensors(encodeModel(adapted));
    const config = JSON.parse(file.metadata['model_config'] as string) as Record<string, unknown>;
    delete config['sublayers']; // as the vit's config read before it recorded its adapters
    const tensors = [...file.tensors].map(
      ([name, entry]) =>
        [name, { dtype: 'F32', shape: entry.shape, data: tensorValues(entry) as Float32Array }] as const,
    );
    const bytes = encodeSafetensors(tensors, { ...file.metadata, model_config: JSON.stringify(config) });
    assert.throws(
      () => modelFromBytes(bytes, 'old.safetensors'),
      (error: Error) => {
        assert.equal(error.message.split('\n').length, 1);
        assert.match(
          error.message,
          /^old\.safetensors: holds 8 tensors the model has no weight for \(block1\/attention\/query\/lora_A, block1\/attention\/query\/lora_B, .*, \.\.\.\); a LoRA fine-tune saved before its adapters were recorded: merge its adapter onto its base \('mnist-lab finetune merge --from BASE --adapter RUN\/adapter --out merged\.safetensors'\)$/,
        );
        return true;
      },
    );
  });

  it('a LoRA run continues from its checkpoint with the model the run records, as one fit would', async () => {
    const pixels = new Uint8Array(12 * 784).map((_, i) => (i * 37) % 256);
    const labels = new Uint8Array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1]);
    const adapted = (): Model => {
      const model = replaceHead(applyLora(tinyVit(3, 6), { target: QUERY_VALUE, rank: 2 }), 5, { seed: 1 });
      model.compile({
        optimizer: adam({ learningRate: 0.01 }),
        loss: sparseCategoricalCrossentropy({ fromLogits: true }),
        metrics: ['accuracy'],
      });
      return model;
    };
    const fit = { batchSize: 4, verbose: 0, seed: 2 } as const;
    const whole = adapted();
    await whole.fit(pixels, labels, { ...fit, epochs: 2 });

    const runDir = `${dir}/lora-run`;
    await adapted().fit(pixels, labels, { ...fit, epochs: 1, run: await openRun(runDir) });
    // Nothing of the first model is at hand: the run alone says what to rebuild.
    const resumed = await loadModel(runDir);
    assert.equal(loraLayers(resumed).length, 4);
    await resumed.fit(pixels, labels, {
      ...fit,
      epochs: 2,
      run: await openRun(runDir, { resume: true }),
      resume: true,
    });
    assert.deepEqual(state(resumed), state(whole));
  });
});
