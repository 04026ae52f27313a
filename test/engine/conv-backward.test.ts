// conv2d checks its activation once, before any kernel; its backward computes only what is needed: with a frozen kernel and a trainable bias the
// filter gradient is not computed (the bias gradient alone is a sum of dy), and it equals the one
// computed beside the filter gradient.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend, KernelName } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { gradients } from '../../src/tensor/autograd.js';
import { ops } from '../../src/tensor/ops/index.js';
import { Tensor, tidy } from '../../src/tensor/tensor.js';
import { seeded } from './setup.js';

/** The js backend with every kernel call counted by name. */
function countingBackend(): { backend: Backend; calls: Map<KernelName, number> } {
  const base = createJsBackend();
  const calls = new Map<KernelName, number>();
  const kernels = Object.fromEntries(
    Object.entries(base.kernels).map(([name, kernel]) => [
      name,
      (...args: unknown[]) => {
        calls.set(name as KernelName, (calls.get(name as KernelName) ?? 0) + 1);
        return (kernel as (...a: unknown[]) => unknown)(...args);
      },
    ]),
  ) as unknown as Backend['kernels'];
  return { backend: { ...base, kernels }, calls };
}

describe('conv2d backward', () => {
  it('with only the bias trainable, computes no filter gradient, and the same bias gradient', () => {
    const { backend, calls } = countingBackend();
    setBackendInstance(backend);
    const random = seeded(7);
    const x = ops.randomUniform([2, 6, 6, 3], random, -1, 1);
    const w = ops.randomUniform([3, 3, 3, 4], random, -1, 1);
    const bias = ops.randomUniform([4], random, -1, 1);
    bias.requiresGrad = true;
    const biasOnly = tidy(() => {
      const [db] = gradients(ops.sum(ops.mul(ops.conv2d(x, w, bias, { activation: 'relu' }), 0.5)), [bias]);
      return Array.from((db as Tensor).data);
    });
    assert.equal(calls.get('Conv2DBackpropFilterBias') ?? 0, 0);
    assert.equal(calls.get('Conv2DBackpropFilter') ?? 0, 0);
    w.requiresGrad = true;
    const both = tidy(() => {
      const [, db] = gradients(ops.sum(ops.mul(ops.conv2d(x, w, bias, { activation: 'relu' }), 0.5)), [
        w,
        bias,
      ]);
      return Array.from((db as Tensor).data);
    });
    assert.equal(calls.get('Conv2DBackpropFilterBias'), 1);
    assert.deepEqual(biasOnly, both);
  });

  it('an unsupported fused activation is refused by the tensor op before any kernel runs', () => {
    const { backend, calls } = countingBackend();
    setBackendInstance(backend);
    const random = seeded(8);
    const x = ops.randomUniform([1, 5, 5, 2], random);
    const w = ops.randomUniform([3, 3, 2, 2], random);
    assert.throws(
      () => ops.conv2d(x, w, null, { activation: 'sigmoid' as 'relu' }),
      /^Error: conv2d: activation must be 'linear' or 'relu', found 'sigmoid'$/,
    );
    assert.equal(
      [...calls.values()].reduce((a, b) => a + b, 0),
      0,
    );
  });
});
