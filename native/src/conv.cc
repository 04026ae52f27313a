// 2-D convolution on oneDNN: forward (+bias, optionally with a fused ReLU post-op), backward-data,
// backward-weights (optionally with the bias gradient, in the same native call).
//
// Constraints:
// - Activations are NHWC (x (N,H,W,C), y (N,OH,OW,O)), the kernel is HWIO (KH,KW,C,O) at the tensor
//   level, bias (O). Groups = 1. float32 only.
// - The kernel's format is chosen by oneDNN (format_tag::any) and the HWIO user buffer is reordered
//   into it on every call (weights change every step); the weight gradient is produced in oneDNN's
//   preferred format and reordered back to HWIO. Activations are never reordered.
// - Dilation follows the contract (1 = dense); oneDNN counts dilation from 0.
#include <algorithm>
#include <vector>

#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

struct ConvDescs {
  memory::desc src, weightsAny, weightsUser, dst, bias;
  Dims strides, dilates, padL, padR;
};

ConvDescs Describe(const Window &w) {
  ConvDescs d;
  d.src = memory::desc({w.N, w.C, w.H, w.W}, DT::f32, Tag::nhwc);
  d.dst = memory::desc({w.N, w.O, w.OH, w.OW}, DT::f32, Tag::nhwc);
  d.weightsAny = memory::desc({w.O, w.C, w.KH, w.KW}, DT::f32, Tag::any);
  d.weightsUser = memory::desc({w.O, w.C, w.KH, w.KW}, DT::f32, Tag::hwio);
  d.bias = memory::desc({w.O}, DT::f32, Tag::a);
  d.strides = {w.sH, w.sW};
  d.dilates = {w.dH - 1, w.dW - 1};
  d.padL = {w.pT, w.pL};
  d.padR = {w.pB, w.pR};
  return d;
}

convolution_forward::primitive_desc ForwardPd(const ConvDescs &d, bool withBias, bool relu = false) {
  auto desc = withBias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.src,
                                                   d.weightsAny, d.bias, d.dst, d.strides, d.dilates, d.padL, d.padR)
                       : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, d.src,
                                                   d.weightsAny, d.dst, d.strides, d.dilates, d.padL, d.padR);
  if (!relu) return convolution_forward::primitive_desc(desc, Engine());
  // ReLU as a post-op: applied to each output block while it is still in cache, no extra pass.
  post_ops ops;
  ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  primitive_attr attr;
  attr.set_post_ops(ops);
  return convolution_forward::primitive_desc(desc, attr, Engine());
}

/** The user's HWIO kernel and, when oneDNN prefers another format, a private copy plus a reorder. */
struct WeightsIn {
  memory user, internal;
  reorder toInternal;
  bool needsReorder = false;

  void Init(const memory::desc &userDesc, const memory::desc &wanted) {
    user = Unbound(userDesc);
    needsReorder = wanted != userDesc;
    if (needsReorder) {
      internal = memory(wanted, Engine());
      toInternal = reorder(user, internal);
    } else {
      internal = user;
    }
  }
  void Bind(void *data) {
    user.set_data_handle(data);
    if (needsReorder) toInternal.execute(Stream(), user, internal);
  }
};

struct ConvForward : Entry {
  convolution_forward conv;
  WeightsIn weights;
  memory src, dst, bias;
  ArgMap args;
};

