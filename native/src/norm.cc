// Batch normalisation and layer normalisation, forward and backward.
//
// Constraints:
// - Data is an (outer, size) row-major view: batch norm has per-column statistics (size = channels
//   of NHWC, outer = N*H*W), layer norm per-row statistics (outer rows of `size` features). gamma
//   and beta are (size) in both. float32 only.
// - Batch norm in training (statistics and backward) is plain loops accumulating in double, as the
//   js kernel does: its sums run over N*H*W rows (100K at the resnet stem), where oneDNN's single
//   float32 accumulator lost ~1e-3 of the variance. Inference (stored statistics, no sums) and
//   layer norm (sums over a row's few features) run on oneDNN.
// - The contract carries invStd = 1/sqrt(var + eps) where oneDNN carries the biased variance, so
//   layer norm's forward converts variance -> invStd in the output buffer, and its backward converts
//   back into a private buffer: var = 1/invStd^2 - eps (computed in double; exact to float rounding).
// - oneDNN 2.6 backward primitives with use_shift require a SHIFT argument they never read; the
//   contract's gradients take no beta, so a zero buffer owned by the cache entry stands in.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

const normalization_flags kAffine = normalization_flags::use_scale | normalization_flags::use_shift;

void VarianceToInvStd(float *v, int64_t n, float eps) {
  for (int64_t i = 0; i < n; i++) v[i] = static_cast<float>(1.0 / std::sqrt(static_cast<double>(v[i]) + eps));
}

void InvStdToVariance(const float *s, float *v, int64_t n, float eps) {
  for (int64_t i = 0; i < n; i++) {
    const double inv = s[i];
    v[i] = static_cast<float>(1.0 / (inv * inv) - eps);
  }
}

int64_t EpsBits(float eps) {
  int32_t bits;
  std::memcpy(&bits, &eps, sizeof bits);
  return bits;
}

/** One entry type for every normalisation primitive: memories in a fixed role order. */
struct NormEntry : Entry {
  primitive prim;
  std::vector<memory> mems;
  std::vector<float> variance;  // backward only: variance rebuilt from invStd
  std::vector<float> shift;     // backward only: oneDNN 2.6 asks for SHIFT though the gradient ignores it
  ArgMap args;

  void Bind(std::initializer_list<void *> data) {
    size_t i = 0;
    for (void *d : data) mems[i++].set_data_handle(d);
  }
};

/** Creates unbound memories for (arg, desc) pairs in order and wires them into args. */
void Wire(NormEntry &e, std::initializer_list<std::pair<int, memory::desc>> roles) {
  for (const auto &role : roles) {
    e.mems.push_back(Unbound(role.second));
    e.args[role.first] = e.mems.back();
  }
}

/**
 * Sums per column of an (outer, size) row-major view in double: body(rowBegin, rowEnd, acc) adds
 * its rows' terms into `width` accumulators. Rows are split over the OpenMP team (each thread
 * sums its rows into its own partial), then the partials are added in thread order.
 */
template <typename Body>
std::vector<double> ColumnSums(int64_t outer, int64_t width, int64_t elements, Body &&body) {
  int64_t threads = 1;
#if defined(_OPENMP)
  if (!IsSmallWork(elements)) threads = std::min<int64_t>(omp_get_max_threads(), outer);
#endif
  std::vector<double> partial(static_cast<size_t>(std::max<int64_t>(threads, 1) * width), 0.0);
#pragma omp parallel num_threads(static_cast<int>(threads)) if (threads > 1)
  {
#if defined(_OPENMP)
    const int64_t team = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int64_t team = 1, t = 0;
#endif
    body(outer * t / team, outer * (t + 1) / team, partial.data() + t * width);
  }
  std::vector<double> sums(static_cast<size_t>(width), 0.0);
  for (int64_t t = 0; t < threads; t++)
    for (int64_t w = 0; w < width; w++) sums[w] += partial[t * width + w];
  return sums;
}

