// Data: the public names of src/data (the `data` namespace of the Node entry): datasets and their
// sources, splits, normalisation, augmentation, the DataLoader, IDX and PNG codecs. It lives in
// node/ because it names the file loaders; the modules of src/data itself stay browser-safe.
export { DataError } from '../errors.js';
export { encodeIdx, parseIdx } from '../idx.js';
export type { IdxArray, IdxData, IdxType } from '../idx.js';
export { DATASETS, FASHION_MNIST, findDataset, MNIST, MNIST_MEAN, MNIST_STD } from '../registry.js';
export type { DatasetSpec } from '../registry.js';
export { classCounts, IMAGE_HEIGHT, IMAGE_PIXELS, IMAGE_WIDTH, selectExamples } from '../dataset.js';
export type { DataEvent, Dataset, DataSource, ImageSet } from '../dataset.js';
export { subsetByClasses, subsetByShots, validationSplit } from '../split.js';
export type { ClassSubsetOptions, ShotsOptions, ValidationSplit, ValidationSplitOptions } from '../split.js';
export { normalizeImages, pixelStatistics, standardize } from '../normalize.js';
export type { InputNormalization } from '../normalize.js';
export { AUGMENT_DEFAULTS, randomAffine, warpAffine } from '../augment.js';
export type { AffineParams, AugmentOptions } from '../augment.js';
export { batches, DataLoader, LOADER_DEFAULTS } from '../loader.js';
export type { Batch, LoaderOptions } from '../loader.js';
export { renderGrid } from '../grid.js';
export type { GridOptions, RgbaImage } from '../grid.js';
export { readIdxFile, writeIdxFile } from './files.js';
export { decodePng, encodePng } from './png.js';
export { readImageFolder } from './image-folder.js';
export type { ImageFolderData, ImageFolderOptions } from './image-folder.js';
export { datasetAvailability, loadDataset, loadMnist } from './load.js';
export type { LoadOptions, SourceAvailability } from './load.js';
export { Random } from '../../util/random.js';
