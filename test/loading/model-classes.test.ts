// Loading a saved model looks each className up in the table it is given: LAYER_CLASSES (src/
// loading/) has every class mnist-lab defines, and the public loaders pass it; a class of a
// program's own comes from registerLayer(). No module registers a class when it is imported.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import '../nn/helpers.js';
import * as api from '../../src/index.js';
import { applyLora } from '../../src/finetune/lora.js';
import { Functional } from '../../src/io/tfjs/functional.js';
import { LAYER_CLASSES, modelFromBytes } from '../../src/loading/index.js';
import { BUILTIN_LAYERS, conv2d, dense, flatten, layerFromConfig } from '../../src/nn/index.js';
import { Layer, registerLayer, resetLayerNames } from '../../src/nn/layer.js';
import type { CallContext, LayerArgs, LayerConfig } from '../../src/nn/layer.js';
import { baseArgs } from '../../src/nn/layers/common.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { MaskedAutoencoder } from '../../src/pretrain/mae.js';
import { encodeModel, namedWeights } from '../../src/train/checkpoint.js';
import { decodeModel } from '../../src/train/model-file.js';
import { Model, Sequential, sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { ResNet } from '../../src/zoo/resnet.js';
import { VisionTransformer } from '../../src/zoo/vit.js';

const ROOT = join(import.meta.dirname, '..', '..');
const INPUT: readonly number[] = [28, 28, 1];

function built<M extends Model>(model: M): M {
  model.buildFor(INPUT, new Random(3));
  return model;
}

function tinyVit(): VisionTransformer {
  return new VisionTransformer({ patchSize: 7, embedDim: 16, depth: 1, numHeads: 2, mlpDim: 16 });
}

function tinySequential(): Sequential {
  return sequential([
    conv2d({ inputShape: [...INPUT], filters: 2, kernelSize: 3 }),
    flatten(),
    dense({ units: 4 }),
  ]);
}

/** A program's own layer class: a container applying its one inner layer. */
class Holder extends Layer {
  readonly className = 'TestHolder';
  constructor(
    readonly inner: Layer,
    args: LayerArgs = {},
  ) {
    super(args);
  }
  override get sublayers(): readonly Layer[] {
    return [this.inner];
  }
  call(x: Tensor, context: CallContext): Tensor {
    return this.inner.apply(x, context);
  }
  override getConfig(): Record<string, unknown> {
    return { ...super.getConfig(), inner: this.inner.toConfig() };
  }
}

/** Each saved model's weights by name, as plain arrays: equal maps mean the same weights. */
function weightsByName(model: Model): Map<string, number[]> {
  return new Map(namedWeights(model).map(({ name, value }) => [name, Array.from(value.data)]));
}

/** The Layer subclasses the package exports, at the top level and in its namespaces, by name. */
function exportedLayerClasses(): string[] {
  const names = new Set<string>();
  const { data, evaluation, finetune, io, losses, nn, optim, pretrain } = api;
  const scopes: object[] = [api, data, evaluation, finetune, io, losses, nn, optim, pretrain];
  for (const scope of scopes) {
    for (const [name, value] of Object.entries(scope)) {
      if (typeof value === 'function' && value.prototype instanceof Layer && name !== 'Model')
        names.add(name);
    }
  }
  return [...names].sort();
}

describe('LAYER_CLASSES', () => {
  it('has a row for every layer and model class the package exports, and the built-in layers', () => {
    const missing = exportedLayerClasses().filter((name) => !LAYER_CLASSES.has(name));
    assert.deepEqual(missing, [], `classes without a row in LAYER_CLASSES: ${missing.join(', ')}`);
    for (const name of ['Dense', 'Sequential', 'LoraDense', 'MaskedAutoencoder', 'Functional']) {
      assert.ok(exportedLayerClasses().includes(name), `the walk over the exports finds ${name}`);
    }
    for (const [name, factory] of BUILTIN_LAYERS) assert.equal(LAYER_CLASSES.get(name), factory, name);
  });

  it('the public modelFromBytes rebuilds a Sequential, a ResNet, a vit, a masked autoencoder and a Functional', () => {
    resetLayerNames();
    const hidden = dense({ name: 'hidden', units: 4, activation: 'relu' });
    const models: Model[] = [
      built(tinySequential()),
      built(new ResNet({ widths: [2, 2, 2] })),
      built(tinyVit()),
      built(new MaskedAutoencoder({ encoder: tinyVit(), decoderDim: 8, decoderDepth: 1, decoderHeads: 2 })),
      built(
        new Functional({
          inputName: 'input',
          outputName: 'logits',
          inputShape: [...INPUT],
          nodes: [
            { layer: flatten({ name: 'flat' }), inbound: ['input'] },
            { layer: hidden, inbound: ['flat'] },
            { layer: dense({ name: 'logits', units: 3 }), inbound: ['hidden'] },
          ],
        }),
      ),
    ];
    for (const model of models) {
      const loaded = modelFromBytes(encodeModel(model), `${model.className}.safetensors`);
      assert.equal(loaded.className, model.className);
      assert.deepEqual(weightsByName(loaded), weightsByName(model), model.className);
    }
  });

  it('the public modelFromBytes rebuilds LoRA wrappers in a Sequential and below a vit', () => {
    resetLayerNames();
    for (const base of [built(tinySequential()), built(tinyVit())]) {
      const adapted = applyLora(base, { rank: 2 });
      const loaded = modelFromBytes(encodeModel(adapted));
      const loraWeights = (model: Model) =>
        namedWeights(model)
          .map(({ name }) => name)
          .filter((name) => name.includes('lora'));
      assert.ok(loraWeights(adapted).length > 0, `${base.className}: applyLora wrapped nothing`);
      assert.deepEqual(weightsByName(loaded), weightsByName(adapted), `LoRA on ${base.className}`);
    }
  });

  it('decides what loads: a model file read with the nn layers alone fails naming the class and both fixes', () => {
    const bytes = encodeModel(built(tinySequential()));
    assert.throws(
      () => decodeModel(bytes, BUILTIN_LAYERS, 'cnn.safetensors'),
      (error: Error) => {
        assert.doesNotMatch(error.message, /\n/);
        assert.match(error.message, /^unknown layer class 'Sequential' \(known: Activation, .*\):/);
        assert.match(error.message, /LAYER_CLASSES .* registerLayer\(className, factory\) before loading$/);
        return true;
      },
    );
    assert.equal(decodeModel(bytes, LAYER_CLASSES).className, 'Sequential');
  });

  it("loads a class of the program's own once registered, its factory rebuilding sublayers with the load's table", () => {
    resetLayerNames();
    const holder = new Holder(sequential([dense({ units: 3 })]));
    const model = built(sequential([flatten({ inputShape: [...INPUT] }), holder]));
    const bytes = encodeModel(model);
    assert.throws(
      () => modelFromBytes(bytes),
      /unknown layer class 'TestHolder' \(known: .*Sequential.*\): .*registerLayer/,
    );
    registerLayer(
      'TestHolder',
      (config, layers) =>
        new Holder(layerFromConfig(config['inner'] as LayerConfig, layers), baseArgs(config)),
    );
    const loaded = modelFromBytes(bytes);
    assert.ok(loaded instanceof Sequential && loaded.layers[1] instanceof Holder);
    assert.deepEqual(weightsByName(loaded), weightsByName(model));
    // Registered classes are found whatever the table; what the factory rebuilds below comes from it.
    assert.ok(layerFromConfig(holder.toConfig(), LAYER_CLASSES) instanceof Holder);
    assert.throws(
      () => layerFromConfig(holder.toConfig(), BUILTIN_LAYERS),
      /unknown layer class 'Sequential' \(known: Activation,/,
    );
  });
});

describe('importing the model modules', () => {
  it('registers nothing: not the models, the zoo, LoRA, the autoencoder, Functional, nor the table', () => {
    const modules = [
      './src/train/model.ts',
      './src/zoo/resnet.ts',
      './src/zoo/vit.ts',
      './src/zoo/recipes.ts',
      './src/finetune/lora.ts',
      './src/pretrain/mae.ts',
      './src/io/tfjs/functional.ts',
      './src/loading/index.ts',
      './src/index.ts',
    ];
    const script =
      "const layer = await import('./src/nn/layer.ts');" +
      modules.map((path) => `await import('${path}');`).join('') +
      'console.log(JSON.stringify(layer.registeredLayerNames()));';
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim()), []);
  });
});
