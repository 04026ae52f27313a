import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { adam } from '../../src/optim/index.js';
import { importTfjs } from '../../src/io/tfjs.js';
import { Functional } from '../../src/io/tfjs/functional.js';
import { importTfjsRun, loadTfjsModel, saveTfjsModel } from '../../src/io/tfjs/node.js';
import { Sequential } from '../../src/train/model.js';
import { loadModel } from '../../src/loading/node.js';
import { COUNT, assertClose, ourOutputs, testImages, zooModel } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-tfjs-import-'));

function spawnSyncOk(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
}

/**
 * Saves a TF.js model to `directory` as TF.js writes it (model.json + weights), with the weights
 * split over two shards to exercise shard concatenation.
 */
async function saveToDirectory(model: tf.LayersModel, directory: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = new Uint8Array(artifacts.weightData as ArrayBuffer);
      const cut = Math.floor(data.length / 2) + 3; // not on a weight boundary
      writeFileSync(join(directory, 'group1-shard1of2.bin'), data.subarray(0, cut));
      writeFileSync(join(directory, 'group1-shard2of2.bin'), data.subarray(cut));
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [
          { paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: artifacts.weightSpecs },
        ],
      };
      writeFileSync(join(directory, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(directory, 'model.json');
}

/** Moving statistics away from 0 / 1, so inference-mode batch norm is really tested. */
function randomizeBatchNorm(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const [gamma, beta, mean, variance] = layer.getWeights() as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    layer.setWeights([
      tf.randomUniform(gamma.shape, 0.5, 1.5, 'float32', 3),
      tf.randomUniform(beta.shape, -0.2, 0.2, 'float32', 4),
      tf.randomUniform(mean.shape, -0.2, 0.2, 'float32', 5),
      tf.randomUniform(variance.shape, 0.5, 1.5, 'float32', 6),
    ]);
  }
}

function tfjsSequential(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [28, 28, 1],
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, useBias: false }),
      tf.layers.activation({ activation: 'tanh' }),
      tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ units: 32, activation: 'sigmoid' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
}

