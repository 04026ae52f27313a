// Node-only: a user's images as a dataset, in the ImageFolder convention.
//
//   <root>/<class-name>/*.png                 every image is a training image; the test set is empty
//   <root>/train/<class-name>/*.png           with <root>/test/<class-name>/*.png as the test set
//
// Class names are the folder names in sorted order (label k is the k-th name). Images are converted
// to grayscale and resized to 28x28; MNIST digits are light on dark, so dark-on-light pictures need
// `invert`.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_PIXELS, type ImageSet } from '../dataset.js';
import { DataError } from '../errors.js';
import { resizeArea, rgbaToGray } from '../image.js';
import { decodePng } from './png.js';

export interface ImageFolderOptions {
  /** Map pixel p to 255 - p (for dark strokes on a light background). Default false. */
  invert?: boolean;
}

export interface ImageFolderData {
  classes: string[];
  train: ImageSet;
  test: ImageSet;
}

async function subdirectories(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

async function readSplit(root: string, classes: string[], options: ImageFolderOptions): Promise<ImageSet> {
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (const [label, className] of classes.entries()) {
    const folder = join(root, className);
    let names: string[];
    try {
      names = (await readdir(folder)).filter((name) => name.toLowerCase().endsWith('.png')).sort();
    } catch {
      continue; // a class absent from this split
    }
    for (const name of names) {
      const path = join(folder, name);
      let decoded;
      try {
        decoded = decodePng(await readFile(path));
      } catch (error) {
        throw new DataError(
          `${path}: expected a PNG image, found unreadable data (${(error as Error).message})`,
        );
      }
      const gray = resizeArea(
        rgbaToGray(decoded.data, decoded.width, decoded.height),
        decoded.width,
        decoded.height,
      );
      if (options.invert) gray.forEach((p, i) => (gray[i] = 255 - p));
      images.push(gray);
      labels.push(label);
    }
  }
  const all = new Uint8Array(images.length * IMAGE_PIXELS);
  images.forEach((image, i) => all.set(image, i * IMAGE_PIXELS));
  return { images: all, labels: Uint8Array.from(labels), count: images.length };
}

/** Reads an image folder (see the header for the layout). */
export async function readImageFolder(
  root: string,
  options: ImageFolderOptions = {},
): Promise<ImageFolderData> {
  let top: string[];
  try {
    top = await subdirectories(root);
  } catch {
    throw new DataError(
      `image folder '${root}': expected a directory of <class-name>/*.png folders, found no such directory`,
    );
  }
  const hasSplits = top.includes('train') && top.includes('test');
  const trainRoot = hasSplits ? join(root, 'train') : root;
  const classes = hasSplits
    ? [
        ...new Set([...(await subdirectories(trainRoot)), ...(await subdirectories(join(root, 'test')))]),
      ].sort()
    : top;
  if (classes.length === 0) {
    throw new DataError(`image folder '${root}': expected <class-name>/ folders of PNG images, found none`);
  }
  if (classes.length > 256) {
    throw new DataError(
      `image folder '${root}': expected at most 256 classes (uint8 labels), found ${classes.length}`,
    );
  }
  const train = await readSplit(trainRoot, classes, options);
  const test = hasSplits
    ? await readSplit(join(root, 'test'), classes, options)
    : { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 };
  if (train.count === 0)
    throw new DataError(`image folder '${root}': expected PNG images in the class folders, found none`);
  return { classes, train, test };
}
