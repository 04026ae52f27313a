// Kernels written as plain C++ loops (oneDNN has no primitive for them): softmax + sparse
// cross-entropy forward and gradient, the Adam/AdamW and SGD updates over every parameter in
// one call, dropout with its mask drawn from an xoshiro128** stream, gather (embedding rows) and
// its gradient, and the finite check that guards a step's update.
//
// Constraints:
// - logits/probs (N,K) float32 row-major, labels (N) int32 in [0, K); loss is 1 float32.
//   Targets are smoothed: t = (1 - s) * onehot + s / K. Row sums accumulate in double.
// - Optimizer updates work in place on lists of buffers (parameter i with gradient i and its slots
//   i, all the same length). Large tensors are split across OpenMP threads. The learning rate and
//   the step count are read from a float64 schedule buffer (so a replayed step reads this step's).
// - Dropout draws exactly src/util/random.ts's xoshiro128** outputs, in element order, from the
//   4-word state it is given and writes the advanced state back: the mask is bit-identical to the
//   js backend's and the JS generator resumes where the kernel stopped. Sequential by nature
//   (~1 ns per element); u < keep is compared in double, as in JS.
// - Update rules (Keras forms):
//   Adam:  m += (1-b1)(g-m); v += (1-b2)(g^2-v); p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v)+eps)
//          weight decay: AdamW p -= lr*wd*p before the step; otherwise L2, g += wd*p.
//   SGD:   g += wd*p; velocity = momentum*velocity - lr*g;
//          p += velocity (or, Nesterov, p += momentum*velocity - lr*g); momentum 0: p -= lr*g.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace mnl {
namespace {

/** Row r: writes probabilities, returns -sum_j t_j log p_j for that row. */
double SoftmaxRow(const float *x, float *p, int64_t K, int32_t label, double smoothing) {
  float maxValue = x[0];
  for (int64_t j = 1; j < K; j++) maxValue = std::max(maxValue, x[j]);
  double sum = 0, sumShifted = 0;
  for (int64_t j = 0; j < K; j++) {
    const double shifted = static_cast<double>(x[j]) - maxValue;
    const double e = std::exp(shifted);
    p[j] = static_cast<float>(e);
    sum += e;
    sumShifted += shifted;
  }
  const double logSum = std::log(sum), inv = 1.0 / sum;
  for (int64_t j = 0; j < K; j++) p[j] = static_cast<float>(p[j] * inv);
  // log p_j = shifted_j - logSum
  const double logPLabel = (static_cast<double>(x[label]) - maxValue) - logSum;
  const double meanLogP = (sumShifted - K * logSum) / K;
  return -(1 - smoothing) * logPLabel - smoothing * meanLogP;
}

void CheckLabel(int32_t label, int64_t K, int64_t row) {
  if (label < 0 || label >= K)
    throw std::runtime_error("SoftmaxCrossEntropy: label " + std::to_string(label) + " at row " + std::to_string(row) +
                             " is outside [0, " + std::to_string(K) + ")");
}

void SoftmaxCrossEntropy(const Op &op) {
  // buffers: logits (N,K), labels (N) int32, loss (1), probs (N,K); ints: N, K; floats: smoothing
  const float *logits = op.F(0);
  const int32_t *labels = op.I(1);
  float *loss = op.F(2), *probs = op.F(3);
  const int64_t N = op.Int(0), K = op.Int(1);
  const double smoothing = op.Float(0);
  double total = 0;
  for (int64_t r = 0; r < N; r++) {
    CheckLabel(labels[r], K, r);
    total += SoftmaxRow(logits + r * K, probs + r * K, K, labels[r], smoothing);
  }
  loss[0] = static_cast<float>(N > 0 ? total / N : 0);
}

void SoftmaxCrossEntropyGrad(const Op &op) {
  // buffers: probs (N,K), labels (N) int32, dloss (1), dlogits (N,K); ints: N, K; floats: smoothing
  const float *probs = op.F(0);
  const int32_t *labels = op.I(1);
  const double dloss = op.F(2)[0];
  float *dlogits = op.F(3);
  const int64_t N = op.Int(0), K = op.Int(1);
  const double smoothing = op.Float(0);
  const float scale = static_cast<float>(dloss / static_cast<double>(N));
  const float off = static_cast<float>(smoothing / K), on = static_cast<float>(1 - smoothing + smoothing / K);
  for (int64_t r = 0; r < N; r++) {
    CheckLabel(labels[r], K, r);
    const float *p = probs + r * K;
    float *d = dlogits + r * K;
    for (int64_t j = 0; j < K; j++) d[j] = (p[j] - off) * scale;
    d[labels[r]] = (p[labels[r]] - on) * scale;
  }
}

constexpr int64_t kParallelThreshold = 1 << 15;

struct AdamConstants {
  float l2, shrink, b1, b2, alpha, epsilon;
};

/** Adam on n elements of one parameter (m, v its moments). */
MNL_VECTOR_CLONES void AdamSpan(float *__restrict p, const float *__restrict g, float *__restrict m,
                                float *__restrict v, int64_t n, const AdamConstants c) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i] + c.l2 * p[i];
    const float pi = p[i] * c.shrink;
    const float mi = m[i] + (gi - m[i]) * c.b1;
    const float vi = v[i] + (gi * gi - v[i]) * c.b2;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - c.alpha * mi / (std::sqrt(vi) + c.epsilon);
  }
}

