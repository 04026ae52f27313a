// Gradient clipping by global norm (Keras global_clipnorm, PyTorch clip_grad_norm_): every
// gradient is scaled by clipNorm / max(norm, clipNorm), norm = sqrt(sum over all gradients of g^2),
// so the direction of the whole update is kept and only its length is capped.
import type { FloatStorage } from '../backend/kernels.js';
import { mul } from '../tensor/ops/elementwise.js';
import type { Tensor } from '../tensor/tensor.js';

/** The L2 norm of all gradients taken as one vector; accumulated in float64. */
export function globalNorm(grads: readonly Tensor[]): number {
  let sumOfSquares = 0;
  for (const g of grads) {
    const data = g.data as FloatStorage;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      sumOfSquares += v * v;
    }
  }
  return Math.sqrt(sumOfSquares);
}

/** Gradients scaled so their global norm is at most clipNorm (returned unchanged when it already is). */
export function clipByGlobalNorm(grads: readonly Tensor[], clipNorm: number): Tensor[] {
  if (!(clipNorm > 0)) throw new Error(`clipNorm must be positive, found ${clipNorm}`);
  const norm = globalNorm(grads);
  // NOTE: a non-finite norm is passed through unchanged so terminate-on-NaN can see it.
  if (!(norm > clipNorm) || !Number.isFinite(norm)) return [...grads];
  const scale = clipNorm / norm;
  return grads.map((g) => mul(g, scale));
}
