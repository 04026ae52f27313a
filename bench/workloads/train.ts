// mnist-lab side of the training workloads: fit() a DESIGN.md recipe on MNIST and measure
// steady-state training throughput. Prints one JSON line:
//   {workload, framework, backend, threads, batchSize, steps, seconds, imagesPerSecond, loss, peakRssMb}
//
// Measured: the wall time between the end of the --warmup-th batch and the end of the last batch,
// taken from fit()'s batchEnd events, so model building, the first steps (allocation, JIT, native
// primitive creation) and fit's setup are excluded. Training stops through fit's AbortSignal once
// --seconds have passed (or --steps timed steps ran). With --full-data it trains one full epoch
// over the 60,000 images instead (the peak-RSS workload), still capped at --seconds.
//
//   tsx bench/workloads/train.ts --model cnn [--batch 128] [--warmup 5] [--seconds 5] [--steps K]
//                                [--backend js|native|wasm] [--threads N] [--seed S] [--full-data]
//                                [--precision float32|bfloat16] [--no-compile]
import { parseArgs } from 'node:util';

import { loadMnist, sparseCategoricalCrossentropy } from '../../src/index.js';
import type { TrainEvent } from '../../src/index.js';
import { emit, parsePrecision, parseRecipe, secondsSince, selectBackend, setupRecipe } from './common.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'cnn' },
    batch: { type: 'string' },
    warmup: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '5' },
    steps: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    seed: { type: 'string', default: '0' },
    'full-data': { type: 'boolean', default: false },
    precision: { type: 'string' },
    'no-compile': { type: 'boolean', default: false },
  },
});

const recipe = parseRecipe(values.model);
const warmupSteps = Number(values.warmup);
const timeBudgetSeconds = Number(values.seconds);
const maxTimedSteps = values.steps === undefined ? Infinity : Number(values.steps);
const fullEpoch = values['full-data'];
const precision = parsePrecision(values.precision);

const { backend, threads } = selectBackend(
  values.backend,
  values.threads === undefined ? undefined : Number(values.threads),
);
// The backend first: weights live in its storage.
const { model, optimizer, labelSmoothing, batchSize: recipeBatchSize } = setupRecipe(recipe);
const batchSize = Number(values.batch ?? recipeBatchSize);
const { train } = await loadMnist();
model.compile({
  optimizer,
  loss: sparseCategoricalCrossentropy({ fromLogits: true, labelSmoothing: labelSmoothing ?? 0 }),
});

const controller = new AbortController();
const runStart = process.hrtime.bigint();
let batchesDone = 0;
let timedStart: bigint | undefined;
let timedEnd: bigint | undefined;
let timedSteps = 0;
let timedImages = 0;
let imagesTrained = 0;
let lastLoss = Number.NaN;

function onEvent(event: TrainEvent): void {
  if (event.type !== 'batchEnd') return;
  const now = process.hrtime.bigint();
  batchesDone++;
  imagesTrained += event.size;
  lastLoss = event.batchLoss;
  if (batchesDone === warmupSteps) timedStart = now;
  if (batchesDone <= warmupSteps) return;
  timedStart ??= runStart; // --warmup 0: time from the start of fit()
  timedEnd = now;
  timedSteps++;
  timedImages += event.size;
  if (timedSteps >= maxTimedSteps || secondsSince(timedStart) >= timeBudgetSeconds) controller.abort();
}

await model.fit(train.images, train.labels, {
  // Time-limited runs cycle through epochs until the abort; --full-data runs exactly one.
  epochs: fullEpoch ? 1 : 1000,
  batchSize,
  seed: Number(values.seed),
  verbose: 0,
  onEvent,
  signal: controller.signal,
  precision,
  compile: !values['no-compile'],
});

if (timedStart === undefined || timedEnd === undefined || timedSteps === 0) {
  throw new Error(`no timed steps: ${batchesDone} batches ran, ${warmupSteps} were warm-up (lower --warmup)`);
}
const seconds = Number(timedEnd - timedStart) / 1e9;
emit({
  workload: recipe,
  precision,
  backend,
  threads,
  batchSize,
  warmupSteps,
  steps: timedSteps,
  seconds,
  imagesPerSecond: timedImages / seconds,
  fullEpoch: fullEpoch && !controller.signal.aborted,
  imagesTrained,
  loss: lastLoss,
});
