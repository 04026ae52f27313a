// Node-only: loading a dataset into memory, the way keras.datasets.mnist.load_data() does.
//
//   const { train, test, classes } = await loadMnist();
//   const fashion = await loadDataset('fashion-mnist', { offline: true });
//
// A pinned dataset comes from the first source that has all four files with the pinned SHA-256
// (hashed once per file version and remembered, see verified.ts; `verify: 'always'` re-hashes):
// data directory, cache, offline copy, then download into the cache. onEvent hears which source was
// used, each source that was there but failed ('source-skipped'), and each that was simply absent
// ('source-absent'); if none works the error lists why each one failed.

import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir } from 'node:fs/promises';
import { checkImageSet, type DataEvent, type Dataset, type ImageSet, type SourceKind } from '../dataset.js';
import { DataError } from '../errors.js';
import { parseIdx } from '../idx.js';
import type { DatasetSpec, IdxFileSpec, IdxDirectorySpec, PinnedDatasetSpec } from '../registry.js';
import { DEFAULT_TIMEOUT_MS, downloadFile } from './download.js';
import { readMaybeGzip, sha256Hex } from './files.js';
import { readImageFolder, type ImageFolderOptions } from './image-folder.js';
import {
  cacheRoot,
  datasetCacheDir,
  findFile,
  isOffline,
  localSources,
  mirrorsFor,
  resolveDataset,
  type SourceOptions,
} from './sources.js';
import {
  fileVersion,
  isVerified,
  readVerifiedRecord,
  rememberVerified,
  verifyMode,
  type VerifiedEntry,
  type VerifiedRecord,
  type VerifyMode,
} from './verified.js';

export interface LoadOptions extends SourceOptions, ImageFolderOptions {
  /** Milliseconds a download may stall before the next mirror is tried. Default 30000. */
  timeoutMs?: number;
  /** Progress: sources skipped and used, downloads. */
  onEvent?: (event: DataEvent) => void;
  /** Use only this source of a pinned dataset. Default 'auto': the first that works, in order. */
  source?: 'auto' | Exclude<SourceKind, 'path'>;
  /**
   * Pinned files: 'cached' (default) hashes each file version once and remembers it by path, size
   * and mtime in <cache root>/verified.json; 'always' hashes on every load. Default: 'always' when
   * $MNIST_LAB_VERIFY is 'always'.
   */
  verify?: VerifyMode;
}

/** How pinned files are checked (verified.ts): where the record lives, and what it said. */
interface Verification {
  cacheRoot: string;
  /** Files hashed during this load, recorded once at its end. */
  newlyVerified: VerifiedEntry[];
  /** verified.json as the load began, read once for all its files; undefined: hash every file. */
  record: Promise<VerifiedRecord> | undefined;
}

/** Images (N, 28, 28) and labels (N) read from two IDX files; checksums checked when pinned. */
async function readPair(
  imagesPath: string,
  labelsPath: string,
  pinned?: [IdxFileSpec, IdxFileSpec],
  verification?: Verification,
): Promise<ImageSet> {
  const read = async (path: string, spec: IdxFileSpec | undefined, rank: number) => {
    // stat() before reading: the version recorded is never newer than the bytes hashed.
    const version = spec && verification ? await fileVersion(path) : undefined;
    const record = spec ? await verification?.record : undefined;
    const known =
      spec !== undefined && record !== undefined && isVerified(record, path, version, spec.sha256);
    const bytes = await readMaybeGzip(path);
    if (spec && !known) {
      const digest = sha256Hex(bytes);
      if (digest !== spec.sha256) {
        throw new DataError(
          `${path}: expected SHA-256 ${spec.sha256}, found ${digest} (corrupt or different file; delete it)`,
        );
      }
      if (version) verification?.newlyVerified.push({ path, version, sha256: digest });
    }
    return parseIdx(bytes, path, { type: 'u8', shape: rank === 3 ? [null, 28, 28] : [null] });
  };
  const [images, labels] = await Promise.all([
    read(imagesPath, pinned?.[0], 3),
    read(labelsPath, pinned?.[1], 1),
  ]);
  const count = images.shape[0];
  if (labels.shape[0] !== count) {
    throw new DataError(
      `${labelsPath}: expected ${count} labels to match ${imagesPath}, found ${labels.shape[0]}`,
    );
  }
  return { images: images.data as Uint8Array, labels: labels.data as Uint8Array, count };
}

