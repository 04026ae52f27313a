// Layout kernels: Transpose (a oneDNN reorder over permuted strides), Concat, Slice, Pad (strided
// copies) and ArgMax (a scan; oneDNN has no arg-reduction).
//
// Constraints:
// - Elements are 4 bytes: float32 or int32 (Transpose, Concat, Slice accept either; Pad and ArgMax
//   take float32). Shapes and index lists arrive packed in Int32Arrays, layouts in the comments.
// - Copies move whole innermost rows with memcpy; the innermost axis is contiguous on both sides.
#include <algorithm>

#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

/** Copies a `dims` box of 4-byte elements between two row-major layouts; last axis contiguous. */
void CopyBox(const char *src, const Dims &srcStrides, char *dst, const Dims &dstStrides, const Dims &dims) {
  const size_t rank = dims.size();
  if (Product(dims) == 0) return;
  const size_t rowBytes = static_cast<size_t>(dims[rank - 1]) * 4;
  Dims index(rank, 0);
  int64_t s = 0, d = 0;
  while (true) {
    std::memcpy(dst + d * 4, src + s * 4, rowBytes);
    int64_t axis = static_cast<int64_t>(rank) - 2;
    for (; axis >= 0; axis--) {
      const size_t ax = static_cast<size_t>(axis);
      if (++index[ax] < dims[ax]) {
        s += srcStrides[ax];
        d += dstStrides[ax];
        break;
      }
      s -= srcStrides[ax] * (index[ax] - 1);
      d -= dstStrides[ax] * (index[ax] - 1);
      index[ax] = 0;
    }
    if (axis < 0) return;
  }
}

DT ElementType(const View &v, const char *what) {
  if (v.type == napi_float32_array) return DT::f32;
  if (v.type == napi_int32_array) return DT::s32;
  throw std::runtime_error(std::string(what) + ": expected a Float32Array or an Int32Array");
}

struct TransposeEntry : Entry {
  reorder prim;
  memory src, dst;
};

void Transpose(const Napi::CallbackInfo &info) {
  // transpose(x, out, packed [rank, shape..., perm...]); out shape[i] = shape[perm[i]]
  View x = ReadView(info.Env(), info[0], "Transpose x");
  View out = ReadView(info.Env(), info[1], "Transpose out");
  const DT dt = ElementType(x, "Transpose");
  const int32_t *p = Ints(info, 2, "Transpose shape");
  const int64_t rank = *p++;
  if (x.length == 0) return;
  if (rank <= 1) {
    std::memcpy(out.data, x.data, x.length * 4);
    return;
  }
  Dims shape(p, p + rank);
  const int32_t *perm = p + rank;
  const Dims inStrides = RowMajorStrides(shape);
  Dims outDims(static_cast<size_t>(rank)), permutedStrides(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; i++) {
    outDims[static_cast<size_t>(i)] = shape[static_cast<size_t>(perm[i])];
    permutedStrides[static_cast<size_t>(i)] = inStrides[static_cast<size_t>(perm[i])];
  }
  Key key;
  key.add(kTranspose).add(static_cast<int64_t>(dt)).add(outDims).add(permutedStrides);
  auto &e = Cached<TransposeEntry>(key, [&] {
    auto entry = std::make_unique<TransposeEntry>();
    entry->src = Unbound(memory::desc(outDims, dt, permutedStrides));
    entry->dst = Unbound(PlainDesc(outDims, dt));
    entry->prim = reorder(entry->src, entry->dst);
    return entry;
  });
  e.src.set_data_handle(x.data);
  e.dst.set_data_handle(out.data);
  SmallWork small(static_cast<int64_t>(x.length));
  e.prim.execute(Stream(), e.src, e.dst);
}

