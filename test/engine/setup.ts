// Shared test setup for engine tests: the js backend active, and a tiny seeded random source.
import { setBackendInstance } from '../../src/backend/registry.js';
import { createJsBackend } from '../../src/backend/js/index.js';

setBackendInstance(createJsBackend());

/** mulberry32: a small seeded generator, enough for test inputs. */
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
