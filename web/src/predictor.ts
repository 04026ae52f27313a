// Prediction in the browser: a run's weights fetched and rebuilt with modelFromBytes, then the
// drawing preprocessed exactly as `mnist-lab predict` does and run through the model on the js
// backend. A run still training writes new checkpoints: its model is rebuilt when the server's tag
// for the run's latest model.safetensors (its ETag) changes. The model carries its input
// normalisation; an old run's (recorded in its config.json instead) is put back in front of its
// model on load, as loadModel does on the server.
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
  /** The server's tag of the checkpoint this model was built from (null: the server sent none). */
  checkpoint: string | null;
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

/**
 * The run's model from its latest checkpoint: the one built before when the checkpoint is the same
 * (one HEAD request asks), else fetched and built anew.
 */
export async function loadModel(runId: string): Promise<LoadedModel> {
  const cached = cache.get(runId);
  if (cached) {
    const built = await cached.catch(() => null);
    if (built && built.checkpoint !== null && (await api.modelTag(runId)) === built.checkpoint) return built;
    const now = cache.get(runId);
    if (now && now !== cached) return now; // another call started the rebuild meanwhile
  }
  const loading = (async (): Promise<LoadedModel> => {
    const [detail, { bytes, tag }] = await Promise.all([api.run(runId), api.model(runId)]);
    const saved = modelFromBytes(bytes, `run ${runId}: model.safetensors`);
    const model = restoreInputNormalization(saved, detail.normalize);
    return { runId, checkpoint: tag, model, classNames: detail.classNames };
  })();
  cache.set(runId, loading);
  // A failed load is not kept: choosing the run again retries.
  loading.catch(() => {
    if (cache.get(runId) === loading) cache.delete(runId);
  });
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