void Concat(const Napi::CallbackInfo &info) {
  // concat(xs: typed array[], out, packed [count, rank, shape0..., shape1..., ...], axis)
  Napi::Array xs = info[0].As<Napi::Array>();
  View out = ReadView(info.Env(), info[1], "Concat out");
  const int32_t *p = Ints(info, 2, "Concat shapes");
  const int64_t axis = Int(info, 3);
  const int64_t count = p[0], rank = p[1];
  const int32_t *shapes = p + 2;
  int64_t outer = 1, inner = 1, total = 0;
  for (int64_t d = 0; d < axis; d++) outer *= shapes[d];
  for (int64_t d = axis + 1; d < rank; d++) inner *= shapes[d];
  for (int64_t i = 0; i < count; i++) total += shapes[i * rank + axis];
  char *dst = static_cast<char *>(out.data);
  int64_t offset = 0;  // elements into an output row of total * inner
  for (int64_t i = 0; i < count; i++) {
    View x = ReadView(info.Env(), xs.Get(static_cast<uint32_t>(i)), "Concat input");
    const int64_t chunk = shapes[i * rank + axis] * inner;
    const char *src = static_cast<const char *>(x.data);
    for (int64_t o = 0; o < outer; o++)
      std::memcpy(dst + (o * total * inner + offset) * 4, src + o * chunk * 4, static_cast<size_t>(chunk) * 4);
    offset += chunk;
  }
}

void Slice(const Napi::CallbackInfo &info) {
  // slice(x, out, packed [rank, shape..., begin..., size...])
  View x = ReadView(info.Env(), info[0], "Slice x");
  View out = ReadView(info.Env(), info[1], "Slice out");
  const int32_t *p = Ints(info, 2, "Slice shape");
  const int64_t rank = *p++;
  if (rank == 0) {
    std::memcpy(out.data, x.data, 4);
    return;
  }
  Dims shape(p, p + rank), begin(p + rank, p + 2 * rank), size(p + 2 * rank, p + 3 * rank);
  const Dims strides = RowMajorStrides(shape);
  int64_t start = 0;
  for (int64_t i = 0; i < rank; i++) start += begin[static_cast<size_t>(i)] * strides[static_cast<size_t>(i)];
  CopyBox(static_cast<const char *>(x.data) + start * 4, strides, static_cast<char *>(out.data),
          RowMajorStrides(size), size);
}

void Pad(const Napi::CallbackInfo &info) {
  // pad(x, out, packed [rank, shape..., before..., after...], value)
  const float *x = F32(info, 0, "Pad x");
  View out = ReadView(info.Env(), info[1], "Pad out");
  const int32_t *p = Ints(info, 2, "Pad shape");
  const float value = static_cast<float>(Num(info, 3));
  const int64_t rank = *p++;
  float *dst = static_cast<float *>(out.data);
  std::fill(dst, dst + out.length, value);
  if (rank == 0) {
    dst[0] = x[0];
    return;
  }
  Dims shape(p, p + rank), outShape(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; i++) outShape[static_cast<size_t>(i)] = shape[static_cast<size_t>(i)] + p[rank + i] + p[2 * rank + i];
  const Dims outStrides = RowMajorStrides(outShape);
  int64_t start = 0;
  for (int64_t i = 0; i < rank; i++) start += p[rank + i] * outStrides[static_cast<size_t>(i)];
  CopyBox(reinterpret_cast<const char *>(x), RowMajorStrides(shape), reinterpret_cast<char *>(dst + start),
          outStrides, shape);
}

void ArgMax(const Napi::CallbackInfo &info) {
  // argMax(x (outer, axis, inner), out int32 (outer, inner), outer, axis, inner): first maximum wins
  const float *x = F32(info, 0, "ArgMax x");
  int32_t *out = I32(info, 1, "ArgMax out");
  const int64_t outer = Int(info, 2), axis = Int(info, 3), inner = Int(info, 4);
  for (int64_t o = 0; o < outer; o++) {
    for (int64_t i = 0; i < inner; i++) {
      const float *row = x + o * axis * inner + i;
      int32_t best = 0;
      float bestValue = row[0];
      for (int64_t a = 1; a < axis; a++) {
        const float v = row[a * inner];
        if (v > bestValue) {
          bestValue = v;
          best = static_cast<int32_t>(a);
        }
      }
      out[o * inner + i] = best;
    }
  }
}

}  // namespace

void RegisterLayout(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "transpose", Transpose);
  Export(env, exports, "concat", Concat);
  Export(env, exports, "slice", Slice);
  Export(env, exports, "pad", Pad);
  Export(env, exports, "argMax", ArgMax);
}

}  // namespace mnl
