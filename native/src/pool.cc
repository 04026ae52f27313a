// Max and average pooling on oneDNN (pooling_v2: strides, dilation, asymmetric padding).
//
// Constraints:
// - NHWC activations: x (N,H,W,C), y (N,OH,OW,C). float32 only. The geometry block has 17 ints
//   like a convolution's (O unused).
// - Max pooling runs forward_training and keeps oneDNN's workspace (the argmax positions in the
//   implementation's own encoding); the caller stores it in an opaque buffer of
//   maxPoolWorkspaceBytes() bytes and hands it back to the backward pass of the same geometry.
// - Average pooling excludes padding from the divisor (pooling_avg_exclude_padding).
#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

struct PoolDescs {
  memory::desc src, dst;
  Dims strides, kernel, dilation, padL, padR;
};

PoolDescs Describe(const Window &w) {
  PoolDescs d;
  d.src = memory::desc({w.N, w.C, w.H, w.W}, DT::f32, Tag::nhwc);
  d.dst = memory::desc({w.N, w.C, w.OH, w.OW}, DT::f32, Tag::nhwc);
  d.strides = {w.sH, w.sW};
  d.kernel = {w.KH, w.KW};
  d.dilation = {w.dH - 1, w.dW - 1};
  d.padL = {w.pT, w.pL};
  d.padR = {w.pB, w.pR};
  return d;
}

/**
 * Pooling on one thread below 2^18 window reads: memory-bound, so a 2-thread split pays only on
 * large batches (the cnn recipe's first pooling on one image: 0.022 ms on two threads, 0.002 on one).
 */
bool SmallPool(const Window &g) { return g.N * g.OH * g.OW * g.C * g.KH * g.KW < (int64_t{1} << 18); }

algorithm Algorithm(bool isMax) {
  return isMax ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
}

pooling_v2_forward::primitive_desc ForwardPd(const PoolDescs &d, bool isMax) {
  pooling_v2_forward::desc desc(prop_kind::forward_training, Algorithm(isMax), d.src, d.dst, d.strides, d.kernel,
                                d.dilation, d.padL, d.padR);
  return pooling_v2_forward::primitive_desc(desc, Engine());
}

struct PoolForward : Entry {
  pooling_v2_forward pool;
  memory src, dst, workspace;
  size_t workspaceBytes = 0;
  ArgMap args;
};

PoolForward &Forward(const Op *op, const Window &g, bool isMax) {
  Key key;
  key.add(kPoolFwd).add(isMax ? 1 : 0);
  g.AddTo(key);
  auto make = [&] {
    auto entry = std::make_unique<PoolForward>();
    auto pd = ForwardPd(Describe(g), isMax);
    entry->pool = pooling_v2_forward(pd);
    entry->src = Unbound(pd.src_desc());
    entry->dst = Unbound(pd.dst_desc());
    entry->args = {{DNNL_ARG_SRC, entry->src}, {DNNL_ARG_DST, entry->dst}};
    entry->workspaceBytes = pd.workspace_desc().get_size();
    if (entry->workspaceBytes > 0) {
      entry->workspace = Unbound(pd.workspace_desc());
      entry->args[DNNL_ARG_WORKSPACE] = entry->workspace;
    }
    return entry;
  };
  return op != nullptr ? Cached<PoolForward>(*op, key, make) : Cached<PoolForward>(key, make);
}

/** maxPoolWorkspaceBytes(geometry Int32Array[17]): bytes of the workspace maxPool writes. */
Napi::Value MaxPoolWorkspaceBytes(const Napi::CallbackInfo &info) {
  View geometry = ReadView(info.Env(), info[0], "MaxPool geometry");
  if (geometry.type != napi_int32_array || geometry.length < 17)
    throw std::runtime_error("MaxPool geometry: expected an Int32Array of 17");
  const Window g = Window::Read(static_cast<const int32_t *>(geometry.data));
  return Napi::Number::New(info.Env(), static_cast<double>(Forward(nullptr, g, true).workspaceBytes));
}

void RunForward(const Op &op, bool isMax) {
  // buffers: x (N,H,W,C), y (N,OH,OW,C), workspace (max only); ints: geometry[17]
  const Window g = Window::Read(op.ints);
  PoolForward &e = Forward(&op, g, isMax);
  if (e.workspaceBytes > 0) e.workspace.set_data_handle(op.Buffer(2));
  e.src.set_data_handle(op.F(0));
  e.dst.set_data_handle(op.F(1));
  OneThreadIf serial(SmallPool(g));
  e.pool.execute(Stream(), e.args);
}

void MaxPool(const Op &op) { RunForward(op, true); }
void AvgPool(const Op &op) { RunForward(op, false); }

struct PoolBackward : Entry {
  pooling_v2_backward pool;
  memory diffDst, diffSrc, workspace;
  bool hasWorkspace = false;
  ArgMap args;
};

void RunBackward(const Op &op, bool isMax) {
  // buffers: dy (N,OH,OW,C), dx (N,H,W,C), workspace (max only); ints: geometry[17]
  const Window g = Window::Read(op.ints);
  Key key;
  key.add(kPoolBwd).add(isMax ? 1 : 0);
  g.AddTo(key);
  auto &e = Cached<PoolBackward>(op, key, [&] {
    auto entry = std::make_unique<PoolBackward>();
    const PoolDescs d = Describe(g);
    auto hint = ForwardPd(d, isMax);
    pooling_v2_backward::desc desc(Algorithm(isMax), d.src, d.dst, d.strides, d.kernel, d.dilation, d.padL, d.padR);
    pooling_v2_backward::primitive_desc pd(desc, Engine(), hint);
    entry->pool = pooling_v2_backward(pd);
    entry->diffDst = Unbound(pd.diff_dst_desc());
    entry->diffSrc = Unbound(pd.diff_src_desc());
    entry->args = {{DNNL_ARG_DIFF_DST, entry->diffDst}, {DNNL_ARG_DIFF_SRC, entry->diffSrc}};
    entry->hasWorkspace = hint.workspace_desc().get_size() > 0;
    if (entry->hasWorkspace) {
      entry->workspace = Unbound(hint.workspace_desc());
      entry->args[DNNL_ARG_WORKSPACE] = entry->workspace;
    }
    return entry;
  });
  if (e.hasWorkspace) e.workspace.set_data_handle(op.Buffer(2));
  e.diffDst.set_data_handle(op.F(0));
  e.diffSrc.set_data_handle(op.F(1));
  OneThreadIf serial(SmallPool(g));
  e.pool.execute(Stream(), e.args);
}

void MaxPoolGrad(const Op &op) { RunBackward(op, true); }
void AvgPoolGrad(const Op &op) { RunBackward(op, false); }

}  // namespace

void RegisterPool(Napi::Env env, Napi::Object exports) {
  ExportValue(env, exports, "maxPoolWorkspaceBytes", MaxPoolWorkspaceBytes);
  RegisterOp(kOpMaxPool, MaxPool);
  RegisterOp(kOpMaxPoolGrad, MaxPoolGrad);
  RegisterOp(kOpAvgPool, AvgPool);
  RegisterOp(kOpAvgPoolGrad, AvgPoolGrad);
}

}  // namespace mnl
