// Softmax, log-softmax and their gradients (oneDNN; native/src/eltwise.cc), and the fused softmax
// cross-entropy with its gradient (C++ loops; native/src/fused.cc).
import type { Kernels } from '../../kernels.js';
import { Op } from '../binding.js';
import { f32, labelsOf, type NativeContext } from '../context.js';

type SoftmaxKernels = Pick<
  Kernels,
  | 'Softmax'
  | 'LogSoftmax'
  | 'SoftmaxGrad'
  | 'LogSoftmaxGrad'
  | 'SoftmaxCrossEntropy'
  | 'SoftmaxCrossEntropyGrad'
>;

export function softmaxKernels(ctx: NativeContext): SoftmaxKernels {
  const forward =
    (log: boolean) =>
    (x: Parameters<Kernels['Softmax']>[0], attrs: { outer: number; size: number }): Float32Array => {
      const n = attrs.outer * attrs.size;
      const y = ctx.float32(n);
      ctx.emit(
        Op.Softmax,
        [f32(x, log ? 'LogSoftmax' : 'Softmax', n), y],
        [attrs.outer, attrs.size, log ? 1 : 0],
      );
      return y;
    };
  const backward =
    (log: boolean) =>
    (
      dy: Parameters<Kernels['Softmax']>[0],
      y: Parameters<Kernels['Softmax']>[0],
      attrs: { outer: number; size: number },
    ): Float32Array => {
      const n = attrs.outer * attrs.size;
      const kernel = log ? 'LogSoftmaxGrad' : 'SoftmaxGrad';
      const dx = ctx.float32(n);
      ctx.emit(
        Op.SoftmaxGrad,
        [f32(dy, kernel, n), f32(y, kernel, n), dx],
        [attrs.outer, attrs.size, log ? 1 : 0],
      );
      return dx;
    };
  return {
    Softmax: forward(false),
    LogSoftmax: forward(true),
    SoftmaxGrad: backward(false),
    LogSoftmaxGrad: backward(true),
    SoftmaxCrossEntropy(logits, labels, attrs) {
      const loss = ctx.float32(1);
      const probs = ctx.float32(attrs.batch * attrs.classes);
      const k = 'SoftmaxCrossEntropy';
      ctx.emit(
        Op.SoftmaxCrossEntropy,
        [f32(logits, k, attrs.batch * attrs.classes), labelsOf(labels, attrs.batch, k), loss, probs],
        [attrs.batch, attrs.classes],
        2,
        [attrs.labelSmoothing],
      );
      return { loss, probs };
    },
    SoftmaxCrossEntropyGrad(probs, labels, dloss, attrs) {
      const dlogits = ctx.float32(attrs.batch * attrs.classes);
      const k = 'SoftmaxCrossEntropyGrad';
      ctx.emit(
        Op.SoftmaxCrossEntropyGrad,
        [
          f32(probs, k, attrs.batch * attrs.classes),
          labelsOf(labels, attrs.batch, k),
          f32(dloss, k, 1),
          dlogits,
        ],
        [attrs.batch, attrs.classes],
        2,
        [attrs.labelSmoothing],
      );
      return dlogits;
    },
  };
}
