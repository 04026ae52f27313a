// 2-D convolution on oneDNN: forward (+bias, optionally with a fused ReLU post-op), backward-data,
// backward-weights (optionally with the bias gradient, in the same native call).
//
// Constraints:
// - Activations are NHWC (x (N,H,W,C), y (N,OH,OW,O)), the kernel is HWIO (KH,KW,C,O) at the tensor
//   level, bias (O). Groups = 1. float32 only.
// - The kernel's format is chosen by oneDNN (format_tag::any) and the HWIO user buffer is reordered
//   into it on every call (weights change every step); the weight gradient is produced in oneDNN's
//   preferred format and reordered back to HWIO.
// - Algorithm (fixed per geometry, so results are bit-for-bit repeatable run to run):
//   - Winograd F(4x4, 3x3) for the forward and backward-weights of 3x3, stride-1 convolutions with
//     channel counts that are multiples of 16 and enough output tiles (WinogradFits). It needs
//     blocked activations (nChw16c): the NHWC user buffers are reordered in and out inside the call
//     (~0.05 ms each for the cnn recipe's conv2, against ~0.8 ms saved per primitive). Measured on
//     the cnn recipe's conv2 (batch 128, 1 thread): forward 2.0 ms instead of 3.2 (brgconv),
//     backward-weights 2.1 instead of 3.7-4.0. Its error is ~2e-6 of the output's magnitude.
//     Backward-data stays direct: its Winograd form measured slower (4.6 ms against 3.5).
//     MNIST_LAB_CONV_WINOGRAD=0 turns Winograd off (direct everywhere), for A/B runs.
//   - Direct otherwise, on NHWC activations, no activation reorders. For a forward with one input
//     channel (the first layer on images) the jit:avx512_core implementation is preferred over
//     brgconv, which oneDNN lists first: measured 0.40 ms against 0.70 for the cnn recipe's conv1.
//     A small backward-weights with one input channel runs on one thread (BackwardWeightsOnOneThread).
// - Dilation follows the contract (1 = dense); oneDNN counts dilation from 0.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

/**
 * The descriptors of one geometry. src/dst/weightsUser: the caller's float32 buffers. srcOp,
 * diffDstOp, weightsAny: what the primitives read, in the op's precision (bf16: bfloat16 operands;
 * the float32 buffers are converted by the Staged reorders). diffWeightsAny: the float32 weight
 * gradient (accumulated in float32 either way).
 */
struct ConvDescs {
  memory::desc src, dst, srcAny, dstAny, srcOp, diffDstOp, weightsAny, diffWeightsAny, weightsUser, bias;
  Dims strides, dilates, padL, padR;
};

ConvDescs Describe(const Window &w, bool bf16) {
  const DT op = bf16 ? DT::bf16 : DT::f32;
  ConvDescs d;
  d.src = memory::desc({w.N, w.C, w.H, w.W}, DT::f32, Tag::nhwc);
  d.dst = memory::desc({w.N, w.O, w.OH, w.OW}, DT::f32, Tag::nhwc);
  d.srcAny = memory::desc({w.N, w.C, w.H, w.W}, DT::f32, Tag::any);
  d.dstAny = memory::desc({w.N, w.O, w.OH, w.OW}, DT::f32, Tag::any);
  d.srcOp = memory::desc({w.N, w.C, w.H, w.W}, op, Tag::nhwc);
  d.diffDstOp = memory::desc({w.N, w.O, w.OH, w.OW}, op, Tag::nhwc);
  d.weightsAny = memory::desc({w.O, w.C, w.KH, w.KW}, op, Tag::any);
  d.diffWeightsAny = memory::desc({w.O, w.C, w.KH, w.KW}, DT::f32, Tag::any);
  d.weightsUser = memory::desc({w.O, w.C, w.KH, w.KW}, DT::f32, Tag::hwio);
  d.bias = memory::desc({w.O}, DT::f32, Tag::a);
  d.strides = {w.sH, w.sW};
  d.dilates = {w.dH - 1, w.dW - 1};
  d.padL = {w.pT, w.pL};
  d.padR = {w.pB, w.pR};
  return d;
}

