// Flag value parsers shared by the commands: each rejects a bad value with one line naming the
// flag, the expected range and what was found.
import { existsSync, statSync } from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import { DATASETS, findDataset } from '../data/registry.js';
import { launchedAs } from '../distributed/launch.js';
import { UsageError } from './errors.js';

/** A whole number in [min, max]. */
export function integerIn(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(
        `${flag} expects a whole number from ${min}${max < 1e15 ? ` to ${max}` : ''}, found '${value}'`,
      );
    }
    return n;
  };
}

/** A finite number in [min, max], or (min, max] when exclusiveMin. */
export function numberIn(flag: string, min: number, max: number, exclusiveMin = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max || (exclusiveMin && n === min)) {
      throw new InvalidArgumentError(
        `${flag} expects a number in ${exclusiveMin ? '(' : '['}${min}, ${max}], found '${value}'`,
      );
    }
    return n;
  };
}

/** A path that must exist (a file or a directory, as `what` says). */
export function existingPath(flag: string, what: string) {
  return (value: string): string => checkPath(flag, what, value, false);
}

/** A path that must be an existing directory: a file there is refused, not ignored later. */
export function existingDirectory(flag: string, what: string) {
  return (value: string): string => checkPath(flag, what, value, true);
}

function checkPath(flag: string, what: string, value: string, directory: boolean): string {
  // Under mpirun only process 0 reads such a path (a base, a run to resume) and sends what it read;
  // its check stops the whole job, and the others' hosts need not have the path.
  if ((launchedAs()?.rank ?? 0) > 0) return value;
  if (!existsSync(value)) {
    throw new InvalidArgumentError(`${flag} expects ${what}, found no such path '${value}'`);
  }
  if (directory && !statSync(value).isDirectory()) {
    throw new InvalidArgumentError(
      `${flag} expects ${what}, found a file '${value}'; give the directory itself, not a file in it`,
    );
  }
  return value;
}

/**
 * A dataset: a built-in name, idx:DIR, folder:DIR or a directory path. Prefixed and path forms must
 * name an existing directory; the files in it are checked when it loads. `flag` is undefined for a
 * positional argument.
 */
export function datasetName(flag?: string) {
  const prefix = flag ? `${flag}: ` : '';
  return (value: string): string => {
    if (findDataset(value)) return value;
    const root =
      /^(?:idx|folder):(.*)$/.exec(value)?.[1] ?? (/[/\\]|^\.\.?$/.test(value) ? value : undefined);
    if (root === undefined) {
      const known = DATASETS.map((d) => d.name).join(', ');
      throw new InvalidArgumentError(
        `${prefix}unknown dataset '${value}': expected one of ${known}, or a directory (idx:DIR for IDX files, folder:DIR for <class>/*.png)`,
      );
    }
    if (!existsSync(root) || !statSync(root).isDirectory()) {
      throw new InvalidArgumentError(`${prefix}dataset '${value}': no such directory '${root}'`);
    }
    return value;
  };
}

/** The class count of a built-in dataset, or undefined for a directory (known once it loads). */
export function builtInClassCount(dataset: string): number | undefined {
  return findDataset(dataset)?.classes.length;
}

/** --data-dir, as every command that reads a dataset takes it: an existing directory searched first. */
export function dataDirOption(): Option {
  return new Option('--data-dir <dir>', 'look for the dataset files in this directory first').argParser(
    existingDirectory('--data-dir', 'an existing directory'),
  );
}

/** --resume continues a run in its own directory: refused beside --out elsewhere or --overwrite. */
export function checkResumeFlags(flags: { resume?: string; out?: string; overwrite?: boolean }): void {
  if (flags.out && flags.resume !== flags.out) {
    throw new UsageError(
      '--resume continues the run in its own directory; drop --out or make it the same directory',
    );
  }
  if (flags.overwrite) {
    throw new UsageError('--overwrite starts a new run and --resume continues one: give one of them');
  }
}
