// Validation splits and subsets, all seeded. Pure. The test set is never an input here: splits are
// carved from the training set only.

import { Random } from '../util/random.js';
import { indicesByClass, selectExamples, type ImageSet } from './dataset.js';
import { DataError } from './errors.js';

export interface ValidationSplitOptions {
  /** Fraction of the training set held out, in (0, 1). Give this or `count`. */
  fraction?: number;
  /** Number of examples held out. */
  count?: number;
  seed: number;
  /** Number of classes; defaults to the largest label + 1. */
  classCount?: number;
}

export interface ValidationSplit {
  train: ImageSet;
  validation: ImageSet;
  trainIndices: Int32Array; // ascending indices into the original set
  validationIndices: Int32Array; // ascending indices into the original set
}

function inferClassCount(set: ImageSet, classCount: number | undefined): number {
  if (classCount !== undefined) return classCount;
  let max = -1;
  for (const label of set.labels) if (label > max) max = label;
  return max + 1;
}

/**
 * A stratified split: every class gives its share of the held-out examples, within one example of
 * the exact proportion (largest-remainder rounding), chosen at random with `seed`.
 */
export function validationSplit(set: ImageSet, options: ValidationSplitOptions): ValidationSplit {
  const { fraction, count, seed } = options;
  if ((fraction === undefined) === (count === undefined)) {
    throw new DataError('validationSplit: expected exactly one of fraction or count');
  }
  const total = count ?? Math.round((fraction ?? 0) * set.count);
  if (fraction !== undefined && !(fraction > 0 && fraction < 1)) {
    throw new DataError(`validationSplit: expected a fraction in (0, 1), found ${fraction}`);
  }
  if (!Number.isInteger(total) || total < 1 || total >= set.count) {
    throw new DataError(
      `validationSplit: expected to hold out between 1 and ${set.count - 1} examples, found ${total}`,
    );
  }

  const byClass = indicesByClass(set.labels, inferClassCount(set, options.classCount));
  // Largest remainder: floor every exact quota, then give the leftover examples to the classes
  // with the largest fractional parts (ties to the lower class index).
  const exact = byClass.map((indices) => (total * indices.length) / set.count);
  const quotas = exact.map(Math.floor);
  let leftover = total - quotas.reduce((a, b) => a + b, 0);
  const order = exact
    .map((q, k) => ({ k, remainder: q - Math.floor(q) }))
    .sort((a, b) => b.remainder - a.remainder || a.k - b.k);
  for (const { k } of order) {
    if (leftover === 0) break;
    quotas[k] = quotas[k] + 1;
    leftover--;
  }

  const random = new Random(seed);
  const held = new Uint8Array(set.count);
  byClass.forEach((indices, k) => {
    random.shuffle(indices);
    for (const index of indices.slice(0, quotas[k])) held[index] = 1;
  });
  const trainIndices: number[] = [];
  const validationIndices: number[] = [];
  held.forEach((isHeld, index) => (isHeld ? validationIndices : trainIndices).push(index));
  return {
    train: selectExamples(set, trainIndices),
    validation: selectExamples(set, validationIndices),
    trainIndices: Int32Array.from(trainIndices),
    validationIndices: Int32Array.from(validationIndices),
  };
}

export interface ClassSubsetOptions {
  /** Renumber the kept classes 0..k-1 in the order given (for a new classification head). */
  relabel?: boolean;
}

/**
 * The names of a class subset's outputs: after subsetByClasses with relabel, output j is class
 * `classes[j]` of the dataset. Without a subset, every name in order.
 */
export function subsetClassNames(names: readonly string[], classes?: readonly number[]): string[] {
  return classes ? classes.map((k) => names[k] ?? String(k)) : [...names];
}

/** The examples whose label is in `classes` (e.g. digits 0-4), in their original order. */
export function subsetByClasses(
  set: ImageSet,
  classes: readonly number[],
  options: ClassSubsetOptions = {},
): ImageSet {
  if (classes.length === 0) throw new DataError('subsetByClasses: expected at least one class');
  const newLabel = new Map(classes.map((label, position) => [label, position]));
  const indices: number[] = [];
  set.labels.forEach((label, index) => {
    if (newLabel.has(label)) indices.push(index);
  });
  const subset = selectExamples(set, indices);
  if (options.relabel) subset.labels.forEach((label, i) => (subset.labels[i] = newLabel.get(label) ?? label));
  return subset;
}

export interface ShotsOptions {
  seed: number;
  /** Number of classes; defaults to the largest label + 1. Every class must have `shots` examples. */
  classCount?: number;
}

/** `shots` examples of every class, chosen at random with `seed` (few-shot training sets). */
export function subsetByShots(set: ImageSet, shots: number, options: ShotsOptions): ImageSet {
  if (!Number.isInteger(shots) || shots < 1) {
    throw new DataError(`subsetByShots: expected a positive whole number of shots per class, found ${shots}`);
  }
  const byClass = indicesByClass(set.labels, inferClassCount(set, options.classCount));
  const random = new Random(options.seed);
  const chosen: number[] = [];
  byClass.forEach((indices, k) => {
    if (indices.length < shots) {
      throw new DataError(
        `subsetByShots: expected ${shots} examples of class ${k}, found ${indices.length}; use fewer shots`,
      );
    }
    chosen.push(...random.shuffle(indices).slice(0, shots));
  });
  return selectExamples(
    set,
    chosen.sort((a, b) => a - b),
  );
}
