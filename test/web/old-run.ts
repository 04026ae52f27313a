// A run as saved before models carried their input normalisation, made from a run saved today: the
// same weights, the model config without its leading Normalization layer, and the standardisation
// in config.json (runConfig.recipe.normalize) instead. Files only: no backend is touched.
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, tensorValues } from '../../src/formats/safetensors.js';
import type { SafetensorsInput } from '../../src/formats/safetensors.js';

interface LayerEntry {
  className: string;
  config: Record<string, unknown>;
}

/** Copies the run at `from` (a Sequential starting with Normalization) to `to`, in the old form. */
export function copyAsOldRun(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
  const checkpoint = join(to, readFileSync(join(to, 'latest'), 'utf8').trim());
  const file = decodeSafetensors(new Uint8Array(readFileSync(join(checkpoint, 'model.safetensors'))));
  const model = JSON.parse(file.metadata['model_config'] as string) as { config: { layers: LayerEntry[] } };
  const [first, ...rest] = model.config.layers;
  if (first?.className !== 'Normalization')
    throw new Error(`${from}: the model does not start with Normalization`);
  model.config.layers = rest;
  const normalize = { mean: first.config['mean'], std: Math.sqrt(first.config['variance'] as number) };
  const tensors = [...file.tensors].map(([name, t]): [string, SafetensorsInput] => [
    name,
    { dtype: t.dtype, shape: t.shape, data: tensorValues(t) },
  ]);
  const bytes = encodeSafetensors(tensors, {
    ...file.metadata,
    model_config: JSON.stringify(model),
  });
  writeFileSync(join(checkpoint, 'model.safetensors'), bytes);
  const statePath = join(checkpoint, 'state.json');
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as {
    files: Record<string, { bytes: number; sha256: string }>;
  };
  state.files['model.safetensors'] = {
    bytes: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
  writeFileSync(statePath, JSON.stringify(state));
  const configPath = join(to, 'config.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as {
    model: unknown;
    runConfig: { recipe: Record<string, unknown> };
  };
  config.model = model;
  config.runConfig.recipe['normalize'] = normalize;
  writeFileSync(configPath, JSON.stringify(config));
}
