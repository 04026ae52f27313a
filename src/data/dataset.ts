// The in-memory form of a dataset, and helpers that count and select examples. Pure.
//
// Letters: N examples, H = W = 28 pixels, K classes. Images stay uint8 (60,000 x 784 = 47 MB);
// normalisation to float happens per batch in the loader.

import { DataError } from './errors.js';

export const IMAGE_HEIGHT = 28;
export const IMAGE_WIDTH = 28;
export const IMAGE_PIXELS = IMAGE_HEIGHT * IMAGE_WIDTH;

/** A set of labelled images. */
export interface ImageSet {
  images: Uint8Array; // (N, 28, 28) u8, row-major, 0 = background
  labels: Uint8Array; // (N) u8 class indices in [0, K)
  count: number; // N
}

export type SourceKind = 'data-dir' | 'cache' | 'offline' | 'download' | 'path';

/** Where a dataset's files came from. */
export interface DataSource {
  kind: SourceKind;
  /** A directory (or the mirror URL for downloads). */
  location: string;
}

export interface Dataset {
  name: string;
  classes: string[]; // (K) class names; label k names classes[k]
  train: ImageSet;
  test: ImageSet; // empty (count 0) for an image folder without a test split
  source: DataSource;
  /** True when every file matched its pinned SHA-256; false for user data without pinned checksums. */
  verified: boolean;
}

/** Checks that images and labels agree in size and labels are below `classCount`. */
export function checkImageSet(set: ImageSet, classCount: number, name = 'image set'): void {
  if (set.images.length !== set.count * IMAGE_PIXELS || set.labels.length !== set.count) {
    throw new DataError(
      `${name}: expected ${set.count} images of 28x28 and ${set.count} labels, found ${set.images.length} pixels and ${set.labels.length} labels`,
    );
  }
  for (let i = 0; i < set.count; i++) {
    const label = set.labels[i];
    if (label >= classCount) {
      throw new DataError(
        `${name}: expected labels below ${classCount} (the class count), found ${label} at index ${i}`,
      );
    }
  }
}

/** How many examples each class has: (K) counts. */
export function classCounts(labels: Uint8Array, classCount: number): number[] {
  const counts = new Array<number>(classCount).fill(0);
  for (const label of labels) counts[label] = counts[label] + 1;
  return counts;
}

/** The examples at `indices`, in that order, copied into a new set. */
export function selectExamples(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const count = indices.length;
  const images = new Uint8Array(count * IMAGE_PIXELS);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const source = indices[i];
    if (!Number.isInteger(source) || source < 0 || source >= set.count) {
      throw new DataError(`expected example indices in [0, ${set.count}), found ${source}`);
    }
    images.set(set.images.subarray(source * IMAGE_PIXELS, (source + 1) * IMAGE_PIXELS), i * IMAGE_PIXELS);
    labels[i] = set.labels[source];
  }
  return { images, labels, count };
}

/** The indices of each class: (K) lists in ascending order. */
export function indicesByClass(labels: Uint8Array, classCount: number): number[][] {
  const byClass: number[][] = Array.from({ length: classCount }, () => []);
  labels.forEach((label, index) => byClass[label]?.push(index));
  return byClass;
}

/**
 * Progress of finding and loading a dataset, for the user to see (the CLI prints `message`).
 * 'source-absent': a source that is not there at all (a first run's empty cache, an offline copy not
 * installed); expected, so the CLI shows it only with --debug. 'source-skipped': a source that was
 * there but failed (corrupt or partial files); the load then falls back to the next one.
 */
export interface DataEvent {
  kind:
    | 'source-absent'
    | 'source-skipped'
    | 'source-used'
    | 'download-started'
    | 'download-failed'
    | 'download-finished';
  message: string;
}
