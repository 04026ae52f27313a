// The TensorFlow.js Layers format, out and in: model.json (a Keras topology + a weights manifest)
// and binary weight shards of little-endian float32. Pure and browser-safe: bytes and objects in and
// out; src/io/tfjs/node.ts reads and writes the files.
//
// Layouts need no transposes: our activations are NHWC and our weights are Keras-shaped (conv
// kernels HWIO [KH, KW, C, F], dense kernels [in, out]), exactly what TF.js holds.
//
// Export: a Sequential of plain layers becomes a Keras Sequential; any other model (a subclass such
// as the zoo's ResNet, an imported Functional) is traced into a functional ("Model") topology,
// with call()'s relu and add as Activation and Add layers. The exported model takes pixel / 255
// images [N, 28, 28, 1]; a model's Normalization layer (its input standardisation) becomes a
// Rescaling layer, which TF.js has (it has no Normalization).
import type { Shape } from '../backend/kernels.js';
import type { Layer } from '../nn/layer.js';
import { Add } from '../nn/layers/add.js';
import { Sequential } from '../train/model.js';
import type { Model } from '../train/model.js';
import { Random } from '../util/random.js';
import { VERSION } from '../version.js';
import { Functional } from './tfjs/functional.js';
import type { FunctionalNode } from './tfjs/functional.js';
import { kerasLayerJson, layerFromKeras } from './tfjs/keras-config.js';
import type { ImportedLayer, Json, KerasLayerJson } from './tfjs/keras-config.js';
import { exportInputShape, leafLayers, traceLayerGraph } from './tfjs/layer-graph.js';

/** The weights file an export writes (one group, one shard). */
export const TFJS_WEIGHTS_FILE = 'group1-shard1of1.bin';

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

/** model.json of the TF.js Layers format. */
export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: string | null;
  modelTopology: { class_name: string; config: Json; keras_version?: string; backend?: string };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
}

export interface TfjsArtifacts {
  modelJson: TfjsModelJson;
  /** The contents of group1-shard1of1.bin: every weight, float32 little-endian, in manifest order. */
  weights: Uint8Array;
}

/** A name Keras and TF.js accept for a layer: '/' (our nested blocks) becomes '_'. */
function kerasName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Layers TF.js Layers has no counterpart for: transformers go out as ONNX. */
const TRANSFORMER_CLASSES = new Set(['MultiHeadAttention', 'TransformerBlock', 'PatchEmbedding']);

function refuseAttention(model: Model): void {
  const visit = (layer: Layer): Layer | undefined =>
    TRANSFORMER_CLASSES.has(layer.className) ? layer : layer.sublayers.map(visit).find((l) => l);
  const found = visit(model);
  if (found) {
    throw new Error(
      `exportTfjs: model '${model.name}' has a ${found.className} ('${found.name}') and TF.js Layers has no ` +
        'attention layer; export it as ONNX instead (mnist-lab export --format onnx, or exportOnnx(model))',
    );
  }
}

/**
 * The model in the TF.js Layers format. The model must be built (buildFor / fit / load). A model
 * trained with the deprecated fit({normalize}) option exports with it as
 * exportTfjs(withInputNormalization(model, normalize)).
 */
export function exportTfjs(model: Model): TfjsArtifacts {
  if (!model.built) {
    throw new Error(`exportTfjs: model '${model.name}' is not built; call model.buildFor([28, 28, 1]) first`);
  }
  refuseAttention(model);
  const inputShape = exportInputShape(model);
  const names = new Map<Layer, string>();
  const used = new Set<string>();
  const unique = (wanted: string): string => {
    let name = kerasName(wanted);
    for (let k = 1; used.has(name); k++) name = `${kerasName(wanted)}_${k}`;
    used.add(name);
    return name;
  };
  const plain = model instanceof Sequential && model.sublayers.every((l) => l.sublayers.length === 0);
  const layers = plain ? model.sublayers : leafLayers(model);
  for (const layer of layers) names.set(layer, unique(layer.name));

  let topology: { class_name: string; config: Json };
  if (plain) {
    const entries = model.sublayers.map((layer) => kerasLayerJson(layer, names.get(layer) as string));
    const first = entries[0];
    if (!first) throw new Error(`exportTfjs: model '${model.name}' has no layers`);
    first.config = { ...first.config, batch_input_shape: [null, ...inputShape], dtype: 'float32' };
    topology = { class_name: 'Sequential', config: { name: kerasName(model.name), layers: entries } };
  } else {
    topology = functionalTopology(model, inputShape, names, unique);
  }

  // Weights: each exported layer's own weights, in layer order, named '<layer>/<weight>'.
  const specs: TfjsWeightSpec[] = [];
  const chunks: Float32Array[] = [];
  for (const layer of layers) {
    for (const weight of layer.ownWeightList) {
      specs.push({
        name: `${names.get(layer) as string}/${weight.name}`,
        shape: [...weight.value.shape],
        dtype: 'float32',
      });
      chunks.push(Float32Array.from(weight.value.data));
    }
  }
  const values = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    values.set(chunk, offset);
    offset += chunk.length;
  }
  return {
    modelJson: {
      format: 'layers-model',
      generatedBy: `mnist-lab ${VERSION}`,
      convertedBy: null,
      modelTopology: { ...topology, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
      weightsManifest: [{ paths: [TFJS_WEIGHTS_FILE], weights: specs }],
    },
    weights: littleEndianBytes(values),
  };
}

