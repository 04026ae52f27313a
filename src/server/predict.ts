// POST /api/predict: a digit picture (PNG or JPEG bytes, preprocessed exactly as `mnist-lab
// predict` does) or 784 pixels already in MNIST form, classified by a run's model (the runs layer's
// one definition: the latest checkpoint's, else an imported run's own model.safetensors). Models are
// loaded once per run and reloaded when that model changes. Without ?run=, the newest run whose model
// loads answers: a broken newer run is skipped (and named in the server's log), never a 500.
import { LAYER_CLASSES, decodeImage, predictDigits, type Model, type ClassProbability } from '../index.js';
import { recipeClassNames } from '../predict/node/run-recipe.js';
import { preprocessRgba } from '../predict/preprocess.js';
import type { RunDirectory } from '../runs/node/directory.js';
import { modelFromFiles } from '../train/run.js';
import { HttpError, parseJsonBody } from './http.js';
import type { RunCatalog } from './runs.js';

export const PREDICT_BODY_LIMIT = 1 << 20; // 1 MiB
const PIXELS = 784; // (28, 28)

export interface PredictResult {
  run: string;
  label: number;
  name: string;
  probabilities: number[];
  top: ClassProbability[];
  /** (28, 28) u8: the image the model saw. */
  image: number[];
}

export interface LoadedRun {
  /** RunDirectory.modelKey() of the model loaded. */
  key: string;
  model: Model;
  classNames: string[] | undefined;
}

/** How long a loaded model is used before its run's model is looked at again. */
const RECHECK_MS = 1000;

type Loading = { key: string; run: Promise<LoadedRun>; checkedAt: number };

/** Loaded models by run directory, each with the model key it was loaded from. */
export class ModelCache {
  private readonly loaded = new Map<string, Loading>();
  /** Runs whose model did not load, by model key: not tried again until the model changes. */
  private readonly failed = new Map<string, { key: string; error: HttpError }>();

  /**
   * Run `id`'s model. 404 when the run has none; 500 naming the run (no server paths) when its files
   * do not load.
   */
  async get(run: RunDirectory, id: string, catalog?: Pick<RunCatalog, 'withoutPaths'>): Promise<LoadedRun> {
    const cached = this.loaded.get(run.path);
    if (cached && performance.now() - cached.checkedAt < RECHECK_MS) {
      const loaded = await cached.run.catch(() => undefined);
      if (loaded) return loaded;
    }
    const clean = (message: string) => catalog?.withoutPaths(message) ?? message;
    let key: string;
    try {
      key = await run.modelKey();
    } catch (error) {
      throw new HttpError(500, `run '${id}': ${clean((error as Error).message)}`);
    }
    if (key === '') throw new HttpError(404, `run '${id}' has no model yet (no checkpoint)`);
    const failure = this.failed.get(run.path);
    if (failure?.key === key) throw failure.error;
    if (cached?.key === key) {
      const loaded = await cached.run.catch(() => undefined);
      if (loaded) {
        cached.checkedAt = performance.now();
        return loaded;
      }
    }
    const loading = (async (): Promise<LoadedRun> => {
      const files = await run.readModel();
      const recipe = files.config?.runConfig?.recipe;
      return {
        key,
        model: modelFromFiles(files, LAYER_CLASSES),
        classNames: recipeClassNames(recipe),
      };
    })();
    this.loaded.set(run.path, { key, run: loading, checkedAt: performance.now() });
    try {
      const loaded = await loading;
      this.failed.delete(run.path);
      return loaded;
    } catch (error) {
      this.loaded.delete(run.path);
      const failed = new HttpError(
        500,
        `run '${id}': its model did not load (${clean((error as Error).message)})`,
      );
      this.failed.set(run.path, { key, error: failed });
      throw failed;
    }
  }
}

/**
 * The model a prediction uses: run `requested`'s, or without one the newest run whose model loads
 * (broken runs are skipped and told to `log`). 404 when no run has a model.
 */
export async function modelForPrediction(
  catalog: RunCatalog,
  models: ModelCache,
  requested: string | null,
  log: (line: string) => void = () => undefined,
): Promise<{ id: string; run: LoadedRun }> {
  if (requested !== null)
    return { id: requested, run: await models.get(await catalog.run(requested), requested, catalog) };
  const skipped: string[] = [];
  for (const id of await catalog.runsWithModel()) {
    try {
      return { id, run: await models.get(await catalog.run(id), id, catalog) };
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      if (!skipped.includes(id)) log(`predict: skipping run '${id}': ${error.message}`);
      skipped.push(id);
    }
  }
  throw new HttpError(
    skipped.length > 0 ? 500 : 404,
    skipped.length > 0
      ? `no run's model loads (tried ${skipped.map((id) => `'${id}'`).join(', ')}); see GET /api/runs`
      : 'no run with a model yet: train one (mnist-lab train)',
  );
}

/** 784 pixels from a JSON body {pixels: number[784]}, each 0..255. */
export function pixelsFromJson(body: Buffer): Uint8Array {
  const parsed = parseJsonBody(body, 'predict');
  const pixels = (parsed as { pixels?: unknown } | null)?.pixels;
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(pixels)) {
    throw new HttpError(
      400,
      `pixels: expected {"pixels": [${PIXELS} numbers 0..255]}, found no pixels array`,
    );
  }
  if (pixels.length !== PIXELS) {
    throw new HttpError(400, `pixels: expected ${PIXELS} numbers (28x28), found ${pixels.length}`);
  }
  const image = new Uint8Array(PIXELS);
  for (let i = 0; i < PIXELS; i++) {
    const v = pixels[i] as unknown;
    if (typeof v !== 'number' || !(v >= 0 && v <= 255)) {
      throw new HttpError(400, `pixels[${i}]: expected a number from 0 to 255, found ${JSON.stringify(v)}`);
    }
    image[i] = Math.round(v);
  }
  return image;
}

/** A PNG or JPEG picture of one digit, preprocessed to (28, 28) u8 as `mnist-lab predict` does. */
export function pixelsFromPicture(body: Buffer): Uint8Array {
  const bytes = new Uint8Array(body.buffer, body.byteOffset, body.length);
  try {
    // decodeImage refuses pictures over MAX_IMAGE_MEGAPIXELS from their header, before decoding.
    const picture = decodeImage(bytes, 'image');
    return preprocessRgba(picture.data, picture.width, picture.height, { invert: 'auto' }).image;
  } catch (error) {
    // Whatever the decoder or the preprocessing refuse is a property of the picture sent.
    throw new HttpError(400, (error as Error).message);
  }
}

export function predictImage(id: string, run: LoadedRun, image: Uint8Array): PredictResult {
  const [prediction] = predictDigits(run.model, image, {
    topK: 3,
    ...(run.classNames ? { classNames: run.classNames } : {}),
  });
  if (!prediction) throw new Error('predictDigits returned no prediction');
  return {
    run: id,
    label: prediction.label,
    name: prediction.name,
    probabilities: prediction.probabilities,
    top: prediction.top,
    image: Array.from(image),
  };
}
