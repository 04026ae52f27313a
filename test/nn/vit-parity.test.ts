// Numeric parity with PyTorch: a tiny VisionTransformer (patches of 7, width 16, 2 blocks of 2
// heads, MLP 32) loaded with the weights of the PyTorch reference (bench/peer/vit_reference.py,
// nn.MultiheadAttention blocks) gives PyTorch's logits, label-smoothed loss and every parameter's
// gradient, on the js backend and on the native backend. The fixture holds PyTorch's float64
// results for float32-exact weights and inputs, so the comparison measures our float32 rounding.
// Regenerate it with `/usr/bin/python3 bench/peer/vit_reference.py fixture` (deterministic).
//
// The mapping from PyTorch's state dict to mnist-lab's weight names (the transposes are layouts:
// PyTorch Linear [out, in] vs Dense [in, out], Conv2d OIHW vs HWIO):
//   patch_embed.weight [D, C, P, P]        -> patch_embedding/projection/kernel [P, P, C, D] (permute 2,3,1,0)
//   patch_embed.bias, cls_token, pos_embed -> patch_embedding/projection/bias, /class_token, /position_embedding
//   blocks.i.norm1.weight, .bias           -> block{i+1}/norm1/gamma, /beta (norm2 likewise)
//   blocks.i.attn.in_proj_weight [3D, D]   -> rows 0..D-1: block{i+1}/attention/query/kernel (transposed),
//                                             rows D..2D-1: .../key/kernel, rows 2D..3D-1: .../value/kernel
//   blocks.i.attn.in_proj_bias [3D]        -> .../query/bias, .../key/bias, .../value/bias
//   blocks.i.attn.out_proj.weight, .bias   -> .../attention/output/kernel (transposed), /bias
//   blocks.i.mlp.0 / mlp.2 weight, bias    -> block{i+1}/mlp/dense1 / dense2 kernel (transposed), bias
//   norm.weight, .bias; head.weight, .bias -> norm/gamma, /beta; head/kernel (transposed), /bias
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import './helpers.js';
import type { Backend } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { decodeSafetensors, tensorValues } from '../../src/formats/safetensors.js';
import type { SafetensorsFile } from '../../src/formats/safetensors.js';
import { gradients } from '../../src/tensor/autograd.js';
import { fromStorage } from '../../src/tensor/ops/creation.js';
import { softmaxCrossEntropy } from '../../src/tensor/ops/nn.js';
import { tidy } from '../../src/tensor/tensor.js';
import { namedWeights } from '../../src/train/checkpoint.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

const FIXTURE = new URL('../fixtures/vit/tiny-vit-torch.safetensors', import.meta.url);

interface TinyConfig {
  patch: number;
  dim: number;
  depth: number;
  heads: number;
  mlp_dim: number;
  classes: number;
  batch: number;
  label_smoothing: number;
  layer_norm_eps: number;
}

/** A tensor of the fixture as float64 values with its shape. */
function read(file: SafetensorsFile, name: string): { values: Float64Array; shape: number[] } {
  const entry = file.tensors.get(name);
  assert.ok(entry, `fixture has '${name}'`);
  return { values: Float64Array.from(tensorValues(entry) as Float64Array), shape: [...entry.shape] };
}

/** [rows, cols] row-major -> its transpose. */
function transpose2d(values: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(values.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c] as number;
  return out;
}

