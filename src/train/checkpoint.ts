// Checkpoint contents, as bytes: model weights (+ architecture) and optimizer slots in safetensors,
// and weight snapshots in memory. Pure and browser-safe; run.ts puts these bytes in files.
//
// model.safetensors: one F32 tensor per weight, named by the weight tensor's name
//   ('<layer>/<weight>', e.g. 'dense_1/kernel'), metadata {format, model_config (JSON), input_shape}.
// optimizer.safetensors: one tensor per slot, named '<param name>/<slot>' (e.g. 'dense_1/kernel/m'),
//   metadata {format, class_name, config, iterations, params (JSON list, update order), learning_rate}.
import type { Shape } from '../backend/kernels.js';
import { getBackend } from '../backend/registry.js';
import type { SafetensorsFile, SafetensorsTensor } from '../formats/safetensors.js';
import { decodeSafetensors, encodeSafetensors, tensorValues } from '../formats/safetensors.js';
import type { Layer } from '../nn/layer.js';
import type { Optimizer } from '../optim/optimizer.js';
import { fromStorage } from '../tensor/ops/creation.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Model } from './model.js';

export const MODEL_FORMAT = 'mnist-lab/model@1';
export const OPTIMIZER_FORMAT = 'mnist-lab/optimizer@1';
/** Input shape of models that declare none: one MNIST image, NHWC without the batch dimension. */
export const DEFAULT_INPUT_SHAPE: readonly number[] = [28, 28, 1];

/** Every weight tensor of a model with its checkpoint name, in the model's weight order. */
export function namedWeights(model: Layer): { name: string; value: Tensor }[] {
  const out = model.weights.map((w, i) => ({ name: w.value.name ?? `weight_${i}`, value: w.value }));
  const seen = new Set<string>();
  for (const { name } of out) {
    if (seen.has(name)) {
      throw new Error(`model '${model.name}': two weights are named '${name}'; give its layers unique names`);
    }
    seen.add(name);
  }
  return out;
}

function float32Copy(t: Tensor): Float32Array {
  return t.data instanceof Float32Array ? t.data.slice() : Float32Array.from(t.data);
}