/** A source with nothing of the dataset in it: not a failure, the next source is simply tried. */
class SourceAbsentError extends DataError {}

/** All four pinned files from one directory, verified; a DataError says what is missing or wrong. */
async function loadPinnedFrom(
  spec: PinnedDatasetSpec,
  directory: string,
  options: LoadOptions,
): Promise<{ train: ImageSet; test: ImageSet }> {
  if (!existsSync(directory)) throw new SourceAbsentError('no such directory');
  const { files } = spec;
  const list = [files.trainImages, files.trainLabels, files.testImages, files.testLabels];
  const paths = list.map((file) => findFile(directory, file, spec.name));
  const missing = list.filter((_, i) => paths[i] === null).map((file) => file.name);
  if (missing.length === list.length) throw new SourceAbsentError(`none of the ${spec.name} files there`);
  if (missing.length > 0) throw new DataError(`missing ${missing.join(', ')}`);
  const [trainImages, trainLabels, testImages, testLabels] = paths as [string, string, string, string];
  const root = cacheRoot(options);
  const verification: Verification = {
    cacheRoot: root,
    newlyVerified: [],
    record: verifyMode(options.verify) === 'cached' ? readVerifiedRecord(root) : undefined,
  };
  const [train, test] = await Promise.all([
    readPair(trainImages, trainLabels, [files.trainImages, files.trainLabels], verification),
    readPair(testImages, testLabels, [files.testImages, files.testLabels], verification),
  ]);
  await rememberVerified(verification.cacheRoot, verification.newlyVerified);
  checkImageSet(train, spec.classes.length, `${spec.name} train`);
  checkImageSet(test, spec.classes.length, `${spec.name} test`);
  return { train, test };
}

/**
 * Downloads the files the cache lacks (or holds corrupt), then loads from the cache. Returns the
 * mirror that served the last file, or null when the cache already held every file.
 */
async function downloadIntoCache(
  spec: PinnedDatasetSpec,
  options: LoadOptions,
): Promise<{ train: ImageSet; test: ImageSet; mirror: string | null }> {
  const directory = datasetCacheDir(spec, options);
  await mkdir(directory, { recursive: true });
  let mirrors = mirrorsFor(spec, options);
  let mirror: string | null = null;
  try {
    for (const file of Object.values(spec.files)) {
      const cached = findFile(directory, file);
      if (cached && sha256Hex(await readMaybeGzip(cached)) === file.sha256) continue;
      mirror = await downloadFile(file, directory, {
        mirrors,
        timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      });
      // The mirror that worked is tried first for the remaining files.
      mirrors = [mirror, ...mirrors.filter((base) => base !== mirror)];
    }
  } catch (error) {
    await rmdir(directory).catch(() => undefined); // only removes the directory if it is empty
    throw error;
  }
  return { ...(await loadPinnedFrom(spec, directory, options)), mirror };
}

async function loadPinned(spec: PinnedDatasetSpec, options: LoadOptions): Promise<Dataset> {
  const failures: string[] = [];
  const report = (kind: DataEvent['kind'], message: string) => options.onEvent?.({ kind, message });
  const result = (kind: SourceKind, location: string, sets: { train: ImageSet; test: ImageSet }): Dataset => {
    report('source-used', `${spec.name}: using ${kind} ${location} (SHA-256 verified)`);
    return {
      name: spec.name,
      classes: [...spec.classes],
      ...sets,
      source: { kind, location },
      verified: true,
    };
  };

  const only = options.source ?? 'auto';
  const candidates = localSources(spec, options).filter((source) => only === 'auto' || source.kind === only);
  if (only === 'data-dir' && candidates.length === 0) {
    throw new DataError(`${spec.name}: source 'data-dir' needs a directory; pass --data-dir DIR`);
  }
  for (const source of candidates) {
    if (source.directory === null) {
      failures.push(`${source.kind}: ${source.note}`);
      report('source-absent', `${spec.name}: ${source.kind} unavailable: ${source.note}`);
      continue;
    }
    try {
      return result(source.kind, source.directory, await loadPinnedFrom(spec, source.directory, options));
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      failures.push(`${source.kind} ${source.directory}: ${error.message}`);
      const kind = error instanceof SourceAbsentError ? 'source-absent' : 'source-skipped';
      const next = kind === 'source-skipped' ? '; trying the next source' : '';
      report(kind, `${spec.name}: ${source.kind} ${source.directory}: ${error.message}${next}`);
    }
  }

  if (only !== 'auto' && only !== 'download') {
    throw new DataError(
      `${spec.name}: the ${only} source failed (${failures.join('; ')}); try another --source or 'auto'`,
    );
  }
  if (isOffline(options)) {
    throw new DataError(
      `${spec.name}: no local copy found and --offline forbids downloading (${failures.join('; ')}); install the offline copy, pass --data-dir DIR, or drop --offline`,
    );
  }
  try {
    const { mirror, ...sets } = await downloadIntoCache(spec, options);
    return mirror === null
      ? result('cache', datasetCacheDir(spec, options), sets)
      : result('download', mirror, sets);
  } catch (error) {
    if (!(error instanceof DataError)) throw error;
    throw new DataError(
      `${spec.name}: no local copy found (${failures.join('; ')}) and the download failed: ${error.message}`,
    );
  }
}

