// MultiHeadAttention against a naive float64 implementation written from the definition (masks,
// causal flag, returned scores, cross-attention with its own key), its gradients by finite
// differences, and its errors; Embedding and the layer norm's Keras semantics.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, inference, seeded, training } from './helpers.js';
import {
  dense,
  embedding,
  flatten,
  layerFromConfig,
  layerNormalization,
  multiHeadAttention,
  transformerBlock,
} from '../../src/nn/index.js';
import type { MultiHeadAttention } from '../../src/nn/index.js';
import { gradients } from '../../src/tensor/autograd.js';
import { fill, randomNormal, tensor } from '../../src/tensor/ops/creation.js';
import { mul } from '../../src/tensor/ops/elementwise.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { noGrad } from '../../src/tensor/tensor.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';

const f64 = (shape: number[], seed: number): Tensor =>
  randomNormal(shape, seeded(seed), 0, 1, { dtype: 'float64' });

/**
 * Builds `layer` for inputs of these shapes (float32 zeros) and gives it random float64 weights:
 * the comparisons and gradient checks run in float64 end to end.
 */
function float64Layer(layer: MultiHeadAttention, ...shapes: number[][]): MultiHeadAttention {
  const zeros = shapes.map((shape) => fill(shape, 0));
  layer.apply(zeros.length === 1 ? zeros[0]! : (zeros as [Tensor, Tensor]), inference());
  float64Weights(layer);
  return layer;
}

function float64Weights(layer: MultiHeadAttention): void {
  for (const dense of [layer.query, layer.key, layer.value, layer.output!]) {
    dense.kernel = f64([...dense.kernel!.shape], dense.kernel!.size);
    dense.bias = f64([...dense.bias!.shape], dense.bias!.size + 1);
    for (const t of [dense.kernel, dense.bias]) t.requiresGrad = true;
  }
}

/** Attention from its definition, loops over float64 values; mask [B, T, S] of 0/1 or none. */
function naiveAttention(
  layer: MultiHeadAttention,
  query: Tensor,
  value: Tensor,
  key: Tensor,
  mask: ((b: number, t: number, s: number) => boolean) | null,
): { output: number[]; scores: number[] } {
  const [B, T, Dq] = query.shape as [number, number, number];
  const [, S, Dv] = value.shape as [number, number, number];
  const Dk = key.shape[2] as number;
  const { numHeads: H, keyDim: dk, valueDim: dv } = layer;
  const project = (
    x: Tensor,
    d: number,
    dense: typeof layer.query,
    b: number,
    l: number,
    col: number,
  ): number => {
    let s = dense.bias!.data[col] as number;
    for (let i = 0; i < d; i++) {
      s +=
        (x.data[(b * x.shape[1]! + l) * d + i] as number) *
        (dense.kernel!.data[i * dense.units + col] as number);
    }
    return s;
  };
  const scores: number[] = [];
  const heads = new Array<number>(B * T * H * dv).fill(0);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let t = 0; t < T; t++) {
        const logits: number[] = [];
        for (let s = 0; s < S; s++) {
          let dot = 0;
          for (let j = 0; j < dk; j++) {
            dot +=
              project(query, Dq, layer.query, b, t, h * dk + j) *
              project(key, Dk, layer.key, b, s, h * dk + j);
          }
          logits.push(mask && !mask(b, t, s) ? -Infinity : dot / Math.sqrt(dk));
        }
        const max = Math.max(...logits);
        const exps = logits.map((v) => Math.exp(v - max));
        const total = exps.reduce((a, c) => a + c, 0);
        const p = exps.map((e) => e / total);
        scores.push(...p);
        for (let j = 0; j < dv; j++) {
          let acc = 0;
          for (let s = 0; s < S; s++)
            acc += (p[s] as number) * project(value, Dv, layer.value, b, s, h * dv + j);
          heads[((b * T + t) * H + h) * dv + j] = acc;
        }
      }
  const out = layer.output!;
  const output: number[] = [];
  for (let r = 0; r < B * T; r++)
    for (let e = 0; e < out.units; e++) {
      let acc = out.bias!.data[e] as number;
      for (let i = 0; i < H * dv; i++)
        acc += (heads[r * H * dv + i] as number) * (out.kernel!.data[i * out.units + e] as number);
      output.push(acc);
    }
  return { output, scores };
}

