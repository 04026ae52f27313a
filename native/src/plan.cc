// Programs of ops: how TypeScript calls kernels. An eager kernel call is a program of one op
// (run); a captured training or inference step is a plan (planCreate, then planRun once per step):
// its ops, with their buffers resolved to raw pointers once, run in one native call with no
// JavaScript between them.
//
// Constraints:
// - Program layout (Int32Array): [opCount, then per op: code, nBuffers, nInts, nFloats,
//   bufferIndex x nBuffers, int x nInts]; the ops' doubles follow one another in a Float64Array.
//   A buffer index points into the buffer table passed beside the program; -1 is a null buffer.
// - A plan's buffer table is fixed when it is created (the buffers are native memory that never
//   moves; the TypeScript side keeps them alive), except its first `inputCount` entries: those are
//   rebound on every run (the step's input batch and labels).
// - kOpSkipUnless(flag, count) skips the next `count` ops when the int32 flag is zero: the guard
//   that keeps a non-finite step from updating the weights.
// - Each plan op keeps a slot for its cached primitive, filled on its first run; clearing the
//   primitive cache (setThreads, clearCache) bumps a generation and the plan refills its slots.
#include <chrono>
#include <memory>
#include <vector>

#include "common.h"

namespace mnl {
namespace {

/** One decoded op of a program: where its operands sit in the program's arrays. */
struct Decoded {
  int32_t code;
  int nBuffers, nInts, nFloats;
  const int32_t *bufferIndex;
  const int32_t *ints;
  const double *floats;
};

/** Decodes `program` (with its doubles) into ops, checking every count against the arrays' sizes. */
std::vector<Decoded> Decode(const int32_t *program, size_t length, const double *floats, size_t floatCount,
                            size_t bufferCount) {
  if (length < 1) throw std::runtime_error("native program: empty");
  const int64_t count = program[0];
  std::vector<Decoded> ops;
  ops.reserve(static_cast<size_t>(count));
  size_t at = 1, floatAt = 0;
  for (int64_t i = 0; i < count; i++) {
    if (at + 4 > length) throw std::runtime_error("native program: truncated op header");
    Decoded d{program[at], program[at + 1], program[at + 2], program[at + 3], nullptr, nullptr, nullptr};
    at += 4;
    if (d.nBuffers < 0 || d.nInts < 0 || d.nFloats < 0 || at + d.nBuffers + d.nInts > length ||
        floatAt + d.nFloats > floatCount)
      throw std::runtime_error("native program: op " + std::to_string(i) + " overruns the program");
    d.bufferIndex = program + at;
    at += static_cast<size_t>(d.nBuffers);
    d.ints = program + at;
    at += static_cast<size_t>(d.nInts);
    d.floats = floats + floatAt;
    floatAt += static_cast<size_t>(d.nFloats);
    for (int b = 0; b < d.nBuffers; b++)
      if (d.bufferIndex[b] < -1 || d.bufferIndex[b] >= static_cast<int32_t>(bufferCount))
        throw std::runtime_error("native program: op " + std::to_string(i) + " names buffer " +
                                 std::to_string(d.bufferIndex[b]) + " of " + std::to_string(bufferCount));
    ops.push_back(d);
  }
  return ops;
}

/** Pointers of a JS array of typed arrays (null or undefined entries give nullptr). */
std::vector<void *> Pointers(const Napi::CallbackInfo &info, size_t i) {
  Napi::Array list = info[i].As<Napi::Array>();
  std::vector<void *> pointers(list.Length(), nullptr);
  for (uint32_t k = 0; k < list.Length(); k++) {
    Napi::Value value = list.Get(k);
    if (value.IsNull() || value.IsUndefined()) continue;
    pointers[k] = ReadView(info.Env(), value, "native program buffer").data;
  }
  return pointers;
}

View Program(const Napi::CallbackInfo &info, size_t i, napi_typedarray_type type, const char *what) {
  View v = ReadView(info.Env(), info[i], what);
  if (v.type != type) throw std::runtime_error(std::string(what) + ": wrong typed array type");
  return v;
}

/** run(program Int32Array, floats Float64Array, buffers): executes the program's ops in order. */
void Run(const Napi::CallbackInfo &info) {
  View program = Program(info, 0, napi_int32_array, "run program");
  View floats = Program(info, 1, napi_float64_array, "run floats");
  std::vector<void *> table = Pointers(info, 2);
  auto ops = Decode(static_cast<const int32_t *>(program.data), program.length,
                    static_cast<const double *>(floats.data), floats.length, table.size());
  static std::vector<void *> local;  // main thread only (common.h)
  for (const Decoded &d : ops) {
    local.resize(static_cast<size_t>(d.nBuffers));
    for (int b = 0; b < d.nBuffers; b++)
      local[static_cast<size_t>(b)] = d.bufferIndex[b] < 0 ? nullptr : table[static_cast<size_t>(d.bufferIndex[b])];
    Op op;
    op.code = d.code;
    op.nBuffers = d.nBuffers;
    op.buffers = local.data();
    op.nInts = d.nInts;
    op.ints = d.ints;
    op.nFloats = d.nFloats;
    op.floats = d.floats;
    if (op.code == kOpSkipUnless) throw std::runtime_error("native program: a guard outside a plan");
    Execute(op);
  }
}

struct PlanOp {
  int32_t code;
  std::vector<void *> pointers;
  std::vector<int32_t> ints;
  std::vector<double> floats;
  Entry *slot = nullptr;
};

struct Plan {
  std::vector<PlanOp> ops;
  /** Per input slot: the (op, operand) positions its pointer goes to on each run. */
  std::vector<std::vector<std::pair<size_t, int>>> inputUses;
  uint64_t generation = 0;
  /** With profiling on: seconds spent in each op over all runs. */
  std::vector<double> seconds;

