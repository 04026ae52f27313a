// Pretrained bases on Node: a run directory, a checkpoint directory or a model.safetensors file,
// loaded with its content hash (SHA-256 of model.safetensors: what adapters name their base by)
// and the recipe the run was trained with (model, dataset, class subset). The model carries its
// input normalisation (loadModel restores an old run's), so fine-tuning needs no option for it.
import { sha256Hex } from '../data/node/files.js';
import { readModelSource, type ModelFiles } from '../runs/node/directory.js';
import type { LayerClasses } from '../nn/layer.js';
import type { RunRecipe } from '../runs/types.js';
import type { Model } from '../train/model.js';
import { modelFromFiles } from '../train/run.js';

/** What a base's run says about how it was trained (config.json runConfig.recipe of `train`). */
export type BaseRecipe = Partial<RunRecipe>;

export interface PretrainedBase {
  model: Model;
  /** The model.safetensors the weights came from. */
  modelFile: string;
  /** SHA-256 (hex) of that file's bytes. */
  sha256: string;
  recipe: BaseRecipe;
}

export { sha256Hex };

/**
 * The model.safetensors a base path names (the runs layer's one definition of a run's model), and
 * the run directory holding it when there is one.
 */
export async function resolveBaseFile(path: string): Promise<{ modelFile: string; runDir: string | null }> {
  const files = await readModelSource(path);
  return { modelFile: files.modelFile, runDir: files.runDir ?? null };
}

/** The SHA-256 of a base's model.safetensors. */
export async function baseHash(path: string): Promise<string> {
  return sha256Hex((await readModelSource(path)).model);
}

/** Loads a base model with its hash and recipe; its classes are looked up in `layers` (LAYER_CLASSES). */
export async function loadBase(path: string, layers: LayerClasses): Promise<PretrainedBase> {
  return baseFromFiles(await readModelSource(path), layers);
}

/** The base a model source's files hold (readModelSource, or what process 0 read under mpirun). */
export function baseFromFiles(files: ModelFiles, layers: LayerClasses): PretrainedBase {
  return {
    model: modelFromFiles(files, layers),
    modelFile: files.modelFile,
    sha256: sha256Hex(files.model),
    recipe: files.config?.runConfig?.recipe ?? {},
  };
}
