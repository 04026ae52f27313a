// Shared by the mnist-lab benchmark children (bench/workloads/*.ts): the zoo's recipes (the same
// layouts and hyperparameters as bench/peer/torch_bench.py), backend selection, peak RSS, and the
// one JSON line each child prints.
//
// Only the public API (src/index.ts) is used: the benchmark measures what a user gets.
import { readFileSync } from 'node:fs';

import { getRecipe, selectBackend as selectMnistLabBackend } from '../../src/index.js';
import type { Model, optim } from '../../src/index.js';

export type RecipeName = 'mlp' | 'cnn' | 'fast' | 'vit';

export const RECIPE_NAMES: readonly RecipeName[] = ['mlp', 'cnn', 'fast', 'vit'];

/** Training images in MNIST (the `fast` one-cycle schedule spans one epoch of them). */
const MNIST_TRAIN_COUNT = 60_000;

export function parseRecipe(name: string): RecipeName {
  if (!(RECIPE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`--model: expected one of ${RECIPE_NAMES.join(', ')}, found '${name}'`);
  }
  return name as RecipeName;
}

/** A recipe's model (carrying its input normalisation), optimizer and batch size, from the model zoo. */
export interface RecipeSetup {
  readonly model: Model;
  readonly optimizer: optim.Optimizer;
  readonly batchSize: number;
  /** Label smoothing of the recipe's loss. */
  readonly labelSmoothing: number | undefined;
}

/**
 * The zoo's recipe (DESIGN.md "Default recipes"): what `mnist-lab train --model NAME` trains, and
 * what bench/peer/torch_bench.py mirrors layer for layer. The optimizer's schedule (one-cycle for
 * `fast`) spans one epoch at the recipe's batch size.
 */
export function setupRecipe(name: RecipeName): RecipeSetup {
  const recipe = getRecipe(name);
  const stepsPerEpoch = Math.ceil(MNIST_TRAIN_COUNT / recipe.batchSize);
  return {
    model: recipe.model(),
    optimizer: recipe.optimizer(stepsPerEpoch),
    batchSize: recipe.batchSize,
    labelSmoothing: recipe.labelSmoothing,
  };
}

/** --precision: float32 (default) or bfloat16 (also accepted as bf16). */
export function parsePrecision(text: string | undefined): 'float32' | 'bfloat16' {
  if (text === undefined || text === 'float32' || text === 'f32') return 'float32';
  if (text === 'bfloat16' || text === 'bf16') return 'bfloat16';
  throw new Error(`--precision: expected float32 or bfloat16, found '${text}'`);
}

/** Activates the requested backend (or mnist-lab's default choice) and returns its name and threads. */
export function selectBackend(
  name: string | undefined,
  threads: number | undefined,
): { backend: string; threads: number } {
  const backend = selectMnistLabBackend({
    ...(name === undefined ? {} : { backend: name }),
    ...(threads === undefined ? {} : { threads }),
  });
  return { backend: backend.name, threads: backend.threads };
}

/** Peak resident set size of this process (VmHWM) in MiB; falls back to Node's maxRSS. */
export function peakRssMb(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: resourceUsage() below.
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Prints the child's one JSON record (the harness reads the last JSON line on stdout). */
export function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ framework: 'mnist-lab', ...record, peakRssMb: peakRssMb() })}\n`);
}

/** Seconds since `start` (from process.hrtime.bigint()). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
