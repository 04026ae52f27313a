// Where a replayed training (or inference) step spends its time: runs a zoo recipe's captured step
// on MNIST batches, then prints the native plan's ops by total time (oneDNN primitive or C++ loop,
// summed per op kind and listed per op) and the step's time outside the plan (JavaScript: batch
// gathering, hooks, reading the outputs).
//
//   npx tsx bench/step-profile.ts [--model mlp] [--mode train|predict] [--batch B] [--steps 300]
//                                 [--threads N] [--top 25] [--precision float32|bfloat16]
import { parseArgs } from 'node:util';

import { loadMnist } from '../src/data/node/load.js';
import { selectBackend } from '../src/backend/select.js';
import { sparseCategoricalCrossentropy } from '../src/losses/index.js';
import { capturedTrainStep, inferBatch } from '../src/train/compiled-steps.js';
import { foldedNormalization, imageBatch, toExamples } from '../src/train/batches.js';
import { trainStep } from '../src/train/trainer.js';
import { tidy, type Tensor } from '../src/tensor/tensor.js';
import { CapturedStep } from '../src/tensor/capture.js';
import { withPrecision } from '../src/tensor/precision.js';
import { getRecipe } from '../src/zoo/recipes.js';
import { Random } from '../src/util/random.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mlp' },
    mode: { type: 'string', default: 'train' },
    batch: { type: 'string' },
    steps: { type: 'string', default: '300' },
    threads: { type: 'string' },
    top: { type: 'string', default: '25' },
    precision: { type: 'string', default: 'float32' },
  },
});
const backend = selectBackend({
  backend: 'native',
  ...(values.threads ? { threads: Number(values.threads) } : {}),
});
const recipe = getRecipe(values.model);
const batchSize = Number(values.batch ?? (values.mode === 'predict' ? 1 : recipe.batchSize));
const steps = Number(values.steps);
const precision = values.precision === 'bfloat16' || values.precision === 'bf16' ? 'bfloat16' : 'float32';
const { train } = await loadMnist();
const inputShape = [28, 28, 1];
const examples = toExamples(train.images, train.labels, inputShape, 'profile');
const model = recipe.model();
model.buildFor(inputShape, new Random(0));
// The model's input Normalization, applied while gathering the u8 batches (as fit does).
const normalizedBy = foldedNormalization(model, examples);
const gather = { normalization: normalizedBy?.statistics };

const indicesOf = (step: number): Int32Array => {
  const start = (step * batchSize) % (examples.count - batchSize);
  return Int32Array.from({ length: batchSize }, (_, i) => start + i);
};

let captured: CapturedStep<Record<string, Tensor>>;
let runStep: (step: number) => void;
if (values.mode === 'train') {
  const loss = sparseCategoricalCrossentropy({
    fromLogits: true,
    labelSmoothing: recipe.labelSmoothing ?? 0,
  });
  const optimizer = recipe.optimizer(steps);
  const params = model.trainableWeights.map((w) => w.value);
  const parts = { model, loss, optimizer, params, random: new Random(0, 2), normalizedBy };
  captured = capturedTrainStep(parts, {}) as unknown as CapturedStep<Record<string, Tensor>>;
  runStep = (step) => {
    train(step);
  };
  const train = (step: number): void => {
    trainStep({
      ...parts,
      examples,
      indices: indicesOf(step),
      inputShape,
      outputs: 10,
      captured: captured as never,
      precision,
    });
  };
} else {
  captured = new CapturedStep(
    ([x]) => ({ output: inferBatch(model, x as Tensor, { compile: false, normalizedBy }) }),
    { name: 'predict' },
  );
  runStep = (step) =>
    tidy(() =>
      withPrecision(precision, () => {
        const out = captured.run([imageBatch(examples, indicesOf(step), inputShape, gather)]).output;
        return out.data[0];
      }),
    );
}

for (let s = 0; s < 5; s++) runStep(s); // record, plan, warm up
captured.profile(); // starts the plan's clock
const start = performance.now();
for (let s = 0; s < steps; s++) runStep(5 + s);
const stepMs = (performance.now() - start) / steps;
const [shape, ops] = [...captured.profile()][0] ?? ['', []];
if (ops.length === 0)
  throw new Error(`the ${values.mode} step did not replay natively: ${captured.lastReason}`);
const planMs = (ops.reduce((sum, o) => sum + o.seconds, 0) * 1000) / steps;
console.log(
  `${recipe.name} ${values.mode} step, batch ${batchSize} ${shape}, ${backend.threads} threads, ${steps} steps: ` +
    `${stepMs.toFixed(3)} ms per step (${Math.round((batchSize * 1000) / stepMs)} images/s); ` +
    `plan ${planMs.toFixed(3)} ms (${ops.length} ops), outside the plan ${(stepMs - planMs).toFixed(3)} ms`,
);
const byKind = new Map<string, { ms: number; count: number }>();
for (const o of ops) {
  const kind = byKind.get(o.op) ?? { ms: 0, count: 0 };
  kind.ms += (o.seconds * 1000) / steps;
  kind.count++;
  byKind.set(o.op, kind);
}
console.log('\nby op kind (ms per step)');
for (const [op, k] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
  console.log(`  ${op.padEnd(28)} ${k.ms.toFixed(3).padStart(8)}  x${k.count}`);
}
console.log(`\ntop ops (ms per step), in plan order index`);
ops
  .map((o, i) => ({ ...o, i }))
  .sort((a, b) => b.seconds - a.seconds)
  .slice(0, Number(values.top))
  .forEach((o) =>
    console.log(
      `  #${String(o.i).padStart(3)} ${o.op.padEnd(28)} ${((o.seconds * 1000) / steps).toFixed(3)}`,
    ),
  );
