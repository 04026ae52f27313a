// Broadcasting binary ops and reductions.
//
// Constraints:
// - Shapes arrive packed in an Int32Array: [aRank, a..., bRank, b..., outRank, out...]; they are
//   left-padded with 1s to the output rank (numpy broadcasting). Op codes are mirrored in
//   src/backend/native/binding.ts (BinaryOp, ReduceOp).
// - oneDNN's binary primitive broadcasts only its second source, so: a full-shaped a runs as is; a
//   full-shaped b runs swapped for commutative ops (Greater becomes binary_lt); anything else (both
//   operands broadcast, Sub/Div with a broadcast a, Pow, which oneDNN lacks) runs a strided C++ loop.
// - Reductions: after dropping size-1 axes and merging neighbours, most reductions are
//   out[o, i] = reduce_r x[o, r, i] (bias gradients reduce N,H,W of NHWC; losses reduce rows).
//   Those run a C++ loop (sums accumulate in double; rows split across OpenMP threads), because
//   oneDNN 2.6's reduction primitive falls back to a slow reference kernel for them (measured
//   40 ms for 128x26x26x32 -> 32). Other axis patterns use the reduction primitive.
// - float32 only.
#include <algorithm>
#include <cmath>
#include <limits>

#include <vector>

#include "common.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mnl {
namespace {

using namespace dnnl;

enum BinaryOp { kAdd = 0, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kEqual, kGreater };

/** Reads [rank, dims...] at `p`, advancing it, left-padded with 1s to `rank`. */
Dims ReadShape(const int32_t *&p, int64_t rank) {
  const int64_t own = *p++;
  Dims d(static_cast<size_t>(rank), 1);
  for (int64_t i = 0; i < own; i++) d[static_cast<size_t>(rank - own + i)] = p[i];
  p += own;
  return d;
}

struct Shapes {
  Dims a, b, out;
};

Shapes ReadShapes(const int32_t *packed) {
  // The output rank is the last block's header; find it first.
  const int32_t *p = packed;
  const int64_t aRank = p[0];
  const int64_t bRank = p[1 + aRank];
  const int64_t outRank = p[2 + aRank + bRank];
  const int64_t rank = std::max<int64_t>(outRank, 1);
  Shapes s;
  s.a = ReadShape(p, rank);
  s.b = ReadShape(p, rank);
  s.out = ReadShape(p, rank);
  return s;
}

float Apply(int64_t op, float x, float y) {
  switch (op) {
    case kAdd: return x + y;
    case kSub: return x - y;
    case kMul: return x * y;
    case kDiv: return x / y;
    case kPow: return std::pow(x, y);
    case kMaximum: return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y);
    case kMinimum: return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y);
    case kEqual: return x == y ? 1.f : 0.f;
    case kGreater: return x > y ? 1.f : 0.f;
    default: throw std::runtime_error("binary: unknown op " + std::to_string(op));
  }
}

/** Broadcasting loop: strides of a and b are 0 along their broadcast axes. */
void BroadcastLoop(int64_t op, const float *a, const float *b, float *out, const Shapes &s) {
  const size_t rank = s.out.size();
  Dims as = RowMajorStrides(s.a), bs = RowMajorStrides(s.b);
  for (size_t i = 0; i < rank; i++) {
    if (s.a[i] == 1) as[i] = 0;
    if (s.b[i] == 1) bs[i] = 0;
  }
  const int64_t inner = s.out[rank - 1], total = Product(s.out);
  if (total == 0) return;
  const int64_t aInner = as[rank - 1], bInner = bs[rank - 1];
  Dims index(rank, 0);
  int64_t aOff = 0, bOff = 0;
  for (int64_t row = 0; row < total; row += inner) {
    for (int64_t j = 0; j < inner; j++) out[row + j] = Apply(op, a[aOff + j * aInner], b[bOff + j * bInner]);
    // Advance the outer index (all axes but the last), odometer style.
    for (int64_t axis = static_cast<int64_t>(rank) - 2; axis >= 0; axis--) {
      const size_t ax = static_cast<size_t>(axis);
      if (++index[ax] < s.out[ax]) {
        aOff += as[ax];
        bOff += bs[ax];
        break;
      }
      aOff -= as[ax] * (index[ax] - 1);
      bOff -= bs[ax] * (index[ax] - 1);
      index[ax] = 0;
    }
  }
}