void BatchNorm(const Op &op) {
  // buffers: x, gamma, beta, y, mean, invStd; ints: outer, size; floats: eps. Training statistics.
  // Plain loops, not oneDNN: its batch norm sums a channel's N*H*W values in one float32
  // accumulator, which at the resnet stem's 100K rows loses ~1e-3 of the variance (the backward
  // pass then turns that into gradients a few percent off). Here, as in the js kernel, the mean
  // and the biased variance (a second pass) accumulate in double.
  const float *x = op.F(0), *gamma = op.F(1), *beta = op.F(2);
  float *y = op.F(3), *mean = op.F(4), *invStd = op.F(5);
  const int64_t outer = op.Int(0), size = op.Int(1), elements = outer * size;
  const double eps = op.Float(0);
  const std::vector<double> sums = ColumnSums(outer, size, elements, [&](int64_t begin, int64_t end, double *acc) {
    for (int64_t r = begin; r < end; r++) {
      const float *row = x + r * size;
      for (int64_t j = 0; j < size; j++) acc[j] += row[j];
    }
  });
  std::vector<double> mu(static_cast<size_t>(size));
  for (int64_t j = 0; j < size; j++) mu[j] = sums[j] / static_cast<double>(outer);
  const std::vector<double> squares = ColumnSums(outer, size, elements, [&](int64_t begin, int64_t end, double *acc) {
    for (int64_t r = begin; r < end; r++) {
      const float *row = x + r * size;
      for (int64_t j = 0; j < size; j++) {
        const double d = row[j] - mu[j];
        acc[j] += d * d;
      }
    }
  });
  std::vector<double> inv(static_cast<size_t>(size));
  for (int64_t j = 0; j < size; j++) {
    inv[j] = 1.0 / std::sqrt(squares[j] / static_cast<double>(outer) + eps);
    mean[j] = static_cast<float>(mu[j]);
    invStd[j] = static_cast<float>(inv[j]);
  }
#pragma omp parallel for if (!IsSmallWork(elements)) schedule(static)
  for (int64_t r = 0; r < outer; r++) {
    const float *row = x + r * size;
    float *out = y + r * size;
    for (int64_t j = 0; j < size; j++)
      out[j] = static_cast<float>(static_cast<double>(gamma[j]) * (row[j] - mu[j]) * inv[j] + beta[j]);
  }
}

void BatchNormGrad(const Op &op) {
  // buffers: dy, x, gamma, mean, invStd, dx, dgamma, dbeta; ints: outer, size; floats: eps (unused:
  // invStd carries it). Per column, xhat = (x - mean) invStd, sums in double as in the js kernel:
  //   dbeta = sum dy,  dgamma = sum dy * xhat,  dx = gamma invStd / outer (outer dy - dbeta - xhat dgamma).
  const float *dy = op.F(0), *x = op.F(1), *gamma = op.F(2), *mean = op.F(3), *invStd = op.F(4);
  float *dx = op.F(5), *dgamma = op.F(6), *dbeta = op.F(7);
  const int64_t outer = op.Int(0), size = op.Int(1), elements = outer * size;
  const std::vector<double> sums = ColumnSums(outer, 2 * size, elements, [&](int64_t begin, int64_t end, double *acc) {
    for (int64_t r = begin; r < end; r++) {
      const float *g = dy + r * size, *row = x + r * size;
      for (int64_t j = 0; j < size; j++) {
        acc[j] += g[j];
        acc[size + j] += static_cast<double>(g[j]) * (static_cast<double>(row[j]) - mean[j]) * invStd[j];
      }
    }
  });
  for (int64_t j = 0; j < size; j++) {
    dbeta[j] = static_cast<float>(sums[j]);
    dgamma[j] = static_cast<float>(sums[size + j]);
  }
  const double n = static_cast<double>(outer);
#pragma omp parallel for if (!IsSmallWork(elements)) schedule(static)
  for (int64_t r = 0; r < outer; r++) {
    const float *g = dy + r * size, *row = x + r * size;
    float *out = dx + r * size;
    for (int64_t j = 0; j < size; j++) {
      const double inv = invStd[j];
      const double xhat = (static_cast<double>(row[j]) - mean[j]) * inv;
      out[j] = static_cast<float>(static_cast<double>(gamma[j]) * inv / n *
                                  (n * g[j] - sums[j] - xhat * sums[size + j]));
    }
  }
}

void BatchNormInference(const Op &op) {
  // buffers: x, gamma, beta, mean, variance, y; ints: outer, size; floats: eps
  float *x = op.F(0), *gamma = op.F(1), *beta = op.F(2), *mean = op.F(3), *variance = op.F(4), *y = op.F(5);
  const int64_t outer = op.Int(0), size = op.Int(1);
  const float eps = static_cast<float>(op.Float(0));
  Key key;
  key.add(kBatchNormInfer).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(op, key, [&] {
    auto entry = std::make_unique<NormEntry>();
    const memory::desc data({outer, size}, DT::f32, Tag::nc), stat({size}, DT::f32, Tag::a);
    batch_normalization_forward::primitive_desc pd(
        batch_normalization_forward::desc(prop_kind::forward_inference, data, eps,
                                          kAffine | normalization_flags::use_global_stats),
        Engine());
    entry->prim = batch_normalization_forward(pd);
    Wire(*entry, {{DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, stat}, {DNNL_ARG_SHIFT, stat}, {DNNL_ARG_MEAN, stat},
                  {DNNL_ARG_VARIANCE, stat}, {DNNL_ARG_DST, data}});
    return entry;
  });
  e.Bind({x, gamma, beta, mean, variance, y});
  e.prim.execute(Stream(), e.args);
}

