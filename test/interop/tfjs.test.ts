import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { exportTfjs } from '../../src/io/tfjs.js';
import type { TfjsArtifacts } from '../../src/io/tfjs.js';
import {
  activation,
  averagePooling2d,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  globalAveragePooling2d,
  layerNormalization,
  maxPooling2d,
  rescaling,
  reshape,
} from '../../src/nn/index.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import type { ZooModelName } from '../../src/zoo/recipes.js';
import { COUNT, assertClose, ourOutputs, randomizeNormalization, testImages, zooModel } from './helpers.js';

/** Loads our export in TF.js from memory (as a browser would from the two files). */
async function loadInTfjs({ modelJson, weights }: TfjsArtifacts): Promise<tf.LayersModel> {
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology as unknown as tf.io.ModelJSON['modelTopology'],
      weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
      weightData,
    }),
  );
}

function tfjsPredict(model: tf.LayersModel, scaled: Float32Array): Float32Array {
  return tf.tidy(
    () => (model.predict(tf.tensor4d(scaled, [COUNT, 28, 28, 1])) as tf.Tensor).dataSync() as Float32Array,
  );
}

describe('TF.js Layers export', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  for (const name of ['mlp', 'cnn', 'fast', 'lenet5', 'resnet'] as ZooModelName[]) {
    it(`${name}: TF.js loads it and predicts what we predict on ${COUNT} MNIST test images`, async () => {
      const images = await testImages();
      const { model } = zooModel(name);
      const artifacts = exportTfjs(model);
      const loaded = await loadInTfjs(artifacts);
      assertClose(tfjsPredict(loaded, images.scaled), ourOutputs(model, images), name);
      loaded.dispose();
    });
  }
});

describe('TF.js Layers export of every supported layer', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  it('padding, strides, dilation, pools, norms, reshape and activations match our outputs', async () => {
    const images = await testImages();
    const model = sequential({
      name: 'coverage',
      layers: [
        rescaling({ inputShape: [28, 28, 1], scale: 2, offset: -1 }),
        conv2d({ filters: 6, kernelSize: 3, padding: 'same', strides: 2, activation: 'gelu' }),
        batchNormalization(),
        conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu' }),
        averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        activation({ activation: 'tanh' }),
        maxPooling2d({ poolSize: 2, padding: 'same' }),
        layerNormalization(),
        activation({ activation: 'softmax' }),
        reshape({ targetShape: [4, 4, 6] }),
        globalAveragePooling2d(),
        dense({ units: 16, activation: 'sigmoid' }),
        batchNormalization(),
        dropout({ rate: 0.5 }),
        dense({ units: 10, activation: 'log_softmax' }),
      ],
    });
    model.buildFor([28, 28, 1], new Random(3));
    randomizeNormalization(model, new Random(4));
    const loaded = await loadInTfjs(exportTfjs(model));
    assertClose(tfjsPredict(loaded, images.scaled), ourOutputs(model, images), 'coverage');
    loaded.dispose();
  });

  it('refuses what the Layers format cannot express, naming the layer', () => {
    const leaky = sequential([
      flatten({ inputShape: [28, 28, 1] }),
      dense({ name: 'leaky', units: 2, activation: 'leaky_relu' }),
    ]);
    leaky.buildFor([28, 28, 1]);
    assert.throws(
      () => exportTfjs(leaky),
      /Dense 'leaky': activation 'leaky_relu' has no TF.js Layers equivalent/,
    );
    const unbuilt = sequential([flatten({ inputShape: [28, 28, 1] }), dense({ units: 2 })]);
    assert.throws(() => exportTfjs(unbuilt), /is not built; call model.buildFor/);
  });
});

describe('TF.js Layers export of a transformer', () => {
  it('refuses the vit with one line saying why and pointing at ONNX', () => {
    const { model } = zooModel('vit-7');
    assert.throws(
      () => exportTfjs(model),
      (error: Error) => {
        assert.equal(error.message.split('\n').length, 1);
        assert.match(
          error.message,
          /^exportTfjs: model 'vit-7' has a PatchEmbedding \('patch_embedding'\) and TF.js Layers has no attention layer; export it as ONNX instead \(mnist-lab export --format onnx/,
        );
        return true;
      },
    );
  });
});
