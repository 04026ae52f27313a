// allFinite(): the trainer's per-step gradient check (a non-finite step is skipped).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tensor } from '../../src/tensor/ops/creation.js';
import { allFinite } from '../../src/train/batches.js';
import './setup.js';

describe('allFinite', () => {
  it('accepts finite values, signed zeros and extremes; rejects NaN and both infinities anywhere', () => {
    const finite = [0, -0, 1e-45, -3.4e38, 3.4e38, 2.5];
    assert.equal(allFinite([tensor(finite), tensor([1, 2, 3])]), true);
    assert.equal(allFinite([]), true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 3, 5]) {
        const values = [...finite];
        values[at] = bad;
        assert.equal(allFinite([tensor([1]), tensor(values)]), false, `${bad} at ${at}`);
      }
    }
  });
});