void Conv2D(const Napi::CallbackInfo &info) {
  // conv2d(x (N,H,W,C), w (KH,KW,C,O), bias (O) | null, y (N,OH,OW,O), geometry Int32Array[17], relu)
  float *x = F32(info, 0, "Conv2D x");
  float *w = F32(info, 1, "Conv2D w");
  const bool withBias = !info[2].IsNull() && !info[2].IsUndefined();
  float *bias = withBias ? F32(info, 2, "Conv2D bias") : nullptr;
  float *y = F32(info, 3, "Conv2D y");
  const Window g = Window::Read(Ints(info, 4, "Conv2D geometry"), true);
  const bool relu = info.Length() > 5 && info[5].IsBoolean() && Bool(info, 5);
  Key key;
  key.add(kConvFwd).add(withBias ? 1 : 0).add(relu ? 1 : 0);
  g.AddTo(key);
  auto &e = Cached<ConvForward>(key, [&] {
    auto entry = std::make_unique<ConvForward>();
    const ConvDescs d = Describe(g);
    auto pd = ForwardPd(d, withBias, relu);
    entry->conv = convolution_forward(pd);
    entry->weights.Init(d.weightsUser, pd.weights_desc());
    entry->src = Unbound(pd.src_desc());
    entry->dst = Unbound(pd.dst_desc());
    entry->args = {{DNNL_ARG_SRC, entry->src}, {DNNL_ARG_WEIGHTS, entry->weights.internal}, {DNNL_ARG_DST, entry->dst}};
    if (withBias) {
      entry->bias = Unbound(d.bias);
      entry->args[DNNL_ARG_BIAS] = entry->bias;
    }
    return entry;
  });
  e.weights.Bind(w);
  e.src.set_data_handle(x);
  e.dst.set_data_handle(y);
  if (withBias) e.bias.set_data_handle(bias);
  e.conv.execute(Stream(), e.args);
}

struct ConvBackwardData : Entry {
  convolution_backward_data conv;
  WeightsIn weights;
  memory diffDst, diffSrc;
  ArgMap args;
};

void Conv2DBackpropInput(const Napi::CallbackInfo &info) {
  // conv2dBackpropInput(dy (N,OH,OW,O), w (KH,KW,C,O), dx (N,H,W,C), geometry)
  float *dy = F32(info, 0, "Conv2DBackpropInput dy");
  float *w = F32(info, 1, "Conv2DBackpropInput w");
  float *dx = F32(info, 2, "Conv2DBackpropInput dx");
  const Window g = Window::Read(Ints(info, 3, "Conv2DBackpropInput geometry"), true);
  Key key;
  key.add(kConvBwdData);
  g.AddTo(key);
  auto &e = Cached<ConvBackwardData>(key, [&] {
    auto entry = std::make_unique<ConvBackwardData>();
    const ConvDescs d = Describe(g);
    auto hint = ForwardPd(d, false);
    convolution_backward_data::desc desc(algorithm::convolution_direct, d.src, d.weightsAny, d.dst, d.strides,
                                         d.dilates, d.padL, d.padR);
    convolution_backward_data::primitive_desc pd(desc, Engine(), hint);
    entry->conv = convolution_backward_data(pd);
    entry->weights.Init(d.weightsUser, pd.weights_desc());
    entry->diffDst = Unbound(pd.diff_dst_desc());
    entry->diffSrc = Unbound(pd.diff_src_desc());
    entry->args = {{DNNL_ARG_DIFF_DST, entry->diffDst},
                   {DNNL_ARG_WEIGHTS, entry->weights.internal},
                   {DNNL_ARG_DIFF_SRC, entry->diffSrc}};
    return entry;
  });
  e.weights.Bind(w);
  e.diffDst.set_data_handle(dy);
  e.diffSrc.set_data_handle(dx);
  e.conv.execute(Stream(), e.args);
}

/** sum[o] = sum over `count` rows of rows[r * O + o]; restrict lets the compiler vectorise over o. */
void SumRowBlock(const float *__restrict rows, int64_t count, int64_t O, float *__restrict sum) {
  for (int64_t o = 0; o < O; o++) sum[o] = 0.f;
  for (int64_t r = 0; r < count; r++)
    for (int64_t o = 0; o < O; o++) sum[o] += rows[r * O + o];
}

/**
 * dbias (O) = column sums of dy viewed as (rows, O): blocks of 64 rows in float, blocks accumulated
 * in double; rows split across the OpenMP team. NOTE: not oneDNN's diff_bias: with it,
 * backward-weights for the cnn recipe's conv1 (1 input channel) measured 10x slower (another
 * implementation is chosen).
 */
