// Shared plumbing for the mnist-lab native backend: the oneDNN engine and stream, the primitive
// cache, the op calling convention every kernel follows (eager calls and captured step plans), and
// plain (row-major) memory descriptors.
//
// Constraints:
// - Single-threaded callers: every entry point runs on Node's main thread, so the cache, the engine
//   and the stream need no locks. Parallelism lives inside oneDNN (OpenMP) and in the OpenMP loops
//   of the fused kernels.
// - Storage is float32 or int32 (float64 only for an optimizer's schedule); float64 tensors are
//   rejected in the TypeScript layer before a call.
// - Primitives are cached by a compact integer key (kernel id + shape + attributes). A cache entry
//   also owns the dnnl::memory objects bound to the caller's buffers: a call only swaps their data
//   handles (set_data_handle) and executes, so the steady state creates no oneDNN objects. A plan op
//   keeps a pointer to its entry, so a replayed step does not even look the key up.
#pragma once

#include <napi.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mnl {

using dnnl::memory;
using Dims = memory::dims;
using Tag = memory::format_tag;
using DT = memory::data_type;
using ArgMap = std::unordered_map<int, memory>;

dnnl::engine &Engine();
dnnl::stream &Stream();

// ---- cache key: a short list of int64 values, compared and hashed as a whole ----

struct Key {
  static constexpr int kCapacity = 48;
  int64_t v[kCapacity];
  int n = 0;

  Key &add(int64_t x) {
    if (n == kCapacity) throw std::runtime_error("internal: primitive cache key too long (rank too high?)");
    v[n++] = x;
    return *this;
  }
  Key &add(const Dims &d) {
    add(static_cast<int64_t>(d.size()));
    for (auto x : d) add(x);
    return *this;
  }
  bool operator==(const Key &o) const {
    return n == o.n && std::memcmp(v, o.v, sizeof(int64_t) * static_cast<size_t>(n)) == 0;
  }
};