/** model.safetensors bytes: every weight, and the architecture in the metadata. */
export function encodeModel(model: Model): Uint8Array {
  const entries = namedWeights(model).map(
    ({ name, value }) => [name, { dtype: 'F32', shape: value.shape, data: float32Copy(value) }] as const,
  );
  return encodeSafetensors(entries, {
    format: MODEL_FORMAT,
    model_config: JSON.stringify(model.toConfig()),
    input_shape: JSON.stringify(model.inputShape ?? DEFAULT_INPUT_SHAPE),
  });
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function floatValues(entry: SafetensorsTensor, name: string, source: string): Float32Array | Float64Array {
  const values = tensorValues(entry);
  if (!(values instanceof Float32Array || values instanceof Float64Array)) {
    throw new Error(`${source}: '${name}' is ${entry.dtype}, expected a float tensor`);
  }
  return values;
}

/**
 * Copies saved tensors into `targets` (in place). Matched by name when every target name is in the
 * file; otherwise by position (a model rebuilt in code may number its layers differently), which
 * needs the same count and shapes in the same order.
 */
export function copyInto(
  targets: { name: string; value: Tensor }[],
  file: SafetensorsFile,
  source: string,
): void {
  const saved = [...file.tensors.entries()];
  const byName = targets.every((t) => file.tensors.has(t.name));
  if (byName && saved.length > targets.length) {
    // Weights the architecture does not describe would be dropped without a word: refuse instead.
    const wanted = new Set(targets.map((t) => t.name));
    const extra = saved.map(([name]) => name).filter((name) => !wanted.has(name));
    const hint = extra.some((name) => name.includes('/lora_'))
      ? "a LoRA fine-tune saved before its adapters were recorded: merge its adapter onto its base ('mnist-lab finetune merge --from BASE --adapter RUN/adapter --out merged.safetensors')"
      : 'a different architecture?';
    throw new Error(
      `${source}: holds ${extra.length} tensor${extra.length === 1 ? '' : 's'} the model has no weight for ` +
        `(${extra.slice(0, 4).join(', ')}${extra.length > 4 ? ', ...' : ''}); ${hint}`,
    );
  }
  if (!byName && saved.length !== targets.length) {
    throw new Error(
      `${source}: holds ${saved.length} tensors, the model has ${targets.length} weights (a different architecture?)`,
    );
  }
  targets.forEach((target, i) => {
    const [name, entry] = byName
      ? [target.name, file.tensors.get(target.name) as SafetensorsTensor]
      : (saved[i] as [string, SafetensorsTensor]);
    if (!sameShape(entry.shape, target.value.shape)) {
      throw new Error(
        `${source}: '${name}' has shape [${entry.shape.join(', ')}], weight '${target.name}' has ` +
          `[${target.value.shape.join(', ')}] (a different architecture?)`,
      );
    }
    target.value.data.set(floatValues(entry, name, source));
  });
}

/** Loads model.safetensors bytes into an already built model with the same architecture. */
export function loadModelWeights(model: Model, bytes: Uint8Array, source = 'model.safetensors'): void {
  copyInto(namedWeights(model), decodeSafetensors(bytes, source), source);
}

/** optimizer.safetensors bytes: every slot of `optimizer`, iterations and config in the metadata. */
export function encodeOptimizer(optimizer: Optimizer): Uint8Array {
  const state = optimizer.getState();
  const entries: [string, { dtype: 'F32'; shape: Shape; data: Float32Array }][] = [];
  const params: string[] = [];
  for (const [slot, tensors] of Object.entries(state.slots)) {
    tensors.forEach((t, i) => {
      const name = t.name ?? `param_${i}/${slot}`;
      const param = name.endsWith(`/${slot}`) ? name.slice(0, -slot.length - 1) : name;
      if (params.length <= i) params.push(param);
      entries.push([name, { dtype: 'F32', shape: t.shape, data: float32Copy(t) }]);
    });
  }
  const metadata: Record<string, string> = {
    format: OPTIMIZER_FORMAT,
    class_name: optimizer.className,
    config: JSON.stringify(optimizer.getConfig()),
    iterations: String(optimizer.iterations),
    params: JSON.stringify(params),
  };
  // A learning rate set as a number (e.g. by a scheduler callback) is part of the state.
  if (typeof optimizer.learningRate === 'number') metadata['learning_rate'] = String(optimizer.learningRate);
  return encodeSafetensors(entries, metadata);
}

/**
 * Restores an optimizer from optimizer.safetensors bytes. `params` are the trainable parameters in
 * update order: saved slots are renamed onto them by position when the saved parameter names
 * differ (a model rebuilt in code), so the optimizer binds every slot to its parameter.
 */
export function restoreOptimizer(
  optimizer: Optimizer,
  bytes: Uint8Array,
  params: readonly Tensor[],
  source = 'optimizer.safetensors',
): void {
  const file = decodeSafetensors(bytes, source);
  const { format, class_name: className, iterations, params: savedParams } = file.metadata;
  if (format !== OPTIMIZER_FORMAT || iterations === undefined || savedParams === undefined) {
    throw new Error(`${source}: not an mnist-lab optimizer file (metadata format '${format}')`);
  }
  if (className !== optimizer.className) {
    throw new Error(`${source}: saved by ${className}, cannot restore into ${optimizer.className}`);
  }
  const saved = JSON.parse(savedParams) as string[];
  const current = params.map((p, i) => p.name ?? `param_${i}`);
  const rename = new Map<string, string>();
  const sameNames = saved.every((name) => current.includes(name));
  if (!sameNames && saved.length !== current.length) {
    throw new Error(
      `${source}: holds state for ${saved.length} parameters, the model trains ${current.length}`,
    );
  }
  saved.forEach((name, i) => rename.set(name, sameNames ? name : (current[i] as string)));
  const slots: Record<string, Tensor[]> = {};
  for (const [name, entry] of file.tensors) {
    const cut = name.lastIndexOf('/');
    const [param, slot] = [name.slice(0, cut), name.slice(cut + 1)];
    const values = floatValues(entry, name, source);
    const storage = getBackend().alloc('float32', values.length);
    storage.set(values);
    const t = fromStorage(storage, entry.shape);
    t.name = `${rename.get(param) ?? param}/${slot}`;
    (slots[slot] ??= []).push(t);
  }
  optimizer.setState({ iterations: Number(iterations), slots });
  const lr = file.metadata['learning_rate'];
  if (lr !== undefined && typeof optimizer.learningRate === 'number') optimizer.learningRate = Number(lr);
}

/** A copy of every weight's values, in weight order (EarlyStopping's best weights). */
export function snapshotWeights(model: Layer): Float32Array[] {
  return model.weights.map((w) => float32Copy(w.value));
}

/** Writes a snapshot back into the model's weights, in place. */
export function restoreWeights(model: Layer, snapshot: readonly Float32Array[]): void {
  const weights = model.weights;
  if (weights.length !== snapshot.length) {
    throw new Error(`restoreWeights: snapshot has ${snapshot.length} weights, model has ${weights.length}`);
  }
  weights.forEach((w, i) => w.value.data.set(snapshot[i] as Float32Array));
}
