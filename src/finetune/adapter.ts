// Adapters saved alone, next to nothing of the base:
//   <dir>/adapter.safetensors   every trainable weight of the adapted model (LoRA A/B, a new head),
//                               named as in model.safetensors ('conv2d_1/lora_A', 'head/kernel')
//   <dir>/adapter.json          what to rebuild on the base: LoRA settings and targets, the new head,
//                               and the base checkpoint's SHA-256 (of its model.safetensors)
// Loading checks the hash first: an adapter only means something on the exact base it was trained on.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, tensorValues } from '../formats/safetensors.js';
import type { LayerClasses } from '../nn/layer.js';
import type { Model } from '../train/model.js';
import { writeFileAtomic } from '../runs/node/files.js';
import { loadBase } from './base.js';
import { classifierIndex, replaceHead } from './head.js';
import { applyLora, loraLayers } from './lora.js';

export const ADAPTER_FORMAT = 'mnist-lab/adapter@1';
export const ADAPTER_WEIGHTS_FILE = 'adapter.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter.json';

export interface AdapterConfig {
  format: typeof ADAPTER_FORMAT;
  base: { sha256: string; path?: string };
  /** null when the adapted model has no LoRA layers (a head-only or full fine-tune). */
  lora: { rank: number; alpha: number; dropout: number; targets: string[] } | null;
  /** The new head, when the classifier was replaced. */
  head: { name: string; classes: number } | null;
  /** Names of the tensors in adapter.safetensors. */
  tensors: string[];
}

export interface SaveAdapterOptions {
  /** SHA-256 of the base's model.safetensors (baseHash()). */
  baseSha256: string;
  /** Where the base was (informational; the hash decides). */
  basePath?: string;
  /** Name of a new head layer, if the classifier was replaced. */
  headName?: string;
}

/** adapter.safetensors bytes and adapter.json of an adapted model. Pure. */
export function encodeAdapter(
  model: Model,
  options: SaveAdapterOptions,
): { weights: Uint8Array; config: AdapterConfig } {
  const trainable = model.trainableWeights;
  const entries = trainable.map((w) => {
    const data =
      w.value.data instanceof Float32Array ? w.value.data.slice() : Float32Array.from(w.value.data);
    return [w.value.name as string, { dtype: 'F32' as const, shape: w.value.shape, data }] as const;
  });
  const wrappers = loraLayers(model);
  const first = wrappers[0];
  let head: AdapterConfig['head'] = null;
  if (options.headName !== undefined) {
    const layer = model.layers[classifierIndex(model)];
    if (!layer || layer.name !== options.headName) {
      throw new Error(`saveAdapter: the classifier of '${model.name}' is not named '${options.headName}'`);
    }
    head = { name: layer.name, classes: (layer as unknown as { units: number }).units };
  }
  const config: AdapterConfig = {
    format: ADAPTER_FORMAT,
    base: { sha256: options.baseSha256, ...(options.basePath ? { path: options.basePath } : {}) },
    lora: first
      ? {
          rank: first.rank,
          alpha: first.alpha,
          dropout: first.dropout,
          targets: wrappers.map((l) => l.name),
        }
      : null,
    head,
    tensors: entries.map(([name]) => name),
  };
  return { weights: encodeSafetensors(entries, { format: ADAPTER_FORMAT }), config };
}

/** Writes adapter.safetensors and adapter.json into `dir` (atomically). */
export async function saveAdapter(model: Model, dir: string, options: SaveAdapterOptions): Promise<void> {
  const { weights, config } = encodeAdapter(model, options);
  await writeFileAtomic(join(dir, ADAPTER_WEIGHTS_FILE), weights);
  await writeFileAtomic(join(dir, ADAPTER_CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
}

/**
 * Rebuilds the adapted model on `base` (a loaded base model with its hash) from adapter bytes. Pure.
 * Refuses a base whose hash differs from the one the adapter names.
 */
export function applyAdapter(
  base: { model: Model; sha256: string },
  config: AdapterConfig,
  weights: Uint8Array,
  source = 'adapter',
): Model {
  if (config.format !== ADAPTER_FORMAT) {
    throw new Error(
      `${source}: not an mnist-lab adapter (format '${String(config.format)}', expected '${ADAPTER_FORMAT}')`,
    );
  }
  if (config.base.sha256 !== base.sha256) {
    throw new Error(
      `${source}: trained on the base with model.safetensors SHA-256 ${config.base.sha256.slice(0, 12)}…` +
        `${config.base.path ? ` (${config.base.path})` : ''}, but this base's is ${base.sha256.slice(0, 12)}…; ` +
        'load the adapter onto the base it was trained on',
    );
  }
  let model = base.model;
  if (config.head) model = replaceHead(model, config.head.classes, { name: config.head.name });
  if (config.lora) {
    model = applyLora(model, {
      rank: config.lora.rank,
      alpha: config.lora.alpha,
      dropout: config.lora.dropout,
      target: config.lora.targets.join(','),
      ...(config.head ? { trainable: config.head.name } : {}),
    });
  }
  const file = decodeSafetensors(weights, `${source} ${ADAPTER_WEIGHTS_FILE}`);
  const byName = new Map(model.weights.map((w) => [w.value.name, w.value]));
  for (const [name, entry] of file.tensors) {
    const target = byName.get(name);
    if (!target || target.shape.join(',') !== entry.shape.join(',')) {
      throw new Error(
        `${source}: tensor '${name}' [${entry.shape.join(', ')}] has no matching weight in the adapted model ` +
          `(${target ? `shape [${target.shape.join(', ')}]` : 'no such weight'})`,
      );
    }
    target.data.set(tensorValues(entry) as Float32Array);
  }
  return model;
}

/**
 * Loads the adapter in `dir` onto the base at `basePath` (run dir, checkpoint dir or file), the
 * base's classes looked up in `layers` (LAYER_CLASSES).
 */
export async function loadAdapter(dir: string, basePath: string, layers: LayerClasses): Promise<Model> {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  if (!existsSync(configPath)) {
    throw new Error(
      `loadAdapter: no ${ADAPTER_CONFIG_FILE} in ${dir} (expected a directory written by saveAdapter)`,
    );
  }
  const config = JSON.parse(await readFile(configPath, 'utf8')) as AdapterConfig;
  const weights = new Uint8Array(await readFile(join(dir, ADAPTER_WEIGHTS_FILE)));
  const base = await loadBase(basePath, layers);
  return applyAdapter(base, config, weights, dir);
}
