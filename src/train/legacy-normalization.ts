// Runs saved before models carried their input normalisation: config.json said how inputs were
// standardised (the CLI's runConfig.recipe.normalize, or fit's training.fit.normalize) and the saved
// model did not. Loading such a run puts the Normalization layer in front of its model, so it
// predicts right from pixel / 255 like a run saved today. Browser-safe.
import type { InputNormalization } from '../data/normalize.js';
import type { Model } from './model.js';
import { withInputNormalization } from './model.js';

function normalizationOf(value: unknown): InputNormalization | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { mean, std } = value as { mean?: unknown; std?: unknown };
  return typeof mean === 'number' &&
    Number.isFinite(mean) &&
    typeof std === 'number' &&
    std > 0 &&
    Number.isFinite(std)
    ? { mean, std }
    : undefined;
}

/** The standardisation a run's config.json records outside its model, if any. */
export function savedInputNormalization(config: unknown): InputNormalization | undefined {
  if (config === null || typeof config !== 'object') return undefined;
  const { runConfig, training } = config as {
    runConfig?: { recipe?: { normalize?: unknown } };
    training?: { fit?: { normalize?: unknown } };
  };
  return normalizationOf(runConfig?.recipe?.normalize) ?? normalizationOf(training?.fit?.normalize);
}

/**
 * A loaded model made to carry the standardisation its run recorded outside it: unchanged when
 * there is none, or when the model already starts with a Normalization layer (a run saved today,
 * or an old run resumed by today's code, whose newer checkpoints carry the layer).
 */
export function restoreInputNormalization(
  model: Model,
  normalization: InputNormalization | null | undefined,
): Model {
  if (!normalization || model.inputNormalization) return model;
  return withInputNormalization(model, normalization);
}
