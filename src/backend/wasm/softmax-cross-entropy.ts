// SoftmaxCrossEntropy and its gradient on wasm (wasm/src/softmax.c), in float64 like the js kernels.
import { checkLabels } from '../js/softmax-cross-entropy.js';
import { withFrame, type WasmContext } from './context.js';

interface Attrs {
  batch: number;
  classes: number;
  labelSmoothing: number;
}

export function softmaxCrossEntropy(
  ctx: WasmContext,
  logits: Float32Array,
  labels: Int32Array,
  attrs: Attrs,
): { loss: Float32Array; probs: Float32Array } {
  checkLabels('SoftmaxCrossEntropy', logits, labels, attrs);
  const { batch, classes, labelSmoothing } = attrs;
  const probs = ctx.alloc('float32', batch * classes);
  const loss = ctx.alloc('float32', 1);
  withFrame(ctx, (f) => {
    loss[0] = ctx.exports.softmax_cross_entropy(
      f.input(logits),
      f.input(labels),
      batch,
      classes,
      labelSmoothing,
      f.output(probs),
    );
  });
  return { loss, probs };
}

export function softmaxCrossEntropyGrad(
  ctx: WasmContext,
  probs: Float32Array,
  labels: Int32Array,
  dloss: Float32Array | Float64Array,
  attrs: Attrs,
): Float32Array {
  checkLabels('SoftmaxCrossEntropyGrad', probs, labels, attrs);
  const { batch, classes, labelSmoothing } = attrs;
  const dx = ctx.alloc('float32', batch * classes);
  withFrame(ctx, (f) => {
    ctx.exports.softmax_cross_entropy_grad(
      f.input(probs),
      f.input(labels),
      batch,
      classes,
      dloss[0] as number,
      labelSmoothing,
      f.output(dx),
    );
  });
  return dx;
}