function tfjsFunctional(): tf.LayersModel {
  const input = tf.input({ shape: [28, 28, 1] });
  const stem = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same' })
    .apply(input) as tf.SymbolicTensor;
  const bn = tf.layers.batchNormalization().apply(stem) as tf.SymbolicTensor;
  const relu = tf.layers.reLU().apply(bn) as tf.SymbolicTensor;
  const branch = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(relu);
  const sum = tf.layers.add().apply([branch as tf.SymbolicTensor, relu]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(sum) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 10 }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

function tfjsPredict(model: tf.LayersModel, scaled: Float32Array): Float32Array {
  return tf.tidy(
    () => (model.predict(tf.tensor4d(scaled, [COUNT, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array,
  );
}

/** A TF.js Sequential topology with one layer entry replaced (for refusals). */
function topologyWith(layer: { class_name: string; config: Record<string, unknown> }): unknown {
  return {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'bad',
        layers: [
          { class_name: 'Flatten', config: { name: 'flatten', batch_input_shape: [null, 28, 28, 1] } },
          layer,
        ],
      },
    },
    weightsManifest: [],
  };
}

function refuses(layer: { class_name: string; config: Record<string, unknown> }, pattern: RegExp): void {
  assert.throws(
    () => importTfjs(topologyWith(layer), () => new Uint8Array(0), 'bad/model.json'),
    (error: unknown) => error instanceof Error && pattern.test(error.message),
  );
}

describe('TF.js Layers import', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('a Sequential model built and saved with TF.js imports and predicts what TF.js predicts', async () => {
    const images = await testImages();
    const reference = tfjsSequential();
    randomizeBatchNorm(reference);
    const directory = mkdtempSync(join(scratch, 'sequential-'));
    const model = await loadTfjsModel(await saveToDirectory(reference, directory));
    assert.ok(model instanceof Sequential);
    assertClose(ourOutputs(model, images), tfjsPredict(reference, images.scaled), 'sequential');
  });

  it('a functional model with a residual Add imports as a Functional and predicts what TF.js predicts', async () => {
    const images = await testImages();
    const reference = tfjsFunctional();
    randomizeBatchNorm(reference);
    const directory = mkdtempSync(join(scratch, 'functional-'));
    const runDir = join(directory, 'run');
    await importTfjsRun(await saveToDirectory(reference, directory), runDir);
    // The run directory loads like a trained run: architecture and weights from model.safetensors.
    const model = await loadModel(runDir);
    assert.ok(model instanceof Functional);
    assertClose(ourOutputs(model, images), tfjsPredict(reference, images.scaled), 'functional');
    await assert.rejects(importTfjsRun(join(directory, 'model.json'), runDir), /already holds a run/);
  });

  it('an imported model fine-tunes: fit lowers its loss on a small batch', async () => {
    const images = await testImages();
    const directory = mkdtempSync(join(scratch, 'finetune-'));
    const model = await loadTfjsModel(await saveToDirectory(tfjsFunctional(), directory));
    const y = images.labels;
    model.compile({
      optimizer: adam({ learningRate: 0.01 }),
      loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    });
    const before = (await model.evaluate(images.pixels, y, { batchSize: COUNT })).loss;
    await model.fit(images.pixels, y, { epochs: 3, batchSize: 25, verbose: 0 });
    const afterLoss = (await model.evaluate(images.pixels, y, { batchSize: COUNT })).loss;
    assert.ok(afterLoss < before, `loss ${before} -> ${afterLoss}`);
  });

  it('our exports import back to the same outputs (Sequential cnn, traced resnet)', async () => {
    const images = await testImages();
    for (const name of ['cnn', 'resnet'] as const) {
      const { model } = zooModel(name);
      const directory = mkdtempSync(join(scratch, `${name}-`));
      const imported = await loadTfjsModel(await saveTfjsModel(model, directory));
      assertClose(ourOutputs(imported, images), ourOutputs(model, images), name);
      assert.equal(JSON.parse(readFileSync(join(directory, 'model.json'), 'utf8')).format, 'layers-model');
    }
  });

  it('refuses unsupported layers and options, naming them', () => {
    refuses(
      { class_name: 'SeparableConv2D', config: { name: 'sep' } },
      /layer 'sep': class SeparableConv2D is not supported/,
    );
    refuses(
      {
        class_name: 'Dense',
        config: { name: 'd', units: 3, kernel_regularizer: { class_name: 'L1L2', config: {} } },
      },
      /Dense 'd': option 'kernel_regularizer' .* is not supported/,
    );
    refuses(
      {
        class_name: 'Conv2D',
        config: { name: 'c', filters: 2, kernel_size: 3, data_format: 'channels_first' },
      },
      /Conv2D 'c': option 'data_format' = "channels_first" is not supported \(supported: "channels_last"/,
    );
    refuses(
      { class_name: 'Dense', config: { name: 'd', units: 3, activation: 'elu' } },
      /Dense 'd': unknown activation 'elu'/,
    );
    refuses(
      { class_name: 'Conv2D', config: { name: 'c', filters: 2, kernel_size: 3, padding: 'causal' } },
      /padding "causal"/,
    );
    refuses(
      { class_name: 'Sequential', config: { name: 'inner', layers: [] } },
      /'inner': it is a nested model/,
    );
  });

  it('refuses weights that do not fit the model', () => {
    const json = {
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3] } }],
        },
      },
      weightsManifest: [
        {
          paths: ['w.bin'],
          weights: [
            { name: 'd/kernel', shape: [3, 2], dtype: 'float32' },
            { name: 'd/bias', shape: [2], dtype: 'float32' },
          ],
        },
      ],
    };
    assert.throws(
      () => importTfjs(json, () => new Uint8Array(24), 'm.json'),
      /shards w\.bin hold 24 bytes, their weights need 32 \(truncated file\?\)/,
    );
    const noBias = structuredClone(json);
    noBias.weightsManifest[0]!.weights.pop();
    assert.throws(() => importTfjs(noBias, () => new Uint8Array(24), 'm.json'), /has no 'd\/bias'/);
    const quantized = structuredClone(json);
    (quantized.weightsManifest[0]!.weights[0] as Record<string, unknown>)['quantization'] = {
      dtype: 'uint8',
    };
    assert.throws(() => importTfjs(quantized, () => new Uint8Array(32), 'm.json'), /quantized/);
  });

  it("imports TF.js's own Softmax layer (axis 1 of [N, classes] is the last axis)", async () => {
    const reference = tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ units: 10 }),
        tf.layers.softmax(),
      ],
    });
    const directory = mkdtempSync(join(scratch, 'softmax-'));
    const model = await loadTfjsModel(await saveToDirectory(reference, directory));
    const images = await testImages();
    assertClose(ourOutputs(model, images), tfjsPredict(reference, images.scaled), 'softmax');
    // A positive axis that is not the last one is still refused, naming the layer.
    const json = JSON.parse(readFileSync(join(directory, 'model.json'), 'utf8'));
    const layers = json.modelTopology.config.layers as {
      class_name: string;
      config: Record<string, unknown>;
    }[];
    layers.unshift({
      class_name: 'Softmax',
      config: { name: 'early_softmax', axis: 1, batch_input_shape: [null, 28, 28, 1] },
    });
    writeFileSync(join(directory, 'model.json'), JSON.stringify(json));
    await assert.rejects(
      loadTfjsModel(join(directory, 'model.json')),
      /'early_softmax': axis 1 of a rank-4 input is not the last axis \(3\)/,
    );
  });
});

