// Dropout with the mask drawn from the caller's xoshiro128** words (src/util/random.ts), exactly
// as the js backend: u_i = next() / 2^32, mask[i] = u_i < keep ? scale : 0, y = x * mask; the four
// state words are advanced in place by `length` draws.
#include "kernels.h"

EXPORT(dropout)
void dropout(const float *x, float *y, float *mask, i32 length, uint32_t *state, double keep, float scale) {
  // u_i < keep exactly when next() < keep * 2^32 (both sides exact doubles).
  const double threshold = keep * 4294967296.0;
  uint32_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
  for (i32 i = 0; i < length; i++) {
    const uint32_t m5 = s1 * 5u;
    const uint32_t result = ((m5 << 7) | (m5 >> 25)) * 9u;
    const uint32_t t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >> 21);
    const float kept = (double)result < threshold ? scale : 0.0f;
    mask[i] = kept;
    y[i] = x[i] * kept;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
}