/** The lengths of an update op's parameters (ints 1..count). */
std::vector<int64_t> Lengths(const Op &op, int count) {
  std::vector<int64_t> lengths(static_cast<size_t>(count));
  for (int k = 0; k < count; k++) lengths[static_cast<size_t>(k)] = op.Int(1 + k);
  return lengths;
}

void AdamUpdate(const Op &op) {
  // buffers: schedule f64 [lr, step], then count params, count grads, count m, count v;
  // ints: count, length x count, decoupled; floats: beta1, beta2, epsilon, weightDecay
  const double *schedule = static_cast<const double *>(op.Buffer(0));
  const int count = static_cast<int>(op.Int(0));
  const double lr = schedule[0], step = schedule[1];
  const double beta1 = op.Float(0), beta2 = op.Float(1), eps = op.Float(2), weightDecay = op.Float(3);
  const bool decoupled = op.Int(1 + count) != 0;
  const AdamConstants c{
      decoupled ? 0.f : static_cast<float>(weightDecay),
      decoupled ? static_cast<float>(1 - lr * weightDecay) : 1.f,
      static_cast<float>(1 - beta1),
      static_cast<float>(1 - beta2),
      static_cast<float>(lr * std::sqrt(1 - std::pow(beta2, step)) / (1 - std::pow(beta1, step))),
      static_cast<float>(eps),
  };
  ForEachRange(Lengths(op, count), kParallelThreshold, [&](size_t k, int64_t from, int64_t to) {
    const int j = static_cast<int>(k);
    AdamSpan(op.F(1 + j) + from, op.F(1 + count + j) + from, op.F(1 + 2 * count + j) + from,
             op.F(1 + 3 * count + j) + from, to - from, c);
  });
}

/** SGD on n elements of one parameter; vel null without momentum. */
MNL_VECTOR_CLONES void SgdSpan(float *__restrict p, const float *__restrict g, float *__restrict vel, int64_t n,
                               float lr, float momentum, float weightDecay, bool nesterov) {
  if (vel == nullptr) {
    for (int64_t i = 0; i < n; i++) p[i] -= lr * (g[i] + weightDecay * p[i]);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i] + weightDecay * p[i];
    const float vi = momentum * vel[i] - lr * gi;
    vel[i] = vi;
    p[i] += nesterov ? momentum * vi - lr * gi : vi;
  }
}

void SgdUpdate(const Op &op) {
  // buffers: schedule f64 [lr], count params, count grads, then count velocities when momentum != 0;
  // ints: count, length x count, nesterov; floats: momentum, weightDecay
  const double *schedule = static_cast<const double *>(op.Buffer(0));
  const int count = static_cast<int>(op.Int(0));
  const float lr = static_cast<float>(schedule[0]), momentum = static_cast<float>(op.Float(0));
  const bool nesterov = op.Int(1 + count) != 0;
  const float weightDecay = static_cast<float>(op.Float(1));
  ForEachRange(Lengths(op, count), kParallelThreshold, [&](size_t k, int64_t from, int64_t to) {
    const int j = static_cast<int>(k);
    float *vel = momentum != 0 ? op.F(1 + 2 * count + j) + from : nullptr;
    SgdSpan(op.F(1 + j) + from, op.F(1 + count + j) + from, vel, to - from, lr, momentum, weightDecay, nesterov);
  });
}

