// Shared setup for the interop tests: 100 MNIST test images, zoo models with seeded weights, and
// our own predictions to compare other runtimes with.
import assert from 'node:assert/strict';
import { loadMnist } from '../../src/data/node/load.js';
import { selectBackend } from '../../src/backend/select.js';
import type { Model } from '../../src/train/model.js';
import { getRecipe } from '../../src/zoo/recipes.js';
import type { ZooModelName } from '../../src/zoo/recipes.js';
import { Random } from '../../src/util/random.js';

selectBackend();

export const COUNT = 100;
/** Largest difference allowed between our outputs and another runtime's. */
export const TOLERANCE = 1e-4;

export interface Images {
  /** (COUNT, 28, 28) raw pixels */
  pixels: Uint8Array;
  /** (COUNT, 28, 28, 1) pixel / 255: what exported models take */
  scaled: Float32Array;
  /** (COUNT) class indices */
  labels: Uint8Array;
}

let cached: Images | undefined;

export async function testImages(): Promise<Images> {
  if (!cached) {
    const { test } = await loadMnist({ offline: true });
    const pixels = test.images.slice(0, COUNT * 784);
    cached = {
      pixels,
      scaled: Float32Array.from(pixels, (p) => p / 255),
      labels: test.labels.slice(0, COUNT),
    };
  }
  return cached;
}

/** A zoo model built with seed-1 weights (fast and resnet carry their input standardisation). */
export function zooModel(name: ZooModelName): { model: Model } {
  const recipe = getRecipe(name);
  const model = recipe.model();
  model.buildFor([28, 28, 1], new Random(1));
  randomizeNormalization(model, new Random(2));
  return { model };
}

/** Our outputs (COUNT, K) for the images. */
export function ourOutputs(model: Model, images: Images): Float32Array {
  const out = model.predict(images.pixels, { batchSize: COUNT });
  return Float32Array.from(out.data);
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: ${actual.length} outputs, expected ${expected.length}`,
  );
  let worst = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs((actual[i] as number) - (expected[i] as number));
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert.ok(
    worst <= TOLERANCE,
    `${what}: output ${at} differs by ${worst} (${actual[at]} vs ${expected[at]}), tolerance ${TOLERANCE}`,
  );
}

/**
 * Fresh batch norm has gamma 1, beta 0, moving mean 0, variance 1: nearly the identity. Non-trivial
 * values make the exports prove they carry and use all four (inference mode).
 */
export function randomizeNormalization(model: Model, random: Random): void {
  for (const { name, value } of model.weights) {
    const data = value.data;
    const draw = (low: number, high: number): void => {
      for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * random.nextFloat();
    };
    if (name === 'moving_mean' || name === 'beta') draw(-0.2, 0.2);
    else if (name === 'moving_variance' || name === 'gamma') draw(0.5, 1.5);
  }
}