describe('TF.js import of hostile model folders', () => {
  const folders = mkdtempSync(join(tmpdir(), 'mnist-lab-tfjs-hostile-'));
  after(() => rmSync(folders, { recursive: true, force: true }));

  /** The zoo's mlp exported into a fresh folder: its model.json path. */
  async function validFolder(): Promise<string> {
    const directory = mkdtempSync(join(folders, 'model-'));
    const { model } = zooModel('mlp');
    return saveTfjsModel(model, directory);
  }

  function editJson(
    path: string,
    edit: (
      json: { weightsManifest: { paths: string[]; weights: unknown[] }[] } & Record<string, unknown>,
    ) => void,
  ): void {
    const json = JSON.parse(readFileSync(path, 'utf8'));
    edit(json);
    writeFileSync(path, JSON.stringify(json));
  }

  it('a shard listed 20,000 times is refused before any is read', async () => {
    const path = await validFolder();
    editJson(path, (json) => {
      json.weightsManifest[0]!.paths = Array.from({ length: 20_000 }, () => 'group1-shard1of1.bin');
    });
    const started = performance.now();
    await assert.rejects(
      loadTfjsModel(path),
      /weight shard 'group1-shard1of1\.bin' is listed twice in weightsManifest/,
    );
    assert.ok(performance.now() - started < 2000);
  });

  it("a Dense of 300,000 units is refused from the manifest's sizes before its kernel is allocated", async () => {
    const path = await validFolder();
    editJson(path, (json) => {
      const topology = json['modelTopology'] as {
        config: { layers: { class_name: string; config: Record<string, unknown> }[] };
      };
      const first = topology.config.layers.find((l) => l.class_name === 'Dense')!;
      first.config['units'] = 300_000;
    });
    const before = process.memoryUsage().rss;
    await assert.rejects(
      loadTfjsModel(path),
      /weight '[a-z_0-9]+\/kernel' has shape \[784, 128\], Dense '[a-z_0-9]+' needs \[784, 300000\]/,
    );
    // 784 x 300,000 floats would be 940 MB.
    assert.ok(process.memoryUsage().rss - before < 200 * 2 ** 20, 'allocated the kernel');
  });

  it('a shard that is a symlink to /dev/zero, or a FIFO, is refused as not a regular file', async () => {
    const path = await validFolder();
    const shard = join(path, '..', 'group1-shard1of1.bin');
    rmSync(shard);
    symlinkSync('/dev/zero', shard);
    await assert.rejects(loadTfjsModel(path), /is a link to \/dev\/zero, outside the model's folder/);
    rmSync(shard);
    spawnSyncOk('mkfifo', [shard]);
    await assert.rejects(loadTfjsModel(path), /'group1-shard1of1\.bin' is not a regular file/);
  });

  it("a shard symlinked outside the model's folder is not read", async () => {
    const path = await validFolder();
    const outside = mkdtempSync(join(folders, 'outside-'));
    const shard = join(path, '..', 'group1-shard1of1.bin');
    writeFileSync(join(outside, 'secret.bin'), readFileSync(shard));
    rmSync(shard);
    symlinkSync(join(outside, 'secret.bin'), shard);
    await assert.rejects(loadTfjsModel(path), /is a link to .*secret\.bin, outside the model's folder/);
  });

  it('a shard larger than the manifest declares is refused unread; two names for one file are refused', async () => {
    const path = await validFolder();
    const folder = join(path, '..');
    const shard = join(folder, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    writeFileSync(shard, Buffer.concat([bytes, Buffer.alloc(16)]));
    await assert.rejects(
      loadTfjsModel(path),
      new RegExp(`holds ${bytes.length + 16} bytes, more than the ${bytes.length}`),
    );
    writeFileSync(shard, bytes);
    mkdirSync(join(folder, 'sub'));
    symlinkSync(shard, join(folder, 'sub', 'again.bin'));
    editJson(path, (json) => {
      json.weightsManifest.push({
        paths: ['sub/again.bin'],
        weights: [{ name: 'extra', shape: [1], dtype: 'float32' }],
      });
    });
    await assert.rejects(
      loadTfjsModel(path),
      /'sub\/again\.bin' is the same file as shard 'group1-shard1of1\.bin'/,
    );
  });
});
