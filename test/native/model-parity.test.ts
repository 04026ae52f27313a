// Whole-model parity through the tensor layer and autograd: the `cnn` recipe's layer stack (small
// batch) and the `mlp` recipe, forward loss and every parameter gradient, on the js backend and on
// the native backend, from the same inputs. Also runs a few Adam steps to exercise pooling and
// release of native storage through tidy().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { cnnStep, mlpStep, type Result } from '../engine/model-steps.js';

const availability = nativeBackendAvailable();
const skip = availability.available ? false : `native addon unavailable: ${availability.reason}`;

/** Backends made so far by name: each is created once, as the registry would. */
const made = new Map<string, Backend>();

function on(name: string, factory: () => Backend, step: () => Result): Result {
  const backend = made.get(name) ?? factory();
  made.set(name, backend);
  setBackendInstance(backend);
  return step();
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  let scale = 0;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= 1e-4 * Math.abs(e) + 1e-5 * scale)) {
      assert.fail(`${what}: element ${i} is ${a} natively, ${e} on js`);
    }
  }
}

if (skip) it('model parity native vs js', { skip }, () => {});
else
  describe('model parity native vs js', () => {
    for (const [name, step] of [
      ['cnn', cnnStep],
      ['mlp', mlpStep],
    ] as const) {
      it(`${name}: same loss (1e-4) and parameter gradients`, () => {
        const js = on('js', createJsBackend, step);
        const native = on('native', () => createNativeBackend(), step);
        assert.ok(
          Math.abs(native.loss - js.loss) <= 1e-4 * Math.abs(js.loss),
          `loss ${native.loss} vs ${js.loss}`,
        );
        native.grads.forEach((g, i) => assertClose(g, js.grads[i] as Float32Array, `${name} gradient ${i}`));
        // Repeated steps reuse pooled native storage and give the same answer.
        const again = on('native', () => createNativeBackend(), step);
        assert.equal(again.loss, native.loss);
      });
    }
  });