struct BinaryEntry : Entry {
  binary prim;
  memory src0, src1, dst;
  ArgMap args;
};

void Binary(const Op &call) {
  // buffers: a, b, out; ints: op, then the packed shapes
  const int64_t op = call.Int(0);
  const float *a = call.F(0);
  const float *b = call.F(1);
  float *out = call.F(2);
  Shapes s = ReadShapes(call.ints + 1);
  if (Product(s.out) == 0) return;
  OneThreadIf serial(IsSmallWork(Product(s.out)));
  const bool aFull = s.a == s.out, bFull = s.b == s.out;
  algorithm alg;
  bool swap = false;
  switch (op) {
    case kAdd: alg = algorithm::binary_add; swap = !aFull; break;
    case kSub: alg = algorithm::binary_sub; break;
    case kMul: alg = algorithm::binary_mul; swap = !aFull; break;
    case kDiv: alg = algorithm::binary_div; break;
    case kMaximum: alg = algorithm::binary_max; swap = !aFull; break;
    case kMinimum: alg = algorithm::binary_min; swap = !aFull; break;
    case kEqual: alg = algorithm::binary_eq; swap = !aFull; break;
    case kGreater:
      swap = !aFull;
      alg = swap ? algorithm::binary_lt : algorithm::binary_gt;
      break;
    default: alg = algorithm::undef; break;  // Pow: loop
  }
  // NOTE: oneDNN's max/min do not propagate NaN the way Math.max does; the contract's reference
  // (js) propagates it, so inputs with NaN differ there. Accepted: NaN activations are a bug anyway.
  if (alg == algorithm::undef || !(aFull || (swap && bFull))) {
    BroadcastLoop(op, a, b, out, s);
    return;
  }
  if (swap) {
    std::swap(a, b);
    std::swap(s.a, s.b);
  }
  Key key;
  key.add(kBinary).add(static_cast<int64_t>(alg)).add(s.a).add(s.b);
  auto &e = Cached<BinaryEntry>(call, key, [&] {
    auto entry = std::make_unique<BinaryEntry>();
    const memory::desc d0 = PlainDesc(s.a), d1 = PlainDesc(s.b), dd = PlainDesc(s.out);
    entry->prim = binary(binary::primitive_desc(binary::desc(alg, d0, d1, dd), Engine()));
    entry->src0 = Unbound(d0);
    entry->src1 = Unbound(d1);
    entry->dst = Unbound(dd);
    entry->args = {{DNNL_ARG_SRC_0, entry->src0}, {DNNL_ARG_SRC_1, entry->src1}, {DNNL_ARG_DST, entry->dst}};
    return entry;
  });
  e.src0.set_data_handle(const_cast<float *>(a));
  e.src1.set_data_handle(const_cast<float *>(b));
  e.dst.set_data_handle(out);
  e.prim.execute(Stream(), e.args);
}

int Threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

int ThreadId() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

/** out[o, i] = reduce_j x[o, j, i] over x (outer, r, inner); Acc double for sums, float for max. */
template <typename Acc, bool isMax>
void ReduceMiddle(const float *x, float *out, int64_t outer, int64_t r, int64_t inner) {
  const Acc init = isMax ? -std::numeric_limits<Acc>::infinity() : Acc(0);
  auto combine = [](Acc a, Acc b) { return isMax ? (a > b ? a : b) : a + b; };
  const bool parallel = outer * r * inner > (1 << 15) && Threads() > 1;
  const int threads = parallel ? Threads() : 1;
  if (outer >= 4 * threads) {  // enough independent outputs: split outer
#pragma omp parallel for if (parallel) schedule(static)
    for (int64_t o = 0; o < outer; o++) {
      std::vector<Acc> acc(static_cast<size_t>(inner), init);
      const float *row = x + o * r * inner;
      for (int64_t j = 0; j < r; j++)
        for (int64_t i = 0; i < inner; i++) acc[i] = combine(acc[i], static_cast<Acc>(row[j * inner + i]));
      for (int64_t i = 0; i < inner; i++) out[o * inner + i] = static_cast<float>(acc[i]);
    }
    return;
  }
  // Few outputs (a bias gradient): split the reduced axis, one partial buffer per thread.
  const int64_t width = outer * inner;
  std::vector<Acc> partial(static_cast<size_t>(threads * width), init);
#pragma omp parallel num_threads(threads) if (parallel)
  {
    const int t = ThreadId();
    const int64_t begin = r * t / threads, end = r * (t + 1) / threads;
    Acc *acc = partial.data() + t * width;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t j = begin; j < end; j++) {
        const float *row = x + (o * r + j) * inner;
        Acc *a = acc + o * inner;
        for (int64_t i = 0; i < inner; i++) a[i] = combine(a[i], static_cast<Acc>(row[i]));
      }
  }
  for (int64_t w = 0; w < width; w++) {
    Acc v = partial[static_cast<size_t>(w)];
    for (int t = 1; t < threads; t++) v = combine(v, partial[static_cast<size_t>(t * width + w)]);
    out[w] = static_cast<float>(v);
  }
}

