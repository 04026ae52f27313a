// allFinite(): the training step's guard (a non-finite step is skipped), the AllFinite kernel
// through its tensor op; the conformance suite holds its other backends to the js one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tensor } from '../../src/tensor/ops/creation.js';
import { allFinite } from '../../src/tensor/ops/reduce.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import './setup.js';

const flag = (tensors: readonly Tensor[]): number => {
  const out = allFinite(tensors);
  assert.equal(out.dtype, 'int32');
  assert.deepEqual(out.shape, [1]);
  return out.data[0] as number;
};

describe('allFinite', () => {
  it('accepts finite values, signed zeros and extremes; rejects NaN and both infinities anywhere', () => {
    const finite = [0, -0, 1e-45, -3.4e38, 3.4e38, 2.5];
    assert.equal(flag([tensor(finite), tensor([1, 2, 3])]), 1);
    assert.equal(flag([]), 1);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 3, 5]) {
        const values = [...finite];
        values[at] = bad;
        assert.equal(flag([tensor([1]), tensor(values)]), 0, `${bad} at ${at}`);
      }
    }
  });
});
