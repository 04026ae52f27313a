// The vision transformer's parts and the zoo's `vit` / `vit-7`: patch embedding and transformer
// block against their definitions, 205,962 parameters, weight paths, save/load through the
// checkpoint format, attention maps, and bad configurations refused before any work.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose, inference, seeded } from './helpers.js';
import { layerFromConfig, patchEmbedding, transformerBlock } from '../../src/nn/index.js';
import type { PatchEmbedding, TransformerBlock } from '../../src/nn/index.js';
import { conv2d } from '../../src/tensor/ops/nn.js';
import { fill, randomNormal } from '../../src/tensor/ops/creation.js';
import { add } from '../../src/tensor/ops/elementwise.js';
import { reshape } from '../../src/tensor/ops/shape.js';
import { sum } from '../../src/tensor/ops/reduce.js';
import { encodeModel, namedWeights } from '../../src/train/checkpoint.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { Random } from '../../src/util/random.js';
import { getRecipe } from '../../src/zoo/recipes.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

const images = (n: number, seed = 1) => randomNormal([n, 28, 28, 1], seeded(seed));

describe('PatchEmbedding', () => {
  test('class token, then the conv patches in row-major order, plus positions', () => {
    const layer = patchEmbedding({ name: 'patches', patchSize: 7, embedDim: 6 }) as PatchEmbedding;
    const x = images(2);
    const tokens = layer.apply(x, inference());
    assert.deepEqual(tokens.shape, [2, 17, 6]);
    const patches = reshape(
      conv2d(x, layer.projection.kernel!, layer.projection.bias!, { strides: 7 }),
      [2, 16, 6],
    );
    const positions = layer.positions!.data;
    for (let b = 0; b < 2; b++) {
      for (let t = 0; t < 17; t++) {
        for (let d = 0; d < 6; d++) {
          const token = t === 0 ? layer.classTokenWeight!.data[d]! : patches.data[(b * 16 + t - 1) * 6 + d]!;
          assertClose([tokens.data[(b * 17 + t) * 6 + d]!], [token + positions[t * 6 + d]!], 1e-6);
        }
      }
    }
    assert.deepEqual(
      layer.weights.map((w) => `${w.value.name} [${w.value.shape}]`),
      [
        'patches/class_token [1,1,6]',
        'patches/position_embedding [1,17,6]',
        'patches/projection/kernel [7,7,1,6]',
        'patches/projection/bias [6]',
      ],
    );
  });

  test('a patch size that does not divide the image is refused, naming the sizes that do', () => {
    assert.throws(
      () => patchEmbedding({ name: 'pe', patchSize: 5, embedDim: 8 }).apply(images(1), inference()),
      /^Error: PatchEmbedding 'pe': patchSize 5 does not divide the 28x28 image \(the patches would miss pixels\); choose one of 1, 2, 4, 7, 14, 28$/,
    );
    assert.throws(
      () => patchEmbedding({ patchSize: 3, embedDim: 8, inputShape: [28, 28, 1] }),
      /patchSize 3 does not divide the 28x28 image/,
    );
    const built = patchEmbedding({ name: 'pe4', patchSize: 4, embedDim: 8 });
    built.apply(images(1), inference());
    assert.throws(
      () => built.apply(fill([1, 32, 32, 1], 0), inference()),
      /PatchEmbedding 'pe4': built for 28x28x1 images \(its positions are per patch\), found \[1, 32, 32, 1\]/,
    );
  });
});

describe('TransformerBlock', () => {
  test('is x + attention(norm1(x)), then + mlp(norm2(.)), from its own sublayers', () => {
    const block = transformerBlock({ name: 'b', numHeads: 2, mlpDim: 12 }) as TransformerBlock;
    const x = randomNormal([2, 5, 8], seeded(2));
    const y = block.apply(x, inference());
    const h = add(x, block.attention!.apply(block.norm1.apply(x, inference()), inference()));
    const rows = reshape(block.norm2.apply(h, inference()), [10, 8]);
    const expected = add(
      h,
      reshape(block.dense2!.apply(block.dense1.apply(rows, inference()), inference()), [2, 5, 8]),
    );
    assertClose(y.data, expected.data, 1e-6);
    assert.equal(block.attention!.keyDim, 4, 'keyDim defaults to width / numHeads');
    assert.equal(block.norm1.epsilon, 1e-5, "PyTorch's epsilon");
    assert.deepEqual(
      block.weights.filter((w) => w.name === 'kernel').map((w) => w.value.name),
      [
        'b/attention/query/kernel',
        'b/attention/key/kernel',
        'b/attention/value/kernel',
        'b/attention/output/kernel',
        'b/mlp/dense1/kernel',
        'b/mlp/dense2/kernel',
      ],
    );
    const copy = layerFromConfig(block.toConfig());
    assert.deepEqual(copy.getConfig(), block.getConfig());
  });

  test('heads that do not split the width are refused with the head counts that do', () => {
    assert.throws(
      () => transformerBlock({ name: 'b', numHeads: 5, mlpDim: 8 }).apply(fill([1, 3, 64], 0), inference()),
      /^Error: TransformerBlock 'b': width 64 does not split into 5 heads \(numHeads x keyDim must equal the width; keyDim would be 12.8\); choose numHeads among 1, 2, 4, 8, 16, 32, 64, or give keyDim$/,
    );
    // An explicit keyDim needs no division: the output projection maps heads x keyDim back.
    const block = transformerBlock({ numHeads: 5, keyDim: 3, mlpDim: 8 });
    assert.deepEqual(block.apply(fill([1, 3, 64], 0.1), inference()).shape, [1, 3, 64]);
    assert.throws(
      () => transformerBlock({ numHeads: 2, mlpDim: 0 }),
      /mlpDim must be a positive integer, found 0/,
    );
    assert.throws(
      () => transformerBlock({ name: 'c', numHeads: 2, mlpDim: 4 }).apply(fill([2, 8], 0), inference()),
      /TransformerBlock 'c': expected tokens \[batch, tokens, width\], found \[2, 8\]/,
    );
  });
});