/** Collapses to (outer, r, inner) when the reduced axes form one block; false otherwise. */
bool AsMiddleReduction(const Dims &src, const Dims &dst, int64_t &outer, int64_t &r, int64_t &inner) {
  outer = r = inner = 1;
  int phase = 0;  // 0: leading kept axes, 1: reduced block, 2: trailing kept axes
  for (size_t i = 0; i < src.size(); i++) {
    if (src[i] == 1) continue;
    const bool reduced = dst[i] == 1;
    if (reduced) {
      if (phase == 2) return false;
      phase = 1;
      r *= src[i];
    } else if (phase == 0) {
      outer *= src[i];
    } else {
      phase = 2;
      inner *= src[i];
    }
  }
  return true;
}

struct ReductionEntry : Entry {
  reduction prim;
  memory src, dst;
  ArgMap args;
};

void Reduce(const Op &call) {
  // buffers: x, out; ints: op (0 sum | 1 max), rank, dims..., axisCount, axes...
  const int64_t op = call.Int(0);
  float *x = call.F(0);
  float *out = call.F(1);
  const int32_t *p = call.ints + 1;
  const int64_t rank = *p++;
  Dims src(p, p + rank);
  p += rank;
  const int64_t axisCount = *p++;
  Dims dst = src;
  for (int64_t i = 0; i < axisCount; i++) dst[static_cast<size_t>(p[i])] = 1;
  const int64_t inCount = Product(src), outCount = Product(dst);
  if (inCount == 0) {
    std::fill(out, out + outCount, op == 0 ? 0.f : -std::numeric_limits<float>::infinity());
    return;
  }
  OneThreadIf serial(IsSmallWork(inCount));
  if (inCount == outCount) {  // only size-1 axes reduced: a copy (oneDNN rejects src == dst shapes)
    std::memcpy(out, x, sizeof(float) * static_cast<size_t>(inCount));
    return;
  }
  int64_t outer, r, inner;
  if (AsMiddleReduction(src, dst, outer, r, inner)) {
    if (op == 0) ReduceMiddle<double, false>(x, out, outer, r, inner);
    else ReduceMiddle<float, true>(x, out, outer, r, inner);
    return;
  }
  Key key;
  key.add(kReduction).add(op).add(src).add(dst);
  auto &e = Cached<ReductionEntry>(call, key, [&] {
    auto entry = std::make_unique<ReductionEntry>();
    const memory::desc sd = PlainDesc(src), dd = PlainDesc(dst);
    const algorithm alg = op == 0 ? algorithm::reduction_sum : algorithm::reduction_max;
    entry->prim = reduction(reduction::primitive_desc(reduction::desc(alg, sd, dd, 0.f, 0.f), Engine()));
    entry->src = Unbound(sd);
    entry->dst = Unbound(dd);
    entry->args = {{DNNL_ARG_SRC, entry->src}, {DNNL_ARG_DST, entry->dst}};
    return entry;
  });
  e.src.set_data_handle(x);
  e.dst.set_data_handle(out);
  e.prim.execute(Stream(), e.args);
}

}  // namespace

void RegisterBinary(Napi::Env, Napi::Object) {
  RegisterOp(kOpBinary, Binary);
  RegisterOp(kOpReduce, Reduce);
}

}  // namespace mnl
