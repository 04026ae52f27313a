// The zoo's vision transformer as an ONNX opset-17 graph. Its call() slices the class token and
// concatenates it in code, so it is written here from its structure rather than traced. Letters:
// N batch, T tokens (patches + class token), D width, H heads, dk head size, K classes.
//
//   input (N, 28, 28, 1) NHWC -> Sub/Div (its standardisation) -> Transpose NCHW
//   Conv(D, P, stride P) (N, D, H/P, W/P) -> Reshape (N, D, T-1) -> Transpose (N, T-1, D)
//   Concat(class token expanded to (N, 1, D), patches) + positions                   (N, T, D)
//   per block: LayerNormalization -> MatMul/Add (query, key, value) -> Reshape/Transpose
//              (N, H, T, dk) -> MatMul(q, k^T) -> Softmax(axis -1) -> MatMul(., v) -> Transpose/
//              Reshape (N, T, H*dk) -> MatMul/Add (output) -> Add (residual);
//              LayerNormalization -> MatMul/Add + GELU (Erf) -> MatMul/Add -> Add (residual)
//   Gather(token 0) (N, D) -> LayerNormalization -> Gemm (head)                           (N, K)
// Weights are the layers' own: Dense kernels [in, out] are MatMul's B as they are; the patch conv's
// HWIO kernel is transposed to OIHW. LoRA adapters must be merged first (mergeLora).
import { Dense } from '../../nn/layers/dense.js';
import type { LayerNormalization } from '../../nn/layers/layer-normalization.js';
import type { MultiHeadAttention } from '../../nn/layers/multi-head-attention.js';
import type { Layer } from '../../nn/layer.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { VisionTransformer } from '../../zoo/vit.js';
import { activation } from './activations.js';
import { hwioToOihw, type GraphBuilder } from './builder.js';

/** The Dense a projection slot holds; a LoRA wrapper there must be merged first. */
function denseOf(layer: Layer | undefined, where: string): Dense {
  if (layer instanceof Dense) return layer;
  throw new Error(
    `exportOnnx: '${layer?.name ?? where}' is a ${layer?.className ?? 'missing layer'}, not a Dense; ` +
      'merge LoRA adapters into their base first (mergeLora) and export the merged model',
  );
}

/** x (.., in) @ kernel + bias, then the layer's activation. */
function dense(g: GraphBuilder, layer: Dense, x: string): string {
  const kernel = layer.kernel as Tensor;
  let y = g.node('MatMul', [x, g.floats(`${layer.name}/kernel`, kernel.shape, kernel.data)], layer.name);
  if (layer.bias) {
    y = g.node(
      'Add',
      [y, g.floats(`${layer.name}/bias`, layer.bias.shape, layer.bias.data)],
      `${layer.name}_bias`,
    );
  }
  return activation(g, layer.activation, y, `${layer.name}_${layer.activation}`);
}

function layerNorm(g: GraphBuilder, layer: LayerNormalization, x: string): string {
  const gamma = layer.gamma as Tensor;
  const beta = layer.beta as Tensor;
  return g.node(
    'LayerNormalization',
    [
      x,
      g.floats(`${layer.name}/gamma`, gamma.shape, gamma.data),
      g.floats(`${layer.name}/beta`, beta.shape, beta.data),
    ],
    layer.name,
    { axis: { int: -1 }, epsilon: { float: layer.epsilon } },
  );
}

/** Self-attention of tokens x (N, T, D): the block's MultiHeadAttention as MatMul/Softmax nodes. */
function attention(g: GraphBuilder, mha: MultiHeadAttention, x: string): string {
  const [query, key, value, output] = mha.sublayers.map((l, i) =>
    denseOf(l, `${mha.name}/${['query', 'key', 'value', 'output'][i]}`),
  ) as [Dense, Dense, Dense, Dense];
  const H = mha.numHeads;
  const name = mha.name;
  // (N, T, H*size) -> (N, T, H, size) -> perm: (N, H, T, size), or (N, H, size, T) for keys.
  const split = (y: string, size: number, perm: number[], role: string): string =>
    g.node(
      'Transpose',
      [g.node('Reshape', [y, g.int64s(`${name}/${role}_heads`, [0, 0, H, size])], `${name}/${role}_split`)],
      `${name}/${role}_heads`,
      { perm: { ints: perm } },
    );
  const scale = g.floats(`${name}/scale`, [], [1 / Math.sqrt(mha.keyDim)]);
  const q = split(
    g.node('Mul', [dense(g, query, x), scale], `${name}/query_scaled`),
    mha.keyDim,
    [0, 2, 1, 3],
    'query',
  );
  const kT = split(dense(g, key, x), mha.keyDim, [0, 2, 3, 1], 'key');
  const v = split(dense(g, value, x), mha.valueDim, [0, 2, 1, 3], 'value');
  const scores = g.node('Softmax', [g.node('MatMul', [q, kT], `${name}/logits`)], `${name}/scores`, {
    axis: { int: -1 },
  }); // (N, H, T, T)
  const attended = g.node('MatMul', [scores, v], `${name}/attended`); // (N, H, T, dv)
  const merged = g.node(
    'Reshape',
    [
      g.node('Transpose', [attended], `${name}/attended_tokens`, { perm: { ints: [0, 2, 1, 3] } }),
      g.int64s(`${name}/merged_shape`, [0, 0, H * mha.valueDim]),
    ],
    `${name}/merged`,
  ); // (N, T, H*dv)
  return dense(g, output, merged);
}

