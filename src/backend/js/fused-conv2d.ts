// FusedConv2D and Conv2DBackpropFilterBias in the js backend: composed from a table's Conv2D,
// Conv2DBackpropFilter and Sum (whichever those are: the threaded table passes its own), with the
// activation applied in place on the convolution's fresh output. Only the native backend fuses
// them into one pass.
import type { FloatStorage, FusedConv2DAttrs, Kernels } from '../kernels.js';

/**
 * y = activation(y), in place; y (N,OH,OW,O) is the convolution's own fresh output. The activation
 * is 'linear' or 'relu' (the conv2d tensor op checks it before any kernel runs).
 */
export function activateInPlace(y: FloatStorage, attrs: FusedConv2DAttrs): FloatStorage {
  if (attrs.activation !== 'relu') return y;
  // NOTE: the same branch-free form as the Relu kernel (unary.ts), so results match it bit for bit.
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    y[i] = (v + Math.abs(v)) * 0.5;
  }
  return y;
}

/** The two fused convolution kernels over `base`'s plain ones. */
export function fusedConvKernels(
  base: Pick<Kernels, 'Conv2D' | 'Conv2DBackpropFilter' | 'Sum'>,
): Pick<Kernels, 'FusedConv2D' | 'Conv2DBackpropFilterBias'> {
  return {
    FusedConv2D: (x, w, bias, attrs) => activateInPlace(base.Conv2D(x, w, bias, attrs), attrs),
    Conv2DBackpropFilterBias: (x, dy, attrs) => ({
      dw: base.Conv2DBackpropFilter(x, dy, attrs),
      dbias: base.Sum(dy, { shape: [attrs.N * attrs.OH * attrs.OW, attrs.O], axes: [0] }),
    }),
  };
}
