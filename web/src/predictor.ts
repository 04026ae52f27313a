// Prediction in the browser: a run's weights fetched once and rebuilt with modelFromBytes, then the
// drawing preprocessed exactly as `mnist-lab predict` does and run through the model on the js backend.
// The model carries its input normalisation; an old run's (recorded in its config.json instead) is
// put back in front of its model on load, as loadModel does on the server.
import {
  modelFromBytes,
  NoDigitError,
  predictDigits,
  preprocessRgba,
  restoreInputNormalization,
  type Model,
  type Prediction,
} from '../../src/browser.js';
import { api } from './api.js';

export interface LoadedModel {
  runId: string;
  model: Model;
  classNames: string[];
}

export interface DrawingPrediction {
  prediction: Prediction;
  /** (28, 28) u8: the image the model saw. */
  image: Uint8Array;
  milliseconds: number;
}

const cache = new Map<string, Promise<LoadedModel>>();

/** The run's model, fetched and built once per page. */
export function loadModel(runId: string): Promise<LoadedModel> {
  let loading = cache.get(runId);
  if (!loading) {
    loading = (async () => {
      const [detail, bytes] = await Promise.all([api.run(runId), api.modelBytes(runId)]);
      const saved = modelFromBytes(bytes, `run ${runId}: model.safetensors`);
      const model = restoreInputNormalization(saved, detail.normalize);
      return { runId, model, classNames: detail.classNames };
    })();
    // A failed load is not cached: choosing the run again retries.
    loading.catch(() => cache.delete(runId));
    cache.set(runId, loading);
  }
  return loading;
}

/** The model's answer for an RGBA drawing, or null when there is no ink yet. */
export function predictDrawing(
  loaded: LoadedModel,
  rgba: Uint8Array,
  width: number,
  height: number,
): DrawingPrediction | null {
  const started = performance.now();
  let image: Uint8Array;
  try {
    image = preprocessRgba(rgba, width, height).image;
  } catch (error) {
    if (error instanceof NoDigitError) return null;
    throw error;
  }
  const classNames = loaded.classNames.length > 0 ? loaded.classNames : undefined;
  const [prediction] = predictDigits(loaded.model, image, {
    topK: classNames?.length ?? 10,
    ...(classNames ? { classNames } : {}),
  });
  if (!prediction) throw new Error('predictDigits returned no prediction for one image');
  return { prediction, image, milliseconds: performance.now() - started };
}