describe('MultiHeadAttention', () => {
  test('self-attention equals the definition; scores are [B, H, T, S] rows summing to 1', () => {
    const layer = float64Layer(multiHeadAttention({ numHeads: 2, keyDim: 3 }), [2, 4, 5]);
    const x = f64([2, 4, 5], 1);
    const { output, scores } = layer.apply(x, inference(), { returnAttentionScores: true });
    assert.deepEqual(output.shape, [2, 4, 5], 'output keeps the query width by default');
    assert.deepEqual(scores.shape, [2, 2, 4, 4]);
    const expected = naiveAttention(layer, x, x, x, null);
    assertClose(output.data, expected.output, 1e-12, 'output');
    assertClose(scores.data, expected.scores, 1e-12, 'scores');
    assert.deepEqual(
      layer.weights.map((w) => w.value.shape),
      [[5, 6], [6], [5, 6], [6], [5, 6], [6], [6, 5], [5]],
    );
  });

  test('cross-attention with its own key, valueDim and outputShape; a [B, T, S] mask', () => {
    const layer = float64Layer(
      multiHeadAttention({ numHeads: 3, keyDim: 2, valueDim: 4, outputShape: 7 }),
      [2, 3, 5],
      [2, 6, 4],
      [2, 6, 8],
    );
    const [query, value, key] = [f64([2, 3, 5], 2), f64([2, 6, 4], 3), f64([2, 6, 8], 4)];
    const allowed = (b: number, t: number, s: number): boolean => (b + 2 * t + s) % 3 !== 0;
    const mask = tensor(
      Array.from({ length: 2 * 3 * 6 }, (_, i) => +allowed(Math.floor(i / 18), Math.floor(i / 6) % 3, i % 6)),
      [2, 3, 6],
      'int32',
    );
    const { output, scores } = layer.apply([query, value, key], inference(), {
      attentionMask: mask,
      returnAttentionScores: true,
    });
    assert.deepEqual(output.shape, [2, 3, 7]);
    const expected = naiveAttention(layer, query, value, key, allowed);
    assertClose(output.data, expected.output, 1e-12, 'output');
    assertClose(scores.data, expected.scores, 1e-12, 'scores');
  });

  test('causal: a token never sees later ones (changing them leaves earlier outputs alone)', () => {
    const layer = float64Layer(multiHeadAttention({ numHeads: 2, keyDim: 4 }), [1, 5, 6]);
    const x = f64([1, 5, 6], 5);
    const before = layer.apply(x, inference(), { useCausalMask: true });
    const changed = x.data.slice();
    for (let i = 3 * 6; i < 5 * 6; i++) changed[i] = (changed[i] as number) + 10;
    const after = layer.apply(tensor(changed, [1, 5, 6], 'float64'), inference(), { useCausalMask: true });
    assertClose(after.data.slice(0, 18), before.data.slice(0, 18), 0, 'tokens 0-2');
    assert.notEqual(after.data[4 * 6], before.data[4 * 6], 'token 4 sees its own change');
    // Causal and a [T, S] mask shared by the batch combine (both must allow).
    const keep = (t: number, s: number): boolean => s !== 1;
    const shared = tensor(
      Array.from({ length: 25 }, (_, i) => +keep(Math.floor(i / 5), i % 5)),
      [5, 5],
    );
    const { output } = layer.apply(x, inference(), {
      attentionMask: shared,
      useCausalMask: true,
      returnAttentionScores: true,
    });
    const expected = naiveAttention(layer, x, x, x, (_b, t, s) => s <= t && keep(t, s));
    assertClose(output.data, expected.output, 1e-12);
  });

  test('gradients of query, value and every projection match finite differences', () => {
    const layer = float64Layer(multiHeadAttention({ numHeads: 2, keyDim: 2 }), [2, 3, 4], [2, 5, 4]);
    const [query, value] = [f64([2, 3, 4], 6), f64([2, 5, 4], 7)];
    query.requiresGrad = true;
    value.requiresGrad = true;
    const weights = f64([2, 3, 4], 8);
    const lossOf = (): Tensor =>
      sum(mul(layer.apply([query, value], inference(), { useCausalMask: true }), weights));
    const params = [query, value, ...layer.weights.map((w) => w.value)];
    const analytic = gradients(lossOf(), params);
    params.forEach((p, k) => {
      for (let i = 0; i < p.size; i += 3) {
        const original = p.data[i] as number;
        p.data[i] = original + 1e-6;
        const plus = noGrad(() => lossOf().item());
        p.data[i] = original - 1e-6;
        const minus = noGrad(() => lossOf().item());
        p.data[i] = original;
        const numeric = (plus - minus) / 2e-6;
        const a = analytic[k]!.data[i] as number;
        assert.ok(
          Math.abs(a - numeric) <= 1e-6 + 1e-5 * Math.abs(numeric),
          `param ${k}[${i}]: ${a} vs ${numeric}`,
        );
      }
    });
  });

  test('attention dropout acts while training only', () => {
    const layer = float64Layer(multiHeadAttention({ numHeads: 1, keyDim: 4, dropout: 0.5 }), [1, 6, 4]);
    const x = f64([1, 6, 4], 9);
    const a = layer.apply(x, inference());
    assertClose(layer.apply(x, inference()).data, a.data, 0, 'inference is deterministic');
    assert.notDeepEqual(Array.from(layer.apply(x, training(3)).data), Array.from(a.data));
  });

  test('bad configurations and inputs fail with one line naming the layer', () => {
    assert.throws(
      () => multiHeadAttention({ numHeads: 0, keyDim: 4 }),
      /MultiHeadAttention '.*': numHeads must be a positive integer, found 0/,
    );
    assert.throws(
      () => multiHeadAttention({ numHeads: 2, keyDim: 1.5 }),
      /keyDim must be a positive integer, found 1.5/,
    );
    assert.throws(
      () => multiHeadAttention({ numHeads: 2, keyDim: 4, dropout: 1 }),
      /dropout must be in \[0, 1\), found 1/,
    );
    const layer = float64Layer(multiHeadAttention({ name: 'attn', numHeads: 2, keyDim: 4 }), [2, 5, 8]);
    const x = f64([2, 5, 8], 10);
    assert.throws(
      () => layer.apply(x, inference(), { attentionMask: fill([2, 5, 4], 1) }),
      /^Error: MultiHeadAttention 'attn': attentionMask must be \[2, 5, 5\] or \[5, 5\] \(batch, query length, key length\), found \[2, 5, 4\]$/,
    );
    assert.throws(
      () => layer.apply(fill([5, 8], 1), inference()),
      /'attn': query must be \[batch, length, features\], found \[5, 8\]/,
    );
    assert.throws(
      () => layer.apply([x, f64([2, 6, 8], 11), f64([2, 5, 8], 12)], inference()),
      /'attn': key and value must have the same length, found key \[2, 5, 8\] and value \[2, 6, 8\]/,
    );
    assert.throws(
      () => layer.apply([x, f64([3, 5, 8], 13)], inference()),
      /'attn': value has batch 3, query has 2/,
    );
  });

  test('config round trip: same class, same arguments, same weight names', () => {
    const layer = multiHeadAttention({
      name: 'block3/attention',
      numHeads: 4,
      keyDim: 16,
      valueDim: 8,
      dropout: 0.1,
      useBias: false,
      outputShape: 32,
    });
    const copy = layerFromConfig(layer.toConfig()) as MultiHeadAttention;
    assert.deepEqual(copy.getConfig(), layer.getConfig());
    const x = fill([1, 3, 64], 0.5);
    layer.apply(x, inference());
    copy.apply(x, inference());
    assert.deepEqual(
      copy.weights.map((w) => w.value.name),
      [
        'block3/attention/query/kernel',
        'block3/attention/key/kernel',
        'block3/attention/value/kernel',
        'block3/attention/output/kernel',
      ],
    );
    assert.deepEqual(
      copy.weights.map((w) => w.value.shape),
      [
        [64, 64],
        [64, 64],
        [64, 32],
        [32, 32],
      ],
    );
  });
});

