// The precision convolutions and products compute in (mixed precision): float32 by default;
// inside withPrecision('bfloat16', fn) the conv2d and matmul ops ask their kernels for bfloat16
// operands with float32 accumulation (activations, weights, gradients and the loss stay float32;
// an optimizer's master weights and state too). Backends list what they support (Backend.precisions).
import type { Precision } from '../backend/kernels.js';
import { getBackend } from '../backend/registry.js';

let current: Precision = 'float32';

/** The precision conv2d and matmul compute in now. */
export function computePrecision(): Precision {
  return current;
}

/** Runs `fn` with convolutions and products in `precision`; refused where the backend lacks it. */
export function withPrecision<T>(precision: Precision, fn: () => T): T {
  if (precision !== 'float32') checkPrecision(precision);
  const previous = current;
  current = precision;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** Throws one line unless the active backend computes in `precision`. */
export function checkPrecision(precision: Precision): void {
  const backend = getBackend();
  if (precision === 'float32' || backend.precisions?.includes(precision)) return;
  throw new Error(
    `precision ${precision}: the ${backend.name} backend computes in ${(backend.precisions ?? ['float32']).join(', ')} only ` +
      '(bfloat16 needs the native backend on a CPU with AVX512_BF16 or AMX); use float32 instead',
  );
}
