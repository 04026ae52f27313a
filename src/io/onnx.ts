// ONNX export for inference (opset 17), written with the official onnx.proto schema (protobufjs).
//
// Graph: input 'input' float32 (N, 28, 28, 1) NHWC, pixel / 255 -> output 'output' (N, K).
// A model's Normalization layer (its input standardisation) is Sub(mean), Div(std) in the graph:
// the same float32 arithmetic as the layer.
//
// Layout: ONNX Conv, MaxPool, AveragePool, GlobalAveragePool and BatchNormalization are NCHW
// (channels on axis 1) with OIHW conv weights. We transpose at the graph boundary: a 4-D value is
// turned NCHW (Transpose perm [0, 3, 1, 2]) the first time an NCHW op needs it and back to NHWC
// ([0, 2, 3, 1]) before anything that depends on the element order (Flatten, Reshape, softmax,
// LayerNormalization over the last axis), so flattened features keep Keras's (h, w, c) order and
// the Dense kernels need no permutation. Conv kernels are transposed at export, in the weights:
// HWIO [KH, KW, C, F] -> OIHW [F, C, KH, KW]. Dense kernels [in, out] are Gemm's B as they are.
// BatchNormalization is exported in inference mode (moving statistics); Dropout is left out.
import type { Shape } from '../backend/kernels.js';
import type { ActivationName } from '../nn/activations.js';
import {
  Activation,
  Add,
  AveragePooling2D,
  BatchNormalization,
  Conv2D,
  Dense,
  Flatten,
  GlobalAveragePooling2D,
  LayerNormalization,
  MaxPooling2D,
  Normalization,
  Rescaling,
  Reshape,
} from '../nn/index.js';
import type { Layer } from '../nn/layer.js';
import type { Pooling2D } from '../nn/layers/pooling2d.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Model } from '../train/model.js';
import { VERSION } from '../version.js';
import { GraphBuilder, hwioToOihw, onnxSchema, tensorValueInfo } from './onnx/builder.js';
import type { Attribute } from './onnx/builder.js';
import { activation } from './onnx/activations.js';
import { vitGraph } from './onnx/vit.js';
import { VisionTransformer } from '../zoo/vit.js';
import { exportInputShape, traceLayerGraph } from './tfjs/layer-graph.js';

export const ONNX_OPSET = 17;
/** IR version 8 (ONNX 1.10-1.12) carries opset 17. */
const IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'output';

/** A traced value's ONNX names: NHWC ('plain', our layout) and/or NCHW, made on demand. */
interface ValueNames {
  plain?: string;
  nchw?: string;
}

/** Each traced value's ONNX names by layout, transposing on demand. */
class Layouts {
  private readonly values = new Map<number, ValueNames>();

  constructor(
    private readonly g: GraphBuilder,
    readonly shapes: readonly Shape[],
  ) {}

  rank(id: number): number {
    return (this.shapes[id] as Shape).length;
  }

  set(id: number, names: ValueNames): void {
    this.values.set(id, names);
  }

  /** NHWC (our layout; any rank). */
  plain(id: number): string {
    const v = this.values.get(id) as ValueNames;
    v.plain ??= this.g.node('Transpose', [v.nchw as string], 'to_nhwc', { perm: { ints: [0, 2, 3, 1] } });
    return v.plain;
  }

  /** NCHW (4-D values). */
  nchw(id: number): string {
    const v = this.values.get(id) as ValueNames;
    v.nchw ??= this.g.node('Transpose', [v.plain as string], 'to_nchw', { perm: { ints: [0, 3, 1, 2] } });
    return v.nchw;
  }

  /** Applies an elementwise op in the layout the value already has (NCHW preferred): no transpose. */
  elementwise(id: number, op: (x: string) => string): ValueNames {
    const v = this.values.get(id) as ValueNames;
    return v.nchw !== undefined ? { nchw: op(v.nchw) } : { plain: op(v.plain as string) };
  }
}

/**
 * The model as ONNX protobuf bytes. The model must be built (buildFor / fit / load). A model trained
 * with the deprecated fit({normalize}) option exports with it as
 * exportOnnx(withInputNormalization(model, normalize)).
 */
export function exportOnnx(model: Model): Uint8Array {
  if (!model.built) {
    throw new Error(`exportOnnx: model '${model.name}' is not built; call model.buildFor([28, 28, 1]) first`);
  }
  const inputShape = exportInputShape(model);
  const g = new GraphBuilder();
  g.reserve(ONNX_INPUT_NAME);
  g.reserve(ONNX_OUTPUT_NAME);
  const { output, outputShape } =
    model instanceof VisionTransformer
      ? vitGraph(g, model, ONNX_INPUT_NAME)
      : layerGraph(g, model, inputShape);
  const standardised = model.inputNormalization;
  g.node('Identity', [output], 'output_identity', {}, ONNX_OUTPUT_NAME);

  const { ModelProto } = onnxSchema();
  const modelProto = ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'mnist-lab',
    producerVersion: VERSION,
    docString:
      `${model.name}: input (N, ${inputShape.join(', ')}) float32 NHWC, pixel / 255` +
      (standardised ? ` (standardised inside: mean ${standardised.mean}, std ${standardised.std})` : ''),
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [tensorValueInfo(ONNX_INPUT_NAME, ['N', ...inputShape])],
      output: [tensorValueInfo(ONNX_OUTPUT_NAME, ['N', ...outputShape.slice(1)])],
    },
  });
  return ModelProto.encode(modelProto).finish();
}

