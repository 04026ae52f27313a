// The batch loader: seeded shuffling, optional drop-last and augmentation, per-batch normalisation
// into NHWC float32 through the one batch pipeline (batch.ts, as fit's batches). Pure; yields plain
// typed arrays.
//
// Determinism: epoch e of a loader with seed s draws its order and its augmentations from
// Random(s, e), so the same seed gives the same batches, and a run resumed at epoch e needs no
// saved loader state.

import { Random } from '../util/random.js';
import type { AugmentOptions } from './augment.js';
import { gatherBatch } from './batch.js';
import { IMAGE_PIXELS, type ImageSet } from './dataset.js';
import { DataError } from './errors.js';
import { checkNormalization, type InputNormalization } from './normalize.js';

export interface Batch {
  x: Float32Array; // (B, 28, 28, 1) f32 NHWC, normalised
  y: Int32Array; // (B) class indices
  size: number; // B; smaller than batchSize only for the last batch when dropLast is off
}

export interface LoaderOptions {
  batchSize: number;
  /** Shuffle the order every epoch. Default true. */
  shuffle?: boolean;
  /** Seed of the order and the augmentation. Default 0. */
  seed?: number;
  /** Skip the last, smaller batch. Default false. */
  dropLast?: boolean;
  /** Standardise the pixels (see normalize.ts); default: scale to [0, 1]. */
  normalization?: InputNormalization;
  /** Random shift/rotation/scale; off by default. `true` uses AUGMENT_DEFAULTS. */
  augment?: boolean | AugmentOptions;
}

export const LOADER_DEFAULTS = { shuffle: true, seed: 0, dropLast: false } as const;

export class DataLoader implements Iterable<Batch> {
  readonly batchSize: number;
  private readonly set: ImageSet;
  private readonly shuffle: boolean;
  private readonly seed: number;
  private readonly dropLast: boolean;
  private readonly normalization: InputNormalization | undefined;
  private readonly augment: AugmentOptions | null;
  private nextEpoch = 0;

  constructor(set: ImageSet, options: LoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new DataError(`DataLoader: expected a positive whole batchSize, found ${options.batchSize}`);
    }
    if (set.images.length !== set.count * IMAGE_PIXELS || set.labels.length !== set.count) {
      throw new DataError(
        `DataLoader: expected ${set.count} images of 28x28 and as many labels, found ${set.images.length} pixels and ${set.labels.length} labels`,
      );
    }
    this.set = set;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? LOADER_DEFAULTS.shuffle;
    this.seed = options.seed ?? LOADER_DEFAULTS.seed;
    this.dropLast = options.dropLast ?? LOADER_DEFAULTS.dropLast;
    if (options.normalization) checkNormalization(options.normalization, 'DataLoader normalization');
    this.normalization = options.normalization;
    const augment = options.augment ?? false;
    this.augment = augment === false ? null : augment === true ? {} : augment;
  }

  /** Number of batches in one epoch. */
  get batchesPerEpoch(): number {
    const full = Math.floor(this.set.count / this.batchSize);
    return this.dropLast || this.set.count % this.batchSize === 0 ? full : full + 1;
  }

  /** Number of examples in one epoch (all of them unless dropLast cuts the tail). */
  get examplesPerEpoch(): number {
    return this.dropLast ? this.batchesPerEpoch * this.batchSize : this.set.count;
  }

  /** The batches of epoch `epoch` (0-based). Calling it twice with one epoch gives equal batches. */
  *epoch(epoch: number): Generator<Batch> {
    const random = new Random(this.seed, epoch);
    const order = this.shuffle
      ? random.permutation(this.set.count)
      : Int32Array.from({ length: this.set.count }, (_, i) => i);
    const augment = this.augment ? { random, options: this.augment } : undefined;
    for (let batch = 0; batch < this.batchesPerEpoch; batch++) {
      const start = batch * this.batchSize;
      const size = Math.min(this.batchSize, this.set.count - start);
      const indices = order.subarray(start, start + size);
      const x = new Float32Array(size * IMAGE_PIXELS); // (B, 28, 28, 1)
      gatherBatch(this.set.images, indices, IMAGE_PIXELS, x, { normalization: this.normalization, augment });
      const y = new Int32Array(size);
      for (let i = 0; i < size; i++) y[i] = this.set.labels[indices[i] as number] as number;
      yield { x, y, size };
    }
  }

  /** Iterating the loader runs the next epoch: 0, then 1, and so on. */
  [Symbol.iterator](): Generator<Batch> {
    return this.epoch(this.nextEpoch++);
  }
}

/** The batches of one epoch of `set` (epoch 0 unless given). */
export function batches(set: ImageSet, options: LoaderOptions & { epoch?: number }): Generator<Batch> {
  return new DataLoader(set, options).epoch(options.epoch ?? 0);
}
