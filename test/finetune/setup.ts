// Shared setup for the fine-tuning tests: the js backend, tiny seeded images (6x6) and tiny models.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJsBackend } from '../../src/backend/js/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import type { PretrainedBase } from '../../src/finetune/base.js';
import type { TaskData, TaskDefaults } from '../../src/finetune/tasks.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { batchNormalization, conv2d, dense, flatten, maxPooling2d } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { adam } from '../../src/optim/index.js';
import { sequential } from '../../src/train/model.js';
import type { Sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

setBackendInstance(createJsBackend());

export const INPUT_SHAPE = [6, 6, 1] as const;
export const PIXELS = 36;

/** `count` u8 images (count, 6, 6): class k lights rows 2k, 2k+1 (k < classes <= 3), plus noise. */
export function syntheticData(
  count: number,
  classes = 3,
  seed = 1,
): { images: Uint8Array; labels: Uint8Array } {
  const random = new Random(seed);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const label = n % classes;
    labels[n] = label;
    for (let p = 0; p < PIXELS; p++) {
      const row = Math.floor(p / 6);
      const lit = row === 2 * label || row === 2 * label + 1;
      images[n * PIXELS + p] = Math.min(255, (lit ? 160 : 0) + random.nextInt(90));
    }
  }
  return { images, labels };
}

/**
 * A tiny vit named tiny_vit, built with a seed: 28x28 images in patches of 7 (16 tokens + class
 * token), width 8, 2 blocks of 2 heads.
 */
export function tinyVit(classes = 3, seed = 1): VisionTransformer {
  const model = new VisionTransformer({
    name: 'tiny_vit',
    patchSize: 7,
    embedDim: 8,
    depth: 2,
    numHeads: 2,
    mlpDim: 16,
    classes,
  });
  model.buildFor([28, 28, 1], new Random(seed));
  return model;
}

/**
 * conv2d(4, 3x3) -> batch_normalization -> max_pooling2d -> flatten -> dense(8, relu) -> dense(classes),
 * built with a seed; layer names are reset so they read conv2d, batch_normalization, ... dense_1.
 */
export function tinyCnn(classes = 3, seed = 0): Sequential {
  resetLayerNames();
  const model = sequential([
    conv2d({ inputShape: [...INPUT_SHAPE], filters: 4, kernelSize: 3, activation: 'relu' }),
    batchNormalization(),
    maxPooling2d({ poolSize: 2 }),
    flatten(),
    dense({ units: 8, activation: 'relu' }),
    dense({ units: classes }),
  ]);
  model.buildFor(INPUT_SHAPE, new Random(seed));
  return model;
}

export function compileAdam(model: Sequential, learningRate = 0.01): void {
  model.compile({
    optimizer: adam({ learningRate }),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
}

export function copyOf(data: ArrayLike<number>): Float32Array {
  return Float32Array.from(data);
}

export function bitsEqual(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(Float32Array.from(a).buffer);
  const y = new Uint32Array(Float32Array.from(b).buffer);
  return x.every((v, i) => v === y[i]);
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mnist-lab-finetune-${prefix}-`));
}

/** A 3-class task over `count` synthetic images (train = test = pretraining data) for runFineTune. */
export function syntheticTask(count: number, defaults?: TaskDefaults): TaskData {
  const { images, labels } = syntheticData(count);
  const set = { images, labels, count };
  return {
    name: 'synthetic',
    train: set,
    test: set,
    classes: 3,
    classNames: ['0', '1', '2'],
    target: { dataset: 'synthetic' },
    pretrain: { dataset: 'synthetic', train: set, test: set, classCount: 3 },
    ...(defaults ? { defaults } : {}),
  };
}

/** A fresh tinyCnn as an already loaded base (no file behind it). */
export function tinyBase(): PretrainedBase {
  return { model: tinyCnn(), modelFile: 'base', sha256: '0', recipe: {} };
}
