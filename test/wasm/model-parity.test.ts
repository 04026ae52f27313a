// Whole-model parity of the wasm backend with js: one step of the `cnn` layer stack and of the `mlp`
// recipe (loss and every parameter gradient), then real training with fit(): a few batches of the
// `cnn` recipe (dropout, fused conv + ReLU, pooling, Adam) from the same seed give the same batch
// losses on both backends, on 2 threads.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Backend } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { createNodeWasmBackend, wasmBackendAvailable } from '../../src/backend/wasm/node.js';
import { loadMnist, sparseCategoricalCrossentropy, getRecipe } from '../../src/index.js';
import { cnnStep, mlpStep, type Result } from '../engine/model-steps.js';

const availability = wasmBackendAvailable();
const skip = availability.available ? false : `wasm module unavailable: ${availability.reason}`;

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  let scale = 0;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= 1e-4 * Math.abs(e) + 1e-5 * scale)) {
      assert.fail(`${what}: element ${i} is ${a} on wasm, ${e} on js`);
    }
  }
}

function on<T>(backend: Backend, run: () => T): T {
  setBackendInstance(backend);
  return run();
}

/** Batch losses of `steps` batches of the cnn recipe (batch 32) on the active backend. */
async function cnnLosses(steps: number): Promise<number[]> {
  const recipe = getRecipe('cnn');
  const model = recipe.model();
  model.compile({
    optimizer: recipe.optimizer(100),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  });
  const { train } = await loadMnist();
  const losses: number[] = [];
  const controller = new AbortController();
  await model.fit(train.images, train.labels, {
    epochs: 1,
    batchSize: 32,
    seed: 3,
    verbose: 0,
    limit: 32 * steps,
    signal: controller.signal,
    onEvent: (event) => {
      if (event.type === 'batchEnd') losses.push(event.batchLoss);
    },
  });
  return losses;
}

if (skip) it('model parity wasm vs js', { skip }, () => {});
else
  describe('model parity wasm vs js', () => {
    const js = createJsBackend();
    const wasm = createNodeWasmBackend({ threads: 2 });
    after(() => wasm.close());

    for (const [name, step] of [
      ['cnn', cnnStep],
      ['mlp', mlpStep],
    ] as const) {
      it(`${name}: same loss (1e-4) and parameter gradients`, () => {
        const expected: Result = on(js, step);
        const actual: Result = on(wasm, step);
        assert.ok(
          Math.abs(actual.loss - expected.loss) <= 1e-4 * Math.abs(expected.loss),
          `loss ${actual.loss} vs ${expected.loss}`,
        );
        actual.grads.forEach((g, i) =>
          assertClose(g, expected.grads[i] as Float32Array, `${name} gradient ${i}`),
        );
      });
    }

    it('cnn recipe: fit() gives the same batch losses for 6 batches (dropout, Adam)', async () => {
      await wasm.ready();
      setBackendInstance(js);
      const expected = await cnnLosses(6);
      setBackendInstance(wasm);
      const actual = await cnnLosses(6);
      assert.equal(actual.length, 6);
      actual.forEach((loss, i) =>
        assert.ok(
          Math.abs(loss - expected[i]!) <= 1e-3 * Math.abs(expected[i]!),
          `batch ${i}: ${loss} vs ${expected[i]}`,
        ),
      );
      assert.ok(wasm.stats().workerTasks > 0, 'the worker computed part of the training');
    });
  });