/** A traced model as a Keras functional topology: InputLayer, then one layer per node. */
function functionalTopology(
  model: Model,
  inputShape: number[],
  names: Map<Layer, string>,
  unique: (wanted: string) => string,
): { class_name: string; config: Json } {
  const graph = traceLayerGraph(model, inputShape);
  const entries: Json[] = [];
  const producer = new Map<number, string>(); // value id -> name of the layer that makes it
  const inputName = unique('input');
  entries.push({
    name: inputName,
    class_name: 'InputLayer',
    config: { batch_input_shape: [null, ...inputShape], dtype: 'float32', sparse: false, name: inputName },
    inbound_nodes: [],
  });
  const push = (layerJson: KerasLayerJson, inputs: readonly number[], output: number): void => {
    const name = layerJson.config['name'] as string;
    const inbound = inputs.map((id) => [producer.get(id) as string, 0, 0, {}]);
    entries.push({ name, ...layerJson, inbound_nodes: [inbound] });
    producer.set(output, name);
  };
  producer.set(graph.input, inputName);
  for (const node of graph.nodes) {
    if (node.kind === 'layer') {
      push(kerasLayerJson(node.layer, names.get(node.layer) as string), node.inputs, node.output);
    } else if (node.kind === 'activation') {
      const from = producer.get(node.inputs[0]) as string;
      const name = unique(`${from}_${node.activation}`);
      push(
        { class_name: 'Activation', config: { activation: node.activation, name, trainable: true } },
        node.inputs,
        node.output,
      );
    } else {
      const name = unique('add');
      push({ class_name: 'Add', config: { name, trainable: true } }, node.inputs, node.output);
    }
  }
  const outputName = producer.get(graph.output) as string;
  return {
    class_name: 'Model',
    config: {
      name: kerasName(model.name),
      layers: entries,
      input_layers: [[inputName, 0, 0]],
      output_layers: [[outputName, 0, 0]],
    },
  };
}

function littleEndianBytes(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i] as number, true);
  return bytes;
}

// ---- import ----

/**
 * Reads a weight shard by its path as written in the manifest (relative to model.json). `maxBytes`
 * is what the manifest still declares for its group: a reader refuses a larger file without reading
 * it (the result is checked against it too).
 */
export type ShardReader = (path: string, maxBytes: number) => Uint8Array;

function asObject(value: unknown, what: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what}: expected an object, found ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return value as Json;
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new Error(`${what}: expected a list, found ${JSON.stringify(value)?.slice(0, 80)}`);
  }
  return value;
}

/**
 * A name-like field of untrusted JSON as text. Strings and numbers pass; anything else is refused
 * here, because `String(value)` on an object can run (or fail on) whatever its `toString` holds.
 */
function textOf(value: unknown, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new Error(`${what}: expected a string, found ${JSON.stringify(value)?.slice(0, 80)}`);
}

function shapeWithoutBatch(config: Json, where: string): number[] | undefined {
  const batch = config['batch_input_shape'] ?? config['batchInputShape'];
  if (Array.isArray(batch)) {
    const dims = batch.slice(1);
    if (!dims.every((d) => typeof d === 'number' && d > 0)) {
      throw new Error(`${where}: input shape ${JSON.stringify(batch)} must be fixed apart from the batch`);
    }
    return dims as number[];
  }
  const input = config['input_shape'] ?? config['inputShape'];
  return Array.isArray(input) ? (input as number[]) : undefined;
}

function classOf(entry: Json): string {
  return textOf(entry['class_name'] ?? entry['className'], 'layer class_name');
}

