// Whole-model parity: the `cnn` recipe trained a few steps on the threaded js backend (every heavy
// kernel split, minFlops 0) gives bit-identical batch losses and weights to the single-threaded js
// backend (2 threads: the main thread and one worker).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Backend } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createJsThreadsBackend, type JsThreadsBackend } from '../../src/backend/js-threads/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { getRecipe, sparseCategoricalCrossentropy } from '../../src/index.js';
import { Prng } from '../conformance/prng.js';

const COUNT = 48;
const prng = new Prng(2024);
const images = Uint8Array.from(prng.integers(COUNT * 784, 256));
const labels = Uint8Array.from(prng.integers(COUNT, 10));

const pools: JsThreadsBackend[] = [];
after(async () => {
  for (const pool of pools) await pool.close();
});

async function train(backend: Backend): Promise<{ losses: number[]; weights: Float32Array[] }> {
  setBackendInstance(backend);
  const recipe = getRecipe('cnn');
  const model = recipe.model();
  model.compile({
    optimizer: recipe.optimizer(3),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  });
  const losses: number[] = [];
  await model.fit(images, labels, {
    epochs: 1,
    batchSize: 16,
    seed: 3,
    verbose: 0,
    onEvent: (event) => {
      if (event.type === 'batchEnd') losses.push(event.batchLoss);
    },
  });
  return { losses, weights: model.weights.map((w) => Float32Array.from(w.value.data)) };
}

describe('threaded js backend: whole-model parity', () => {
  it('cnn: same batch losses and bit-identical weights as one thread', async () => {
    const expected = await train(createJsBackend());
    assert.equal(expected.losses.length, 3);
    for (const threads of [2]) {
      const backend = createJsThreadsBackend({ threads, minFlops: 0 });
      pools.push(backend);
      assert.equal(await backend.ready(), threads);
      const actual = await train(backend);
      assert.deepEqual(actual.losses, expected.losses, `${threads} threads: batch losses`);
      assert.equal(actual.weights.length, expected.weights.length);
      actual.weights.forEach((w, i) =>
        assert.deepEqual(w, expected.weights[i], `${threads} threads: weight ${i}`),
      );
      assert.ok(backend.stats().workerTasks > 0, `${threads} threads: workers computed part of the steps`);
    }
  });
});
