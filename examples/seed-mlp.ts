// The TensorFlow beginner tutorial ("seed" program), line for line in mnist-lab:
// Flatten → Dense(128, relu) → Dense(10), Adam, sparse categorical cross-entropy from logits.
// The backend is chosen on first use, as in Keras: native when its addon loads, else js.
// Run: npx tsx examples/seed-mlp.ts
import { adam, dense, flatten, loadMnist, sequential, sparseCategoricalCrossentropy } from '../src/index.js';

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
await model.evaluate(test.images, test.labels, { verbose: 2 });