/** Whether the forward and backward-weights of this geometry run as Winograd F(4x4, 3x3). */
bool WinogradFits(const Window &w) {
  static const bool enabled = [] {
    const char *v = std::getenv("MNIST_LAB_CONV_WINOGRAD");
    return v == nullptr || std::string(v) != "0";
  }();
  // Below ~64 output tiles of 4x4 the transforms cost more than they save (batch 4 of the cnn
  // recipe's conv2: even; batch 8: Winograd 20% faster).
  const int64_t tiles = w.N * ((w.OH + 3) / 4) * ((w.OW + 3) / 4);
  return enabled && w.KH == 3 && w.KW == 3 && w.sH == 1 && w.sW == 1 && w.dH == 1 && w.dW == 1 && w.C % 16 == 0 &&
         w.O % 16 == 0 && tiles >= 64;
}

/**
 * Whether a convolution asked for bfloat16 computes in it. Where the bfloat16 kernels are slower on
 * avx512_core_bf16 it stays float32 (the request is mixed precision, and float32 is the exact
 * case of it). Measured (2 threads, batch 128/256, ms):
 * - one input channel (the first layer on images: pairs of channels are what bf16 dot products
 *   multiply, so C = 1 wastes half): cnn conv1 forward 0.80 -> 1.11, backward-weights 0.92 -> 1.08;
 *   fast conv1 (5x5) forward 1.0 -> 1.4, backward-weights 1.6 -> 2.3. Below 16 channels: float32.
 * - backward-weights where Winograd fits (cnn conv2): Winograd f32 1.24, bf16 direct 1.43: float32.
 * - the rest gains: cnn conv2 forward 1.39 (Winograd) -> 0.97, backward-data 1.66 -> 0.97; fast
 *   conv2 (C 24) forward 1.21 -> 0.89, backward-data 1.40 -> 0.79, backward-weights 1.47 -> 1.17.
 */
bool ComputesInBf16(const Window &g, bool requested, bool backwardWeights) {
  return requested && g.C >= 16 && !(backwardWeights && WinogradFits(g));
}

/** True when oneDNN has no implementation for a descriptor (then the caller falls back). */
bool Unimplemented(const dnnl::error &e) { return e.status == dnnl_unimplemented; }

/**
 * Moves `pd` to the first implementation whose name starts with `prefix`; stays on oneDNN's first
 * choice when none does. NOTE: only while the op descriptor and attributes `pd` was made from are
 * alive: oneDNN 2.6's implementation iterator refers to them (after they die it skips to ref:any).
 */
template <typename PrimitiveDesc>
PrimitiveDesc Prefer(PrimitiveDesc pd, const char *prefix) {
  PrimitiveDesc probe = pd;
  do {
    if (std::string(probe.impl_info_str()).rfind(prefix, 0) == 0) return probe;
  } while (probe.next_impl());
  return pd;
}

