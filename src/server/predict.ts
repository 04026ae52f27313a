// POST /api/predict: a digit picture (PNG or JPEG bytes, preprocessed exactly as `mnist-lab
// predict` does) or 784 pixels already in MNIST form, classified by a run's latest checkpoint.
// Models are loaded once per run and reloaded when the run's `latest` pointer moves.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  decodeImage,
  loadModel,
  predictDigits,
  preprocessRgba,
  readRunRecipe,
  recipeClassNames,
  type Model,
  type ClassProbability,
} from '../index.js';
import { HttpError, parseJsonBody } from './http.js';

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

interface LoadedRun {
  latest: string;
  model: Model;
  classNames: string[] | undefined;
}

/** How long a loaded model is used before its run's `latest` pointer is read again. */
const RECHECK_MS = 1000;

/** Loaded models by run directory, each keyed by the `latest` pointer it was loaded from. */
export class ModelCache {
  private readonly loaded = new Map<string, { run: Promise<LoadedRun>; checkedAt: number }>();

  async get(runDir: string, id: string): Promise<LoadedRun> {
    const cached = this.loaded.get(runDir);
    if (cached && performance.now() - cached.checkedAt < RECHECK_MS) {
      const run = await cached.run.catch(() => undefined);
      if (run) return run;
    }
    let latest: string;
    try {
      latest = (await readFile(join(runDir, 'latest'), 'utf8')).trim();
    } catch {
      throw new HttpError(404, `run '${id}' has no checkpoint yet (no model to predict with)`);
    }
    if (cached) {
      const run = await cached.run.catch(() => undefined);
      if (run && run.latest === latest) {
        cached.checkedAt = performance.now();
        return run;
      }
    }
    const loading = (async (): Promise<LoadedRun> => {
      const recipe = await readRunRecipe(runDir);
      return {
        latest,
        model: await loadModel(runDir),
        classNames: recipeClassNames(recipe),
      };
    })();
    this.loaded.set(runDir, { run: loading, checkedAt: performance.now() });
    try {
      return await loading;
    } catch (error) {
      this.loaded.delete(runDir);
      throw new Error(`run '${id}': the model did not load (${(error as Error).message})`);
    }
  }
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
