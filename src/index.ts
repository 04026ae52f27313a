// The public API of mnist-lab: every export is named here (no `export *`). Examples, integration
// tests, the CLI and the web page import only from this file.

export { VERSION } from './version.js';

// ---- backend contract ----
export type { Backend, DType, Kernels, KernelName, Shape, Storage } from './backend/kernels.js';

// ---- data ----
export { DataError } from './data/errors.js';
export { encodeIdx, parseIdx } from './data/idx.js';
export type { IdxArray, IdxData, IdxExpectation, IdxType } from './data/idx.js';
export { DATASETS, FASHION_MNIST, findDataset, MNIST, MNIST_MEAN, MNIST_STD } from './data/registry.js';
export type {
  DatasetFiles,
  DatasetSpec,
  IdxDirectorySpec,
  IdxFileSpec,
  ImageFolderSpec,
  OfflineCopy,
  PinnedDatasetSpec,
} from './data/registry.js';
export { classCounts, IMAGE_HEIGHT, IMAGE_PIXELS, IMAGE_WIDTH, selectExamples } from './data/dataset.js';
export type { DataEvent, Dataset, DataSource, ImageSet, SourceKind } from './data/dataset.js';
export { subsetByClasses, subsetByShots, validationSplit } from './data/split.js';
export type {
  ClassSubsetOptions,
  ShotsOptions,
  ValidationSplit,
  ValidationSplitOptions,
} from './data/split.js';
export { normalizeImages, pixelStatistics, SCALE_TO_UNIT, standardize } from './data/normalize.js';
export type { Normalization } from './data/normalize.js';
export { AUGMENT_DEFAULTS, IDENTITY_WARP, randomAffine, warpAffine } from './data/augment.js';
export type { AffineParams, AugmentOptions } from './data/augment.js';
export { batches, DataLoader, LOADER_DEFAULTS } from './data/loader.js';
export type { Batch, LoaderOptions } from './data/loader.js';
export { parseIndexList, renderGrid } from './data/grid.js';
export type { GridOptions, RgbaImage } from './data/grid.js';
export { resizeArea, rgbaToGray } from './data/image.js';
export { readIdxFile, sha256Hex, writeIdxFile } from './data/node/files.js';
export { decodePng, encodePng } from './data/node/png.js';
export { readImageFolder } from './data/node/image-folder.js';
export type { ImageFolderData, ImageFolderOptions } from './data/node/image-folder.js';
export { cacheRoot, resolveDataset } from './data/node/sources.js';
export type { SourceOptions } from './data/node/sources.js';
export { datasetAvailability, loadDataset, loadMnist } from './data/node/load.js';
export type { LoadOptions, SourceAvailability } from './data/node/load.js';
export { Random } from './util/random.js';
export type { RandomState } from './util/random.js';

// ---- tensors and autograd ----

// ---- layers, models, losses, optimizers ----

// ---- training ----