  void RunOnce(const std::vector<void *> &inputs) {
    for (size_t k = 0; k < inputUses.size(); k++)
      for (const auto &[op, operand] : inputUses[k]) ops[op].pointers[static_cast<size_t>(operand)] = inputs[k];
    if (generation != CacheGeneration()) {
      for (PlanOp &p : ops) p.slot = nullptr;
      generation = CacheGeneration();
    }
    for (size_t i = 0; i < ops.size(); i++) {
      PlanOp &p = ops[i];
      if (p.code == kOpSkipUnless) {
        const int32_t flag = *static_cast<const int32_t *>(p.pointers[0]);
        if (flag == 0) i += static_cast<size_t>(p.ints[0]);
        continue;
      }
      Op op;
      op.code = p.code;
      op.nBuffers = static_cast<int>(p.pointers.size());
      op.buffers = p.pointers.data();
      op.nInts = static_cast<int>(p.ints.size());
      op.ints = p.ints.data();
      op.nFloats = static_cast<int>(p.floats.size());
      op.floats = p.floats.data();
      op.slot = &p.slot;
      if (seconds.empty()) {
        Execute(op);
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      Execute(op);
      seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
};

/**
 * planCreate(program, floats, buffers, inputCount): a plan over the buffer table; its first
 * inputCount entries are placeholders (null) rebound by every planRun.
 */
Napi::Value PlanCreate(const Napi::CallbackInfo &info) {
  View program = Program(info, 0, napi_int32_array, "planCreate program");
  View floats = Program(info, 1, napi_float64_array, "planCreate floats");
  std::vector<void *> table = Pointers(info, 2);
  const int64_t inputCount = Int(info, 3);
  if (inputCount < 0 || inputCount > static_cast<int64_t>(table.size()))
    throw std::runtime_error("planCreate: input count outside the buffer table");
  auto decoded = Decode(static_cast<const int32_t *>(program.data), program.length,
                        static_cast<const double *>(floats.data), floats.length, table.size());
  auto plan = std::make_unique<Plan>();
  plan->inputUses.resize(static_cast<size_t>(inputCount));
  plan->ops.reserve(decoded.size());
  for (size_t i = 0; i < decoded.size(); i++) {
    const Decoded &d = decoded[i];
    if (d.code <= 0 || d.code >= kOpCount) throw std::runtime_error("planCreate: unknown op code " + std::to_string(d.code));
    if (d.code == kOpSkipUnless &&
        (d.nBuffers != 1 || d.nInts != 1 || d.ints[0] < 0 || i + static_cast<size_t>(d.ints[0]) >= decoded.size()))
      throw std::runtime_error("planCreate: a guard skips past the end of the plan");
    PlanOp p;
    p.code = d.code;
    p.pointers.resize(static_cast<size_t>(d.nBuffers), nullptr);
    for (int b = 0; b < d.nBuffers; b++) {
      const int32_t index = d.bufferIndex[b];
      if (index < 0) continue;
      if (index < inputCount) plan->inputUses[static_cast<size_t>(index)].push_back({i, b});
      else p.pointers[static_cast<size_t>(b)] = table[static_cast<size_t>(index)];
    }
    p.ints.assign(d.ints, d.ints + d.nInts);
    p.floats.assign(d.floats, d.floats + d.nFloats);
    plan->ops.push_back(std::move(p));
  }
  plan->generation = CacheGeneration();
  return Napi::External<Plan>::New(info.Env(), plan.release(), [](Napi::Env, Plan *p) { delete p; });
}

/** planRun(plan, inputs): one step; inputs fill the plan's input slots in order. */
void PlanRun(const Napi::CallbackInfo &info) {
  Plan *plan = info[0].As<Napi::External<Plan>>().Data();
  std::vector<void *> inputs = Pointers(info, 1);
  if (inputs.size() != plan->inputUses.size())
    throw std::runtime_error("planRun: expected " + std::to_string(plan->inputUses.size()) + " inputs, found " +
                             std::to_string(inputs.size()));
  plan->RunOnce(inputs);
}

/**
 * planProfile(plan): per-op [code, seconds] pairs accumulated since profiling started (a
 * Float64Array of 2 x ops); the first call starts profiling (zeros).
 */
Napi::Value PlanProfile(const Napi::CallbackInfo &info) {
  Plan *plan = info[0].As<Napi::External<Plan>>().Data();
  if (plan->seconds.empty()) plan->seconds.assign(plan->ops.size(), 0.0);
  Napi::Float64Array out = Napi::Float64Array::New(info.Env(), 2 * plan->ops.size());
  for (size_t i = 0; i < plan->ops.size(); i++) {
    out[2 * i] = plan->ops[i].code;
    out[2 * i + 1] = plan->seconds[i];
  }
  return out;
}

}  // namespace

void RegisterPlan(Napi::Env env, Napi::Object exports) {
  Export(env, exports, "run", Run);
  ExportValue(env, exports, "planCreate", PlanCreate);
  Export(env, exports, "planRun", PlanRun);
  ExportValue(env, exports, "planProfile", PlanProfile);
}

}  // namespace mnl
