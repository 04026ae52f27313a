// One training step of the `cnn` recipe's layer stack (small batch) and of the `mlp` recipe,
// through the tensor layer and autograd on the active backend, from fixed inputs: the loss and every
// parameter gradient. Backend parity tests (test/native, test/wasm) run it on two backends.
import { gradients } from '../../src/tensor/autograd.js';
import { ops } from '../../src/tensor/ops/index.js';
import { Tensor, tidy } from '../../src/tensor/tensor.js';

/** Deterministic inputs: a sine pattern, so both backends see identical numbers. */
function values(n: number, scale: number, phase: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + phase) * scale);
}

export interface Result {
  loss: number;
  grads: Float32Array[];
}

/** Runs on the active backend: Conv(8,3) relu, MaxPool, Conv(16,3) relu, MaxPool, Dense(10), xent; conv2 uses same padding. */
export function cnnStep(): Result {
  return tidy(() => {
    const N = 4;
    const x = ops.tensor(values(N * 28 * 28, 1, 0), [N, 28, 28, 1]);
    const labels = ops.tensor(
      Int32Array.from({ length: N }, (_, i) => (i * 3) % 10),
      [N],
      'int32',
    );
    const params = [
      ops.tensor(values(3 * 3 * 1 * 8, 0.5, 1), [3, 3, 1, 8]),
      ops.tensor(values(8, 0.1, 2), [8]),
      ops.tensor(values(3 * 3 * 8 * 16, 0.2, 3), [3, 3, 8, 16]),
      ops.tensor(values(16, 0.1, 4), [16]),
      ops.tensor(values(576 * 10, 0.05, 5), [576, 10]),
      ops.tensor(values(10, 0.1, 6), [10]),
    ];
    for (const p of params) p.requiresGrad = true;
    const [w1, b1, w2, b2, wd, bd] = params as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor];
    let h = ops.maxPool2d(ops.relu(ops.conv2d(x, w1, b1)));
    h = ops.maxPool2d(ops.relu(ops.conv2d(h, w2, b2, { padding: 'same' })));
    const logits = ops.add(ops.matmul(ops.reshape(h, [N, 576]), wd), bd);
    const loss = ops.softmaxCrossEntropy(logits, labels, 0.1);
    const grads = gradients(loss, params);
    return { loss: loss.item(), grads: grads.map((g) => Float32Array.from(g.data)) };
  });
}

export function mlpStep(): Result {
  return tidy(() => {
    const N = 32;
    const x = ops.tensor(values(N * 784, 1, 7), [N, 784]);
    const labels = ops.tensor(
      Int32Array.from({ length: N }, (_, i) => i % 10),
      [N],
      'int32',
    );
    const params = [
      ops.tensor(values(784 * 128, 0.05, 8), [784, 128]),
      ops.tensor(values(128, 0.1, 9), [128]),
      ops.tensor(values(128 * 10, 0.1, 10), [128, 10]),
      ops.tensor(values(10, 0.1, 11), [10]),
    ];
    for (const p of params) p.requiresGrad = true;
    const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
    const logits = ops.add(ops.matmul(ops.relu(ops.add(ops.matmul(x, w1), b1)), w2), b2);
    const loss = ops.softmaxCrossEntropy(logits, labels);
    const grads = gradients(loss, params);
    return { loss: loss.item(), grads: grads.map((g) => Float32Array.from(g.data)) };
  });
}
