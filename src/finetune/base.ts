// Pretrained bases on Node: a run directory, a checkpoint directory or a model.safetensors file,
// loaded with its content hash (SHA-256 of model.safetensors: what adapters name their base by)
// and the recipe the run was trained with (model, dataset, class subset). The model carries its
// input normalisation (loadModel restores an old run's), so fine-tuning needs no option for it.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model } from '../train/model.js';
import { CONFIG_FILE, MODEL_FILE, latestCheckpointDir, loadModel } from '../train/run.js';

/** What a base's run says about how it was trained (config.json runConfig.recipe of `train`). */
export interface BaseRecipe {
  model?: string;
  dataset?: string;
  classes?: number[];
}

export interface PretrainedBase {
  model: Model;
  /** The model.safetensors the weights came from. */
  modelFile: string;
  /** SHA-256 (hex) of that file's bytes. */
  sha256: string;
  recipe: BaseRecipe;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The model.safetensors a base path names, and the run directory holding it (when there is one). */
export async function resolveBaseFile(path: string): Promise<{ modelFile: string; runDir: string | null }> {
  if (!existsSync(path)) {
    throw new Error(
      `base '${path}' does not exist; give a run directory written by 'mnist-lab train --out DIR', ` +
        'a checkpoint directory or a model.safetensors file',
    );
  }
  if (!statSync(path).isDirectory()) return { modelFile: path, runDir: null };
  const checkpoint = await latestCheckpointDir(path);
  const modelFile = join(checkpoint ?? path, MODEL_FILE);
  if (!existsSync(modelFile)) {
    throw new Error(`base '${path}': no ${MODEL_FILE} found (expected a run directory with a checkpoint)`);
  }
  return { modelFile, runDir: checkpoint ? path : null };
}

/** The SHA-256 of a base's model.safetensors. */
export async function baseHash(path: string): Promise<string> {
  const { modelFile } = await resolveBaseFile(path);
  return sha256Hex(new Uint8Array(await readFile(modelFile)));
}

/** Loads a base model with its hash and recipe. */
export async function loadBase(path: string): Promise<PretrainedBase> {
  const { modelFile, runDir } = await resolveBaseFile(path);
  const sha256 = sha256Hex(new Uint8Array(await readFile(modelFile)));
  const model = await loadModel(runDir ?? modelFile);
  let recipe: BaseRecipe = {};
  const configPath = runDir ? join(runDir, CONFIG_FILE) : null;
  if (configPath && existsSync(configPath)) {
    const config = JSON.parse(await readFile(configPath, 'utf8')) as {
      runConfig?: { recipe?: BaseRecipe };
    };
    recipe = config.runConfig?.recipe ?? {};
  }
  return { model, modelFile, sha256, recipe };
}
