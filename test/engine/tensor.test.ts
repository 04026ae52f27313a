// Tensor lifetime: tidy() frees what a step made, keeps what it returns, never frees through views.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './setup.js';
import { Tensor, keep, tidy } from '../../src/tensor/tensor.js';
import { ones, tensor, zeros } from '../../src/tensor/ops/creation.js';
import { add, mul } from '../../src/tensor/ops/elementwise.js';
import { reshape } from '../../src/tensor/ops/shape.js';
import { sum } from '../../src/tensor/ops/reduce.js';

test('tidy frees intermediates and keeps the returned tensor', () => {
  let intermediate: Tensor | undefined;
  const result = tidy(() => {
    intermediate = add(ones([2, 2]), ones([2, 2]));
    return mul(intermediate, 3);
  });
  assert.equal(intermediate?.disposed, true);
  assert.deepEqual(result.toArray(), [6, 6, 6, 6]);
  assert.throws(() => intermediate?.data, /was freed when its tidy\(\) ended/);
});

test('keep() lets a tensor outlive its tidy; tensors made outside survive', () => {
  const outside = ones([3]);
  let kept: Tensor | undefined;
  tidy(() => {
    kept = keep(add(outside, 1));
    add(outside, 2);
  });
  assert.equal(outside.disposed, false);
  assert.deepEqual(kept?.toArray(), [2, 2, 2]);
});

test('a reshape view of an outside tensor never frees that tensor', () => {
  const parameter = tensor([1, 2, 3, 4], [2, 2]);
  tidy(() => {
    const view = reshape(parameter, [4]);
    return sum(view);
  });
  assert.deepEqual(parameter.toArray(), [1, 2, 3, 4]);
});

test('a returned view keeps its base storage alive; freed views of freed storage report it', () => {
  let view: Tensor | undefined;
  const kept = tidy(() => {
    const base = add(zeros([4]), 5);
    view = reshape(base, [2, 2]);
    return view;
  });
  assert.deepEqual(kept.toArray(), [5, 5, 5, 5]);
  let inner: Tensor | undefined;
  tidy(() => {
    const base = add(zeros([4]), 1);
    inner = reshape(base, [2, 2]);
  });
  assert.equal(inner?.disposed, true);
});

test('nested tidy: the inner result belongs to the outer scope', () => {
  let inner: Tensor | undefined;
  tidy(() => {
    inner = tidy(() => add(ones([2]), 1));
    assert.equal(inner.disposed, false);
  });
  assert.equal(inner?.disposed, true);
});

test('a view returned from a nested tidy carries its owner out: the outer tidy frees both', () => {
  let owner: Tensor | undefined;
  let view: Tensor | undefined;
  tidy(() => {
    view = tidy(() => {
      owner = add(ones([2, 3]), ones([2, 3]));
      return reshape(owner, [6]); // a view of the owner's storage
    });
    assert.equal(owner?.disposed, false, 'the inner tidy keeps the storage its view uses');
    assert.deepEqual(view.toArray(), [2, 2, 2, 2, 2, 2]);
  });
  assert.equal(owner?.disposed, true, 'the outer tidy frees the owner');
  assert.equal(view?.disposed, true, 'and marks the view freed');
});