inline uint32_t Rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void Dropout(const Op &op) {
  // buffers: x (n), y (n), mask (n), state (4 uint32 words, advanced in place); ints: n; floats: keep
  const float *x = op.F(0);
  float *y = op.F(1), *mask = op.F(2);
  uint32_t *state = static_cast<uint32_t *>(op.Buffer(3));
  const int64_t n = op.Int(0);
  const double keep = op.Float(0);
  const float scale = static_cast<float>(1.0 / keep);
  // NOTE: for an integer r, r / 2^32 < keep  <=>  r < ceil(keep * 2^32) (the product is exact), so
  // the JS comparison becomes an integer one, evaluated without a branch: a data-dependent branch
  // mispredicts half the time at rate 0.5 and made the loop 4x slower.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(keep * 4294967296.0));
  uint32_t scaleBits;
  std::memcpy(&scaleBits, &scale, sizeof scaleBits);
  uint32_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
  for (int64_t i = 0; i < n; i++) {
    const uint32_t result = Rotl(s1 * 5u, 7) * 9u;
    const uint32_t t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = Rotl(s3, 11);
    // (r - threshold) wraps to a value with the top bit set exactly when r < threshold.
    const uint32_t below = static_cast<uint32_t>((static_cast<uint64_t>(result) - threshold) >> 63);
    const uint32_t maskBits = scaleBits & (0u - below);
    float m;
    std::memcpy(&m, &maskBits, sizeof m);
    mask[i] = m;
    y[i] = x[i] * m;
  }
  state[0] = s0;
  state[1] = s1;
  state[2] = s2;
  state[3] = s3;
}

/** Throws unless every index names a row of the table. */
void CheckIndices(const int32_t *indices, int64_t n, int64_t rows, const char *kernel) {
  for (int64_t i = 0; i < n; i++)
    if (indices[i] < 0 || indices[i] >= rows)
      throw std::runtime_error(std::string(kernel) + ": index " + std::to_string(indices[i]) + " at position " +
                               std::to_string(i) + " is outside [0, " + std::to_string(rows) + ")");
}

void Gather(const Op &op) {
  // buffers: table (rows, width), indices (n) int32, out (n, width); ints: rows, width, n
  const float *table = op.F(0);
  const int32_t *indices = op.I(1);
  float *out = op.F(2);
  const int64_t rows = op.Int(0), width = op.Int(1), n = op.Int(2);
  CheckIndices(indices, n, rows, "Gather");
  for (int64_t i = 0; i < n; i++)
    std::memcpy(out + i * width, table + static_cast<int64_t>(indices[i]) * width, sizeof(float) * width);
}

void GatherGrad(const Op &op) {
  // buffers: dy (n, width), indices (n) int32, dtable (rows, width); ints: rows, width, n.
  // Sums in float, in index order, as the js kernel.
  const float *dy = op.F(0);
  const int32_t *indices = op.I(1);
  float *dtable = op.F(2);
  const int64_t rows = op.Int(0), width = op.Int(1), n = op.Int(2);
  CheckIndices(indices, n, rows, "GatherGrad");
  std::fill(dtable, dtable + rows * width, 0.f);
  for (int64_t i = 0; i < n; i++) {
    float *to = dtable + static_cast<int64_t>(indices[i]) * width;
    const float *from = dy + i * width;
    for (int64_t j = 0; j < width; j++) to[j] += from[j];
  }
}

/** 0 when x holds a NaN or an infinity. NOTE: v * 0 is 0 for a finite v, NaN for NaN and +-Inf. */
MNL_VECTOR_CLONES bool Finite(const float *x, int64_t n) {
  // 16 independent partial sums: one serial chain of float adds would run at one add per latency.
  constexpr int kLanes = 16;
  float lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; l++) lanes[l] += x[i + l] * 0.f;
  float sum = 0.f;
  for (; i < n; i++) sum += x[i] * 0.f;
  for (int l = 0; l < kLanes; l++) sum += lanes[l];
  return sum == 0.f;
}

void AllFinite(const Op &op) {
  // buffers: flag (1) int32, then count float buffers; ints: count, length x count.
  const int count = static_cast<int>(op.Int(0));
  int32_t finite = 1;
  for (int k = 0; k < count && finite; k++)
    if (!Finite(op.F(1 + k), op.Int(1 + k))) finite = 0;
  *op.I(0) = finite;
}

}  // namespace

void RegisterFused(Napi::Env, Napi::Object) {
  RegisterOp(kOpDropout, Dropout);
  RegisterOp(kOpSoftmaxCrossEntropy, SoftmaxCrossEntropy);
  RegisterOp(kOpSoftmaxCrossEntropyGrad, SoftmaxCrossEntropyGrad);
  RegisterOp(kOpAdamUpdate, AdamUpdate);
  RegisterOp(kOpSgdUpdate, SgdUpdate);
  RegisterOp(kOpGather, Gather);
  RegisterOp(kOpGatherGrad, GatherGrad);
  RegisterOp(kOpAllFinite, AllFinite);
}

}  // namespace mnl
