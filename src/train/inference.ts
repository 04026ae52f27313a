// Batched inference: a model run over examples in inference mode, batch after batch, each batch
// built by the one batch pipeline (batches.ts) with the model's leading Normalization folded in and
// run by the captured inference steps (compiled-steps.ts: replayed, chunked, mixed precision).
// The one loop that prediction, evaluation (with the loss), the classifier report and the
// frozen-feature cache share. Browser-safe.
//
// Letters: N examples, B batch (the last one may be shorter), K model outputs per example.
import type { Loss } from '../losses/loss.js';
import { checkPrecision, withPrecision } from '../tensor/precision.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { foldedNormalization, imageBatch, indexRange, labelBatch } from './batches.js';
import type { Examples } from './batches.js';
import { batchPasses, evaluateBatch, inferBatch } from './compiled-steps.js';
import type { Model } from './model.js';
import type { ExecutionOptions } from './types.js';

export interface InferenceOptions {
  /** Examples per forward pass; the last batch holds the rest. */
  batchSize: number;
  /** The model's input shape (without the batch dimension). */
  inputShape: readonly number[];
  /** The examples to run, in this order (default all, in order). */
  indices?: Int32Array;
  /** Run positions from..to of them only (default all). */
  from?: number;
  to?: number;
  /** How the passes run: captured or eager, precision (ExecutionOptions); default captured, float32. */
  execution?: ExecutionOptions;
  /** Evaluation: each batch's mean loss against its labels too; `outputs` is K (dense targets' width). */
  loss?: { loss: Loss; outputs: number };
}

/** One batch's results, valid only during the onBatch call (the batch's tensors are freed after it). */
export interface OutputBatch {
  /** (B, ...) the model's outputs. */
  output: Tensor;
  /** Position of the batch's first example among those run. */
  start: number;
  /** (B) the batch's example indices. */
  indices: Int32Array;
  /** Mean loss over the batch, when options.loss was given. */
  loss?: number;
}

/** Calls `onBatch` for each batch of examples, in order. */
export function forEachOutputBatch(
  model: Model,
  examples: Examples,
  options: InferenceOptions,
  onBatch: (batch: OutputBatch) => void,
): void {
  const { batchSize, inputShape } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`inference: batchSize must be a positive integer, found ${batchSize}`);
  const all = options.indices ?? indexRange(examples.count);
  const from = options.from ?? 0;
  const to = Math.min(options.to ?? all.length, all.length);
  if (!model.built) model.buildFor(inputShape);
  const execution = options.execution ?? {};
  if (execution.precision !== undefined) checkPrecision(execution.precision); // refused before any work
  const normalizedBy = foldedNormalization(model, examples);
  const gather = { normalization: normalizedBy?.statistics };
  const run = { ...execution, normalizedBy };
  const { loss } = options;
  // Outputs alone keep one batch shape (batchPasses); a loss is the mean over its batch, so an
  // evaluation runs a short last batch as it is.
  const sameShape = !loss;
  for (const { first, start, end } of batchPasses(from, to, batchSize, sameShape)) {
    tidy(() => {
      const x = imageBatch(examples, all.subarray(first, end), inputShape, gather); // (B, ...inputShape)
      const indices = all.subarray(start, end);
      const batch = withPrecision(execution.precision ?? 'float32', (): OutputBatch => {
        if (!loss) return { output: rowsFrom(inferBatch(model, x, run), start - first), start, indices };
        const y = labelBatch(examples, indices, loss.loss.name.startsWith('sparse'), loss.outputs); // (B) or (B, K)
        const result = evaluateBatch(model, loss.loss, x, y, run);
        return { output: result.output, start, indices, loss: result.loss.item() };
      });
      onBatch(batch);
    });
  }
}

/** Rows from `offset` on of a (B, ...) tensor, as a view. */
function rowsFrom(output: Tensor, offset: number): Tensor {
  if (offset === 0) return output;
  const count = (output.shape[0] ?? 0) - offset;
  const rowSize = output.size / (output.shape[0] ?? 1);
  return new Tensor(output.data.subarray(offset * rowSize), [count, ...output.shape.slice(1)], false);
}
