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

void BatchNorm(const Napi::CallbackInfo &info) {
  // batchNorm(x, gamma, beta, y, mean, invStd, outer, size, eps): training statistics
  float *x = F32(info, 0, "BatchNorm x"), *gamma = F32(info, 1, "BatchNorm gamma");
  float *beta = F32(info, 2, "BatchNorm beta"), *y = F32(info, 3, "BatchNorm y");
  float *mean = F32(info, 4, "BatchNorm mean"), *invStd = F32(info, 5, "BatchNorm invStd");
  const int64_t outer = Int(info, 6), size = Int(info, 7);
  const float eps = static_cast<float>(Num(info, 8));
  Key key;
  key.add(kBatchNormFwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(key, [&] {
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

void BatchNormGrad(const Napi::CallbackInfo &info) {
  // batchNormGrad(dy, x, gamma, mean, invStd, dx, dgamma, dbeta, outer, size, eps)
  float *dy = F32(info, 0, "BatchNormGrad dy"), *x = F32(info, 1, "BatchNormGrad x");
  float *gamma = F32(info, 2, "BatchNormGrad gamma"), *mean = F32(info, 3, "BatchNormGrad mean");
  float *invStd = F32(info, 4, "BatchNormGrad invStd"), *dx = F32(info, 5, "BatchNormGrad dx");
  float *dgamma = F32(info, 6, "BatchNormGrad dgamma"), *dbeta = F32(info, 7, "BatchNormGrad dbeta");
  const int64_t outer = Int(info, 8), size = Int(info, 9);
  const float eps = static_cast<float>(Num(info, 10));
  Key key;
  key.add(kBatchNormBwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(key, [&] {
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

void BatchNormInference(const Napi::CallbackInfo &info) {
  // batchNormInference(x, gamma, beta, mean, variance, y, outer, size, eps)
  float *x = F32(info, 0, "BatchNormInference x"), *gamma = F32(info, 1, "BatchNormInference gamma");
  float *beta = F32(info, 2, "BatchNormInference beta"), *mean = F32(info, 3, "BatchNormInference mean");
  float *variance = F32(info, 4, "BatchNormInference variance"), *y = F32(info, 5, "BatchNormInference y");
  const int64_t outer = Int(info, 6), size = Int(info, 7);
  const float eps = static_cast<float>(Num(info, 8));
  Key key;
  key.add(kBatchNormInfer).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(key, [&] {
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

void LayerNorm(const Napi::CallbackInfo &info) {
  // layerNorm(x, gamma, beta, y, mean (outer), invStd (outer), outer, size, eps)
  float *x = F32(info, 0, "LayerNorm x"), *gamma = F32(info, 1, "LayerNorm gamma");
  float *beta = F32(info, 2, "LayerNorm beta"), *y = F32(info, 3, "LayerNorm y");
  float *mean = F32(info, 4, "LayerNorm mean"), *invStd = F32(info, 5, "LayerNorm invStd");
  const int64_t outer = Int(info, 6), size = Int(info, 7);
  const float eps = static_cast<float>(Num(info, 8));
  Key key;
  key.add(kLayerNormFwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(key, [&] {
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

void LayerNormGrad(const Napi::CallbackInfo &info) {
  // layerNormGrad(dy, x, gamma, mean, invStd, dx, dgamma, dbeta, outer, size, eps)
  float *dy = F32(info, 0, "LayerNormGrad dy"), *x = F32(info, 1, "LayerNormGrad x");
  float *gamma = F32(info, 2, "LayerNormGrad gamma"), *mean = F32(info, 3, "LayerNormGrad mean");
  float *invStd = F32(info, 4, "LayerNormGrad invStd"), *dx = F32(info, 5, "LayerNormGrad dx");
  float *dgamma = F32(info, 6, "LayerNormGrad dgamma"), *dbeta = F32(info, 7, "LayerNormGrad dbeta");
  const int64_t outer = Int(info, 8), size = Int(info, 9);
  const float eps = static_cast<float>(Num(info, 10));
  Key key;
  key.add(kLayerNormBwd).add(outer).add(size).add(EpsBits(eps));
  auto &e = Cached<NormEntry>(key, [&] {
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

}  // namespace

void RegisterNorm(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "batchNorm", BatchNorm);
  Export(env, exports, "batchNormGrad", BatchNormGrad);
  Export(env, exports, "batchNormInference", BatchNormInference);
  Export(env, exports, "layerNorm", LayerNorm);
  Export(env, exports, "layerNormGrad", LayerNormGrad);
}

}  // namespace mnl
