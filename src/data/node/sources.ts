// Node-only: where a dataset's files live. The sources of a pinned dataset, tried in order, are an
// explicit data directory, the cache, the offline copy, then the download mirrors.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SourceKind } from '../dataset.js';
import { DataError } from '../errors.js';
import type { DatasetSpec, IdxFileSpec, PinnedDatasetSpec } from '../registry.js';
import { parseDatasetName } from '../registry.js';

/** Where to look and whether the network may be used; every field has a default. */
export interface SourceOptions {
  /** A directory tried first: it holds the IDX files directly or in `<dataDir>/<dataset>/`. */
  dataDir?: string;
  /** Cache root. Default: $MNIST_LAB_CACHE, else ~/.cache/mnist-lab. */
  cacheDir?: string;
  /** Forbid the network. Default: $MNIST_LAB_OFFLINE is 1 or true, else false. */
  offline?: boolean;
  /** Mirror base URLs replacing the dataset's own. Default: $MNIST_LAB_MIRRORS (comma-separated). */
  mirrors?: readonly string[];
}

export function cacheRoot(options: SourceOptions = {}): string {
  return options.cacheDir ?? process.env['MNIST_LAB_CACHE'] ?? join(homedir(), '.cache', 'mnist-lab');
}

/** The cache directory of one dataset. */
export function datasetCacheDir(spec: PinnedDatasetSpec, options: SourceOptions = {}): string {
  return join(cacheRoot(options), spec.name);
}

export function isOffline(options: SourceOptions = {}): boolean {
  if (options.offline !== undefined) return options.offline;
  return ['1', 'true', 'yes'].includes((process.env['MNIST_LAB_OFFLINE'] ?? '').toLowerCase());
}

export function mirrorsFor(spec: PinnedDatasetSpec, options: SourceOptions = {}): readonly string[] {
  if (options.mirrors) return options.mirrors;
  const fromEnvironment = (process.env['MNIST_LAB_MIRRORS'] ?? '').split(/[,\s]+/).filter(Boolean);
  return fromEnvironment.length > 0 ? fromEnvironment : spec.mirrors;
}

/** The offline copy's directory, or a reason why there is none. */
export function offlineDirectory(spec: PinnedDatasetSpec): { path: string } | { missing: string } {
  const copy = spec.offline;
  if (!copy) return { missing: `${spec.name} has no offline copy` };
  if (copy.kind === 'directory') {
    return existsSync(copy.path) ? { path: copy.path } : { missing: `${copy.path} not found (${copy.hint})` };
  }
  try {
    const manifest = createRequire(import.meta.url).resolve(`${copy.packageName}/package.json`);
    return { path: join(dirname(manifest), copy.folder) };
  } catch {
    return { missing: `npm package ${copy.packageName} not installed (npm install ${copy.packageName})` };
  }
}

/** The names a file may have on disk: as pinned, gzipped, and with the `.idx` spelling some copies use. */
function candidateNames(name: string): string[] {
  const dotted = name.replace('-idx', '.idx');
  return [name, `${name}.gz`, dotted, `${dotted}.gz`];
}

/** The path of `file` in `directory` (or `directory/<subfolder>`), or null. */
export function findFile(
  directory: string,
  file: Pick<IdxFileSpec, 'name'>,
  subfolder?: string,
): string | null {
  const directories = subfolder ? [directory, join(directory, subfolder)] : [directory];
  for (const folder of directories) {
    for (const name of candidateNames(file.name)) {
      const path = join(folder, name);
      if (existsSync(path) && statSync(path).isFile()) return path;
    }
  }
  return null;
}

/** The directories to try for a pinned dataset, in order, before downloading. */
export function localSources(
  spec: PinnedDatasetSpec,
  options: SourceOptions = {},
): { kind: SourceKind; directory: string | null; note: string }[] {
  const offline = offlineDirectory(spec);
  return [
    ...(options.dataDir
      ? [{ kind: 'data-dir' as const, directory: options.dataDir, note: options.dataDir }]
      : []),
    { kind: 'cache', directory: datasetCacheDir(spec, options), note: datasetCacheDir(spec, options) },
    'path' in offline
      ? { kind: 'offline', directory: offline.path, note: offline.path }
      : { kind: 'offline', directory: null, note: offline.missing },
  ];
}

/**
 * Resolves a dataset name to its spec. Built-in names and `idx:`/`folder:` prefixes are taken as
 * they are; a bare path is an IDX directory if it holds train-images-idx3-ubyte, else an image
 * folder if it holds subdirectories.
 */
export function resolveDataset(name: string | DatasetSpec): DatasetSpec {
  if (typeof name !== 'string') return name;
  const parsed = parseDatasetName(name);
  if (parsed) return parsed;
  if (!existsSync(name) || !statSync(name).isDirectory()) {
    throw new DataError(
      `dataset path '${name}': expected a directory of IDX files or of <class>/*.png folders, found nothing there`,
    );
  }
  if (findFile(name, { name: 'train-images-idx3-ubyte' })) return { kind: 'idx-directory', name, root: name };
  const hasFolders = readdirSync(name, { withFileTypes: true }).some((entry) => entry.isDirectory());
  if (hasFolders) return { kind: 'image-folder', name, root: name };
  throw new DataError(
    `dataset path '${name}': expected train-images-idx3-ubyte[.gz] or <class-name>/ folders of PNG images, found neither`,
  );
}
