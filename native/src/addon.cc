// Module entry of the mnist-lab native backend: storage allocation (64-byte aligned, handed to JS
// as external ArrayBuffers), thread control, the shared engine/stream/cache, and registration of
// every kernel family.
//
// Constraints:
// - alloc(bytes) returns an ArrayBuffer whose memory is owned by the addon and freed by its
//   finalizer when V8 collects the buffer; V8 is told about it via AdjustExternalMemory so the GC
//   sees native memory pressure. JS keeps a pool on top, so this runs only while the pool grows.
// - Threads: oneDNN in Debian is built with OpenMP; setThreads sets the OpenMP team size and
//   clears the primitive cache, because some implementations fix their thread split at creation.
#include <algorithm>
#include <cstdlib>

#include "common.h"

#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mnl {

dnnl::engine &Engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream &Stream() {
  static dnnl::stream stream(Engine());
  return stream;
}

Cache &PrimitiveCache() {
  static Cache cache;
  return cache;
}

namespace {
uint64_t cacheGeneration = 1;
OpFn opTable[kOpCount] = {};
}  // namespace

uint64_t CacheGeneration() { return cacheGeneration; }

/** Clears the primitive cache; plans holding resolved entries see the new generation. */
void ClearPrimitiveCache() {
  PrimitiveCache().clear();
  cacheGeneration++;
}

void RegisterOp(OpCode code, OpFn fn) { opTable[code] = fn; }

void Execute(const Op &op) {
  if (op.code <= 0 || op.code >= kOpCount || opTable[op.code] == nullptr)
    throw std::runtime_error("unknown native op code " + std::to_string(op.code));
  opTable[op.code](op);
}

Dims RowMajorStrides(const Dims &dims) {
  Dims strides(dims.size(), 1);
  for (int i = static_cast<int>(dims.size()) - 2; i >= 0; i--) strides[i] = strides[i + 1] * dims[i + 1];
  return strides;
}

memory::desc PlainDesc(const Dims &dims, DT dt) { return memory::desc(dims, dt, RowMajorStrides(dims)); }

int64_t Product(const Dims &dims) {
  int64_t p = 1;
  for (auto d : dims) p *= d;
  return p;
}

View ReadView(const Napi::Env &env, const Napi::Value &value, const char *what) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &offset) != napi_ok) {
    throw std::runtime_error(std::string(what) + ": expected a typed array");
  }
  return View{data, length, type};
}