/** The traced layer graph's nodes (every model but the vit); returns the output's name and shape. */
function layerGraph(
  g: GraphBuilder,
  model: Model,
  inputShape: readonly number[],
): { output: string; outputShape: Shape } {
  const graph = traceLayerGraph(model, inputShape);
  const layouts = new Layouts(g, graph.shapes);
  layouts.set(graph.input, { plain: ONNX_INPUT_NAME });
  for (const node of graph.nodes) {
    if (node.kind === 'activation') {
      const glue = node.activation;
      layouts.set(
        node.output,
        layouts.elementwise(node.inputs[0], (x) => activation(g, glue, x, `activation_${glue}`)),
      );
    } else if (node.kind === 'add') {
      layouts.set(node.output, addValues(g, layouts, node.inputs, 'add'));
    } else {
      layouts.set(node.output, layerNode(g, layouts, node.layer, node.inputs));
    }
  }
  return { output: layouts.plain(graph.output), outputShape: graph.shapes[graph.output] as Shape };
}

function addValues(g: GraphBuilder, layouts: Layouts, inputs: readonly number[], wanted: string): ValueNames {
  // All operands in one layout: NCHW for 4-D values (their producers are usually NCHW convs).
  const four = layouts.rank(inputs[0] as number) === 4;
  const names = inputs.map((id) => (four ? layouts.nchw(id) : layouts.plain(id)));
  let sum = names[0] as string;
  for (const other of names.slice(1)) sum = g.node('Add', [sum, other], wanted);
  return four ? { nchw: sum } : { plain: sum };
}

/** Softmax-like activations act on the last axis: they need the NHWC order of a 4-D value. */
function needsLastAxis(name: ActivationName): boolean {
  return name === 'softmax' || name === 'log_softmax';
}