describe('Embedding', () => {
  test('looks rows up, sums the gradient of repeated ids, refuses ids outside the vocabulary', () => {
    const layer = embedding({ name: 'tokens', inputDim: 5, outputDim: 3 });
    const ids = tensor([[4, 0, 4]], [1, 3], 'int32');
    const out = layer.apply(ids, inference());
    assert.deepEqual(out.shape, [1, 3, 3]);
    const table = layer.embeddings!;
    assert.deepEqual(Array.from(out.data.slice(0, 3)), Array.from(table.data.slice(12, 15)));
    assert.ok(
      table.toArray().every((v) => Math.abs(v) <= 0.05),
      'Keras default: uniform in [-0.05, 0.05]',
    );
    const [grad] = gradients(sum(out), [table]);
    assert.deepEqual(grad!.toArray(), [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2]);
    assert.throws(
      () => layer.apply(tensor([[5]], [1, 1], 'int32'), inference()),
      /Embedding 'tokens': id 5 at position 0 is not in \[0, 5\)/,
    );
    assert.throws(
      () => embedding({ inputDim: 0, outputDim: 3 }),
      /inputDim must be a positive integer, found 0/,
    );
    const copy = layerFromConfig(layer.toConfig());
    assert.deepEqual(copy.getConfig(), layer.getConfig());
  });
});