function nestedModelError(className: string, name: string): Error {
  return new Error(
    `cannot import layer '${name}': it is a nested model (${className}); flatten it into one ` +
      'Sequential or functional model before saving',
  );
}

/**
 * A model from the TF.js Layers format (as written by TF.js's model.save() or tensorflowjs_converter
 * from Keras 2): Sequential or functional, made of the layers we support. `source` names the file in
 * errors.
 */
export function importTfjs(modelJson: unknown, readShard: ShardReader, source = 'model.json'): Model {
  const root = asObject(modelJson, source);
  if (root['format'] !== undefined && root['format'] !== 'layers-model') {
    throw new Error(
      `${source}: format ${JSON.stringify(root['format'])?.slice(0, 80)} is not the TF.js Layers format ('layers-model'); ` +
        'graph models (tf.loadGraphModel) cannot be imported',
    );
  }
  let topology = asObject(root['modelTopology'], `${source}: modelTopology`);
  if (topology['model_config'] !== undefined)
    topology = asObject(topology['model_config'], `${source}: model_config`);
  const className = classOf(topology);
  const config = topology['config'];
  const imported: ImportedLayer[] = [];
  let model: Model;
  let inputShape: number[] | undefined;
  if (className === 'Sequential') {
    const entries = asArray(
      Array.isArray(config) ? config : asObject(config, `${source}: config`)['layers'],
      `${source}: config layers`,
    );
    const layers: Layer[] = [];
    for (const raw of entries) {
      const entry = asObject(raw, `${source}: layer`);
      const cls = classOf(entry);
      const layerConfig = asObject(entry['config'], `${source}: layer config`);
      const name = textOf(layerConfig['name'] ?? cls, `${source}: layer name`);
      if (cls === 'InputLayer') {
        inputShape = shapeWithoutBatch(layerConfig, `${source}: InputLayer '${name}'`);
        continue;
      }
      if (['Sequential', 'Model', 'Functional'].includes(cls)) throw nestedModelError(cls, name);
      if (layers.length === 0) inputShape ??= shapeWithoutBatch(layerConfig, `${source}: layer '${name}'`);
      const layer = layerFromKeras(cls, name, layerConfig);
      imported.push(layer);
      layers.push(layer.layer);
    }
    model = new Sequential({
      name: textOf(asObject(config, `${source}: config`)['name'] ?? 'sequential', `${source}: model name`),
      layers,
      ...(inputShape ? { inputShape } : {}),
    });
  } else if (className === 'Model' || className === 'Functional') {
    ({ model, inputShape } = functionalFromKeras(asObject(config, `${source}: config`), imported, source));
  } else {
    throw new Error(
      `${source}: model class '${className}' is not supported (Sequential, Model or Functional)`,
    );
  }
  if (!inputShape) {
    throw new Error(`${source}: the model declares no input shape (batch_input_shape on its first layer)`);
  }
  // The manifest and its shards first (bounded by what the manifest declares), then the model,
  // each weight's shape checked against the manifest before it is allocated.
  const manifest = readManifest(root['weightsManifest'], source);
  const shards = readShards(manifest, readShard, source);
  for (const { layer } of imported) layer.weightCheck = manifestCheck(layer, manifest, source);
  try {
    model.buildFor(inputShape, new Random(0));
  } catch (error) {
    // NOTE: sizes past what a typed array can hold (units: 1e40) fail here, if the manifest
    // claims them too (otherwise the weight check refused them first).
    if (!(error instanceof RangeError)) throw error;
    throw new Error(`${source}: the layer sizes are too large to build (${error.message})`);
  } finally {
    for (const { layer } of imported) layer.weightCheck = undefined;
  }
  for (const { layer, positiveAxis } of imported) {
    const rank = (layer.inputShape?.length ?? 0) + 1;
    if (positiveAxis !== undefined && positiveAxis !== rank - 1) {
      throw new Error(
        `cannot import layer '${layer.name}': axis ${positiveAxis} of a rank-${rank} input is ` +
          `not the last axis (${rank - 1}); only the last axis (channels last) is supported`,
      );
    }
  }
  copyManifestWeights(model, manifest, shards, source);
  return model;
}

type InboundRef = [string, number, number, unknown?];