describe('zoo vit and vit-7', () => {
  for (const [name, tokens, patch] of [
    ['vit', 50, 4],
    ['vit-7', 17, 7],
  ] as const) {
    test(`${name}: 205,962 parameters (the PyTorch reference's count), ${tokens} tokens, weight paths`, () => {
      const model = getRecipe(name).model() as VisionTransformer;
      model.buildFor([28, 28, 1]);
      assert.equal(model.countParams(), 205_962);
      assert.equal(model.tokens, tokens);
      const lines: string[] = [];
      model.summary((line) => lines.push(line));
      assert.match(lines.join('\n'), /Total params: 205,962/);
      assert.match(
        lines.join('\n'),
        new RegExp(`block6 \\(TransformerBlock\\)\\s+\\(None, ${tokens}, 64\\)\\s+33,472`),
      );
      const names = namedWeights(model).map((w) => `${w.name} [${w.value.shape}]`);
      assert.equal(names.length, 4 + 6 * 16 + 4);
      for (const expected of [
        `patch_embedding/projection/kernel [${patch},${patch},1,64]`,
        `patch_embedding/position_embedding [1,${tokens},64]`,
        'block3/attention/query/kernel [64,64]',
        'block3/attention/value/bias [64]',
        'block6/mlp/dense1/kernel [64,128]',
        'norm/gamma [64]',
        'head/kernel [64,10]',
      ]) {
        assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
      }
    });
  }

  test('saves and loads through the checkpoint format: same architecture, same outputs', () => {
    const model = new VisionTransformer({
      patchSize: 7,
      embedDim: 16,
      depth: 2,
      numHeads: 2,
      mlpDim: 24,
      classes: 4,
      dropout: 0.1,
    });
    model.buildFor([28, 28, 1], new Random(5));
    const loaded = modelFromBytes(encodeModel(model));
    assert.ok(loaded instanceof VisionTransformer);
    assert.deepEqual(loaded.getConfig(), model.getConfig());
    const x = images(3, 6);
    assert.deepEqual(
      Array.from(loaded.apply(x, inference()).data),
      Array.from(model.apply(x, inference()).data),
    );
  });

  test('attention maps: per block [B, heads, T, T], rows are distributions, logits as apply()', () => {
    const model = new VisionTransformer({ patchSize: 7, embedDim: 16, depth: 3, numHeads: 4, mlpDim: 16 });
    const x = images(2, 7);
    const { logits, scores } = model.attentionScores(x);
    assert.equal(scores.length, 3);
    for (const s of scores) assert.deepEqual(s.shape, [2, 4, 17, 17]);
    const rowSums = sum(scores[0]!, -1).toArray();
    assertClose(
      rowSums,
      rowSums.map(() => 1),
      1e-6,
    );
    assertClose(logits.data, model.apply(x, inference()).data, 0);
  });

  test('bad configurations fail in the constructor with one line naming the model', () => {
    assert.throws(
      () =>
        new VisionTransformer({ name: 'v', patchSize: 4, embedDim: 64, depth: 6, numHeads: 5, mlpDim: 128 }),
      /^Error: VisionTransformer 'v': width 64 does not split into 5 heads .* choose numHeads among 1, 2, 4, 8, 16, 32, 64, or give keyDim$/,
    );
    assert.throws(
      () =>
        new VisionTransformer({ name: 'v', patchSize: 6, embedDim: 64, depth: 6, numHeads: 4, mlpDim: 128 }),
      /^Error: VisionTransformer 'v': patchSize 6 does not divide the 28x28 image .*choose one of 1, 2, 4, 7, 14, 28$/,
    );
    assert.throws(
      () => new VisionTransformer({ patchSize: 4, embedDim: 64, depth: 0, numHeads: 4, mlpDim: 128 }),
      /depth must be a positive integer, found 0/,
    );
    assert.throws(
      () =>
        new VisionTransformer({
          patchSize: 4,
          embedDim: 64,
          depth: 1,
          numHeads: 4,
          mlpDim: 128,
          inputShape: [28, 28],
        }),
      /inputShape must be \[height, width, channels\], found \[28, 28\]/,
    );
  });
});
