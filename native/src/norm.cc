// Batch normalisation and layer normalisation on oneDNN, forward and backward.
//
// Constraints:
// - Data is an (outer, size) row-major view: batch norm has per-column statistics (size = channels
//   of NHWC, outer = N*H*W), layer norm per-row statistics (outer rows of `size` features). gamma
//   and beta are (size) in both. float32 only.
// - The contract carries invStd = 1/sqrt(var + eps) where oneDNN carries the biased variance, so
//   the forward converts variance -> invStd in the output buffer, and the backward converts back
//   into a private buffer: var = 1/invStd^2 - eps (computed in double; exact to float rounding).
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

void BatchNorm(const Op &op) {
  // buffers: x, gamma, beta, y, mean, invStd; ints: outer, size; floats: eps. Training statistics.
  float *x = op.F(0), *gamma = op.F(1), *beta = op.F(2), *y = op.F(3), *mean = op.F(4), *invStd = op.F(5);
  const int64_t outer = op.Int(0), size = op.Int(1);
  const float eps = static_cast<float>(op.Float(0));
  Key key;
  key.add(kBatchNormFwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(op, key, [&] {
    auto entry = std::make_unique<NormEntry>();
    const memory::desc data({outer, size}, DT::f32, Tag::nc), stat({size}, DT::f32, Tag::a);
    batch_normalization_forward::primitive_desc pd(
        batch_normalization_forward::desc(prop_kind::forward_training, data, eps, kAffine), Engine());
    entry->prim = batch_normalization_forward(pd);
    Wire(*entry, {{DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, stat}, {DNNL_ARG_SHIFT, stat}, {DNNL_ARG_DST, data},
                  {DNNL_ARG_MEAN, stat}, {DNNL_ARG_VARIANCE, stat}});
    return entry;
  });
  e.Bind({x, gamma, beta, y, mean, invStd});
  e.prim.execute(Stream(), e.args);
  VarianceToInvStd(invStd, size, eps);
}

void BatchNormGrad(const Op &op) {
  // buffers: dy, x, gamma, mean, invStd, dx, dgamma, dbeta; ints: outer, size; floats: eps
  float *dy = op.F(0), *x = op.F(1), *gamma = op.F(2), *mean = op.F(3), *invStd = op.F(4);
  float *dx = op.F(5), *dgamma = op.F(6), *dbeta = op.F(7);
  const int64_t outer = op.Int(0), size = op.Int(1);
  const float eps = static_cast<float>(op.Float(0));
  Key key;
  key.add(kBatchNormBwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(op, key, [&] {
    auto entry = std::make_unique<NormEntry>();
    const memory::desc data({outer, size}, DT::f32, Tag::nc), stat({size}, DT::f32, Tag::a);
    batch_normalization_forward::primitive_desc hint(
        batch_normalization_forward::desc(prop_kind::forward_training, data, eps, kAffine), Engine());
    batch_normalization_backward::primitive_desc pd(
        batch_normalization_backward::desc(prop_kind::backward, data, data, eps, kAffine), Engine(), hint);
    entry->prim = batch_normalization_backward(pd);
    entry->variance.resize(static_cast<size_t>(size));
    entry->shift.assign(static_cast<size_t>(size), 0.f);
    Wire(*entry, {{DNNL_ARG_DIFF_DST, data}, {DNNL_ARG_SRC, data}, {DNNL_ARG_SCALE, stat}, {DNNL_ARG_MEAN, stat},
                  {DNNL_ARG_VARIANCE, stat}, {DNNL_ARG_DIFF_SRC, data}, {DNNL_ARG_DIFF_SCALE, stat},
                  {DNNL_ARG_DIFF_SHIFT, stat}, {DNNL_ARG_SHIFT, stat}});
    return entry;
  });
  InvStdToVariance(invStd, e.variance.data(), size, eps);
  e.Bind({dy, x, gamma, mean, e.variance.data(), dx, dgamma, dbeta, e.shift.data()});
  e.prim.execute(Stream(), e.args);
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
