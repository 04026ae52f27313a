// Elementwise unary kernels and their gradients, and softmax / log-softmax, on oneDNN.
//
// Constraints:
// - Unary ops view their buffers as one flat (length) vector; the op code table below is mirrored
//   in src/backend/native/binding.ts (EltwiseOp). Neg is eltwise_linear with alpha = -1.
// - Gradients take the forward input x for relu, leaky relu and both gelu forms, and the forward output y for
//   sigmoid and tanh (the *_use_dst_for_bwd algorithms), as the kernel contract specifies.
// - Softmax works on an (outer, size) row-major view along the last axis. float32 only.
#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

enum EltwiseOp { kNeg = 0, kExp, kLog, kSqrt, kAbs, kRelu, kLeakyRelu, kSigmoid, kTanh, kGelu, kGeluTanh };

struct Algo {
  algorithm alg;
  float alpha, beta;
};

Algo ForwardAlgo(int64_t op, float alpha) {
  switch (op) {
    case kNeg: return {algorithm::eltwise_linear, -1.f, 0.f};
    case kExp: return {algorithm::eltwise_exp, 0.f, 0.f};
    case kLog: return {algorithm::eltwise_log, 0.f, 0.f};
    case kSqrt: return {algorithm::eltwise_sqrt, 0.f, 0.f};
    case kAbs: return {algorithm::eltwise_abs, 0.f, 0.f};
    case kRelu: return {algorithm::eltwise_relu, 0.f, 0.f};
    case kLeakyRelu: return {algorithm::eltwise_relu, alpha, 0.f};
    case kSigmoid: return {algorithm::eltwise_logistic, 0.f, 0.f};
    case kTanh: return {algorithm::eltwise_tanh, 0.f, 0.f};
    case kGelu: return {algorithm::eltwise_gelu_erf, 0.f, 0.f};
    case kGeluTanh: return {algorithm::eltwise_gelu_tanh, 0.f, 0.f};
    default: throw std::runtime_error("eltwise: unknown op " + std::to_string(op));
  }
}

/** Backward algorithm and whether its data argument is the forward output (dst) or input (src). */
Algo BackwardAlgo(int64_t op, float alpha, bool &usesDst) {
  usesDst = op == kSigmoid || op == kTanh;
  switch (op) {
    case kRelu: return {algorithm::eltwise_relu, 0.f, 0.f};
    case kLeakyRelu: return {algorithm::eltwise_relu, alpha, 0.f};
    case kSigmoid: return {algorithm::eltwise_logistic_use_dst_for_bwd, 0.f, 0.f};
    case kTanh: return {algorithm::eltwise_tanh_use_dst_for_bwd, 0.f, 0.f};
    case kGelu: return {algorithm::eltwise_gelu_erf, 0.f, 0.f};
    case kGeluTanh: return {algorithm::eltwise_gelu_tanh, 0.f, 0.f};
    default: throw std::runtime_error("eltwise grad: unsupported op " + std::to_string(op));
  }
}

int64_t AlphaBits(float alpha) {
  int32_t bits;
  std::memcpy(&bits, &alpha, sizeof bits);
  return bits;
}

struct EltwiseFwdEntry : Entry {
  eltwise_forward prim;
  memory src, dst;
  ArgMap args;
};

void Eltwise(const Op &op) {
  // buffers: x (n), y (n); ints: op, n; floats: alpha. y[i] = f(x[i])
  const int64_t code = op.Int(0), n = op.Int(1);
  const float alpha = static_cast<float>(op.Float(0));
  if (n == 0) return;
  Key key;
  key.add(kEltwiseFwd).add(code).add(n).add(AlphaBits(alpha));
  auto &e = Cached<EltwiseFwdEntry>(op, key, [&] {
    auto entry = std::make_unique<EltwiseFwdEntry>();
    const Algo a = ForwardAlgo(code, alpha);
    const memory::desc md({n}, DT::f32, Tag::a);
    entry->prim = eltwise_forward(
        eltwise_forward::primitive_desc(eltwise_forward::desc(prop_kind::forward_training, a.alg, md, a.alpha, a.beta),
                                        Engine()));
    entry->src = Unbound(md);
    entry->dst = Unbound(md);
    entry->args = {{DNNL_ARG_SRC, entry->src}, {DNNL_ARG_DST, entry->dst}};
    return entry;
  });
  e.src.set_data_handle(op.F(0));
  e.dst.set_data_handle(op.F(1));
  OneThreadIf serial(IsSmallWork(n));
  e.prim.execute(Stream(), e.args);
}

struct EltwiseBwdEntry : Entry {
  eltwise_backward prim;
  memory diffDst, data, diffSrc;
  ArgMap args;
};

