// What a run's config.json says about its labels and inputs: the recipe the CLI saved (model,
// dataset, class subset, normalisation), read through the runs layer, and the class names that
// follow from it. Shared by `mnist-lab predict`, `evaluate` and `serve`. Node-only (reads the file).
import { findDataset } from '../../data/registry.js';
import { subsetClassNames } from '../../data/split.js';
import { runConfigFor } from '../../runs/node/directory.js';
import type { RunRecipe } from '../../runs/types.js';

/**
 * The recipe saved under runConfig.recipe of the run `path` belongs to (a run directory, a
 * checkpoint directory or a model.safetensors in either), or undefined for a bare model or a run
 * without one. A broken config.json throws, naming the file and the fix.
 */
export async function readRunRecipe(path: string): Promise<RunRecipe | undefined> {
  return (await runConfigFor(path))?.runConfig?.recipe;
}

/**
 * (K) class names of a run: the names it recorded itself (a model taught in the web page), else its
 * dataset's (its class subset, in order); undefined when unknown.
 */
export function recipeClassNames(recipe: RunRecipe | undefined): string[] | undefined {
  if (recipe?.classNames) return [...recipe.classNames];
  const dataset = recipe?.dataset ? findDataset(recipe.dataset) : undefined;
  if (!dataset) return undefined;
  return subsetClassNames(dataset.classes, recipe?.classes);
}
