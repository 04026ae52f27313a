// The tensor ops transformers are made of, by value (gradcheck.test.ts checks their gradients):
// matmul with broadcast batch axes, softmax on any axis, GELU's two forms, gather, broadcastTo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seeded } from './setup.js';
import { randomNormal, tensor } from '../../src/tensor/ops/creation.js';
import { broadcastTo, gelu } from '../../src/tensor/ops/elementwise.js';
import { gather, logSoftmax, matmul, softmax } from '../../src/tensor/ops/nn.js';
import { slice, reshape } from '../../src/tensor/ops/shape.js';
import type { Tensor } from '../../src/tensor/tensor.js';

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance = 1e-12): void {
  assert.equal(actual.length, expected.length, 'length');
  for (let i = 0; i < expected.length; i++) {
    const [a, e] = [actual[i] as number, expected[i] as number];
    assert.ok(Math.abs(a - e) <= tolerance * Math.max(1, Math.abs(e)), `[${i}]: ${a}, expected ${e}`);
  }
}

const normal = (shape: number[], seed: number): Tensor =>
  randomNormal(shape, seeded(seed), 0, 1, { dtype: 'float64' });

/** Product number `t` of a batched matmul, computed as its own 2-D matmul. */
function batchItem(x: Tensor, t: number): Tensor {
  const [rows, cols] = x.shape.slice(-2) as [number, number];
  return reshape(slice(reshape(x, [-1, rows, cols]), [t, 0, 0], [1, rows, cols]), [rows, cols]);
}

test('matmul broadcasts batch axes as numpy does', () => {
  // [2, 3, 4, 5] x [3, 6, 5]^T: b's batch [3] broadcasts over a's [2, 3].
  const a = normal([2, 3, 4, 5], 1);
  const b = normal([3, 6, 5], 2);
  const out = matmul(a, b, { transposeB: true });
  assert.deepEqual(out.shape, [2, 3, 4, 6]);
  for (let t = 0; t < 6; t++) {
    const expected = matmul(batchItem(a, t), batchItem(b, t % 3), { transposeB: true });
    close(batchItem(out, t).data, expected.data);
  }
  // A 2-D weight over token rows equals the product of the flattened rows.
  const tokens = normal([2, 7, 5], 3);
  const weight = normal([5, 4], 4);
  const projected = matmul(tokens, weight);
  assert.deepEqual(projected.shape, [2, 7, 4]);
  close(projected.data, matmul(reshape(tokens, [14, 5]), weight).data);
  // A 2-D a against a batch of b.
  const shared = normal([4, 5], 5);
  const many = matmul(shared, normal([3, 5, 2], 6));
  assert.deepEqual(many.shape, [3, 4, 2]);
});

test('matmul names both shapes when they do not fit', () => {
  assert.throws(
    () => matmul(normal([2, 3, 4], 1), normal([5, 2], 2)),
    /inner dimensions differ: \[2,3,4\] x \[5,2\]/,
  );
  assert.throws(
    () => matmul(normal([2, 3, 4], 1), normal([3, 4, 2], 2)),
    /matmul: shapes \[2\] and \[3\] do not broadcast/,
  );
  assert.throws(() => matmul(normal([4], 1), normal([4, 2], 2)), /rank 2 or more, found \[4\]/);
});

test('softmax and log-softmax along a middle axis normalise that axis', () => {
  const x = normal([2, 3, 4], 7);
  const y = softmax(x, 1);
  const logY = logSoftmax(x, 1);
  for (let i = 0; i < 2; i++) {
    for (let k = 0; k < 4; k++) {
      const column = [0, 1, 2].map((j) => x.data[i * 12 + j * 4 + k] as number);
      const max = Math.max(...column);
      const total = column.reduce((s, v) => s + Math.exp(v - max), 0);
      column.forEach((v, j) => {
        const at = i * 12 + j * 4 + k;
        close([y.data[at] as number], [Math.exp(v - max) / total]);
        close([logY.data[at] as number], [v - max - Math.log(total)]);
      });
    }
  }
  close(softmax(x, -1).data, softmax(x).data, 0);
  assert.throws(() => softmax(x, 3), /softmax: axis 3 is out of range for a tensor of rank 3/);
});

test('gelu: exact (erf) and the tanh approximation differ by < 1e-3, as published', () => {
  const x = tensor([-3, -1, -0.5, 0, 0.5, 1, 3], [7], 'float64');
  const exact = gelu(x);
  const approximate = gelu(x, { approximate: true });
  // PyTorch 1.13: F.gelu(x) and F.gelu(x, approximate='tanh') at these points.
  close(exact.data, [-0.0040496, -0.1586553, -0.1542688, 0, 0.3457312, 0.8413447, 2.9959504], 1e-6);
  close(approximate.data, [-0.0036374, -0.158808, -0.1542859, 0, 0.3457141, 0.841192, 2.9963626], 1e-6);
});

test('gather picks rows by index and refuses indices outside the table', () => {
  const table = tensor([0, 1, 10, 11, 20, 21], [3, 2]);
  assert.deepEqual(
    gather(
      table,
      tensor(
        [
          [2, 0],
          [1, 1],
        ],
        [2, 2],
        'int32',
      ),
    ).toArray(),
    [20, 21, 0, 1, 10, 11, 10, 11],
  );
  assert.deepEqual(
    gather(table, tensor([[2, 0]], [1, 2])).shape,
    [1, 2, 2],
    'float indices holding whole numbers',
  );
  assert.throws(
    () => gather(table, tensor([3], [1], 'int32')),
    /Gather: index 3 at position 0 is outside \[0, 3\)/,
  );
  assert.throws(
    () => gather(table, tensor([0.5], [1])),
    /gather: index 0.5 at position 0 is not a whole number/,
  );
});

test('broadcastTo repeats size-1 axes and refuses shapes it cannot reach', () => {
  const x = tensor([1, 2], [2, 1]);
  assert.deepEqual(broadcastTo(x, [2, 2, 3]).toArray(), [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
  assert.equal(broadcastTo(x, [2, 1]), x);
  assert.throws(() => broadcastTo(x, [3, 1]), /do not broadcast/);
  assert.throws(() => broadcastTo(x, [2]), /\[2, 1\] does not broadcast to \[2\]/);
});
