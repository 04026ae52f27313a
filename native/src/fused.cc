// Fused kernels written as plain C++ loops (oneDNN has no primitive for them): softmax + sparse
// cross-entropy forward and gradient, the Adam/AdamW and SGD updates over every parameter in
// one call, and dropout with its mask drawn from an xoshiro128** stream.
//
// Constraints:
// - logits/probs (N,K) float32 row-major, labels (N) int32 in [0, K); loss is 1 float32.
//   Targets are smoothed: t = (1 - s) * onehot + s / K. Row sums accumulate in double.
// - Optimizer updates work in place on arrays of Float32Arrays (parameter i with gradient i and
//   its slots i, all the same length). Large tensors are split across OpenMP threads.
// - Dropout draws exactly src/util/random.ts's xoshiro128** outputs, in element order, from the
//   4-word state it is given and writes the advanced state back: the mask is bit-identical to the
//   js backend's and the JS generator resumes where the kernel stopped. Sequential by nature
//   (~1 ns per element); u < keep is compared in double, as in JS.
// - Update rules (Keras forms):
//   Adam:  m += (1-b1)(g-m); v += (1-b2)(g^2-v); p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v)+eps)
//          weight decay: AdamW p -= lr*wd*p before the step; otherwise L2, g += wd*p.
//   SGD:   g += wd*p; velocity = momentum*velocity - lr*g;
//          p += velocity (or, Nesterov, p += momentum*velocity - lr*g); momentum 0: p -= lr*g.
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

void SoftmaxCrossEntropy(const Napi::CallbackInfo &info) {
  // softmaxCrossEntropy(logits (N,K), labels (N), loss (1), probs (N,K), N, K, smoothing)
  const float *logits = F32(info, 0, "SoftmaxCrossEntropy logits");
  const int32_t *labels = I32(info, 1, "SoftmaxCrossEntropy labels");
  float *loss = F32(info, 2, "SoftmaxCrossEntropy loss");
  float *probs = F32(info, 3, "SoftmaxCrossEntropy probs");
  const int64_t N = Int(info, 4), K = Int(info, 5);
  const double smoothing = Num(info, 6);
  double total = 0;
  for (int64_t r = 0; r < N; r++) {
    CheckLabel(labels[r], K, r);
    total += SoftmaxRow(logits + r * K, probs + r * K, K, labels[r], smoothing);
  }
  loss[0] = static_cast<float>(N > 0 ? total / N : 0);
}

void SoftmaxCrossEntropyGrad(const Napi::CallbackInfo &info) {
  // softmaxCrossEntropyGrad(probs (N,K), labels (N), dlogits (N,K), dloss, N, K, smoothing)
  const float *probs = F32(info, 0, "SoftmaxCrossEntropyGrad probs");
  const int32_t *labels = I32(info, 1, "SoftmaxCrossEntropyGrad labels");
  float *dlogits = F32(info, 2, "SoftmaxCrossEntropyGrad dlogits");
  const double dloss = Num(info, 3);
  const int64_t N = Int(info, 4), K = Int(info, 5);
  const double smoothing = Num(info, 6);
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

/** Float32Array data pointers of a JS array of typed arrays, with their lengths. */
std::vector<View> Views(const Napi::CallbackInfo &info, size_t i, const char *what) {
  Napi::Array list = info[i].As<Napi::Array>();
  std::vector<View> views(list.Length());
  for (uint32_t k = 0; k < list.Length(); k++) {
    views[k] = ReadView(info.Env(), list.Get(k), what);
    if (views[k].type != napi_float32_array) throw std::runtime_error(std::string(what) + ": expected Float32Arrays");
  }
  return views;
}

void CheckSameLengths(const std::vector<View> &params, std::initializer_list<const std::vector<View> *> others,
                      const char *kernel) {
  for (const auto *other : others) {
    if (other->size() != params.size())
      throw std::runtime_error(std::string(kernel) + ": parameter and state lists differ in length");
    for (size_t k = 0; k < params.size(); k++)
      if ((*other)[k].length != params[k].length)
        throw std::runtime_error(std::string(kernel) + ": parameter " + std::to_string(k) +
                                 " and its gradient/state differ in length");
  }
}

constexpr int64_t kParallelThreshold = 1 << 15;

void AdamUpdate(const Napi::CallbackInfo &info) {
  // adamUpdate(params[], grads[], m[], v[], lr, beta1, beta2, epsilon, step, weightDecay, decoupled)
  auto params = Views(info, 0, "AdamUpdate params"), grads = Views(info, 1, "AdamUpdate grads");
  auto ms = Views(info, 2, "AdamUpdate m"), vs = Views(info, 3, "AdamUpdate v");
  CheckSameLengths(params, {&grads, &ms, &vs}, "AdamUpdate");
  const double lr = Num(info, 4), beta1 = Num(info, 5), beta2 = Num(info, 6), eps = Num(info, 7);
  const double step = Num(info, 8), weightDecay = Num(info, 9);
  const bool decoupled = Bool(info, 10);
  const float alpha = static_cast<float>(lr * std::sqrt(1 - std::pow(beta2, step)) / (1 - std::pow(beta1, step)));
  const float b1 = static_cast<float>(1 - beta1), b2 = static_cast<float>(1 - beta2), epsilon = static_cast<float>(eps);
  const float l2 = decoupled ? 0.f : static_cast<float>(weightDecay);
  const float shrink = decoupled ? static_cast<float>(1 - lr * weightDecay) : 1.f;
  for (size_t k = 0; k < params.size(); k++) {
    float *p = static_cast<float *>(params[k].data);
    const float *g = static_cast<const float *>(grads[k].data);
    float *m = static_cast<float *>(ms[k].data), *v = static_cast<float *>(vs[k].data);
    const int64_t n = static_cast<int64_t>(params[k].length);
#pragma omp parallel for if (n > kParallelThreshold) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      const float gi = g[i] + l2 * p[i];
      const float pi = p[i] * shrink;
      const float mi = m[i] + (gi - m[i]) * b1;
      const float vi = v[i] + (gi * gi - v[i]) * b2;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - alpha * mi / (std::sqrt(vi) + epsilon);
    }
  }
}

