// Shared by the nn, losses and optim tests: the js backend active, a seeded random source, a
// closeness assertion, and a way to run layers in order without a Model.
import assert from 'node:assert/strict';
import { setBackendInstance } from '../../src/backend/registry.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import type { CallContext, Layer } from '../../src/nn/layer.js';
import type { Tensor } from '../../src/tensor/tensor.js';

setBackendInstance(createJsBackend());

/** mulberry32: a small seeded generator, enough for test inputs and initialisation. */
export function seeded(seed: number): { nextFloat(): number } {
  let state = seed >>> 0;
  return {
    nextFloat() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

export function inference(seed = 1): CallContext {
  return { training: false, random: seeded(seed) };
}

export function training(seed = 1): CallContext {
  return { training: true, random: seeded(seed) };
}

/** Applies layers one after another (builds them on first use). */
export function run(layers: readonly Layer[], x: Tensor, context: CallContext = inference()): Tensor {
  return layers.reduce((out, layer) => layer.apply(out, context), x);
}

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance = 1e-6,
  what = '',
): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    const scale = Math.max(1, Math.abs(e));
    assert.ok(
      Math.abs(a - e) <= tolerance * scale,
      `${what}[${i}]: expected ${e}, found ${a} (tolerance ${tolerance})`,
    );
  }
}
