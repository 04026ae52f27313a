// Gradients of the elementwise unary kernels, dx[i] = dy[i] * f'(.); dx has dy's dtype.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { erf } from './erf.js';
import { GELU_TANH_CUBIC, GELU_TANH_SCALE } from './unary.js';

function checkSameLength(kernel: string, dy: FloatStorage, other: FloatStorage): void {
  if (dy.length !== other.length) {
    throw new Error(`${kernel}: dy has ${dy.length} elements but its forward operand has ${other.length}`);
  }
}

// NOTE: ReluGrad and LeakyReluGrad multiply by a 0/1 mask instead of branching (a data-dependent
// branch mispredicts on real activations: 5x slower). A non-finite dy where x <= 0 gives NaN, not 0.
export function reluGrad(alloc: Allocator, dy: FloatStorage, x: FloatStorage): FloatStorage {
  checkSameLength('ReluGrad', dy, x);
  const dx = allocLike(alloc, dy, dy.length);
  for (let i = 0; i < dy.length; i++) dx[i] = (dy[i] as number) * +((x[i] as number) > 0);
  return dx;
}

export function leakyReluGrad(
  alloc: Allocator,
  dy: FloatStorage,
  x: FloatStorage,
  attrs: { alpha: number },
): FloatStorage {
  checkSameLength('LeakyReluGrad', dy, x);
  const dx = allocLike(alloc, dy, dy.length);
  const alphaMinusOne = attrs.alpha - 1;
  for (let i = 0; i < dy.length; i++) {
    dx[i] = (dy[i] as number) * (1 + alphaMinusOne * +((x[i] as number) < 0));
  }
  return dx;
}

/** y = sigmoid(x): dx = dy * y * (1 - y). */
export function sigmoidGrad(alloc: Allocator, dy: FloatStorage, y: FloatStorage): FloatStorage {
  checkSameLength('SigmoidGrad', dy, y);
  const dx = allocLike(alloc, dy, dy.length);
  for (let i = 0; i < dy.length; i++) {
    const s = y[i] as number;
    dx[i] = (dy[i] as number) * s * (1 - s);
  }
  return dx;
}

/** y = tanh(x): dx = dy * (1 - y^2). */
export function tanhGrad(alloc: Allocator, dy: FloatStorage, y: FloatStorage): FloatStorage {
  checkSameLength('TanhGrad', dy, y);
  const dx = allocLike(alloc, dy, dy.length);
  for (let i = 0; i < dy.length; i++) {
    const t = y[i] as number;
    dx[i] = (dy[i] as number) * (1 - t * t);
  }
  return dx;
}

/** d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density. */
export function geluGrad(alloc: Allocator, dy: FloatStorage, x: FloatStorage): FloatStorage {
  checkSameLength('GeluGrad', dy, x);
  const dx = allocLike(alloc, dy, dy.length);
  const invSqrt2Pi = 0.3989422804014327;
  for (let i = 0; i < dy.length; i++) {
    const v = x[i] as number;
    const cdf = 0.5 * (1 + erf(v * Math.SQRT1_2));
    dx[i] = (dy[i] as number) * (cdf + v * invSqrt2Pi * Math.exp(-0.5 * v * v));
  }
  return dx;
}

/** With t = tanh(u), u = c (x + a x^3): d/dx x/2 (1 + t) = (1 + t)/2 + x/2 (1 - t^2) c (1 + 3 a x^2). */
export function geluTanhGrad(alloc: Allocator, dy: FloatStorage, x: FloatStorage): FloatStorage {
  checkSameLength('GeluTanhGrad', dy, x);
  const dx = allocLike(alloc, dy, dy.length);
  for (let i = 0; i < dy.length; i++) {
    const v = x[i] as number;
    const t = Math.tanh(GELU_TANH_SCALE * (v + GELU_TANH_CUBIC * v * v * v));
    const du = GELU_TANH_SCALE * (1 + 3 * GELU_TANH_CUBIC * v * v);
    dx[i] = (dy[i] as number) * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du);
  }
  return dx;
}