convolution_forward::primitive_desc ForwardPd(const ConvDescs &d, bool withBias, bool relu, bool winograd) {
  const algorithm alg = winograd ? algorithm::convolution_winograd : algorithm::convolution_direct;
  const memory::desc &src = winograd ? d.srcAny : d.srcOp, &dst = winograd ? d.dstAny : d.dst;
  auto desc = withBias ? convolution_forward::desc(prop_kind::forward_training, alg, src, d.weightsAny, d.bias, dst,
                                                   d.strides, d.dilates, d.padL, d.padR)
                       : convolution_forward::desc(prop_kind::forward_training, alg, src, d.weightsAny, dst,
                                                   d.strides, d.dilates, d.padL, d.padR);
  primitive_attr attr;
  if (relu) {
    // ReLU as a post-op: applied to each output block while it is still in cache, no extra pass.
    post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  convolution_forward::primitive_desc pd(desc, attr, Engine());
  // One input channel: brgconv spends its time on a 1-deep reduction; the plain jit kernel is ~2x faster.
  if (!winograd && d.src.dims()[1] == 1) return Prefer(pd, "jit:");
  return pd;
}

/** Base of the cached convolutions: what ran (convImplementations(): benchmarks, tests), and where. */
struct ConvEntry : Entry {
  std::string description;
  /** Created and executed on one thread (small work; see IsSmallCompute). */
  bool oneThread = false;
};

/** "forward jit_wino_4x3:avx512_core N128 H13 W13 C32 -> O64 3x3 stride 1". */
std::string Summary(const char *kind, const std::string &impl, const Window &g) {
  return std::string(kind) + " " + impl + " N" + std::to_string(g.N) + " H" + std::to_string(g.H) + " W" +
         std::to_string(g.W) + " C" + std::to_string(g.C) + " -> O" + std::to_string(g.O) + " " +
         std::to_string(g.KH) + "x" + std::to_string(g.KW) + " stride " + std::to_string(g.sH);
}

struct ConvForward : ConvEntry {
  convolution_forward conv;
  Staged src, weights, dst;
  memory bias;
  ArgMap args;
};

std::unique_ptr<ConvForward> MakeForward(const Window &g, bool withBias, bool relu, bool winograd, bool bf16) {
  auto entry = std::make_unique<ConvForward>();
  entry->oneThread = IsSmallCompute(g.MultiplyAdds());
  OneThreadIf serial(entry->oneThread);
  const ConvDescs d = Describe(g, bf16);
  auto pd = ForwardPd(d, withBias, relu, winograd);
  entry->conv = convolution_forward(pd);
  entry->description = Summary(bf16 ? "forward bf16" : "forward", pd.impl_info_str(), g);
  entry->src.Init(d.src, pd.src_desc(), true);
  entry->weights.Init(d.weightsUser, pd.weights_desc(), true);
  entry->dst.Init(d.dst, pd.dst_desc(), false);
  entry->args = {{DNNL_ARG_SRC, entry->src.internal},
                 {DNNL_ARG_WEIGHTS, entry->weights.internal},
                 {DNNL_ARG_DST, entry->dst.internal}};
  if (withBias) {
    entry->bias = Unbound(d.bias);
    entry->args[DNNL_ARG_BIAS] = entry->bias;
  }
  return entry;
}

void Conv2D(const Op &op) {
  // buffers: x (N,H,W,C), w (KH,KW,C,O), bias (O) | null, y (N,OH,OW,O); ints: geometry[17], relu, bf16
  float *x = op.F(0), *w = op.F(1), *bias = op.F(2), *y = op.F(3);
  const Window g = Window::Read(op.ints);
  const bool withBias = bias != nullptr, relu = op.Int(17) != 0;
  const bool bf16 = ComputesInBf16(Window::Read(op.ints), op.Int(18) != 0, false);
  Key key;
  key.add(kConvFwd).add(withBias ? 1 : 0).add(relu ? 1 : 0).add(bf16 ? 1 : 0);
  g.AddTo(key);
  auto &e = Cached<ConvForward>(op, key, [&] {
    if (!bf16 && WinogradFits(g)) {
      try {
        return MakeForward(g, withBias, relu, true, false);
      } catch (const dnnl::error &err) {
        if (!Unimplemented(err)) throw;
      }
    }
    return MakeForward(g, withBias, relu, false, bf16);
  });
  OneThreadIf serial(e.oneThread);
  e.src.BindIn(x);
  e.weights.BindIn(w);
  e.dst.BindOut(y);
  if (withBias) e.bias.set_data_handle(bias);
  e.conv.execute(Stream(), e.args);
  e.dst.Flush();
}

struct ConvBackwardData : ConvEntry {
  convolution_backward_data conv;
  Staged weights, diffDst;
  memory diffSrc;
  ArgMap args;
};

void Conv2DBackpropInput(const Op &op) {
  // buffers: dy (N,OH,OW,O), w (KH,KW,C,O), dx (N,H,W,C); ints: geometry[17], bf16
  float *dy = op.F(0), *w = op.F(1), *dx = op.F(2);
  const Window g = Window::Read(op.ints);
  const bool bf16 = ComputesInBf16(g, op.Int(17) != 0, false);
  Key key;
  key.add(kConvBwdData).add(bf16 ? 1 : 0);
  g.AddTo(key);
  auto &e = Cached<ConvBackwardData>(op, key, [&] {
    auto entry = std::make_unique<ConvBackwardData>();
    entry->oneThread = IsSmallCompute(g.MultiplyAdds());
    OneThreadIf serial(entry->oneThread);
    const ConvDescs d = Describe(g, bf16);
    auto hint = ForwardPd(d, false, false, false);
    convolution_backward_data::desc desc(algorithm::convolution_direct, d.src, d.weightsAny, d.diffDstOp, d.strides,
                                         d.dilates, d.padL, d.padR);
    convolution_backward_data::primitive_desc pd(desc, Engine(), hint);
    entry->conv = convolution_backward_data(pd);
    entry->description = Summary(bf16 ? "backward-data bf16" : "backward-data", pd.impl_info_str(), g);
    entry->weights.Init(d.weightsUser, pd.weights_desc(), true);
    entry->diffDst.Init(d.dst, pd.diff_dst_desc(), true);
    entry->diffSrc = Unbound(pd.diff_src_desc());
    entry->args = {{DNNL_ARG_DIFF_DST, entry->diffDst.internal},
                   {DNNL_ARG_WEIGHTS, entry->weights.internal},
                   {DNNL_ARG_DIFF_SRC, entry->diffSrc}};
    return entry;
  });
  OneThreadIf serial(e.oneThread);
  e.weights.BindIn(w);
  e.diffDst.BindIn(dy);
  e.diffSrc.set_data_handle(dx);
  e.conv.execute(Stream(), e.args);
}

/** sum[o] = sum over `count` rows of rows[r * O + o]; restrict lets the compiler vectorise over o. */
MNL_VECTOR_CLONES void SumRowBlock(const float *__restrict rows, int64_t count, int64_t O, float *__restrict sum) {
  for (int64_t o = 0; o < O; o++) sum[o] = 0.f;
  for (int64_t r = 0; r < count; r++)
    for (int64_t o = 0; o < O; o++) sum[o] += rows[r * O + o];
}

/**
 * dbias (O) = column sums of dy viewed as (rows, O): blocks of 64 rows in float, blocks accumulated
 * in double; rows split across the OpenMP team. NOTE: not oneDNN's diff_bias on the direct path:
 * with it, backward-weights for the cnn recipe's conv1 (1 input channel, NHWC) measured 10x slower
 * (another implementation is chosen). The Winograd path takes oneDNN's (blocked dy: no slowdown).
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

struct ConvBackwardWeights : ConvEntry {
  convolution_backward_weights conv;
  Staged src, diffDst, diffWeights;
  memory diffBias;
  bool biasInPrimitive = false;
  ArgMap args;
};

/**
 * Whether backward-weights runs on one thread: with one input channel (the first layer) and little
 * work (the cnn recipe's conv1: 25M multiply-adds, 0.29 ms on 2 threads, 0.45 on 1) its threads
 * mostly meet at spin barriers to reduce the weight gradient; when another process takes one of
 * the two cores, nearly every call waited a whole scheduler slice (4-5 ms per step, measured with
 * ONEDNN_VERBOSE while two other jobs ran). One thread has no barrier to wait at. Larger ones keep
 * the team: the fast recipe's conv1 (5x5, 24 filters, batch 256: 88M) takes 1.1 ms on 2 threads
 * against 3.0 on 1.
 */
bool BackwardWeightsOnOneThread(const Window &g) { return g.C == 1 && g.MultiplyAdds() < (int64_t{1} << 25); }

/** Backward-weights; with `withBias` on Winograd the primitive also writes the bias gradient. */
std::unique_ptr<ConvBackwardWeights> MakeBackwardWeights(const Window &g, bool withBias, bool winograd, bool bf16) {
  auto entry = std::make_unique<ConvBackwardWeights>();
  const ConvDescs d = Describe(g, bf16);
  const algorithm alg = winograd ? algorithm::convolution_winograd : algorithm::convolution_direct;
  const memory::desc &src = winograd ? d.srcAny : d.srcOp, &dst = winograd ? d.dstAny : d.diffDstOp;
  auto hint = ForwardPd(d, false, false, winograd);
  entry->biasInPrimitive = winograd && withBias;
  entry->oneThread = IsSmallCompute(g.MultiplyAdds()) || (!winograd && BackwardWeightsOnOneThread(g));
  // oneDNN sizes the kernel's thread split when the primitive is created: create it on one thread.
  OneThreadIf serial(entry->oneThread);
  auto desc = entry->biasInPrimitive ? convolution_backward_weights::desc(alg, src, d.diffWeightsAny, d.bias, dst,
                                                                          d.strides, d.dilates, d.padL, d.padR)
                                     : convolution_backward_weights::desc(alg, src, d.diffWeightsAny, dst, d.strides,
                                                                          d.dilates, d.padL, d.padR);
  convolution_backward_weights::primitive_desc pd(desc, Engine(), hint);
  entry->conv = convolution_backward_weights(pd);
  entry->description = Summary(winograd && withBias ? "backward-weights+bias"
                               : bf16                ? "backward-weights bf16"
                                                     : "backward-weights",
                               pd.impl_info_str(), g);
  entry->src.Init(d.src, pd.src_desc(), true);
  entry->diffDst.Init(d.dst, pd.diff_dst_desc(), true);
  entry->diffWeights.Init(d.weightsUser, pd.diff_weights_desc(), false);
  entry->args = {{DNNL_ARG_SRC, entry->src.internal},
                 {DNNL_ARG_DIFF_DST, entry->diffDst.internal},
                 {DNNL_ARG_DIFF_WEIGHTS, entry->diffWeights.internal}};
  if (entry->biasInPrimitive) {
    entry->diffBias = Unbound(d.bias);
    entry->args[DNNL_ARG_DIFF_BIAS] = entry->diffBias;
  }
  return entry;
}

void Conv2DBackpropFilter(const Op &op) {
  // buffers: x (N,H,W,C), dy (N,OH,OW,O), dw (KH,KW,C,O), dbias (O) | null; ints: geometry[17], bf16
  float *x = op.F(0), *dy = op.F(1), *dw = op.F(2), *dbias = op.F(3);
  const Window g = Window::Read(op.ints);
  const bool withBias = dbias != nullptr, bf16 = ComputesInBf16(g, op.Int(17) != 0, true);
  const bool winograd = !bf16 && WinogradFits(g);
  Key key;
  // Only a Winograd primitive computes the bias gradient itself; a direct one is the same with or
  // without bias (BiasGradient runs beside it), so both share one cache entry and scratchpad.
  key.add(kConvBwdWeights).add(withBias && winograd ? 1 : 0).add(bf16 ? 1 : 0);
  g.AddTo(key);
  auto &e = Cached<ConvBackwardWeights>(op, key, [&] {
    if (winograd) {
      try {
        return MakeBackwardWeights(g, withBias, true, false);
      } catch (const dnnl::error &err) {
        if (!Unimplemented(err)) throw;
      }
    }
    return MakeBackwardWeights(g, withBias, false, bf16);
  });
  e.src.BindIn(x);
  e.diffDst.BindIn(dy);
  e.diffWeights.BindOut(dw);
  if (e.biasInPrimitive) e.diffBias.set_data_handle(dbias);
  {
    OneThreadIf serial(e.oneThread);
    e.conv.execute(Stream(), e.args);
  }
  e.diffWeights.Flush();
  if (withBias && !e.biasInPrimitive) BiasGradient(dy, dbias, g.N * g.OH * g.OW, g.O);
}

/** convImplementations(): one line per cached convolution primitive, sorted. */
Napi::Value ConvImplementations(const Napi::CallbackInfo &info) {
  std::vector<std::string> lines;
  for (const auto &item : PrimitiveCache())
    if (const auto *conv = dynamic_cast<const ConvEntry *>(item.second.get())) lines.push_back(conv->description);
  std::sort(lines.begin(), lines.end());
  Napi::Array out = Napi::Array::New(info.Env(), lines.size());
  for (size_t i = 0; i < lines.size(); i++) out.Set(static_cast<uint32_t>(i), lines[i]);
  return out;
}

}  // namespace

void RegisterConv(Napi::Env env, Napi::Object exports) {
  ExportValue(env, exports, "convImplementations", ConvImplementations);
  RegisterOp(kOpConv2D, Conv2D);
  RegisterOp(kOpConv2DBackpropInput, Conv2DBackpropInput);
  RegisterOp(kOpConv2DBackpropFilter, Conv2DBackpropFilter);
}

}  // namespace mnl
