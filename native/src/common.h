// Shared plumbing for the mnist-lab native backend: the oneDNN engine and stream, the primitive
// cache, argument readers for N-API calls, and plain (row-major) memory descriptors.
//
// Constraints:
// - Single-threaded callers: every entry point runs on Node's main thread, so the cache, the engine
//   and the stream need no locks. Parallelism lives inside oneDNN (OpenMP) and in the OpenMP loops
//   of the fused kernels.
// - Storage is float32 or int32 only; float64 is rejected in the TypeScript layer before a call.
// - Primitives are cached by a compact integer key (kernel id + shape + attributes). A cache entry
//   also owns the dnnl::memory objects bound to the caller's buffers: a call only swaps their data
//   handles (set_data_handle) and executes, so the steady state creates no oneDNN objects.
#pragma once

#include <napi.h>

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

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
  kBatchNormFwd,
  kBatchNormBwd,
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

// ---- threading of small ops ----

/**
 * Runs the enclosing scope on one thread when `elements` is small. Below ~16K elements an OpenMP
 * fork/join costs more than the work (and on a busy machine a barrier can wait a whole scheduler
 * slice). Only for primitives that size their parallelism at execution time (eltwise, binary,
 * softmax, reorder, the C++ loops); convolutions fix their thread split at creation.
 */
class SmallWork {
 public:
  static constexpr int64_t kThreshold = 1 << 14;
  explicit SmallWork(int64_t elements, int64_t threshold = kThreshold) {
#if defined(_OPENMP)
    if (elements < threshold) {
      saved_ = omp_get_max_threads();
      if (saved_ > 1) omp_set_num_threads(1);
    }
#endif
  }
  ~SmallWork() {
#if defined(_OPENMP)
    if (saved_ > 1) omp_set_num_threads(saved_);
#endif
  }
  SmallWork(const SmallWork &) = delete;
  SmallWork &operator=(const SmallWork &) = delete;

 private:
  int saved_ = 0;
};

// ---- N-API argument readers ----

/** Data pointer and element count of a typed array argument. */
struct View {
  void *data;
  size_t length;
  napi_typedarray_type type;
};

View ReadView(const Napi::Env &env, const Napi::Value &value, const char *what);
inline float *F32(const Napi::CallbackInfo &info, size_t i, const char *what) {
  View v = ReadView(info.Env(), info[i], what);
  if (v.type != napi_float32_array) throw std::runtime_error(std::string(what) + ": expected a Float32Array");
  return static_cast<float *>(v.data);
}
inline int32_t *I32(const Napi::CallbackInfo &info, size_t i, const char *what) {
  View v = ReadView(info.Env(), info[i], what);
  if (v.type != napi_int32_array) throw std::runtime_error(std::string(what) + ": expected an Int32Array");
  return static_cast<int32_t *>(v.data);
}
inline double Num(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline int64_t Int(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
inline bool Bool(const Napi::CallbackInfo &info, size_t i) { return info[i].As<Napi::Boolean>().Value(); }

/** Reads a packed int32 attribute block (an Int32Array). */
inline const int32_t *Ints(const Napi::CallbackInfo &info, size_t i, const char *what) { return I32(info, i, what); }

// ---- registration: every entry point converts C++ exceptions into JS errors ----

using Handler = void (*)(const Napi::CallbackInfo &);
using ValueHandler = Napi::Value (*)(const Napi::CallbackInfo &);
void Export(Napi::Env env, Napi::Object exports, const char *name, Handler fn);
void ExportValue(Napi::Env env, Napi::Object exports, const char *name, ValueHandler fn);

// Families, one per source file.
void RegisterConv(Napi::Env env, Napi::Object exports);
void RegisterPool(Napi::Env env, Napi::Object exports);
void RegisterMatMul(Napi::Env env, Napi::Object exports);
void RegisterEltwise(Napi::Env env, Napi::Object exports);
void RegisterBinary(Napi::Env env, Napi::Object exports);
void RegisterLayout(Napi::Env env, Napi::Object exports);
void RegisterNorm(Napi::Env env, Napi::Object exports);
void RegisterFused(Napi::Env env, Napi::Object exports);

/** Geometry block shared by convolution and pooling, as packed by the TypeScript side. */
struct Window {
  int64_t N, H, W, C, KH, KW, OH, OW, sH, sW, pT, pB, pL, pR, dH, dW, O;
  static Window Read(const int32_t *g, bool hasO) {
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
