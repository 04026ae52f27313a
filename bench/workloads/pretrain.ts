// mnist-lab's pretraining workload: steady-state throughput of pretrain() (the masked autoencoder
// around the zoo's vit, mask ratio 0.75) on MNIST's training images, or, with --objective
// supervised, of fit() training the same vit as a classifier (the reference the MAE step is compared
// with: its encoder sees a quarter of the tokens). Prints one JSON line:
//   {workload, objective, backend, threads, batchSize, steps, seconds, imagesPerSecond, loss, peakRssMb}
// Timed as train.ts times: from the end of the --warmup-th batch to the end of the last one.
//
//   tsx bench/workloads/pretrain.ts [--objective mae|supervised] [--model vit|vit-7] [--batch 128]
//                                   [--warmup 5] [--seconds 5] [--backend ...] [--threads N] [--seed S]
import { parseArgs } from 'node:util';

import {
  getRecipe,
  loadMnist,
  pretrain as selfSupervised,
  sparseCategoricalCrossentropy,
} from '../../src/index.js';
import type { TrainEvent } from '../../src/index.js';
import { emit, secondsSince, selectBackend } from './common.js';

const { values } = parseArgs({
  options: {
    objective: { type: 'string', default: 'mae' },
    model: { type: 'string', default: 'vit' },
    batch: { type: 'string', default: '128' },
    warmup: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '0' },
  },
});
if (values.objective !== 'mae' && values.objective !== 'supervised') {
  throw new Error(`--objective: expected mae or supervised, found '${values.objective}'`);
}
if (values.model !== 'vit' && values.model !== 'vit-7') {
  throw new Error(`--model: expected vit or vit-7, found '${values.model}'`);
}
const { backend, threads } = selectBackend(
  values.backend,
  values.threads === undefined ? undefined : Number(values.threads),
);
const batchSize = Number(values.batch);
const warmupSteps = Number(values.warmup);
const budget = Number(values.seconds);
const { train } = await loadMnist();

const controller = new AbortController();
let batches = 0;
let timedStart: bigint | undefined;
let timedEnd: bigint | undefined;
let timedSteps = 0;
let timedImages = 0;
let lastLoss = Number.NaN;
function onEvent(event: TrainEvent): void {
  if (event.type !== 'batchEnd') return;
  const now = process.hrtime.bigint();
  batches++;
  lastLoss = event.batchLoss;
  if (batches === warmupSteps) timedStart = now;
  if (batches <= warmupSteps) return;
  timedStart ??= now;
  timedEnd = now;
  timedSteps++;
  timedImages += event.size;
  if (secondsSince(timedStart) >= budget) controller.abort();
}

const recipe = getRecipe(values.model);
const options = {
  epochs: 1000,
  batchSize,
  seed: Number(values.seed),
  verbose: 0 as const,
  onEvent,
  signal: controller.signal,
};
if (values.objective === 'mae') {
  await selfSupervised.pretrain(
    selfSupervised.maskedAutoencoder({ encoder: recipe.model() as never }),
    train.images,
    options,
  );
} else {
  const model = recipe.model();
  model.compile({
    optimizer: recipe.optimizer(1000),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  });
  await model.fit(train.images, train.labels, options);
}
if (timedStart === undefined || timedEnd === undefined || timedSteps === 0) {
  throw new Error(`no timed steps: ${batches} batches ran, ${warmupSteps} were warm-up`);
}
const seconds = Number(timedEnd - timedStart) / 1e9;
emit({
  workload: 'pretrain',
  objective: values.objective,
  model: values.model,
  backend,
  threads,
  batchSize,
  warmupSteps,
  steps: timedSteps,
  seconds,
  imagesPerSecond: timedImages / seconds,
  loss: lastLoss,
});
