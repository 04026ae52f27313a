// Bare oneDNN timing of the `cnn` recipe's convolutions (batch 128): the same primitives, layouts
// and reorders as native/src/conv.cc, with no N-API and no JS in between, so that
// bench/native-kernels.ts --bare can separate oneDNN's cost from the binding's. Each row also times
// the alternative the backend does not take (direct instead of Winograd, brgconv instead of jit),
// to show why. Prints one line per variant: median and best ms of one call, weights reorder
// included (the weights change every step).
//
// Build and run (bench/native-kernels.ts --bare does both):
//   c++ -O2 -std=c++17 -fopenmp conv-bare.cc -ldnnl -o conv-bare && ./conv-bare [iterations]
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

using namespace dnnl;
using Tag = memory::format_tag;
using DT = memory::data_type;
using Dims = memory::dims;

namespace {

engine eng(engine::kind::cpu, 0);
stream strm(eng);
int iterations = 100;

/** A conv geometry: x (N,H,W,C) NHWC, kernel KxK, stride 1, no padding, O output channels. */
struct Shape {
  memory::dim N, C, H, W, O, K;
  memory::dim OH() const { return H - K + 1; }
  memory::dim OW() const { return W - K + 1; }
  memory::desc Src(Tag t) const { return {{N, C, H, W}, DT::f32, t}; }
  memory::desc Dst(Tag t) const { return {{N, O, OH(), OW()}, DT::f32, t}; }
  memory::desc Weights(Tag t) const { return {{O, C, K, K}, DT::f32, t}; }
  memory::desc Bias() const { return {{O}, DT::f32, Tag::a}; }
};

const Dims kStrides{1, 1}, kDilation{0, 0}, kPadding{0, 0};

memory Filled(const memory::desc &md) {
  memory m(md, eng);
  float *p = static_cast<float *>(m.get_data_handle());
  for (size_t i = 0; i < md.get_size() / 4; i++) p[i] = static_cast<float>((i * 2654435761u) % 2001) / 1000.f - 1.f;
  return m;
}

/** A plain user buffer and, when the primitive wants another layout, its private copy + reorder. */
struct Staged {
  memory user, internal;
  reorder prim;
  bool needed = false;
  Staged(const memory::desc &userDesc, const memory::desc &wanted, bool isInput) : user(Filled(userDesc)) {
    needed = wanted != userDesc;
    internal = needed ? memory(wanted, eng) : user;
    if (needed) prim = isInput ? reorder(user, internal) : reorder(internal, user);
  }
  void In() {
    if (needed) prim.execute(strm, user, internal);
  }
  void Out() {
    if (needed) prim.execute(strm, internal, user);
  }
};

double total = 0, totalBest = 0;

/** Times `run`; `ours` rows (what the backend runs) are summed. */
void Time(const char *row, const char *variant, const std::string &impl, bool ours, const std::function<void()> &run) {
  for (int i = 0; i < 5; i++) run();
  std::vector<double> ms;
  for (int i = 0; i < iterations; i++) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    strm.wait();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  if (ours) {
    total += ms[ms.size() / 2];
    totalBest += ms[0];
  }
  std::printf("  %-30s %-22s %-26s %9.3f %9.3f\n", row, (std::string(variant) + (ours ? " *" : "")).c_str(),
              impl.c_str(), ms[ms.size() / 2], ms[0]);
  std::fflush(stdout);
}

primitive_attr Relu() {
  post_ops ops;
  ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
  primitive_attr attr;
  attr.set_post_ops(ops);
  return attr;
}

/**
 * Forward + bias + ReLU post-op; with `impl`, the first implementation whose name starts with it.
 * NOTE: next_impl() only while the op descriptor and the attributes are alive (oneDNN 2.6's
 * iterator refers to them), hence the search in here.
 */
convolution_forward::primitive_desc ForwardPd(const Shape &s, bool winograd, const char *impl = nullptr) {
  const Tag act = winograd ? Tag::any : Tag::nhwc;
  const convolution_forward::desc desc(
      prop_kind::forward_training, winograd ? algorithm::convolution_winograd : algorithm::convolution_direct,
      s.Src(act), s.Weights(Tag::any), s.Bias(), s.Dst(act), kStrides, kDilation, kPadding, kPadding);
  const primitive_attr attr = Relu();
  convolution_forward::primitive_desc pd(desc, attr, eng);
  if (impl != nullptr)
    while (std::string(pd.impl_info_str()).rfind(impl, 0) != 0)
      if (!pd.next_impl()) break;
  return pd;
}

void Forward(const char *row, const char *variant, const Shape &s, bool winograd, const char *impl, bool ours) {
  auto pd = ForwardPd(s, winograd, impl);
  Staged x(s.Src(Tag::nhwc), pd.src_desc(), true), w(s.Weights(Tag::hwio), pd.weights_desc(), true);
  Staged y(s.Dst(Tag::nhwc), pd.dst_desc(), false);
  memory b = Filled(s.Bias());
  convolution_forward conv(pd);
  Time(row, variant, pd.impl_info_str(), ours, [&] {
    x.In();
    w.In();
    conv.execute(strm, {{DNNL_ARG_SRC, x.internal}, {DNNL_ARG_WEIGHTS, w.internal}, {DNNL_ARG_BIAS, b},
                        {DNNL_ARG_DST, y.internal}});
    y.Out();
  });
}

void BackwardData(const char *row, const char *variant, const Shape &s, bool winograd, bool ours) {
  const Tag act = winograd ? Tag::any : Tag::nhwc;
  convolution_backward_data::primitive_desc pd(
      {winograd ? algorithm::convolution_winograd : algorithm::convolution_direct, s.Src(act), s.Weights(Tag::any),
       s.Dst(act), kStrides, kDilation, kPadding, kPadding},
      eng, ForwardPd(s, winograd));
  Staged dy(s.Dst(Tag::nhwc), pd.diff_dst_desc(), true), w(s.Weights(Tag::hwio), pd.weights_desc(), true);
  Staged dx(s.Src(Tag::nhwc), pd.diff_src_desc(), false);
  convolution_backward_data conv(pd);
  Time(row, variant, pd.impl_info_str(), ours, [&] {
    dy.In();
    w.In();
    conv.execute(strm, {{DNNL_ARG_DIFF_DST, dy.internal},
                        {DNNL_ARG_WEIGHTS, w.internal},
                        {DNNL_ARG_DIFF_SRC, dx.internal}});
    dx.Out();
  });
}

/** Backward-weights; with `bias` the primitive also writes the bias gradient. */
void BackwardWeights(const char *row, const char *variant, const Shape &s, bool winograd, bool bias, bool ours) {
  const Tag act = winograd ? Tag::any : Tag::nhwc;
  const algorithm alg = winograd ? algorithm::convolution_winograd : algorithm::convolution_direct;
  auto desc = bias ? convolution_backward_weights::desc(alg, s.Src(act), s.Weights(Tag::any), s.Bias(), s.Dst(act),
                                                        kStrides, kDilation, kPadding, kPadding)
                   : convolution_backward_weights::desc(alg, s.Src(act), s.Weights(Tag::any), s.Dst(act), kStrides,
                                                        kDilation, kPadding, kPadding);
  convolution_backward_weights::primitive_desc pd(desc, eng, ForwardPd(s, winograd));
  Staged x(s.Src(Tag::nhwc), pd.src_desc(), true), dy(s.Dst(Tag::nhwc), pd.diff_dst_desc(), true);
  Staged dw(s.Weights(Tag::hwio), pd.diff_weights_desc(), false);
  memory db = Filled(s.Bias());
  convolution_backward_weights conv(pd);
  Time(row, variant, pd.impl_info_str(), ours, [&] {
    x.In();
    dy.In();
    conv.execute(strm, {{DNNL_ARG_SRC, x.internal}, {DNNL_ARG_DIFF_DST, dy.internal},
                        {DNNL_ARG_DIFF_WEIGHTS, dw.internal}, {DNNL_ARG_DIFF_BIAS, db}});
    dw.Out();
  });
}

}  // namespace

