// Fused softmax + sparse cross-entropy and its gradient, in float64 as the js backend
// (src/backend/js/softmax-cross-entropy.ts): the same formulas in the same order, with exp and log
// from this file (no libc here) accurate to about 1 ulp, so results agree with js to ~1e-15.
#include "kernels.h"

static double bits_to_double(uint64_t bits) { return __builtin_bit_cast(double, bits); }
static uint64_t double_to_bits(double x) { return __builtin_bit_cast(uint64_t, x); }

static const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;

/** 2^k for an integer k in [-1074, 1023]. */
static double pow2(int k) {
  if (k >= -1022) return bits_to_double((uint64_t)(k + 1023) << 52);
  return bits_to_double((uint64_t)1 << (k + 1074));
}

/** e^x: x = k ln2 + r with |r| <= ln2 / 2, e^r from its Taylor series to r^13 (error < 1e-17). */
static double exp64(double x) {
  if (x != x) return x;
  if (x > 709.782712893384) return __builtin_inf();
  if (x < -745.1332191019412) return 0.0;
  const double kf = __builtin_nearbyint(x * 1.4426950408889634);
  const int k = (int)kf;
  const double r = (x - kf * LN2_HI) - kf * LN2_LO;
  double p = 1.0 / 6227020800.0; // 1/13!
  static const double inverse_factorials[] = {1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0,
                                               1.0 / 362880.0,    1.0 / 40320.0,    1.0 / 5040.0,
                                               1.0 / 720.0,       1.0 / 120.0,      1.0 / 24.0,
                                               1.0 / 6.0,         0.5,              1.0,
                                               1.0};
  for (int i = 0; i < 13; i++) p = p * r + inverse_factorials[i];
  // Scale in two steps so that results near the ends of the range neither overflow nor flush early.
  const int k1 = k / 2;
  return p * pow2(k1) * pow2(k - k1);
}

/** ln x: x = 2^e m with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172. */
static double log64(double x) {
  if (x != x || x < 0) return __builtin_nan("");
  if (x == 0) return -__builtin_inf();
  if (x == __builtin_inf()) return x;
  int e = 0;
  if (x < 2.2250738585072014e-308) {  // subnormal: scale into the normal range first
    x *= 18014398509481984.0;         // 2^54
    e = -54;
  }
  const uint64_t bits = double_to_bits(x);
  e += (int)((bits >> 52) & 0x7ff) - 1023;
  double m = bits_to_double((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e += 1;
  }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double series = 1.0 / 25.0;
  for (int n = 23; n >= 1; n -= 2) series = series * s2 + 1.0 / n;
  return e * LN2_HI + (2.0 * s * series + e * LN2_LO);
}

EXPORT(exp64_export) double exp64_export(double x) { return exp64(x); }
EXPORT(log64_export) double log64_export(double x) { return log64(x); }

/** logits (N,K), labels (N, checked by the caller): probs (N,K), and the mean loss returned. */
EXPORT(softmax_cross_entropy)
double softmax_cross_entropy(const float *logits, const i32 *labels, i32 batch, i32 classes, double label_smoothing,
                             float *probs) {
  const double off_target = label_smoothing / classes;
  double total = 0.0;
  for (i32 i = 0, row = 0; i < batch; i++, row += classes) {
    double m = -__builtin_inf();
    for (i32 j = 0; j < classes; j++) m = __builtin_wasm_max_f64(m, (double)logits[row + j]);
    double s = 0.0, sum_shifted = 0.0;
    for (i32 j = 0; j < classes; j++) {
      const double shifted = (double)logits[row + j] - m;
      sum_shifted += shifted;
      s += exp64(shifted);
    }
    const double log_sum = log64(s), inv = 1.0 / s;
    for (i32 j = 0; j < classes; j++) probs[row + j] = (float)(exp64((double)logits[row + j] - m) * inv);
    const double log_p_label = (double)logits[row + labels[i]] - m - log_sum;
    total -= (1 - label_smoothing) * log_p_label + off_target * (sum_shifted - classes * log_sum);
  }
  return batch > 0 ? total / batch : 0.0;
}

/** dlogits = (probs - smoothed targets) * dloss / N. */
EXPORT(softmax_cross_entropy_grad)
void softmax_cross_entropy_grad(const float *probs, const i32 *labels, i32 batch, i32 classes, double dloss,
                                double label_smoothing, float *dx) {
  const double scale = dloss / batch, off_target = label_smoothing / classes;
  for (i32 i = 0, row = 0; i < batch; i++, row += classes) {
    for (i32 j = 0; j < classes; j++) dx[row + j] = (float)(((double)probs[row + j] - off_target) * scale);
    const i32 at = row + labels[i];
    dx[at] = (float)(((double)probs[at] - off_target - (1 - label_smoothing)) * scale);
  }
}
