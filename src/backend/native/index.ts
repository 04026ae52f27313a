// The native backend: storage allocated by the oneDNN addon (64-byte aligned, zero-copy
// ArrayBuffers) with a JS-side free list, and the kernel table, assembled from one file per kernel
// family (src/backend/native/kernels/), each kernel a thin op emitted to the addon
// (src/backend/native/binding.ts). Recorded steps replay as one native plan (lowering.ts).
// Node-only; Node's default table (src/backend/defaults/node.ts) creates it when the addon loads.
//
// NOTE: float64 storage can be allocated, but every kernel rejects float64 inputs: the native
// kernels are float32 (and int32 for layout kernels). Gradient checks in float64 use the js backend.
import { availableParallelism } from 'node:os';
import type { Backend, Kernels } from '../kernels.js';
import { loadAddon } from './binding.js';
import { NativeContext } from './context.js';
import { convKernels } from './kernels/conv.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import { layoutKernels } from './kernels/layout.js';
import { matmulKernels } from './kernels/matmul.js';
import { normKernels } from './kernels/norm.js';
import { softmaxKernels } from './kernels/softmax.js';
import { trainingKernels } from './kernels/training.js';
import { nativeLowering } from './lowering.js';
import { StoragePool } from './pool.js';

export interface NativeBackendOptions {
  /** OpenMP threads for oneDNN and the fused loops; default: the cores available to this process. */
  threads?: number;
}

/** Whether the addon loads here; when not, a reason that says how to get it. */
export function nativeBackendAvailable(): { available: boolean; reason?: string } {
  const load = loadAddon();
  return load.addon ? { available: true } : { available: false, reason: load.reason };
}

export function createNativeBackend(options: NativeBackendOptions = {}): Backend {
  const load = loadAddon();
  if (!load.addon) throw new Error(`native backend unavailable: ${load.reason}`);
  const addon = load.addon;
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`native backend: threads must be a positive integer, found ${threads}`);
  }
  // NOTE: the OpenMP team is process-wide: the most recently created native backend sets it.
  addon.setThreads(threads);
  const pool = new StoragePool(addon);
  const ctx = new NativeContext(addon, pool);
  return {
    name: 'native',
    threads: addon.getThreads(),
    precisions: BF16_ISAS.has(addon.cpuIsa()) ? ['float32', 'bfloat16'] : ['float32'],
    alloc: pool.alloc,
    release: pool.release,
    kernels: nativeKernels(ctx),
    lowering: nativeLowering(ctx),
    trim: pool.trim,
  };
}

/** oneDNN's instruction sets with bfloat16 dot products (AVX512_BF16, AMX): where bf16 pays. */
const BF16_ISAS: ReadonlySet<string> = new Set(['avx512_core_bf16', 'avx512_core_amx']);

/** The kernel table: one part per kernel family. */
function nativeKernels(ctx: NativeContext): Kernels {
  return {
    ...elementwiseKernels(ctx),
    ...layoutKernels(ctx),
    ...matmulKernels(ctx),
    ...convKernels(ctx),
    ...softmaxKernels(ctx),
    ...normKernels(ctx),
    ...trainingKernels(ctx),
  };
}
