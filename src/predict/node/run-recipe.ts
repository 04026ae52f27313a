// What a run directory's config.json says about its labels and inputs: the recipe the CLI saved
// (model, dataset, class subset, normalisation), the class names that follow from it. Shared by
// `mnist-lab predict` and `mnist-lab serve`. Node-only (reads the file).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findDataset } from '../../data/registry.js';
import { subsetClassNames } from '../../data/split.js';
import type { Normalize } from '../../train/types.js';

/** What a run directory's config.json says about how to rebuild the data side. */
export interface RunRecipe {
  model: string;
  dataset: string;
  classes?: number[];
  normalize?: Normalize;
}

/** The recipe saved under runConfig.recipe, or undefined (a bare checkpoint, no or unreadable config.json). */
export async function readRunRecipe(runDir: string): Promise<RunRecipe | undefined> {
  try {
    const config = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as {
      runConfig?: { recipe?: RunRecipe };
    };
    return config.runConfig?.recipe;
  } catch {
    return undefined; // a bare checkpoint or model file: class indices, no normalisation
  }
}

/** (K) class names of a recipe's dataset (its class subset, in order), or undefined when unknown. */
export function recipeClassNames(recipe: RunRecipe | undefined): string[] | undefined {
  const dataset = recipe?.dataset ? findDataset(recipe.dataset) : undefined;
  if (!dataset) return undefined;
  return subsetClassNames(dataset.classes, recipe?.classes);
}
