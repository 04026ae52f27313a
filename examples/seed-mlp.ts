// The TensorFlow beginner tutorial ("seed" program), line for line in mnist-lab:
// Flatten → Dense(128, relu) → Dropout(0.2) → Dense(10), Adam, sparse categorical cross-entropy
// from logits. The backend is chosen on first use, as in Keras: native when its addon loads, else
// wasm, else js.
// Run: npx tsx examples/seed-mlp.ts
import {
  adam,
  dense,
  dropout,
  flatten,
  loadMnist,
  sequential,
  sparseCategoricalCrossentropy,
} from '../src/index.js';

const { train, test } = await loadMnist();
const model = sequential([
  flatten({ inputShape: [28, 28] }),
  dense({ units: 128, activation: 'relu' }),
  dropout({ rate: 0.2 }),
  dense({ units: 10 }),
]);
model.compile({
  optimizer: adam(),
  loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  metrics: ['accuracy'],
});
await model.fit(train.images, train.labels, { epochs: 5 });
await model.evaluate(test.images, test.labels, { verbose: 2 });