void Export(Napi::Env env, Napi::Object exports, const char *name, Handler fn) {
  // The handler pointer rides in the function's data slot; one trampoline converts exceptions.
  auto trampoline = [](const Napi::CallbackInfo &info) -> Napi::Value {
    auto handler = reinterpret_cast<Handler>(info.Data());
    try {
      handler(info);
    } catch (const Napi::Error &) {
      throw;
    } catch (const dnnl::error &e) {
      throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
    } catch (const std::exception &e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
    return info.Env().Undefined();
  };
  exports.Set(name, Napi::Function::New(env, trampoline, name, reinterpret_cast<void *>(fn)));
}

void ExportValue(Napi::Env env, Napi::Object exports, const char *name, ValueHandler fn) {
  auto trampoline = [](const Napi::CallbackInfo &info) -> Napi::Value {
    auto handler = reinterpret_cast<ValueHandler>(info.Data());
    try {
      return handler(info);
    } catch (const Napi::Error &) {
      throw;
    } catch (const dnnl::error &e) {
      throw Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
    } catch (const std::exception &e) {
      throw Napi::Error::New(info.Env(), e.what());
    }
  };
  exports.Set(name, Napi::Function::New(env, trampoline, name, reinterpret_cast<void *>(fn)));
}

namespace {

constexpr size_t kAlignment = 64;
// Blocks this large are placed on 2 MiB boundaries and marked for transparent huge pages: first
// touch of fresh memory costs one fault per 4 KiB page otherwise, which on a VM made filling a
// large buffer (a feature cache, a big batch's activations) cost more than computing it.
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugeThreshold = size_t{64} << 20;

#if defined(__linux__) && defined(MADV_HUGEPAGE)
constexpr bool kUseHugePages = true;
#else
constexpr bool kUseHugePages = false;
#endif

/** The bytes a block for `requested` takes: a whole number of 64-byte lines, or of huge pages. */
size_t BlockBytes(size_t requested) {
  const size_t lines = std::max<size_t>((requested + kAlignment - 1) / kAlignment, 1) * kAlignment;
  if (!kUseHugePages || lines < kHugeThreshold) return lines;
  return (lines + kHugePage - 1) / kHugePage * kHugePage;
}

/** `bytes` from BlockBytes(): huge-page aligned and advised when that large, else 64-byte aligned. */
void *AllocateBlock(size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (bytes >= kHugeThreshold) {
    void *data = std::aligned_alloc(kHugePage, bytes);
    // Advice only: where the kernel has no huge pages, the block works as ordinary memory.
    if (data != nullptr) madvise(data, bytes, MADV_HUGEPAGE);
    return data;
  }
#endif
  return std::aligned_alloc(kAlignment, bytes);
}

/** alloc(byteLength): an ArrayBuffer over 64-byte aligned native memory (at least 64 bytes). */
Napi::Value Alloc(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const int64_t requested = Int(info, 0);
  if (requested < 0) throw std::runtime_error("alloc: negative byte length");
  const size_t bytes = BlockBytes(static_cast<size_t>(requested));
  void *data = AllocateBlock(bytes);
  if (data == nullptr) throw std::runtime_error("alloc: out of memory allocating " + std::to_string(bytes) + " bytes");
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(bytes));
  // The JS view covers `requested` bytes; the finalizer frees the whole block.
  return Napi::ArrayBuffer::New(env, data, static_cast<size_t>(requested), [bytes](Napi::Env finalizeEnv, void *p) {
    std::free(p);
    Napi::MemoryManagement::AdjustExternalMemory(finalizeEnv, -static_cast<int64_t>(bytes));
  });
}

void SetThreads(const Napi::CallbackInfo &info) {
  const int64_t n = Int(info, 0);
  if (n < 1) throw std::runtime_error("setThreads: expected a positive thread count, found " + std::to_string(n));
#if defined(_OPENMP)
  omp_set_num_threads(static_cast<int>(n));
#endif
  ClearPrimitiveCache();
}

Napi::Value GetThreads(const Napi::CallbackInfo &info) {
#if defined(_OPENMP)
  return Napi::Number::New(info.Env(), omp_get_max_threads());
#else
  return Napi::Number::New(info.Env(), 1);
#endif
}

Napi::Value Version(const Napi::CallbackInfo &info) {
  const dnnl_version_t *v = dnnl_version();
  std::string s = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                  std::to_string(v->patch) + " (" + (v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other") + ")";
  return Napi::String::New(info.Env(), s);
}

void ClearCache(const Napi::CallbackInfo &) { ClearPrimitiveCache(); }

/** cpuIsa(): the instruction set oneDNN dispatches to here, e.g. "avx512_core_bf16". */
Napi::Value CpuIsa(const Napi::CallbackInfo &info) {
  const char *name = "other";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: name = "sse41"; break;
    case dnnl::cpu_isa::avx: name = "avx"; break;
    case dnnl::cpu_isa::avx2: name = "avx2"; break;
    case dnnl::cpu_isa::avx512_mic: name = "avx512_mic"; break;
    case dnnl::cpu_isa::avx512_mic_4ops: name = "avx512_mic_4ops"; break;
    case dnnl::cpu_isa::avx512_core: name = "avx512_core"; break;
    case dnnl::cpu_isa::avx512_core_vnni: name = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core_bf16: name = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_amx: name = "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx2_vnni: name = "avx2_vnni"; break;
    default: break;
  }
  return Napi::String::New(info.Env(), name);
}

Napi::Value CacheSize(const Napi::CallbackInfo &info) {
  return Napi::Number::New(info.Env(), static_cast<double>(PrimitiveCache().size()));
}

}  // namespace

}  // namespace mnl

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace mnl;
  ExportValue(env, exports, "alloc", Alloc);
  Export(env, exports, "setThreads", SetThreads);
  ExportValue(env, exports, "getThreads", GetThreads);
  ExportValue(env, exports, "version", Version);
  Export(env, exports, "clearCache", ClearCache);
  ExportValue(env, exports, "cacheSize", CacheSize);
  ExportValue(env, exports, "cpuIsa", CpuIsa);
  RegisterConv(env, exports);
  RegisterPool(env, exports);
  RegisterMatMul(env, exports);
  RegisterEltwise(env, exports);
  RegisterBinary(env, exports);
  RegisterLayout(env, exports);
  RegisterNorm(env, exports);
  RegisterFused(env, exports);
  RegisterPlan(env, exports);
  return exports;
}

NODE_API_MODULE(mnist_lab_native, Init)
