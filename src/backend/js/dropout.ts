// Dropout: y = x * mask, mask[i] = u_i < keep ? 1 / keep : 0 (keep = 1 - rate), u_i the next
// xoshiro128** outputs / 2^32 drawn from `state` (4 words), which is advanced in place. The stream
// is src/util/random.ts's: the same words give the same mask as Random.nextFloat() would.
import type { FloatStorage } from '../kernels.js';
import { allocLike, type Allocator } from './alloc.js';

const TWO_POW_32 = 4294967296;

export function dropout(
  alloc: Allocator,
  x: FloatStorage,
  state: Uint32Array,
  attrs: { rate: number },
): { y: FloatStorage; mask: FloatStorage } {
  checkDropout(x, state, attrs);
  const keep = 1 - attrs.rate;
  const scale = 1 / keep;
  const mask = allocLike(alloc, x, x.length);
  const y = allocLike(alloc, x, x.length);
  let s0 = state[0] as number;
  let s1 = state[1] as number;
  let s2 = state[2] as number;
  let s3 = state[3] as number;
  for (let i = 0; i < x.length; i++) {
    // xoshiro128**: result = rotl(s1 * 5, 7) * 9, then the state transition.
    const m5 = Math.imul(s1, 5);
    const result = Math.imul((m5 << 7) | (m5 >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    mask[i] = result / TWO_POW_32 < keep ? scale : 0;
    y[i] = (x[i] as number) * (mask[i] as number);
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
  return { y, mask };
}

/** Throws unless rate is in [0, 1) and state is four words, not all zero. */
export function checkDropout(x: FloatStorage, state: Uint32Array, attrs: { rate: number }): void {
  if (!(attrs.rate >= 0 && attrs.rate < 1)) {
    throw new Error(`Dropout: rate must be in [0, 1), found ${attrs.rate}`);
  }
  if (
    !(state instanceof Uint32Array) ||
    state.length !== 4 ||
    (state[0]! | state[1]! | state[2]! | state[3]!) === 0
  ) {
    throw new Error(
      'Dropout: state must be a Uint32Array of the 4 xoshiro128** words, not all zero (see Random.saveWords)',
    );
  }
}