struct KeyHash {
  size_t operator()(const Key &k) const noexcept {
    uint64_t h = 1469598103934665603ull;  // FNV-1a over the values, then a final mix
    for (int i = 0; i < k.n; i++) h = (h ^ static_cast<uint64_t>(k.v[i])) * 1099511628211ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

/** Base of every cached entry; each kernel family derives its own with primitives and memories. */
struct Entry {
  virtual ~Entry() = default;
};

using Cache = std::unordered_map<Key, std::unique_ptr<Entry>, KeyHash>;
Cache &PrimitiveCache();

/** Looks `key` up; on a miss builds the entry with `make()` and stores it. */
template <typename T, typename Make>
T &Cached(const Key &key, Make &&make) {
  Cache &cache = PrimitiveCache();
  auto it = cache.find(key);
  if (it != cache.end()) return *static_cast<T *>(it->second.get());
  std::unique_ptr<T> entry = make();
  T &ref = *entry;
  cache.emplace(key, std::move(entry));
  return ref;
}

// Kernel ids: the first element of every key.
enum KernelId : int64_t {
  kConvFwd = 1,
  kConvBwdData,
  kConvBwdWeights,
  kPoolFwd,
  kPoolBwd,
  kMatMul,
  kEltwiseFwd,
  kEltwiseBwd,
  kSoftmaxFwd,
  kSoftmaxBwd,
  kBinary,
  kReduction,
  kTranspose,
  kBatchNormInfer,
  kLayerNormFwd,
  kLayerNormBwd,
};

// ---- memory helpers ----

/** Row-major strides for `dims`. */
Dims RowMajorStrides(const Dims &dims);
/** A dense row-major descriptor ("abc..." order) of any rank. */
memory::desc PlainDesc(const Dims &dims, DT dt = DT::f32);
/** A memory object without a buffer; bind one per call with set_data_handle. */
inline memory Unbound(const memory::desc &md) { return memory(md, Engine(), DNNL_MEMORY_NONE); }
int64_t Product(const Dims &dims);

// ---- threading ----

/**
 * Runs the enclosing scope on one OpenMP thread when `serial` is true, and on the whole team
 * otherwise. Used where a fork/join costs more than the work it splits (small elementwise ops) and
 * where oneDNN fixes a kernel's thread split when the primitive is created (convolutions).
 */
class OneThreadIf {
 public:
  explicit OneThreadIf(bool serial) {
#if defined(_OPENMP)
    if (serial) {
      saved_ = omp_get_max_threads();
      if (saved_ > 1) omp_set_num_threads(1);
    }
#endif
  }
  ~OneThreadIf() {
#if defined(_OPENMP)
    if (saved_ > 1) omp_set_num_threads(saved_);
#endif
  }
  OneThreadIf(const OneThreadIf &) = delete;
  OneThreadIf &operator=(const OneThreadIf &) = delete;

 private:
  int saved_ = 0;
};

/**
 * Below ~16K elements an OpenMP fork/join costs more than the work (and on a busy machine a barrier
 * can wait a whole scheduler slice): such ops run on one thread. Only for primitives that size
 * their parallelism at execution time (eltwise, binary, softmax, reorder, the C++ loops).
 */
constexpr int64_t kSmallWork = 1 << 14;
inline bool IsSmallWork(int64_t elements) { return elements < kSmallWork; }

/**
 * Below ~4M multiply-adds (a convolution or a product on one image, the seed mlp's layers) a
 * primitive runs on one thread: on 2 cores the fork/join and the split cost more than they save
 * (measured, the cnn recipe's single-image forward: 0.037 ms on one thread, 0.083 on two). oneDNN
 * sizes a convolution's thread split when the primitive is created, so such primitives are created
 * and executed inside OneThreadIf.
 */
constexpr int64_t kSmallCompute = int64_t{1} << 22;
inline bool IsSmallCompute(int64_t multiplyAdds) { return multiplyAdds < kSmallCompute; }

// ---- plain C++ loops ----

/**
 * The addon is built for the baseline x86-64 (SSE2) so it loads on any such CPU; the hot elementwise
 * loops are compiled three times and the best one for the CPU is picked when the addon loads (the
 * results are the same: each element's arithmetic is identical IEEE operations, without FMA
 * contraction under -std=c++17).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MNL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MNL_VECTOR_CLONES
#endif

/**
 * Calls span(list, begin, end) for the element ranges of several buffers (lengths[list]), the
 * elements split evenly across the OpenMP team when there are more than `parallelAbove` in all.
 */
template <typename Span>
void ForEachRange(const std::vector<int64_t> &lengths, int64_t parallelAbove, Span &&span) {
  int64_t total = 0;
  for (int64_t n : lengths) total += n;
#pragma omp parallel if (total > parallelAbove)
  {
#if defined(_OPENMP)
    const int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
#else
    const int64_t threads = 1, t = 0;
#endif
    const int64_t begin = total * t / threads, end = total * (t + 1) / threads;
    int64_t offset = 0;
    for (size_t k = 0; k < lengths.size() && offset < end; k++) {
      const int64_t n = lengths[k];
      const int64_t from = std::max(begin - offset, int64_t{0}), to = std::min(end - offset, n);
      if (from < to) span(k, from, to);
      offset += n;
    }
  }
}

// ---- ops: the one calling convention of every kernel ----
//
// A kernel call is an Op: an op code, buffer pointers, int and double attributes. An eager call from
// TypeScript is a program of one op (Run); a captured training step is a plan of many (plan.cc).
// Op codes and each op's operand layout are mirrored in src/backend/native/binding.ts.

enum OpCode : int32_t {
  kOpConv2D = 1,
  kOpConv2DBackpropInput,
  kOpConv2DBackpropFilter,
  kOpMaxPool,
  kOpMaxPoolGrad,
  kOpAvgPool,
  kOpAvgPoolGrad,
  kOpMatMul,
  kOpEltwise,
  kOpEltwiseGrad,
  kOpSoftmax,
  kOpSoftmaxGrad,
  kOpBinary,
  kOpReduce,
  kOpTranspose,
  kOpConcat,
  kOpSlice,
  kOpPad,
  kOpArgMax,
  kOpBatchNorm,
  kOpBatchNormGrad,
  kOpBatchNormInference,
  kOpLayerNorm,
  kOpLayerNormGrad,
  kOpSoftmaxCrossEntropy,
  kOpSoftmaxCrossEntropyGrad,
  kOpDropout,
  kOpAdamUpdate,
  kOpSgdUpdate,
  kOpGather,
  kOpGatherGrad,
  kOpAllFinite,
  kOpBatchNormMovingUpdate,
  kOpSkipUnless,  // plans only: skips the next ints[0] ops unless the int32 flag buffer is non-zero
  kOpCount
};

/** One kernel call: its buffers, attributes and (in a plan) the slot of its cached primitive. */
struct Op {
  int32_t code = 0;
  int nBuffers = 0;
  void *const *buffers = nullptr;
  int nInts = 0;
  const int32_t *ints = nullptr;
  int nFloats = 0;
  const double *floats = nullptr;
  /** A plan's slot for this op's cache entry (resolved on first run); nullptr for eager calls. */
  Entry **slot = nullptr;

  float *F(int i) const { return static_cast<float *>(Buffer(i)); }
  int32_t *I(int i) const { return static_cast<int32_t *>(Buffer(i)); }
  void *Buffer(int i) const {
    if (i >= nBuffers) throw std::runtime_error("internal: op " + std::to_string(code) + " reads buffer " + std::to_string(i));
    return buffers[i];
  }
  int64_t Int(int i) const {
    if (i >= nInts) throw std::runtime_error("internal: op " + std::to_string(code) + " reads int " + std::to_string(i));
    return ints[i];
  }
  double Float(int i) const {
    if (i >= nFloats) throw std::runtime_error("internal: op " + std::to_string(code) + " reads float " + std::to_string(i));
    return floats[i];
  }
};

using OpFn = void (*)(const Op &);
/** Registers the executor of an op code (each family file registers its own). */
void RegisterOp(OpCode code, OpFn fn);
/** Runs one op through its registered executor. */
void Execute(const Op &op);

/** Incremented whenever the primitive cache is cleared: plans drop their resolved slots then. */
uint64_t CacheGeneration();

/** Cached() through a plan's slot: the key is looked up once per plan, then the slot answers. */
template <typename T, typename Make>
T &Cached(const Op &op, const Key &key, Make &&make) {
  if (op.slot != nullptr && *op.slot != nullptr) return *static_cast<T *>(*op.slot);
  T &entry = Cached<T>(key, std::forward<Make>(make));
  if (op.slot != nullptr) *op.slot = &entry;
  return entry;
}

/**
 * A user buffer in its plain float32 layout and, when the primitive wants another layout or data
 * type (blocked, bfloat16), a private copy plus the reorder between them: inputs are reordered in
 * before the primitive runs (BindIn), outputs are reordered out after it (BindOut, then Flush).
 */
struct Staged {
  // Kernels (18K floats for the cnn recipe's conv2, ~10 us) are reordered on one thread: one fork
  // and barrier less per call, and a barrier is what stalls when another process has the core.
  static constexpr int64_t kSerialReorder = 1 << 16;
  memory user, internal;
  dnnl::reorder prim;
  bool needsReorder = false;
  int64_t elements = 0;

  void Init(const memory::desc &userDesc, const memory::desc &wanted, bool isInput) {
    user = Unbound(userDesc);
    elements = Product(userDesc.dims());
    needsReorder = wanted != userDesc;
    if (!needsReorder) {
      internal = user;
      return;
    }
    internal = memory(wanted, Engine());
    prim = isInput ? dnnl::reorder(user, internal) : dnnl::reorder(internal, user);
  }
  void BindIn(void *data) {
    user.set_data_handle(data);
    if (!needsReorder) return;
    OneThreadIf serial(elements < kSerialReorder);
    prim.execute(Stream(), user, internal);
  }
  void BindOut(void *data) { user.set_data_handle(data); }
  void Flush() {
    if (!needsReorder) return;
    OneThreadIf serial(elements < kSerialReorder);
    prim.execute(Stream(), internal, user);
  }
};

// ---- N-API argument readers ----

/** Data pointer and element count of a typed array argument. */
struct View {
  void *data;
  size_t length;
  napi_typedarray_type type;
};

View ReadView(const Napi::Env &env, const Napi::Value &value, const char *what);
inline double Num(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline int64_t Int(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }

// ---- registration: every entry point converts C++ exceptions into JS errors ----

using Handler = void (*)(const Napi::CallbackInfo &);
using ValueHandler = Napi::Value (*)(const Napi::CallbackInfo &);
void Export(Napi::Env env, Napi::Object exports, const char *name, Handler fn);
void ExportValue(Napi::Env env, Napi::Object exports, const char *name, ValueHandler fn);

// Families, one per source file: each registers its ops (and any query functions it exports).
void RegisterConv(Napi::Env env, Napi::Object exports);
void RegisterPool(Napi::Env env, Napi::Object exports);
void RegisterMatMul(Napi::Env env, Napi::Object exports);
void RegisterEltwise(Napi::Env env, Napi::Object exports);
void RegisterBinary(Napi::Env env, Napi::Object exports);
void RegisterLayout(Napi::Env env, Napi::Object exports);
void RegisterNorm(Napi::Env env, Napi::Object exports);
void RegisterFused(Napi::Env env, Napi::Object exports);
void RegisterPlan(Napi::Env env, Napi::Object exports);

/** Geometry block shared by convolution and pooling, as packed by the TypeScript side. */
struct Window {
  int64_t N, H, W, C, KH, KW, OH, OW, sH, sW, pT, pB, pL, pR, dH, dW, O;
  /** Multiply-adds of a convolution over this window (one direction). */
  int64_t MultiplyAdds() const { return N * OH * OW * O * KH * KW * C; }
  static Window Read(const int32_t *g, bool hasO = true) {
    Window w{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15],
             hasO ? g[16] : 0};
    return w;
  }
  Key &AddTo(Key &k) const {
    for (int64_t x : {N, H, W, C, KH, KW, OH, OW, sH, sW, pT, pB, pL, pR, dH, dW, O}) k.add(x);
    return k;
  }
};

}  // namespace mnl
