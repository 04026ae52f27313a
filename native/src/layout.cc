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

struct TransposeEntry : Entry {
  reorder prim;
  memory src, dst;
};

void Transpose(const Op &op) {
  // buffers: x, out; ints: elementType (0 f32, 1 s32), rank, shape..., perm...; out shape[i] = shape[perm[i]]
  const DT dt = op.Int(0) == 0 ? DT::f32 : DT::s32;
  const int32_t *p = op.ints + 1;
  const int64_t rank = *p++;
  Dims shape(p, p + rank);
  const int64_t count = Product(shape);
  if (count == 0) return;
  if (rank <= 1) {
    std::memcpy(op.Buffer(1), op.Buffer(0), static_cast<size_t>(count) * 4);
    return;
  }
  const int32_t *perm = p + rank;
  const Dims inStrides = RowMajorStrides(shape);
  Dims outDims(static_cast<size_t>(rank)), permutedStrides(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; i++) {
    outDims[static_cast<size_t>(i)] = shape[static_cast<size_t>(perm[i])];
    permutedStrides[static_cast<size_t>(i)] = inStrides[static_cast<size_t>(perm[i])];
  }
  Key key;
  key.add(kTranspose).add(static_cast<int64_t>(dt)).add(outDims).add(permutedStrides);
  auto &e = Cached<TransposeEntry>(op, key, [&] {
    auto entry = std::make_unique<TransposeEntry>();
    entry->src = Unbound(memory::desc(outDims, dt, permutedStrides));
    entry->dst = Unbound(PlainDesc(outDims, dt));
    entry->prim = reorder(entry->src, entry->dst);
    return entry;
  });
  e.src.set_data_handle(op.Buffer(0));
  e.dst.set_data_handle(op.Buffer(1));
  OneThreadIf serial(IsSmallWork(count));
  e.prim.execute(Stream(), e.src, e.dst);
}

void Concat(const Op &op) {
  // buffers: out, x0, x1, ...; ints: count, rank, shape0..., shape1..., ..., axis (4-byte elements)
  const int64_t count = op.Int(0), rank = op.Int(1);
  const int32_t *shapes = op.ints + 2;
  const int64_t axis = op.Int(static_cast<int>(2 + count * rank));
  int64_t outer = 1, inner = 1, total = 0;
  for (int64_t d = 0; d < axis; d++) outer *= shapes[d];
  for (int64_t d = axis + 1; d < rank; d++) inner *= shapes[d];
  for (int64_t i = 0; i < count; i++) total += shapes[i * rank + axis];
  char *dst = static_cast<char *>(op.Buffer(0));
  int64_t offset = 0;  // elements into an output row of total * inner
  for (int64_t i = 0; i < count; i++) {
    const int64_t chunk = shapes[i * rank + axis] * inner;
    const char *src = static_cast<const char *>(op.Buffer(static_cast<int>(1 + i)));
    for (int64_t o = 0; o < outer; o++)
      std::memcpy(dst + (o * total * inner + offset) * 4, src + o * chunk * 4, static_cast<size_t>(chunk) * 4);
    offset += chunk;
  }
}

void Slice(const Op &op) {
  // buffers: x, out; ints: rank, shape..., begin..., size...
  const int32_t *p = op.ints;
  const int64_t rank = *p++;
  if (rank == 0) {
    std::memcpy(op.Buffer(1), op.Buffer(0), 4);
    return;
  }
  Dims shape(p, p + rank), begin(p + rank, p + 2 * rank), size(p + 2 * rank, p + 3 * rank);
  const Dims strides = RowMajorStrides(shape);
  int64_t start = 0;
  for (int64_t i = 0; i < rank; i++) start += begin[static_cast<size_t>(i)] * strides[static_cast<size_t>(i)];
  CopyBox(static_cast<const char *>(op.Buffer(0)) + start * 4, strides, static_cast<char *>(op.Buffer(1)),
          RowMajorStrides(size), size);
}

void Pad(const Op &op) {
  // buffers: x, out; ints: rank, shape..., before..., after...; floats: value
  const float *x = op.F(0);
  float *dst = op.F(1);
  const int32_t *p = op.ints;
  const float value = static_cast<float>(op.Float(0));
  const int64_t rank = *p++;
  if (rank == 0) {
    dst[0] = x[0];
    return;
  }
  Dims shape(p, p + rank), outShape(static_cast<size_t>(rank));
  for (int64_t i = 0; i < rank; i++)
    outShape[static_cast<size_t>(i)] = shape[static_cast<size_t>(i)] + p[rank + i] + p[2 * rank + i];
  std::fill(dst, dst + Product(outShape), value);
  const Dims outStrides = RowMajorStrides(outShape);
  int64_t start = 0;
  for (int64_t i = 0; i < rank; i++) start += p[rank + i] * outStrides[static_cast<size_t>(i)];
  CopyBox(reinterpret_cast<const char *>(x), RowMajorStrides(shape), reinterpret_cast<char *>(dst + start),
          outStrides, shape);
}

void ArgMax(const Op &op) {
  // buffers: x (outer, axis, inner), out int32 (outer, inner); ints: outer, axis, inner. First maximum wins.
  const float *x = op.F(0);
  int32_t *out = op.I(1);
  const int64_t outer = op.Int(0), axis = op.Int(1), inner = op.Int(2);
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

void RegisterLayout(Napi::Env, Napi::Object) {
  RegisterOp(kOpTranspose, Transpose);
  RegisterOp(kOpConcat, Concat);
  RegisterOp(kOpSlice, Slice);
  RegisterOp(kOpPad, Pad);
  RegisterOp(kOpArgMax, ArgMax);
}

}  // namespace mnl