async function loadIdxDirectory(spec: IdxDirectorySpec): Promise<Dataset> {
  const find = (name: string) => findFile(spec.root, { name });
  const trainImages = find('train-images-idx3-ubyte');
  const trainLabels = find('train-labels-idx1-ubyte');
  if (!trainImages || !trainLabels) {
    throw new DataError(
      `IDX directory '${spec.root}': expected train-images-idx3-ubyte and train-labels-idx1-ubyte (optionally .gz), found ${trainImages ? 'no labels' : 'no images'}`,
    );
  }
  const train = await readPair(trainImages, trainLabels);
  const testImages = find('t10k-images-idx3-ubyte');
  const testLabels = find('t10k-labels-idx1-ubyte');
  const test: ImageSet =
    testImages && testLabels
      ? await readPair(testImages, testLabels)
      : { images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 };
  let largest = 0;
  for (const label of [...train.labels, ...test.labels]) largest = Math.max(largest, label);
  // NOTE: an optional classes.txt (one name per line) names the classes; else they are numbered.
  const namesFile = find('classes.txt');
  const classes = namesFile
    ? (await readFile(namesFile, 'utf8')).split(/\r?\n/).filter((line) => line.trim() !== '')
    : Array.from({ length: largest + 1 }, (_, k) => String(k));
  checkImageSet(train, classes.length, `${trainLabels}`);
  checkImageSet(test, classes.length, `${testLabels ?? spec.root}`);
  return {
    name: spec.name,
    classes,
    train,
    test,
    source: { kind: 'path', location: spec.root },
    verified: false,
  };
}

/**
 * Loads a dataset by name (`mnist`, `fashion-mnist`, `idx:<dir>`, `folder:<dir>`, or a directory
 * path) or by spec. Returns uint8 images (N, 28, 28) and labels for the train and test splits.
 */
export async function loadDataset(
  dataset: string | DatasetSpec,
  options: LoadOptions = {},
): Promise<Dataset> {
  const spec = resolveDataset(dataset);
  if (spec.kind === 'pinned') return loadPinned(spec, options);
  if (spec.kind === 'idx-directory') return loadIdxDirectory(spec);
  const folder = await readImageFolder(spec.root, options);
  return { name: spec.name, ...folder, source: { kind: 'path', location: spec.root }, verified: false };
}

/** MNIST: 60,000 training and 10,000 test digits, verified against pinned checksums. */
export function loadMnist(options: LoadOptions = {}): Promise<Dataset> {
  return loadDataset('mnist', options);
}

export interface SourceAvailability {
  kind: SourceKind;
  location: string;
  /** present: all files found (not yet verified); missing; network: downloads allowed; disabled: --offline. */
  status: 'present' | 'missing' | 'network' | 'disabled';
}

/** Where a pinned dataset could come from, without reading or downloading anything. */
export function datasetAvailability(
  spec: PinnedDatasetSpec,
  options: SourceOptions = {},
): SourceAvailability[] {
  const local = localSources(spec, options).map((source): SourceAvailability => {
    const present =
      source.directory !== null &&
      Object.values(spec.files).every((file) => findFile(source.directory!, file, spec.name));
    return { kind: source.kind, location: source.note, status: present ? 'present' : 'missing' };
  });
  const offline = isOffline(options);
  const remote = mirrorsFor(spec, options).map((mirror): SourceAvailability => ({
    kind: 'download',
    location: mirror,
    status: offline ? 'disabled' : 'network',
  }));
  return [...local, ...remote];
}