void EltwiseGrad(const Op &op) {
  // buffers: dy (n), x or y (n), dx (n); ints: op, n; floats: alpha. dx[i] = dy[i] * f'(.)
  const int64_t code = op.Int(0), n = op.Int(1);
  const float alpha = static_cast<float>(op.Float(0));
  if (n == 0) return;
  Key key;
  key.add(kEltwiseBwd).add(code).add(n).add(AlphaBits(alpha));
  auto &e = Cached<EltwiseBwdEntry>(op, key, [&] {
    auto entry = std::make_unique<EltwiseBwdEntry>();
    bool usesDst = false;
    const Algo a = BackwardAlgo(code, alpha, usesDst);
    const memory::desc md({n}, DT::f32, Tag::a);
    eltwise_forward::primitive_desc hint(
        eltwise_forward::desc(prop_kind::forward_training, a.alg, md, a.alpha, a.beta), Engine());
    eltwise_backward::primitive_desc pd(eltwise_backward::desc(a.alg, md, md, a.alpha, a.beta), Engine(), hint);
    entry->prim = eltwise_backward(pd);
    entry->diffDst = Unbound(md);
    entry->data = Unbound(md);
    entry->diffSrc = Unbound(md);
    entry->args = {{DNNL_ARG_DIFF_DST, entry->diffDst},
                   {usesDst ? DNNL_ARG_DST : DNNL_ARG_SRC, entry->data},
                   {DNNL_ARG_DIFF_SRC, entry->diffSrc}};
    return entry;
  });
  e.diffDst.set_data_handle(op.F(0));
  e.data.set_data_handle(op.F(1));
  e.diffSrc.set_data_handle(op.F(2));
  OneThreadIf serial(IsSmallWork(n));
  e.prim.execute(Stream(), e.args);
}

struct SoftmaxEntry : Entry {
  primitive prim;
  memory a, b, c;  // forward: src, dst; backward: dst, diff_dst, diff_src
  ArgMap args;
};

void Softmax(const Op &op) {
  // buffers: x, y; ints: outer, size, log. Along the last axis of (outer, size).
  const int64_t outer = op.Int(0), size = op.Int(1);
  const bool log = op.Int(2) != 0;
  if (outer * size == 0) return;
  Key key;
  key.add(kSoftmaxFwd).add(outer).add(size).add(log);
  auto &e = Cached<SoftmaxEntry>(op, key, [&] {
    auto entry = std::make_unique<SoftmaxEntry>();
    const memory::desc md({outer, size}, DT::f32, Tag::ab);
    if (log) {
      entry->prim = logsoftmax_forward(logsoftmax_forward::primitive_desc(
          logsoftmax_forward::desc(prop_kind::forward_training, md, 1), Engine()));
    } else {
      entry->prim = softmax_forward(
          softmax_forward::primitive_desc(softmax_forward::desc(prop_kind::forward_training, md, 1), Engine()));
    }
    entry->a = Unbound(md);
    entry->b = Unbound(md);
    entry->args = {{DNNL_ARG_SRC, entry->a}, {DNNL_ARG_DST, entry->b}};
    return entry;
  });
  e.a.set_data_handle(op.F(0));
  e.b.set_data_handle(op.F(1));
  OneThreadIf serial(IsSmallWork(outer * size));
  e.prim.execute(Stream(), e.args);
}

void SoftmaxGrad(const Op &op) {
  // buffers: dy, y (the forward output), dx; ints: outer, size, log
  const int64_t outer = op.Int(0), size = op.Int(1);
  const bool log = op.Int(2) != 0;
  if (outer * size == 0) return;
  Key key;
  key.add(kSoftmaxBwd).add(outer).add(size).add(log);
  auto &e = Cached<SoftmaxEntry>(op, key, [&] {
    auto entry = std::make_unique<SoftmaxEntry>();
    const memory::desc md({outer, size}, DT::f32, Tag::ab);
    if (log) {
      logsoftmax_forward::primitive_desc hint(logsoftmax_forward::desc(prop_kind::forward_training, md, 1), Engine());
      entry->prim = logsoftmax_backward(
          logsoftmax_backward::primitive_desc(logsoftmax_backward::desc(md, md, 1), Engine(), hint));
    } else {
      softmax_forward::primitive_desc hint(softmax_forward::desc(prop_kind::forward_training, md, 1), Engine());
      entry->prim =
          softmax_backward(softmax_backward::primitive_desc(softmax_backward::desc(md, md, 1), Engine(), hint));
    }
    entry->a = Unbound(md);
    entry->b = Unbound(md);
    entry->c = Unbound(md);
    entry->args = {{DNNL_ARG_DST, entry->a}, {DNNL_ARG_DIFF_DST, entry->b}, {DNNL_ARG_DIFF_SRC, entry->c}};
    return entry;
  });
  e.a.set_data_handle(op.F(1));
  e.b.set_data_handle(op.F(0));
  e.c.set_data_handle(op.F(2));
  OneThreadIf serial(IsSmallWork(outer * size));
  e.prim.execute(Stream(), e.args);
}

}  // namespace

void RegisterEltwise(Napi::Env, Napi::Object) {
  RegisterOp(kOpEltwise, Eltwise);
  RegisterOp(kOpEltwiseGrad, EltwiseGrad);
  RegisterOp(kOpSoftmax, Softmax);
  RegisterOp(kOpSoftmaxGrad, SoftmaxGrad);
}

}  // namespace mnl
