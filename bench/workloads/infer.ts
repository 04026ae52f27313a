// mnist-lab side of the inference workloads, on an untrained recipe model (speed does not depend
// on the weights). Prints one JSON line.
//   --mode throughput: model.predict over the 10,000 test images in batches of --batch (1000),
//     --warmup untimed calls first, then calls until --seconds pass; images/s over the timed calls.
//   --mode latency: one image per predict call (batch 1), --warmup untimed calls, then --calls
//     timed calls; median and p90 milliseconds. Each call reads its output, as a caller would.
//
//   tsx bench/workloads/infer.ts --mode throughput|latency [--model cnn] [--batch 1000]
//                                [--seconds 5] [--calls 1000] [--backend js|native|wasm] [--threads N]
//                                [--precision float32|bfloat16]
import { parseArgs } from 'node:util';

import { loadMnist, tidy } from '../../src/index.js';
import { emit, parsePrecision, parseRecipe, secondsSince, selectBackend, setupRecipe } from './common.js';

const PIXELS = 28 * 28;

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'throughput' },
    model: { type: 'string', default: 'cnn' },
    batch: { type: 'string', default: '1000' },
    warmup: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    calls: { type: 'string', default: '1000' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    precision: { type: 'string' },
  },
});
if (values.mode !== 'throughput' && values.mode !== 'latency') {
  throw new Error(`--mode: expected throughput or latency, found '${values.mode}'`);
}

const recipe = parseRecipe(values.model);
const precision = parsePrecision(values.precision);
const { backend, threads } = selectBackend(
  values.backend,
  values.threads === undefined ? undefined : Number(values.threads),
);
const { test } = await loadMnist();
const { model } = setupRecipe(recipe);

/** predict() on `count` images starting at image `first`; reads one output value. */
function predictImages(first: number, count: number): void {
  tidy(() => {
    const images = test.images.subarray(first * PIXELS, (first + count) * PIXELS); // (count, 28, 28) u8
    const logits = model.predict(images, { batchSize: count, precision }); // (count, 10)
    if (!Number.isFinite(logits.data[0])) throw new Error('predict returned a non-finite logit');
  });
}

if (values.mode === 'throughput') {
  const batchSize = Number(values.batch);
  const batches = Math.floor(test.count / batchSize);
  const warmup = Number(values.warmup ?? 3);
  for (let i = 0; i < warmup; i++) predictImages((i % batches) * batchSize, batchSize);
  let calls = 0;
  const start = process.hrtime.bigint();
  do {
    predictImages((calls % batches) * batchSize, batchSize);
    calls++;
  } while (secondsSince(start) < Number(values.seconds));
  const seconds = secondsSince(start);
  emit({
    workload: 'inference',
    model: recipe,
    backend,
    threads,
    batchSize,
    steps: calls,
    seconds,
    imagesPerSecond: (calls * batchSize) / seconds,
  });
} else {
  const calls = Number(values.calls);
  const warmup = Number(values.warmup ?? 50);
  for (let i = 0; i < warmup; i++) predictImages(i % test.count, 1);
  const millis: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    predictImages(i % test.count, 1);
    millis.push(secondsSince(start) * 1000);
  }
  millis.sort((a, b) => a - b);
  const medianMs = millis[millis.length >> 1]!;
  emit({
    workload: 'latency',
    model: recipe,
    backend,
    threads,
    batchSize: 1,
    steps: calls,
    medianMs,
    p90Ms: millis[Math.floor(millis.length * 0.9)]!,
    imagesPerSecond: 1000 / medianMs,
  });
}