/** Nodes from `input` (N, 28, 28, 1) pixel / 255 to the logits (N, K): their name and shape (1, K). */
export function vitGraph(
  g: GraphBuilder,
  model: VisionTransformer,
  input: string,
): { output: string; outputShape: number[] } {
  let x = input;
  const normalizer = model.inputNormalization;
  if (normalizer) {
    const mean = g.floats(`${normalizer.name}/mean`, [], [normalizer.mean]);
    const std = g.floats(`${normalizer.name}/std`, [], [normalizer.std]);
    x = g.node('Div', [g.node('Sub', [x, mean], `${normalizer.name}_sub`), std], normalizer.name);
  }
  const patches = model.patches;
  const conv = patches.projection;
  const kernel = conv.kernel as Tensor;
  const D = model.embedDim;
  const P = model.patchSize;
  const nchw = g.node('Transpose', [x], 'to_nchw', { perm: { ints: [0, 3, 1, 2] } });
  const projected = g.node(
    'Conv',
    [
      nchw,
      g.floats(`${conv.name}/kernel_oihw`, [D, kernel.shape[2] as number, P, P], hwioToOihw(kernel)),
      ...(conv.bias ? [g.floats(`${conv.name}/bias`, conv.bias.shape, conv.bias.data)] : []),
    ],
    conv.name,
    { kernel_shape: { ints: [P, P] }, strides: { ints: [P, P] }, pads: { ints: [0, 0, 0, 0] } },
  ); // (N, D, H/P, W/P)
  let tokens = g.node(
    'Transpose',
    [g.node('Reshape', [projected, g.int64s(`${patches.name}/flat`, [0, D, -1])], `${patches.name}/flat`)],
    `${patches.name}/tokens`,
    { perm: { ints: [0, 2, 1] } },
  ); // (N, T-1, D), patches in row-major (h, w) order
  if (patches.classTokenWeight) {
    const token = patches.classTokenWeight;
    // (1, 1, D) expanded to (N, 1, D): the batch size read from the input's shape.
    const batch = g.node(
      'Slice',
      [g.node('Shape', [input], 'input_shape'), g.int64s('zero', [0]), g.int64s('one', [1])],
      'batch',
    );
    const expandTo = g.node(
      'Concat',
      [batch, g.int64s(`${patches.name}/token_shape`, [1, D])],
      'class_token_shape',
      {
        axis: { int: 0 },
      },
    );
    const classTokens = g.node(
      'Expand',
      [g.floats(`${patches.name}/class_token`, token.shape, token.data), expandTo],
      `${patches.name}/class_tokens`,
    );
    tokens = g.node('Concat', [classTokens, tokens], `${patches.name}/with_class_token`, {
      axis: { int: 1 },
    });
  }
  if (patches.positions) {
    const positions = patches.positions;
    tokens = g.node(
      'Add',
      [tokens, g.floats(`${patches.name}/position_embedding`, positions.shape, positions.data)],
      patches.name,
    );
  }
  for (const block of model.blocks) {
    const [norm1, mha, norm2, dense1, dense2] = block.sublayers as [
      LayerNormalization,
      MultiHeadAttention,
      LayerNormalization,
      Layer,
      Layer,
    ];
    const h = g.node(
      'Add',
      [tokens, attention(g, mha, layerNorm(g, norm1, tokens))],
      `${block.name}/residual1`,
    );
    const hidden = dense(g, denseOf(dense1, `${block.name}/mlp/dense1`), layerNorm(g, norm2, h));
    const mlp = dense(g, denseOf(dense2, `${block.name}/mlp/dense2`), hidden);
    tokens = g.node('Add', [h, mlp], `${block.name}/residual2`);
  }
  const classToken = g.node('Gather', [tokens, g.int64s('class_token_index', [0])], 'class_token', {
    axis: { int: 1 },
  }); // (N, 1, D)
  const flat = g.node('Flatten', [classToken], 'class_token_flat', { axis: { int: 1 } }); // (N, D)
  const head = denseOf(model.layers[model.layers.length - 1], 'head');
  const headKernel = head.kernel as Tensor;
  const gemm = g.node(
    'Gemm',
    [
      layerNorm(g, model.norm, flat),
      g.floats(`${head.name}/kernel`, headKernel.shape, headKernel.data),
      ...(head.bias ? [g.floats(`${head.name}/bias`, head.bias.shape, head.bias.data)] : []),
    ],
    head.name,
  );
  return {
    output: activation(g, head.activation, gemm, `${head.name}_${head.activation}`),
    outputShape: [1, head.units],
  };
}
