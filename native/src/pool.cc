// Max and average pooling on oneDNN (pooling_v2: strides, dilation, asymmetric padding).
//
// Constraints:
// - NHWC activations: x (N,H,W,C), y (N,OH,OW,C). float32 only.
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

PoolForward &Forward(const Window &g, bool isMax) {
  Key key;
  key.add(kPoolFwd).add(isMax ? 1 : 0);
  g.AddTo(key);
  return Cached<PoolForward>(key, [&] {
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
  });
}

Napi::Value MaxPoolWorkspaceBytes(const Napi::CallbackInfo &info) {
  const Window g = Window::Read(Ints(info, 0, "MaxPool geometry"), false);
  return Napi::Number::New(info.Env(), static_cast<double>(Forward(g, true).workspaceBytes));
}

void RunForward(const Napi::CallbackInfo &info, bool isMax) {
  // maxPool(x, y, workspace, geometry) / avgPool(x, y, geometry)
  const char *name = isMax ? "MaxPool" : "AvgPool";
  float *x = F32(info, 0, name);
  float *y = F32(info, 1, name);
  const Window g = Window::Read(Ints(info, isMax ? 3 : 2, name), false);
  PoolForward &e = Forward(g, isMax);
  if (e.workspaceBytes > 0) {
    View ws = ReadView(info.Env(), info[2], "MaxPool workspace");
    if (ws.length * 4 < e.workspaceBytes) throw std::runtime_error("MaxPool: workspace buffer too small");
    e.workspace.set_data_handle(ws.data);
  }
  e.src.set_data_handle(x);
  e.dst.set_data_handle(y);
  e.pool.execute(Stream(), e.args);
}

void MaxPool(const Napi::CallbackInfo &info) { RunForward(info, true); }
void AvgPool(const Napi::CallbackInfo &info) { RunForward(info, false); }

struct PoolBackward : Entry {
  pooling_v2_backward pool;
  memory diffDst, diffSrc, workspace;
  bool hasWorkspace = false;
  ArgMap args;
};

void RunBackward(const Napi::CallbackInfo &info, bool isMax) {
  // maxPoolGrad(dy, workspace, dx, geometry) / avgPoolGrad(dy, dx, geometry)
  const char *name = isMax ? "MaxPoolGrad" : "AvgPoolGrad";
  float *dy = F32(info, 0, name);
  float *dx = F32(info, isMax ? 2 : 1, name);
  const Window g = Window::Read(Ints(info, isMax ? 3 : 2, name), false);
  Key key;
  key.add(kPoolBwd).add(isMax ? 1 : 0);
  g.AddTo(key);
  auto &e = Cached<PoolBackward>(key, [&] {
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
  if (e.hasWorkspace) e.workspace.set_data_handle(ReadView(info.Env(), info[1], "MaxPoolGrad workspace").data);
  e.diffDst.set_data_handle(dy);
  e.diffSrc.set_data_handle(dx);
  e.pool.execute(Stream(), e.args);
}

void MaxPoolGrad(const Napi::CallbackInfo &info) { RunBackward(info, true); }
void AvgPoolGrad(const Napi::CallbackInfo &info) { RunBackward(info, false); }

}  // namespace

void RegisterPool(Napi::Env env, Napi::Object exports) {
  ExportValue(env, exports, "maxPoolWorkspaceBytes", MaxPoolWorkspaceBytes);
  Export(env, exports, "maxPool", MaxPool);
  Export(env, exports, "maxPoolGrad", MaxPoolGrad);
  Export(env, exports, "avgPool", AvgPool);
  Export(env, exports, "avgPoolGrad", AvgPoolGrad);
}

}  // namespace mnl