void SgdUpdate(const Napi::CallbackInfo &info) {
  // sgdUpdate(params[], grads[], velocity[], lr, momentum, nesterov, weightDecay)
  auto params = Views(info, 0, "SgdUpdate params"), grads = Views(info, 1, "SgdUpdate grads");
  auto velocity = Views(info, 2, "SgdUpdate velocity");
  const float lr = static_cast<float>(Num(info, 3)), momentum = static_cast<float>(Num(info, 4));
  const bool nesterov = Bool(info, 5);
  const float weightDecay = static_cast<float>(Num(info, 6));
  if (momentum != 0) CheckSameLengths(params, {&grads, &velocity}, "SgdUpdate");
  else CheckSameLengths(params, {&grads}, "SgdUpdate");
  for (size_t k = 0; k < params.size(); k++) {
    float *p = static_cast<float *>(params[k].data);
    const float *g = static_cast<const float *>(grads[k].data);
    float *vel = momentum != 0 ? static_cast<float *>(velocity[k].data) : nullptr;
    const int64_t n = static_cast<int64_t>(params[k].length);
#pragma omp parallel for if (n > kParallelThreshold) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      const float gi = g[i] + weightDecay * p[i];
      if (vel == nullptr) {
        p[i] -= lr * gi;
        continue;
      }
      const float vi = momentum * vel[i] - lr * gi;
      vel[i] = vi;
      p[i] += nesterov ? momentum * vi - lr * gi : vi;
    }
  }
}

inline uint32_t Rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

void Dropout(const Napi::CallbackInfo &info) {
  // dropout(x (n), y (n), mask (n), state Uint32Array(4), keep)
  View xv = ReadView(info.Env(), info[0], "Dropout x");
  const float *x = F32(info, 0, "Dropout x");
  float *y = F32(info, 1, "Dropout y");
  float *mask = F32(info, 2, "Dropout mask");
  if (ReadView(info.Env(), info[1], "Dropout y").length < xv.length ||
      ReadView(info.Env(), info[2], "Dropout mask").length < xv.length)
    throw std::runtime_error("Dropout: y and mask must hold as many elements as x");
  View sv = ReadView(info.Env(), info[3], "Dropout state");
  if (sv.type != napi_uint32_array || sv.length != 4)
    throw std::runtime_error("Dropout state: expected a Uint32Array of 4 words");
  uint32_t *state = static_cast<uint32_t *>(sv.data);
  const double keep = Num(info, 4);
  const float scale = static_cast<float>(1.0 / keep);
  // NOTE: for an integer r, r / 2^32 < keep  <=>  r < ceil(keep * 2^32) (the product is exact), so
  // the JS comparison becomes an integer one, evaluated without a branch: a data-dependent branch
  // mispredicts half the time at rate 0.5 and made the loop 4x slower.
  const uint64_t threshold = static_cast<uint64_t>(std::ceil(keep * 4294967296.0));
  uint32_t scaleBits;
  std::memcpy(&scaleBits, &scale, sizeof scaleBits);
  uint32_t s0 = state[0], s1 = state[1], s2 = state[2], s3 = state[3];
  const int64_t n = static_cast<int64_t>(xv.length);
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

}  // namespace

void RegisterFused(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "dropout", Dropout);
  Export(env, exports, "softmaxCrossEntropy", SoftmaxCrossEntropy);
  Export(env, exports, "softmaxCrossEntropyGrad", SoftmaxCrossEntropyGrad);
  Export(env, exports, "adamUpdate", AdamUpdate);
  Export(env, exports, "sgdUpdate", SgdUpdate);
}

}  // namespace mnl
