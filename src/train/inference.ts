// Batched inference: a model run over examples in inference mode, batch after batch, each batch
// built by the one batch pipeline (batches.ts) with the model's leading Normalization folded in.
// The one loop that evaluation, frozen-feature caching and prediction share. Browser-safe.
//
// Letters: N examples, B batch (the last one may be shorter), F features per example.
import { noGrad, tidy } from '../tensor/tensor.js';
import type { Tensor } from '../tensor/tensor.js';
import { Random } from '../util/random.js';
import { foldedNormalization, imageBatch } from './batches.js';
import type { Examples } from './batches.js';
import type { Model } from './model.js';

export interface InferenceOptions {
  /** Examples per forward pass; the last batch holds the rest. */
  batchSize: number;
  /** The model's input shape (without the batch dimension). */
  inputShape: readonly number[];
  /** Run examples from..to only (default all). */
  from?: number;
  to?: number;
}

/**
 * Calls `onBatch(output, start)` for each batch of examples [start, start + B): `output` is the
 * model's (B, ...) result, valid only during the call (the batch's tensors are freed after it).
 */
export function forEachOutputBatch(
  model: Model,
  examples: Examples,
  options: InferenceOptions,
  onBatch: (output: Tensor, start: number) => void,
): void {
  const { batchSize, inputShape } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`inference: batchSize must be a positive integer, found ${batchSize}`);
  const from = options.from ?? 0;
  const to = Math.min(options.to ?? examples.count, examples.count);
  const normalizedBy = foldedNormalization(model, examples);
  const gather = { normalization: normalizedBy?.statistics };
  const context = { training: false, random: new Random(0), normalizedBy };
  const indices = new Int32Array(Math.min(batchSize, Math.max(0, to - from)));
  for (let start = from; start < to; start += batchSize) {
    const count = Math.min(batchSize, to - start);
    for (let i = 0; i < count; i++) indices[i] = start + i;
    tidy(() =>
      noGrad(() => {
        const x = imageBatch(examples, indices.subarray(0, count), inputShape, gather); // (B, ...inputShape)
        onBatch(model.apply(x, context), start);
      }),
    );
  }
}
