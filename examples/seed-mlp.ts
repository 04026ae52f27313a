// The TensorFlow beginner tutorial ("seed" program), line for line in mnist-lab:
// Flatten → Dense(128, relu) → Dense(10), Adam, sparse categorical cross-entropy from logits.
// Run: npx tsx examples/seed-mlp.ts
import {
  adam,
  dense,
  flatten,
  loadMnist,
  selectBackend,
  sequential,
  sparseCategoricalCrossentropy,
} from '../src/index.js';

selectBackend(); // native when its addon loads, else js (with a one-line hint)

const { train, test } = await loadMnist();
const model = sequential([
  flatten({ inputShape: [28, 28] }),
  dense({ units: 128, activation: 'relu' }),
  dense({ units: 10 }),
]);
model.compile({
  optimizer: adam(),
  loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  metrics: ['accuracy'],
});
await model.fit(train.images, train.labels, { epochs: 5 });
const result = await model.evaluate(test.images, test.labels);
console.log(`test accuracy: ${(result.accuracy * 100).toFixed(2)}%  loss: ${result.loss.toFixed(4)}`);
