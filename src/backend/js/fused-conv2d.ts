// FusedConv2D's activation step: the js backend computes Conv2D (whichever Conv2D the kernel table
// holds, so a threaded table's convolution is reused) and applies the activation in place on its
// fresh output. Conv2DBackpropFilterBias likewise composes Conv2DBackpropFilter and Sum; only the
// native backend fuses them into one pass.
import type { FloatStorage, FusedConv2DAttrs } from '../kernels.js';

/** y = activation(y), in place; y (N,OH,OW,O) is the convolution's own fresh output. */
export function activateInPlace(y: FloatStorage, attrs: FusedConv2DAttrs): FloatStorage {
  if (attrs.activation === 'linear') return y;
  if (attrs.activation !== 'relu') {
    throw new Error(
      `FusedConv2D: activation must be 'linear' or 'relu', found '${String(attrs.activation)}'`,
    );
  }
  // NOTE: the same branch-free form as the Relu kernel (unary.ts), so results match it bit for bit.
  for (let i = 0; i < y.length; i++) {
    const v = y[i] as number;
    y[i] = (v + Math.abs(v)) * 0.5;
  }
  return y;
}
