// Frozen layers do not move while the rest trains: weights bit-identical, batch-norm statistics
// unchanged (a frozen BN runs in inference mode); and the trainable-parameter report.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prepareFineTune, fineTune } from '../../src/finetune/recipe.js';
import { trainableReport } from '../../src/finetune/report.js';
import { freeze } from '../../src/finetune/select.js';
import { dense } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { sequential } from '../../src/train/model.js';
import type { TrainEvent } from '../../src/train/types.js';
import { bitsEqual, compileAdam, copyOf, syntheticData, tinyCnn } from './setup.js';

describe('freezing', () => {
  it('keeps frozen weights bit-identical and frozen batch-norm statistics unchanged after fit', async () => {
    const model = tinyCnn();
    freeze(model, 'conv*,batch_normalization');
    const frozen = [...model.layers[0]!.weights, ...model.layers[1]!.weights].map((w) => w.value);
    assert.deepEqual(
      frozen.map((t) => t.name),
      [
        'conv2d/kernel',
        'conv2d/bias',
        'batch_normalization/gamma',
        'batch_normalization/beta',
        'batch_normalization/moving_mean',
        'batch_normalization/moving_variance',
      ],
    );
    const before = frozen.map((t) => copyOf(t.data));
    const head = model.layers[5]!.weights[0]!.value;
    const headBefore = copyOf(head.data);
    // Control: an unfrozen twin's BN statistics do move on the same data (so the check can fail).
    const twin = tinyCnn();
    const twinMean = twin.layers[1]!.weights[2]!.value;
    const twinBefore = copyOf(twinMean.data);

    const { images, labels } = syntheticData(96);
    compileAdam(model);
    compileAdam(twin);
    await model.fit(images, labels, { epochs: 2, batchSize: 16, verbose: 0 });
    await twin.fit(images, labels, { epochs: 1, batchSize: 16, verbose: 0 });

    frozen.forEach((t, i) => assert.ok(bitsEqual(t.data, before[i]!), `${t.name} changed while frozen`));
    assert.ok(!bitsEqual(head.data, headBefore), 'the trainable head did not train');
    assert.ok(!bitsEqual(twinMean.data, twinBefore), 'control: unfrozen BN statistics did not move');
  });

  it("reports 'trainable 5,130 of 39,956 (12.8%)'", () => {
    resetLayerNames();
    // 90*57 + 58*512 + 513*10 = 5,130 + 29,696 + 5,130 = 39,956 parameters.
    const model = sequential([
      dense({ inputShape: [89], units: 57 }),
      dense({ units: 512 }),
      dense({ units: 10 }),
    ]);
    model.buildFor([89]);
    freeze(model, '0-1');
    assert.equal(trainableReport(model), 'trainable 5,130 of 39,956 (12.8%)');
  });

  it('head method: a new head for a new class count, only it trainable', () => {
    const { model, headName } = prepareFineTune(tinyCnn(3), { method: 'head', classes: 2 });
    assert.equal(headName, 'head');
    assert.equal(model.layers.length, 6);
    assert.deepEqual(model.layers[5]!.weights[0]!.value.shape, [8, 2]);
    assert.deepEqual(
      model.trainableWeights.map((w) => w.value.name),
      ['head/kernel', 'head/bias'],
    );
  });

  it('gradual unfreezing: head alone first, then everything at a lower rate', async () => {
    const base = tinyCnn();
    const conv = base.layers[0]!.weights[0]!.value;
    const lrs: number[] = [];
    const convAfterEpoch: Float32Array[] = [];
    const { images, labels } = syntheticData(48);
    const result = await fineTune(base, images, labels, {
      method: 'full',
      classes: 3,
      epochs: 2,
      headEpochs: 1,
      learningRate: 0.01,
      fit: {
        batchSize: 16,
        verbose: 0,
        onEvent: (event: TrainEvent) => {
          if (event.type === 'epochBegin') lrs.push(event.lr);
          if (event.type === 'epochEnd') convAfterEpoch.push(copyOf(conv.data));
        },
      },
    });
    assert.equal(result.histories.length, 2);
    assert.deepEqual(lrs, [0.01, 0.005]);
    const initial = tinyCnn().layers[0]!.weights[0]!.value.data;
    assert.ok(bitsEqual(convAfterEpoch[0]!, initial), 'conv moved during the head-only epoch');
    assert.ok(!bitsEqual(convAfterEpoch[1]!, initial), 'conv did not train after unfreezing');
    assert.equal(result.trainableParams, result.totalParams - 8); // BN moving statistics only
  });
});