void BiasGradient(const float *dy, float *dbias, int64_t rows, int64_t O) {
  constexpr int64_t kBlock = 64;
  std::vector<double> partial;
#pragma omp parallel
  {
#if defined(_OPENMP)
    const int threads = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int threads = 1, t = 0;
#endif
#pragma omp single
    partial.assign(static_cast<size_t>(threads * O), 0.0);
    double *acc = partial.data() + t * O;
    const int64_t begin = rows * t / threads, end = rows * (t + 1) / threads;
    std::vector<float> block(static_cast<size_t>(O));
    for (int64_t r0 = begin; r0 < end; r0 += kBlock) {
      SumRowBlock(dy + r0 * O, std::min(kBlock, end - r0), O, block.data());
      for (int64_t o = 0; o < O; o++) acc[o] += static_cast<double>(block[static_cast<size_t>(o)]);
    }
  }
  const int64_t threads = static_cast<int64_t>(partial.size()) / O;
  for (int64_t o = 0; o < O; o++) {
    double v = 0;
    for (int64_t t = 0; t < threads; t++) v += partial[static_cast<size_t>(t * O + o)];
    dbias[o] = static_cast<float>(v);
  }
}

struct ConvBackwardWeights : Entry {
  convolution_backward_weights conv;
  memory src, diffDst, diffWeights, user;
  reorder toUser;
  bool needsReorder = false;
  ArgMap args;
};

void Conv2DBackpropFilter(const Napi::CallbackInfo &info) {
  // conv2dBackpropFilter(x (N,H,W,C), dy (N,OH,OW,O), dw (KH,KW,C,O), geometry, dbias (O) | null)
  float *x = F32(info, 0, "Conv2DBackpropFilter x");
  float *dy = F32(info, 1, "Conv2DBackpropFilter dy");
  float *dw = F32(info, 2, "Conv2DBackpropFilter dw");
  const Window g = Window::Read(Ints(info, 3, "Conv2DBackpropFilter geometry"), true);
  const bool withBias = info.Length() > 4 && !info[4].IsNull() && !info[4].IsUndefined();
  float *dbias = withBias ? F32(info, 4, "Conv2DBackpropFilterBias dbias") : nullptr;
  Key key;
  key.add(kConvBwdWeights);
  g.AddTo(key);
  auto &e = Cached<ConvBackwardWeights>(key, [&] {
    auto entry = std::make_unique<ConvBackwardWeights>();
    const ConvDescs d = Describe(g);
    auto hint = ForwardPd(d, false);
    convolution_backward_weights::desc desc(algorithm::convolution_direct, d.src, d.weightsAny, d.dst, d.strides,
                                            d.dilates, d.padL, d.padR);
    convolution_backward_weights::primitive_desc pd(desc, Engine(), hint);
    entry->conv = convolution_backward_weights(pd);
    entry->src = Unbound(pd.src_desc());
    entry->diffDst = Unbound(pd.diff_dst_desc());
    entry->user = Unbound(d.weightsUser);
    entry->needsReorder = pd.diff_weights_desc() != d.weightsUser;
    if (entry->needsReorder) {
      entry->diffWeights = memory(pd.diff_weights_desc(), Engine());
      entry->toUser = reorder(entry->diffWeights, entry->user);
    } else {
      entry->diffWeights = entry->user;
    }
    entry->args = {{DNNL_ARG_SRC, entry->src},
                   {DNNL_ARG_DIFF_DST, entry->diffDst},
                   {DNNL_ARG_DIFF_WEIGHTS, entry->diffWeights}};
    return entry;
  });
  e.src.set_data_handle(x);
  e.diffDst.set_data_handle(dy);
  e.user.set_data_handle(dw);
  e.conv.execute(Stream(), e.args);
  if (e.needsReorder) e.toUser.execute(Stream(), e.diffWeights, e.user);
  if (withBias) BiasGradient(dy, dbias, g.N * g.OH * g.OW, g.O);
}

}  // namespace

void RegisterConv(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "conv2d", Conv2D);
  Export(env, exports, "conv2dBackpropInput", Conv2DBackpropInput);
  Export(env, exports, "conv2dBackpropFilter", Conv2DBackpropFilter);
}

}  // namespace mnl