function functionalFromKeras(
  config: Json,
  imported: ImportedLayer[],
  source: string,
): { model: Model; inputShape: number[] | undefined } {
  const inputs = config['input_layers'] ?? config['inputLayers'];
  const outputs = config['output_layers'] ?? config['outputLayers'];
  if (!Array.isArray(inputs) || inputs.length !== 1 || !Array.isArray(outputs) || outputs.length !== 1) {
    throw new Error(`${source}: only functional models with one input and one output can be imported`);
  }
  const inputName = textOf((inputs[0] as unknown[])[0], `${source}: input layer`);
  const outputName = textOf((outputs[0] as unknown[])[0], `${source}: output layer`);
  let inputShape: number[] | undefined;
  const pending: { layer: Layer; inbound: string[] }[] = [];
  for (const raw of asArray(config['layers'], `${source}: config layers`)) {
    const entry = asObject(raw, `${source}: layer`);
    const cls = classOf(entry);
    const layerConfig = asObject(entry['config'], `${source}: layer config`);
    const name = textOf(entry['name'] ?? layerConfig['name'], `${source}: layer name`);
    const nodes = (entry['inbound_nodes'] ?? entry['inboundNodes']) as unknown[];
    if (cls === 'InputLayer') {
      if (name !== inputName)
        throw new Error(`${source}: InputLayer '${name}' is not the model's input '${inputName}'`);
      inputShape = shapeWithoutBatch(layerConfig, `${source}: InputLayer '${name}'`);
      continue;
    }
    if (['Sequential', 'Model', 'Functional'].includes(cls)) throw nestedModelError(cls, name);
    if (!Array.isArray(nodes) || nodes.length !== 1 || !Array.isArray(nodes[0])) {
      throw new Error(
        `cannot import layer '${name}': expected one inbound node in the Keras 2 / TF.js form, found ` +
          `${JSON.stringify(nodes)?.slice(0, 120)} (shared layers and the Keras 3 format are not supported; ` +
          'save the model with TF.js or convert it with tensorflowjs_converter from Keras 2)',
      );
    }
    const inbound = (nodes[0] as InboundRef[]).map((ref) => {
      if (!Array.isArray(ref) || ref[1] !== 0 || ref[2] !== 0) {
        throw new Error(
          `cannot import layer '${name}': inbound ${JSON.stringify(ref)} uses a shared layer's second call`,
        );
      }
      return textOf(ref[0], `${source}: inbound layer`);
    });
    const layer = layerFromKeras(cls, name, layerConfig);
    if (inbound.length !== 1 && !(layer.layer instanceof Add)) {
      throw new Error(
        `cannot import ${cls} '${name}': it takes ${inbound.length} inputs; only Add merges inputs`,
      );
    }
    imported.push(layer);
    pending.push({ layer: layer.layer, inbound });
  }
  // Keras lists layers in creation order; run them in an order where inputs come first.
  const ordered: FunctionalNode[] = [];
  const ready = new Set([inputName]);
  while (pending.length > 0) {
    const index = pending.findIndex((p) => p.inbound.every((name) => ready.has(name)));
    if (index < 0) {
      throw new Error(
        `${source}: layers ${pending.map((p) => `'${p.layer.name}'`).join(', ')} take inputs no layer makes`,
      );
    }
    const [next] = pending.splice(index, 1) as [{ layer: Layer; inbound: string[] }];
    ordered.push(next);
    ready.add(next.layer.name);
  }
  const model = new Functional({
    name: textOf(config['name'] ?? 'model', `${source}: model name`),
    inputName,
    outputName,
    nodes: ordered,
    ...(inputShape ? { inputShape } : {}),
  });
  return { model, inputShape };
}

/** One weight of the manifest: where its float32 values sit in its group's concatenated shards. */
interface ManifestWeight {
  name: string;
  shape: number[];
  group: number;
  /** Byte offset in the group. */
  offset: number;
  /** Values (float32). */
  count: number;
}

interface Manifest {
  groups: { paths: string[]; bytes: number }[];
  /** By '<layer>/<weight>' (a trailing ':0' dropped). */
  weights: Map<string, ManifestWeight>;
}

