// The WebAssembly module's exports (wasm/src/*.c), typed: the one interface between the TypeScript
// side of the wasm backend and its C kernels. Pointers are byte offsets into linear memory.

type Ptr = number;

/**
 * Kernels split into tasks (threads.ts runs them): each takes its own scalars, then (task, thread)
 * or (task) as its last parameters. Workers look them up by index in this list.
 */
export const TASK_FUNCTIONS = [
  'conv2d_task',
  'conv2d_backprop_input_task',
  'conv2d_backprop_filter_task',
  'matmul_task',
  'max_pool_task',
  'max_pool_grad_task',
  'relu_task',
  'relu_grad_task',
  'binary_task',
] as const;

export type TaskFunction = (typeof TASK_FUNCTIONS)[number];

/** A task function: its own scalars, then (task, thread). */
export type TaskExports = { readonly [name in TaskFunction]: (...values: number[]) => void };

export interface KernelExports extends TaskExports {
  readonly __heap_base: WebAssembly.Global;
  readonly __stack_pointer: WebAssembly.Global;

  // gemm.c / matmul.c
  pack_b_export(k: number, n: number, b: Ptr, rowStride: number, colStride: number, packed: Ptr): void;
  packed_b_floats(k: number, n: number): number;
  pack_a_floats(): number;
  matmul_scratch_bytes(k: number, colBlock: number): number;

  // conv.c
  conv_chunk_rows(K: number): number;
  conv2d_filter_partial_floats(K: number, O: number): number;
  conv2d_filter_reduce(
    partial: Ptr,
    tasks: number,
    K: number,
    O: number,
    withBias: number,
    dw: Ptr,
    dbias: Ptr,
  ): void;

  // eltwise.c
  sum_axis(x: Ptr, outer: number, reduce: number, inner: number, out: Ptr, acc: Ptr): void;

  // softmax.c
  softmax_cross_entropy(
    logits: Ptr,
    labels: Ptr,
    batch: number,
    classes: number,
    labelSmoothing: number,
    probs: Ptr,
  ): number;
  softmax_cross_entropy_grad(
    probs: Ptr,
    labels: Ptr,
    batch: number,
    classes: number,
    dloss: number,
    labelSmoothing: number,
    dx: Ptr,
  ): void;

  // optim.c, dropout.c
  adam_update(
    table: Ptr,
    count: number,
    stepSize: number,
    l2: number,
    decay: number,
    beta1: number,
    beta2: number,
    epsilon: number,
  ): void;
  sgd_update(
    table: Ptr,
    count: number,
    lr: number,
    momentum: number,
    nesterov: number,
    weightDecay: number,
  ): void;
  dropout(x: Ptr, y: Ptr, mask: Ptr, length: number, state: Ptr, keep: number, scale: number): void;
}
