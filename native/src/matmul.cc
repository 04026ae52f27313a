// Batched matrix product on oneDNN's matmul primitive.
//
// Constraints:
// - a is (batch, m, k) row-major, or (batch, k, m) when transposeA; b is (batch, k, n), or
//   (batch, n, k) when transposeB; out is (batch, m, n). Transposes are expressed as strides in
//   the memory descriptors, so nothing is copied (in float32). batch == 1 uses 2-D descriptors.
// - Buffers are float32. With bf16 the operands are converted to bfloat16 copies (one reorder
//   each) and multiplied with float32 accumulation into the float32 output.
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

/**
 * Whether a product asked for bfloat16 computes in it: only with every side at least 64 (the vit's
 * projections). Narrow products stay float32, where the conversions cost more than the dot
 * products save (cnn's Dense(10) on 128 x 1600, three products: 0.15 ms in f32, 0.27 in bf16).
 */
bool ProductPaysInBf16(int64_t m, int64_t k, int64_t n) { return m >= 64 && k >= 64 && n >= 64; }

struct MatMulEntry : Entry {
  /** Created and executed on one thread (small work; see IsSmallCompute). */
  bool oneThread = false;
  matmul prim;
  /** bf16: the float32 operands converted into the primitive's bfloat16 copies. */
  Staged a, b;
  memory out;
  ArgMap args;
};

void MatMul(const Op &op) {
  // buffers: a, b, out; ints: batch, m, k, n, transposeA, transposeB, bf16
  const int64_t batch = op.Int(0), m = op.Int(1), k = op.Int(2), n = op.Int(3);
  const bool transposeA = op.Int(4) != 0, transposeB = op.Int(5) != 0;
  const bool bf16 = op.Int(6) != 0 && ProductPaysInBf16(m, k, n);
  Key key;
  key.add(kMatMul).add(batch).add(m).add(k).add(n).add(transposeA).add(transposeB).add(bf16);
  auto &e = Cached<MatMulEntry>(op, key, [&] {
    auto entry = std::make_unique<MatMulEntry>();
    entry->oneThread = IsSmallCompute(batch * m * k * n);
    OneThreadIf serial(entry->oneThread);
    const memory::desc aDesc = MatrixDesc(batch, m, k, transposeA);
    const memory::desc bDesc = MatrixDesc(batch, k, n, transposeB);
    const memory::desc outDesc = MatrixDesc(batch, m, n, false);
    // bf16: the primitive reads bfloat16 operands in layouts of its choice and accumulates in f32.
    const memory::desc aOp = bf16 ? memory::desc(aDesc.dims(), DT::bf16, Tag::any) : aDesc;
    const memory::desc bOp = bf16 ? memory::desc(bDesc.dims(), DT::bf16, Tag::any) : bDesc;
    matmul::primitive_desc pd(matmul::desc(aOp, bOp, outDesc), Engine());
    entry->prim = matmul(pd);
    entry->a.Init(aDesc, pd.src_desc(), true);
    entry->b.Init(bDesc, pd.weights_desc(), true);
    entry->out = Unbound(outDesc);
    entry->args = {{DNNL_ARG_SRC, entry->a.internal}, {DNNL_ARG_WEIGHTS, entry->b.internal}, {DNNL_ARG_DST, entry->out}};
    return entry;
  });
  OneThreadIf serial(e.oneThread);
  e.a.BindIn(op.F(0));
  e.b.BindIn(op.F(1));
  e.out.set_data_handle(op.F(2));
  e.prim.execute(Stream(), e.args);
}

}  // namespace

void RegisterMatMul(Napi::Env, Napi::Object) { RegisterOp(kOpMatMul, MatMul); }

}  // namespace mnl