describe('LayerNormalization, Keras semantics', () => {
  test('epsilon defaults to Keras 1e-3; axis -1 or the last index; other axes are refused', () => {
    const x = tensor([[[1, 2, 3, 6]]], [1, 1, 4], 'float64');
    const mean = 3;
    const variance = (4 + 1 + 0 + 9) / 4;
    const expected = (eps: number): number[] =>
      [1, 2, 3, 6].map((v) => (v - mean) / Math.sqrt(variance + eps));
    assertClose(layerNormalization().apply(x, inference()).data, expected(1e-3), 1e-7, 'Keras default');
    assertClose(
      layerNormalization({ epsilon: 1e-5 }).apply(x, inference()).data,
      expected(1e-5),
      1e-7,
      'PyTorch epsilon',
    );
    assertClose(
      layerNormalization({ axis: 2 }).apply(x, inference()).data,
      expected(1e-3),
      1e-7,
      'axis 2 of rank 3',
    );
    assert.throws(
      () => layerNormalization({ name: 'ln', axis: 1 }).apply(x, inference()),
      /LayerNormalization 'ln': expected input an input whose last axis is axis 1 .*found \[1, 1, 4\]; only the last axis can be normalised/,
    );
    assert.throws(() => layerNormalization({ axis: 0 }), /axis must be -1 or the last axis's index/);
    assert.throws(() => layerNormalization({ epsilon: 0 }), /epsilon must be a positive number, found 0/);
  });
});

test('a Sequential of token layers saves and loads through the checkpoint format', () => {
  // ids (B, 6) -> embedding (B, 6, 8) -> block -> self-attention -> norm -> flatten -> dense
  const model = sequential({
    name: 'tokens',
    layers: [
      embedding({ inputDim: 12, outputDim: 8, inputShape: [6] }),
      transformerBlock({ numHeads: 2, mlpDim: 16, useCausalMask: true }),
      multiHeadAttention({ numHeads: 4, keyDim: 3, valueDim: 5 }),
      layerNormalization({ epsilon: 1e-5 }),
      flatten(),
      dense({ units: 3 }),
    ],
  });
  model.buildFor([6], new Random(3));
  const loaded = modelFromBytes(encodeModel(model));
  assert.deepEqual(loaded.toConfig(), model.toConfig());
  assert.deepEqual(
    loaded.weights.map((w) => w.value.name),
    model.weights.map((w) => w.value.name),
  );
  const ids = tensor(
    [
      [1, 5, 11, 0, 3, 3],
      [7, 7, 2, 9, 10, 4],
    ],
    [2, 6],
    'int32',
  );
  assert.deepEqual(
    Array.from(loaded.apply(ids, inference()).data),
    Array.from(model.apply(ids, inference()).data),
  );
  // Freezing a block freezes every weight under it, the ones made at build included.
  const block = model.layers[1]!;
  block.trainable = false;
  assert.ok(block.weights.every((w) => !w.value.requiresGrad));
  assert.equal(model.trainableWeights.length, model.weights.length - block.weights.length);
});
