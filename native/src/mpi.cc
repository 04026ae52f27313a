// mnist_lab_mpi: the collectives data-parallel training needs, over Open MPI's C API (built by
// scripts/build-mpi.mjs from native/mpi/binding.gyp only when Open MPI is installed; the oneDNN addon
// does not depend on it, nor it on oneDNN).
//
// Constraints:
// - Every call is collective except rank()/size()/initialized(): all ranks call it, in the same
//   order, with buffers of the same length (the data-parallel trainer guarantees both).
// - Called from Node's main thread only (MPI_THREAD_FUNNELED is all this needs).
// - Waiting ranks sleep between tests of a non-blocking all-reduce (see waitSleeping).
// - Buffers are reduced in place: the caller's Float32Array/Float64Array memory is MPI's buffer,
//   nothing is copied. Counts above INT_MAX elements are sent in chunks.
// - A failed MPI call throws a JS Error naming the call; MPI's default handler would abort the job
//   with a banner, so MPI_ERRORS_RETURN is set on the world communicator.
#define OMPI_SKIP_MPICXX 1
#include <mpi.h>
#include <napi.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace {

void check(int code, const char* call, Napi::Env env) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Napi::Error::New(env, std::string(call) + " failed: " + std::string(text, length));
}

// NOTE: MPI_Wait spins while a peer is still computing, taking a core the peer (or another
// program) may need: on a shared 2-core machine that stalled both processes. This waits by testing
// with short sleeps instead (a few tens of microseconds more latency, the core given back).
void waitSleeping(MPI_Request* request, Napi::Env env) {
  int done = 0;
  for (int spins = 0;; spins++) {
    check(MPI_Test(request, &done, MPI_STATUS_IGNORE), "MPI_Test", env);
    if (done) return;
    if (spins >= 100) {
      struct timespec pause = {0, 20000};  // 20 us
      nanosleep(&pause, nullptr);
    }
  }
}

bool isInitialized() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  int finalized = 0;
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void requireInitialized(Napi::Env env, const char* what) {
  if (!isInitialized()) throw Napi::Error::New(env, std::string(what) + ": MPI is not initialised; call init() first");
}

// init(): MPI_Init_thread(FUNNELED) once; returns {rank, size, version}.
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isInitialized()) {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread", env);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  MPI_Get_library_version(version, &length);
  std::string text(version, length);
  // "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4"
  size_t comma = text.find(',');
  if (comma != std::string::npos) text.resize(comma);
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", rank);
  out.Set("size", size);
  out.Set("version", text);
  return out;
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (isInitialized()) MPI_Finalize();
  return info.Env().Undefined();
}

// allReduce(buffer: Float32Array | Float64Array, average: boolean): sum (or mean) over ranks, in place.
Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInitialized(env, "allReduce");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  bool average = info.Length() > 1 && info[1].ToBoolean();
  MPI_Datatype type;
  size_t elementBytes;
  if (array.TypedArrayType() == napi_float32_array) {
    type = MPI_FLOAT;
    elementBytes = 4;
  } else if (array.TypedArrayType() == napi_float64_array) {
    type = MPI_DOUBLE;
    elementBytes = 8;
  } else {
    throw Napi::TypeError::New(env, "allReduce: expected a Float32Array or Float64Array");
  }
  char* base = static_cast<char*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  size_t count = array.ElementLength();
  for (size_t done = 0; done < count;) {
    int chunk = static_cast<int>(std::min<size_t>(count - done, INT_MAX));
    MPI_Request request;
    check(MPI_Iallreduce(MPI_IN_PLACE, base + done * elementBytes, chunk, type, MPI_SUM, MPI_COMM_WORLD, &request),
          "MPI_Iallreduce", env);
    waitSleeping(&request, env);
    done += chunk;
  }
  if (average) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (type == MPI_FLOAT) {
      float* values = reinterpret_cast<float*>(base);
      const float scale = 1.0f / static_cast<float>(size);
      for (size_t i = 0; i < count; i++) values[i] *= scale;
    } else {
      double* values = reinterpret_cast<double*>(base);
      const double scale = 1.0 / static_cast<double>(size);
      for (size_t i = 0; i < count; i++) values[i] *= scale;
    }
  }
  return env.Undefined();
}

// broadcast(bytes: Uint8Array | null, root: number): Uint8Array. The root passes its bytes; the
// others pass null and get a new buffer of the root's length (the length is sent first).
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInitialized(env, "broadcast");
  int root = info[1].As<Napi::Number>().Int32Value();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  uint64_t length = 0;
  Napi::Uint8Array bytes;
  if (rank == root) {
    if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "broadcast: the root must pass a Uint8Array");
    bytes = info[0].As<Napi::Uint8Array>();
    length = bytes.ByteLength();
  }
  check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast", env);
  if (rank != root) bytes = Napi::Uint8Array::New(env, length);
  char* base = reinterpret_cast<char*>(bytes.Data());
  for (uint64_t done = 0; done < length;) {
    int chunk = static_cast<int>(std::min<uint64_t>(length - done, INT_MAX));
    check(MPI_Bcast(base + done, chunk, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast", env);
    done += chunk;
  }
  return bytes;
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInitialized(env, "barrier");
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", env);
  return env.Undefined();
}

// gatherHashes(bytes: TypedArray): every rank's 64-bit FNV-1a hash of its bytes, as 16 hex digits,
// in rank order. One MPI_Allgather of 8 bytes per rank: cheap enough to compare weights often.
Napi::Value GatherHashes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  requireInitialized(env, "gatherHashes");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const uint8_t* data = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  size_t length = array.ByteLength();
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < length; i++) {
    hash ^= data[i];
    hash *= 1099511628211ull;
  }
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<uint64_t> all(size);
  check(MPI_Allgather(&hash, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
        "MPI_Allgather", env);
  Napi::Array out = Napi::Array::New(env, size);
  for (int r = 0; r < size; r++) {
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(all[r]));
    out.Set(r, std::string(text));
  }
  return out;
}

Napi::Value Initialized(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), isInitialized());
}

Napi::Object Register(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("initialized", Napi::Function::New(env, Initialized));
  exports.Set("allReduce", Napi::Function::New(env, AllReduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("gatherHashes", Napi::Function::New(env, GatherHashes));
  return exports;
}

}  // namespace

NODE_API_MODULE(mnist_lab_mpi, Register)
