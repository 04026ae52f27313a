// Batched matrix product on oneDNN's matmul primitive.
//
// Constraints:
// - a is (batch, m, k) row-major, or (batch, k, m) when transposeA; b is (batch, k, n), or
//   (batch, n, k) when transposeB; out is (batch, m, n). Transposes are expressed as strides in
//   the memory descriptors, so nothing is copied. batch == 1 uses 2-D descriptors. float32 only.
#include "common.h"

namespace mnl {
namespace {

using namespace dnnl;

/** Descriptor of a logical (rows, cols) matrix stored row-major, or stored transposed. */
memory::desc MatrixDesc(int64_t batch, int64_t rows, int64_t cols, bool transposed) {
  const int64_t rowStride = transposed ? 1 : cols;
  const int64_t colStride = transposed ? rows : 1;
  if (batch == 1) return memory::desc({rows, cols}, DT::f32, Dims{rowStride, colStride});
  return memory::desc({batch, rows, cols}, DT::f32, Dims{rows * cols, rowStride, colStride});
}

struct MatMulEntry : Entry {
  matmul prim;
  memory a, b, out;
  ArgMap args;
};

void MatMul(const Napi::CallbackInfo &info) {
  // matmul(a, b, out, batch, m, k, n, transposeA, transposeB)
  float *a = F32(info, 0, "MatMul a");
  float *b = F32(info, 1, "MatMul b");
  float *out = F32(info, 2, "MatMul out");
  const int64_t batch = Int(info, 3), m = Int(info, 4), k = Int(info, 5), n = Int(info, 6);
  const bool transposeA = Bool(info, 7), transposeB = Bool(info, 8);
  Key key;
  key.add(kMatMul).add(batch).add(m).add(k).add(n).add(transposeA).add(transposeB);
  auto &e = Cached<MatMulEntry>(key, [&] {
    auto entry = std::make_unique<MatMulEntry>();
    const memory::desc aDesc = MatrixDesc(batch, m, k, transposeA);
    const memory::desc bDesc = MatrixDesc(batch, k, n, transposeB);
    const memory::desc outDesc = MatrixDesc(batch, m, n, false);
    matmul::primitive_desc pd(matmul::desc(aDesc, bDesc, outDesc), Engine());
    entry->prim = matmul(pd);
    entry->a = Unbound(aDesc);
    entry->b = Unbound(bDesc);
    entry->out = Unbound(outDesc);
    entry->args = {{DNNL_ARG_SRC, entry->a}, {DNNL_ARG_WEIGHTS, entry->b}, {DNNL_ARG_DST, entry->out}};
    return entry;
  });
  e.a.set_data_handle(a);
  e.b.set_data_handle(b);
  e.out.set_data_handle(out);
  e.prim.execute(Stream(), e.args);
}

}  // namespace

void RegisterMatMul(Napi::Env env, Napi::Object exports) { Export(env, exports, "matmul", MatMul); }

}  // namespace mnl