/** The manifest's groups and weights, checked: names once, sizes that are whole numbers, float32. */
function readManifest(raw: unknown, source: string): Manifest {
  if (!Array.isArray(raw)) throw new Error(`${source}: weightsManifest is missing or not a list`);
  const groups: Manifest['groups'] = [];
  const weights = new Map<string, ManifestWeight>();
  const listed = new Set<string>();
  for (const rawGroup of raw) {
    const group = asObject(rawGroup, `${source}: weightsManifest group`);
    const paths = asArray(group['paths'], `${source}: weightsManifest paths`).map((path) =>
      textOf(path, `${source}: weightsManifest path`),
    );
    for (const path of paths) {
      // NOTE: one shard listed many times would be read (and held) once per listing.
      if (listed.has(path)) {
        throw new Error(
          `${source}: weight shard '${path}' is listed twice in weightsManifest; list each once`,
        );
      }
      listed.add(path);
    }
    let bytes = 0;
    for (const rawSpec of asArray(group['weights'], `${source}: weightsManifest weights`)) {
      const spec = asObject(rawSpec, `${source}: weightsManifest weight`) as unknown as TfjsWeightSpec;
      if (typeof spec.name !== 'string')
        throw new Error(`${source}: a weight in weightsManifest has no name`);
      if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        throw new Error(
          `${source}: weight '${spec.name}' has shape ${JSON.stringify(spec.shape)}; expected a list of sizes`,
        );
      }
      if (spec.quantization !== undefined) {
        throw new Error(
          `${source}: weight '${spec.name}' is quantized; re-save the model without quantization`,
        );
      }
      if (spec.dtype !== 'float32') {
        throw new Error(
          `${source}: weight '${spec.name}' is ${JSON.stringify(spec.dtype)?.slice(0, 40)}; only float32 weights are supported`,
        );
      }
      const count = spec.shape.reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(bytes + count * 4)) {
        throw new Error(`${source}: weight '${spec.name}' of shape [${spec.shape.join(', ')}] is too large`);
      }
      const name = spec.name.replace(/:0$/, '');
      if (weights.has(name))
        throw new Error(`${source}: weight '${name}' is listed twice in weightsManifest`);
      weights.set(name, { name, shape: spec.shape, group: groups.length, offset: bytes, count });
      bytes += count * 4;
    }
    groups.push({ paths, bytes });
  }
  return { groups, weights };
}

/** Each group's shards, concatenated: exactly the bytes the manifest declares, never more read. */
function readShards(manifest: Manifest, readShard: ShardReader, source: string): Uint8Array[] {
  return manifest.groups.map(({ paths, bytes }) => {
    const out = new Uint8Array(bytes);
    let at = 0;
    for (const path of paths) {
      const shard = readShard(path, bytes - at);
      if (shard.length > bytes - at) {
        throw new Error(
          `${source}: weight shards ${paths.join(', ')} hold more than the ${bytes} bytes their weights declare`,
        );
      }
      out.set(shard, at);
      at += shard.length;
    }
    if (at !== bytes) {
      throw new Error(
        `${source}: weight shards ${paths.join(', ')} hold ${at} bytes, their weights need ${bytes} (truncated file?)`,
      );
    }
    return out;
  });
}

/** Refuses a weight `layer` is about to allocate unless the manifest has it with that shape. */
function manifestCheck(
  layer: Layer,
  manifest: Manifest,
  source: string,
): (name: string, shape: Shape) => void {
  return (name, shape) => {
    const key = `${layer.name}/${name}`;
    const found = manifest.weights.get(key);
    if (!found) {
      throw new Error(
        `${source}: the weights manifest has no '${key}' (${layer.className} '${layer.name}' needs [${shape.join(', ')}])`,
      );
    }
    if (found.shape.length !== shape.length || found.shape.some((d, i) => d !== shape[i])) {
      throw new Error(
        `${source}: weight '${key}' has shape [${found.shape.join(', ')}], ${layer.className} '${layer.name}' needs [${shape.join(', ')}]`,
      );
    }
  };
}

/** Copies the manifest's float32 weights into the built model, matched by '<layer>/<weight>'. */
function copyManifestWeights(model: Model, manifest: Manifest, shards: Uint8Array[], source: string): void {
  const unused = new Set(manifest.weights.keys());
  for (const layer of leafLayers(model)) {
    for (const weight of layer.ownWeightList) {
      const key = `${layer.name}/${weight.name}`;
      const found = manifest.weights.get(key);
      if (!found) throw new Error(`${source}: the weights manifest has no '${key}'`);
      const bytes = shards[found.group] as Uint8Array;
      const view = new DataView(bytes.buffer, bytes.byteOffset + found.offset, found.count * 4);
      const data = weight.value.data;
      for (let i = 0; i < found.count; i++) data[i] = view.getFloat32(i * 4, true);
      unused.delete(key);
    }
  }
  if (unused.size > 0) {
    throw new Error(
      `${source}: weights ${[...unused].map((k) => `'${k}'`).join(', ')} belong to no layer of the model`,
    );
  }
}
