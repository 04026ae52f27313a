// loadModel: a model from a run directory, a checkpoint or a model.safetensors on disk, with every
// class mnist-lab defines (LAYER_CLASSES) and the ones given to registerLayer().
import { readModelSource } from '../runs/node/directory.js';
import type { Model } from '../train/model.js';
import { modelFromFiles } from '../train/run.js';
import { LAYER_CLASSES } from './index.js';

/**
 * Loads a model saved by fit({run}), ModelCheckpoint or `mnist-lab import`. `path` is a run
 * directory (its model: the latest checkpoint's, else its own model.safetensors), a checkpoint
 * directory, or a model.safetensors file. A class of your own in the file needs registerLayer()
 * first; the classes of mnist-lab need nothing.
 */
export async function loadModel(path: string): Promise<Model> {
  return modelFromFiles(await readModelSource(path), LAYER_CLASSES);
}