int main(int argc, char **argv) {
  if (argc > 1) iterations = std::atoi(argv[1]);
  const Shape conv1{128, 1, 28, 28, 32, 3}, conv2{128, 32, 13, 13, 64, 3};
  std::printf("bare oneDNN %d.%d.%d, median and best of %d calls, ms; * = what the native backend runs\n",
              dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch, iterations);
  Forward("conv1 fwd (+bias, relu)", "direct, first impl", conv1, false, nullptr, false);
  Forward("conv1 fwd (+bias, relu)", "direct, jit", conv1, false, "jit:", true);
  Forward("conv2 fwd (+bias, relu)", "direct", conv2, false, nullptr, false);
  Forward("conv2 fwd (+bias, relu)", "winograd + reorders", conv2, true, nullptr, true);
  BackwardData("conv2 bwd-data", "direct", conv2, false, true);
  BackwardData("conv2 bwd-data", "winograd + reorders", conv2, true, false);
  BackwardWeights("conv2 bwd-filter + bias", "direct, no bias", conv2, false, false, false);
  BackwardWeights("conv2 bwd-filter + bias", "winograd + reorders", conv2, true, true, true);
  BackwardWeights("conv1 bwd-filter", "direct, no bias", conv1, false, false, true);
  BackwardWeights("conv1 bwd-filter", "direct, oneDNN bias", conv1, false, true, false);
  std::printf("  %-80s %9.3f %9.3f\n", "sum of * rows (conv1's bias gradient is a C++ loop, not included)", total,
              totalBest);
}