void LayerNorm(const Op &op) {
  // buffers: x, gamma, beta, y, mean (outer), invStd (outer); ints: outer, size; floats: eps
  float *x = op.F(0), *gamma = op.F(1), *beta = op.F(2), *y = op.F(3), *mean = op.F(4), *invStd = op.F(5);
  const int64_t outer = op.Int(0), size = op.Int(1);
  const float eps = static_cast<float>(op.Float(0));
  Key key;
  key.add(kLayerNormFwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(op, key, [&] {
    auto entry = std::make_unique<NormEntry>();
    const memory::desc data({outer, size}, DT::f32, Tag::ab), stat({outer}, DT::f32, Tag::a);
    const memory::desc affine({size}, DT::f32, Tag::a);
    layer_normalization_forward::primitive_desc pd(
        layer_normalization_forward::desc(prop_kind::forward_training, data, stat, eps, kAffine), Engine());
    entry->prim = layer_normalization_forward(pd);
    Wire(*entry, {{DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, affine}, {DNNL_ARG_SHIFT, affine}, {DNNL_ARG_DST, data},
                  {DNNL_ARG_MEAN, stat}, {DNNL_ARG_VARIANCE, stat}});
    return entry;
  });
  e.Bind({x, gamma, beta, y, mean, invStd});
  e.prim.execute(Stream(), e.args);
  VarianceToInvStd(invStd, outer, eps);
}

void LayerNormGrad(const Op &op) {
  // buffers: dy, x, gamma, mean, invStd, dx, dgamma, dbeta; ints: outer, size; floats: eps
  float *dy = op.F(0), *x = op.F(1), *gamma = op.F(2), *mean = op.F(3), *invStd = op.F(4);
  float *dx = op.F(5), *dgamma = op.F(6), *dbeta = op.F(7);
  const int64_t outer = op.Int(0), size = op.Int(1);
  const float eps = static_cast<float>(op.Float(0));
  Key key;
  key.add(kLayerNormBwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(op, key, [&] {
    auto entry = std::make_unique<NormEntry>();
    const memory::desc data({outer, size}, DT::f32, Tag::ab), stat({outer}, DT::f32, Tag::a);
    const memory::desc affine({size}, DT::f32, Tag::a);
    layer_normalization_forward::primitive_desc hint(
        layer_normalization_forward::desc(prop_kind::forward_training, data, stat, eps, kAffine), Engine());
    layer_normalization_backward::primitive_desc pd(
        layer_normalization_backward::desc(prop_kind::backward, data, data, stat, eps, kAffine), Engine(), hint);
    entry->prim = layer_normalization_backward(pd);
    entry->variance.resize(static_cast<size_t>(outer));
    entry->shift.assign(static_cast<size_t>(size), 0.f);
    Wire(*entry, {{DNNL_ARG_DIFF_DST, data}, {DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, affine}, {DNNL_ARG_MEAN, stat},
                  {DNNL_ARG_VARIANCE, stat}, {DNNL_ARG_DIFF_SRC, data}, {DNNL_ARG_DIFF_SCALE, affine},
                  {DNNL_ARG_DIFF_SHIFT, affine}, {DNNL_ARG_SHIFT, affine}});
    return entry;
  });
  InvStdToVariance(invStd, e.variance.data(), outer, eps);
  e.Bind({dy, x, gamma, mean, e.variance.data(), dx, dgamma, dbeta, e.shift.data()});
  e.prim.execute(Stream(), e.args);
}

/**
 * Keras moving statistics, in place, from a training batch's mean and invStd (double arithmetic,
 * as the js kernel): moving = moving * momentum + batch * (1 - momentum), with the batch variance
 * max(1 / invStd^2 - eps, 0).
 */
void BatchNormMovingUpdate(const Op &op) {
  // buffers: movingMean (size), movingVariance (size), batchMean (size), invStd (size); ints: size;
  // floats: momentum, eps
  float *movingMean = op.F(0), *movingVariance = op.F(1);
  const float *batchMean = op.F(2), *invStd = op.F(3);
  const int64_t size = op.Int(0);
  const double momentum = op.Float(0), eps = op.Float(1);
  for (int64_t c = 0; c < size; c++) {
    const double s = invStd[c];
    const double variance = std::max(1 / (s * s) - eps, 0.0);
    movingMean[c] = static_cast<float>(movingMean[c] * momentum + batchMean[c] * (1 - momentum));
    movingVariance[c] = static_cast<float>(movingVariance[c] * momentum + variance * (1 - momentum));
  }
}

}  // namespace

void RegisterNorm(Napi::Env, Napi::Object) {
  RegisterOp(kOpBatchNorm, BatchNorm);
  RegisterOp(kOpBatchNormGrad, BatchNormGrad);
  RegisterOp(kOpBatchNormInference, BatchNormInference);
  RegisterOp(kOpLayerNorm, LayerNorm);
  RegisterOp(kOpLayerNormGrad, LayerNormGrad);
  RegisterOp(kOpBatchNormMovingUpdate, BatchNormMovingUpdate);
}

}  // namespace mnl