/** ONNX pads [top, left, bottom, right] for TF 'same' / 'valid' on an input of h x w. */
function pads(
  padding: 'same' | 'valid',
  [h, w]: [number, number],
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  [dh, dw]: [number, number] = [1, 1],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const total = (size: number, k: number, s: number, d: number): number =>
    Math.max((Math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0);
  const th = total(h, kh, sh, dh);
  const tw = total(w, kw, sw, dw);
  // TF puts the odd pixel at the end.
  return [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
}

function layerNode(g: GraphBuilder, layouts: Layouts, layer: Layer, inputs: readonly number[]): ValueNames {
  const id = inputs[0] as number;
  const inShape = layouts.shapes[id] as Shape;
  const rank = (v: number): number => layouts.rank(v);
  const plain = (v: number): string => layouts.plain(v);
  const nchw = (v: number): string => layouts.nchw(v);
  const name = layer.name;
  if (layer instanceof Conv2D) {
    const kernel = layer.kernel as Tensor;
    const w = g.floats(
      `${name}/kernel_oihw`,
      [layer.filters, kernel.shape[2] as number, ...layer.kernelSize],
      hwioToOihw(kernel),
    );
    const conv = g.node(
      'Conv',
      [nchw(id), w, ...(layer.bias ? [g.floats(`${name}/bias`, layer.bias.shape, layer.bias.data)] : [])],
      name,
      {
        kernel_shape: { ints: layer.kernelSize },
        strides: { ints: layer.strides },
        dilations: { ints: layer.dilationRate },
        pads: {
          ints: pads(
            layer.padding,
            [inShape[1] as number, inShape[2] as number],
            layer.kernelSize,
            layer.strides,
            layer.dilationRate,
          ),
        },
      },
    );
    if (needsLastAxis(layer.activation)) {
      const back = g.node('Transpose', [conv], `${name}_to_nhwc`, { perm: { ints: [0, 2, 3, 1] } });
      return { plain: activation(g, layer.activation, back, `${name}_${layer.activation}`) };
    }
    return { nchw: activation(g, layer.activation, conv, `${name}_${layer.activation}`) };
  }
  if (layer instanceof MaxPooling2D || layer instanceof AveragePooling2D) {
    const pool = layer as Pooling2D;
    const attributes: Record<string, Attribute> = {
      kernel_shape: { ints: pool.poolSize },
      strides: { ints: pool.strides },
      pads: {
        ints: pads(pool.padding, [inShape[1] as number, inShape[2] as number], pool.poolSize, pool.strides),
      },
    };
    // Our average never counts padding (Keras semantics).
    if (layer instanceof AveragePooling2D) attributes['count_include_pad'] = { int: 0 };
    return {
      nchw: g.node(layer instanceof MaxPooling2D ? 'MaxPool' : 'AveragePool', [nchw(id)], name, attributes),
    };
  }
  if (layer instanceof Dense) {
    if (rank(id) !== 2)
      throw new Error(
        `exportOnnx: Dense '${name}' takes a rank-${rank(id)} input; expected [batch, features]`,
      );
    const kernel = layer.kernel as Tensor;
    const b = g.floats(`${name}/kernel`, kernel.shape, kernel.data);
    const c = layer.bias ? [g.floats(`${name}/bias`, layer.bias.shape, layer.bias.data)] : [];
    const y = g.node('Gemm', [plain(id), b, ...c], name);
    return { plain: activation(g, layer.activation, y, `${name}_${layer.activation}`) };
  }
  if (layer instanceof Flatten) {
    if (rank(id) === 2) return { plain: plain(id) };
    return { plain: g.node('Flatten', [plain(id)], name, { axis: { int: 1 } }) };
  }
  if (layer instanceof Reshape) {
    // 0 copies the batch dimension from the input (allowzero = 0).
    const shape = g.int64s(`${name}/shape`, [0, ...layer.targetShape]);
    return { plain: g.node('Reshape', [plain(id), shape], name) };
  }
  if (layer instanceof Activation) {
    const fn = layer.activation;
    if (needsLastAxis(fn)) return { plain: activation(g, fn, plain(id), name) };
    // Elementwise: conv -> pool -> relu chains stay NCHW.
    return layouts.elementwise(id, (x) => activation(g, fn, x, name));
  }
  if (layer instanceof BatchNormalization) {
    const r = rank(id);
    if (r !== 2 && r !== 4)
      throw new Error(
        `exportOnnx: BatchNormalization '${name}' on a rank-${r} input; ONNX takes rank 2 or 4 here`,
      );
    const channels = (layer.movingMean as Tensor).size;
    const scale = g.floats(`${name}/gamma`, [channels], (layer.gamma as Tensor).data);
    const bias = g.floats(`${name}/beta`, [channels], (layer.beta as Tensor).data);
    const mean = g.floats(`${name}/moving_mean`, [channels], (layer.movingMean as Tensor).data);
    const variance = g.floats(`${name}/moving_variance`, [channels], (layer.movingVariance as Tensor).data);
    // Channels on axis 1: NCHW for images, (N, C) as it is.
    const x = r === 4 ? nchw(id) : plain(id);
    const y = g.node('BatchNormalization', [x, scale, bias, mean, variance], name, {
      epsilon: { float: layer.epsilon },
    });
    return r === 4 ? { nchw: y } : { plain: y };
  }
  if (layer instanceof LayerNormalization) {
    const features = (layer.gamma as Tensor).size;
    const scale = g.floats(`${name}/gamma`, [features], (layer.gamma as Tensor).data);
    const bias = g.floats(`${name}/beta`, [features], (layer.beta as Tensor).data);
    return {
      plain: g.node('LayerNormalization', [plain(id), scale, bias], name, {
        axis: { int: -1 },
        epsilon: { float: layer.epsilon },
      }),
    };
  }
  if (layer instanceof GlobalAveragePooling2D) {
    const pooled = g.node('GlobalAveragePool', [nchw(id)], name); // (N, C, 1, 1)
    return layer.keepDims
      ? { nchw: pooled }
      : { plain: g.node('Flatten', [pooled], `${name}_flatten`, { axis: { int: 1 } }) };
  }
  if (layer instanceof Rescaling) {
    const { scale, offset } = layer;
    return layouts.elementwise(id, (x) => {
      const scaled =
        scale === 1 ? x : g.node('Mul', [x, g.floats(`${name}/scale`, [], [scale])], `${name}_mul`);
      return offset === 0 ? scaled : g.node('Add', [scaled, g.floats(`${name}/offset`, [], [offset])], name);
    });
  }
  if (layer instanceof Normalization) {
    // float32 constants: Sub then Div computes exactly what the layer computes.
    const mean = g.floats(`${name}/mean`, [], [layer.mean]);
    const std = g.floats(`${name}/std`, [], [layer.std]);
    return layouts.elementwise(id, (x) =>
      g.node('Div', [g.node('Sub', [x, mean], `${name}_sub`), std], name),
    );
  }
  if (layer instanceof Add) return addValues(g, layouts, inputs, name);
  throw new Error(
    `exportOnnx: layer '${name}' of class ${layer.className} has no ONNX export (supported: Dense, Conv2D, ` +
      'MaxPooling2D, AveragePooling2D, Flatten, Dropout, Activation, BatchNormalization, LayerNormalization, ' +
      'GlobalAveragePooling2D, Reshape, Rescaling, Normalization, Add)',
  );
}