/** PyTorch's state dict (or its gradients, with prefix 'grad.') under mnist-lab's weight names. */
function mapped(file: SafetensorsFile, config: TinyConfig, prefix = ''): Map<string, Float64Array> {
  const D = config.dim;
  const get = (name: string): Float64Array => read(file, prefix + name).values;
  const linear = (name: string): Float64Array => {
    const { values, shape } = read(file, prefix + name);
    return transpose2d(values, shape[0] as number, shape[1] as number);
  };
  const out = new Map<string, Float64Array>();
  // OIHW [D, C, P, P] -> HWIO [P, P, C, D]
  const conv = get('patch_embed.weight');
  const [P, C] = [config.patch, 1];
  const kernel = new Float64Array(conv.length);
  for (let o = 0; o < D; o++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < P; h++)
        for (let w = 0; w < P; w++)
          kernel[((h * P + w) * C + c) * D + o] = conv[((o * C + c) * P + h) * P + w] as number;
  out.set('patch_embedding/projection/kernel', kernel);
  out.set('patch_embedding/projection/bias', get('patch_embed.bias'));
  out.set('patch_embedding/class_token', get('cls_token'));
  out.set('patch_embedding/position_embedding', get('pos_embed'));
  for (let i = 0; i < config.depth; i++) {
    const [ours, theirs] = [`block${i + 1}`, `blocks.${i}`];
    for (const norm of ['norm1', 'norm2']) {
      out.set(`${ours}/${norm}/gamma`, get(`${theirs}.${norm}.weight`));
      out.set(`${ours}/${norm}/beta`, get(`${theirs}.${norm}.bias`));
    }
    const inProj = get(`${theirs}.attn.in_proj_weight`); // [3D, D]: query, key, value rows
    const inBias = get(`${theirs}.attn.in_proj_bias`);
    ['query', 'key', 'value'].forEach((role, k) => {
      out.set(
        `${ours}/attention/${role}/kernel`,
        transpose2d(inProj.slice(k * D * D, (k + 1) * D * D), D, D),
      );
      out.set(`${ours}/attention/${role}/bias`, inBias.slice(k * D, (k + 1) * D));
    });
    out.set(`${ours}/attention/output/kernel`, linear(`${theirs}.attn.out_proj.weight`));
    out.set(`${ours}/attention/output/bias`, get(`${theirs}.attn.out_proj.bias`));
    out.set(`${ours}/mlp/dense1/kernel`, linear(`${theirs}.mlp.0.weight`));
    out.set(`${ours}/mlp/dense1/bias`, get(`${theirs}.mlp.0.bias`));
    out.set(`${ours}/mlp/dense2/kernel`, linear(`${theirs}.mlp.2.weight`));
    out.set(`${ours}/mlp/dense2/bias`, get(`${theirs}.mlp.2.bias`));
  }
  out.set('norm/gamma', get('norm.weight'));
  out.set('norm/beta', get('norm.bias'));
  out.set('head/kernel', linear('head.weight'));
  out.set('head/bias', get('head.bias'));
  return out;
}

function maxAbs(values: Float64Array): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/**
 * |a - e| <= tolerance * max(max|e|, floor) elementwise: float32 arithmetic against a float64
 * reference. `floor` covers tensors that are zero in exact arithmetic (the key bias's gradient:
 * softmax ignores a shift shared by a row).
 */
function assertNear(
  actual: ArrayLike<number>,
  expected: Float64Array,
  tolerance: number,
  what: string,
  floor = 0,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(maxAbs(expected), floor);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs((actual[i] as number) - (expected[i] as number)));
  }
  assert.ok(
    worst <= tolerance * scale,
    `${what}: largest difference ${worst} exceeds ${tolerance} x ${scale}`,
  );
}

function parity(backend: Backend): void {
  setBackendInstance(backend);
  const file = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)), 'tiny-vit-torch.safetensors');
  const config = JSON.parse(file.metadata['config'] as string) as TinyConfig;
  const model = new VisionTransformer({
    patchSize: config.patch,
    embedDim: config.dim,
    depth: config.depth,
    numHeads: config.heads,
    mlpDim: config.mlp_dim,
    classes: config.classes,
    layerNormEpsilon: config.layer_norm_eps,
  });
  model.buildFor([28, 28, 1]);
  const weights = mapped(file, config);
  const named = namedWeights(model);
  assert.deepEqual(
    named.map((w) => w.name).sort(),
    [...weights.keys()].sort(),
    'every weight is mapped once',
  );
  for (const { name, value } of named) value.data.set(weights.get(name) as Float64Array);

  const expectedGradients = mapped(file, config, 'grad.');
  tidy(() => {
    const input = read(file, 'input'); // (B, 1, 28, 28): with one channel, the same memory as NHWC
    const images = fromStorage(backend.alloc('float32', input.values.length).fill(0), [
      config.batch,
      28,
      28,
      1,
    ]);
    images.data.set(input.values);
    const labelValues = tensorValues(file.tensors.get('labels')!) as Int32Array;
    const labels = fromStorage(backend.alloc('int32', config.batch), [config.batch]);
    labels.data.set(labelValues);
    const logits = model.apply(images, { training: true, random: { nextFloat: () => 0.5 } });
    assertNear(logits.data, read(file, 'logits').values, 1e-5, 'logits');
    const loss = softmaxCrossEntropy(logits, labels, config.label_smoothing);
    assertNear([loss.item()], read(file, 'loss').values, 1e-6, 'loss');
    const grads = gradients(
      loss,
      named.map((w) => w.value),
    );
    const gradientScale = Math.max(...[...expectedGradients.values()].map(maxAbs));
    named.forEach(({ name }, i) =>
      assertNear(
        grads[i]!.data,
        expectedGradients.get(name) as Float64Array,
        1e-4,
        `gradient of ${name}`,
        gradientScale * 1e-2,
      ),
    );
  });
}

const availability = nativeBackendAvailable();

describe('vit: parity with the PyTorch reference (nn.MultiheadAttention blocks)', () => {
  it('js backend: logits, loss and every gradient', () => parity(createJsBackend()));
  it(
    'native backend: logits, loss and every gradient',
    availability.available ? {} : { skip: `native addon unavailable: ${availability.reason}` },
    () => parity(createNativeBackend()),
  );
});
