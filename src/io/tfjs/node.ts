// The TF.js Layers format on disk (Node): a directory with model.json and its weight shards.
import { closeSync, existsSync, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { encodeModel } from '../../train/checkpoint.js';
import { CONFIG_FILE, LATEST_FILE, MODEL_FILE } from '../../runs/layout.js';
import { writeFileAtomic } from '../../runs/node/files.js';
import type { Model } from '../../train/model.js';
import { TFJS_WEIGHTS_FILE, exportTfjs, importTfjs } from '../tfjs.js';

/**
 * Writes `directory`/model.json and `directory`/group1-shard1of1.bin (each atomically; the weights
 * first, so a model.json on disk always names a complete shard). Returns the model.json path.
 */
export async function saveTfjsModel(model: Model, directory: string): Promise<string> {
  const { modelJson, weights } = exportTfjs(model);
  await writeFileAtomic(join(directory, TFJS_WEIGHTS_FILE), weights);
  const path = join(directory, 'model.json');
  await writeFileAtomic(path, JSON.stringify(modelJson) + '\n');
  return path;
}

/**
 * Reads a TF.js Layers model.json and the shards its manifest names (next to it). A shard must be a
 * regular file whose real path stays in the model's folder (no symlink out, no device such as
 * /dev/zero), each file once, no larger than the manifest declares (checked before reading).
 */
export async function loadTfjsModel(modelJsonPath: string): Promise<Model> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  } catch (error) {
    throw new Error(`${modelJsonPath}: cannot read the TF.js model.json (${(error as Error).message})`);
  }
  const directory = resolve(dirname(modelJsonPath));
  const realDirectory = realpathSync(directory);
  const seen = new Map<string, string>(); // real path -> the manifest path that named it
  const readShard = (path: string, maxBytes: number): Uint8Array => {
    const refuse = (why: string): Error =>
      new Error(
        `${modelJsonPath}: weight shard '${path}' ${why}; keep the shards as plain files beside model.json`,
      );
    const full = resolve(directory, path);
    // NOTE: a manifest path must stay in the model's directory (no '../' or absolute escapes).
    if (!full.startsWith(directory + sep)) {
      throw new Error(`${modelJsonPath}: weight shard path '${path}' leaves the model's directory`);
    }
    let real: string;
    try {
      real = realpathSync(full);
    } catch (error) {
      throw new Error(`${modelJsonPath}: cannot read weight shard '${path}' (${(error as Error).message})`);
    }
    if (!real.startsWith(realDirectory + sep))
      throw refuse(`is a link to ${real}, outside the model's folder`);
    const other = seen.get(real);
    if (other !== undefined) throw refuse(`is the same file as shard '${other}'`);
    seen.set(real, path);
    // NOTE: checked before opening too: opening a FIFO for reading blocks until a writer comes.
    if (!statSync(real).isFile()) throw refuse('is not a regular file');
    // The checks are made again on the opened file, so what is read is what was checked.
    const fd = openSync(real, 'r');
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw refuse('is not a regular file');
      if (stat.size > maxBytes) {
        throw refuse(`holds ${stat.size} bytes, more than the ${maxBytes} its manifest weights still need`);
      }
      const bytes = new Uint8Array(stat.size);
      for (let at = 0; at < bytes.length;) {
        const read = readSync(fd, bytes, at, bytes.length - at, at);
        if (read === 0) return bytes.subarray(0, at); // shrank while reading: reported as truncated
        at += read;
      }
      return bytes;
    } finally {
      closeSync(fd);
    }
  };
  return importTfjs(json, readShard, modelJsonPath);
}

/** What importTfjsRun wrote. */
export interface ImportedRun {
  model: Model;
  runDir: string;
  /** The run's model.safetensors. */
  modelFile: string;
}

/**
 * Imports a TF.js Layers model into a new run directory that loadModel() (and so evaluate and
 * fine-tuning) reads: `runDir`/model.safetensors and `runDir`/config.json. The model takes pixel /
 * 255 inputs, so the run records no normalisation. Refuses a directory that already holds a run.
 */
export async function importTfjsRun(modelJsonPath: string, runDir: string): Promise<ImportedRun> {
  for (const file of [CONFIG_FILE, MODEL_FILE, LATEST_FILE]) {
    if (existsSync(join(runDir, file))) {
      throw new Error(`${runDir} already holds a run (${file}); choose another --out or delete it first`);
    }
  }
  const model = await loadTfjsModel(modelJsonPath);
  const modelFile = join(runDir, MODEL_FILE);
  await writeFileAtomic(modelFile, encodeModel(model));
  const config = {
    format: 'mnist-lab/run@1',
    createdAt: new Date().toISOString(),
    model: model.toConfig(),
    inputShape: model.inputShape,
    importedFrom: { path: resolve(modelJsonPath), format: 'tfjs-layers' },
    runConfig: { recipe: { model: 'imported', dataset: 'mnist' } },
  };
  await writeFileAtomic(join(runDir, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  return { model, runDir, modelFile };
}
