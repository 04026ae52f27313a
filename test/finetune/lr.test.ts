// Discriminative learning rates: each layer group's update is lr * multiplier * gradient (SGD).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyLrMultipliers,
  lrMultipliersFor,
  parseLrGroups,
  spreadLrGroups,
} from '../../src/finetune/lr.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { dense } from '../../src/nn/index.js';
import { resetLayerNames } from '../../src/nn/layer.js';
import { sgd } from '../../src/optim/index.js';
import { gradients } from '../../src/tensor/autograd.js';
import { tensor } from '../../src/tensor/ops/creation.js';
import { sequential } from '../../src/train/model.js';
import { Random } from '../../src/util/random.js';
import { copyOf } from './setup.js';

describe('discriminative learning rates', () => {
  it('applies lr * multiplier * grad to each group', () => {
    resetLayerNames();
    const model = sequential([
      dense({ inputShape: [4], units: 3, activation: 'tanh' }),
      dense({ units: 3, activation: 'tanh' }),
      dense({ units: 2 }),
    ]);
    model.buildFor([4], new Random(3));
    const lr = 0.1;
    const groups = parseLrGroups('dense=0.01,dense_1=0.5'); // dense_2 keeps 1
    const optimizer = sgd({ learningRate: lr });
    applyLrMultipliers(optimizer, lrMultipliersFor(model, groups));

    const x = tensor([0.5, -1, 0.25, 2, 1, 0, -0.5, 0.3], [2, 4]);
    const y = tensor([1, 0], [2]);
    const params = model.trainableWeights.map((w) => w.value);
    const loss = sparseCategoricalCrossentropy({ fromLogits: true }).compute(
      y,
      model.apply(x, { training: true, random: new Random(0) }),
    );
    const grads = gradients(loss, params);
    const before = params.map((p) => copyOf(p.data));
    optimizer.applyGradients(params, grads);

    const expected: Record<string, number> = { dense: 0.01, dense_1: 0.5, dense_2: 1 };
    params.forEach((p, i) => {
      const multiplier = expected[(p.name as string).split('/')[0] as string] as number;
      const g = grads[i]!.data;
      for (let j = 0; j < p.size; j++) {
        const update = (p.data[j] as number) - (before[i]![j] as number);
        assert.ok(
          Math.abs(update + lr * multiplier * (g[j] as number)) < 1e-7,
          `${p.name}[${j}]: update ${update}, expected ${-lr * multiplier * (g[j] as number)}`,
        );
      }
      assert.ok(
        g.some((v) => v !== 0),
        `${p.name}: zero gradient makes the check vacuous`,
      );
    });
  });

  it('spreads multipliers geometrically from the first layer to the head', () => {
    resetLayerNames();
    const model = sequential([
      dense({ inputShape: [2], units: 2 }),
      dense({ units: 2 }),
      dense({ units: 2 }),
    ]);
    model.buildFor([2]);
    const groups = spreadLrGroups(model, 0.01);
    assert.deepEqual(
      groups.map((g) => [g.layers, Number(g.multiplier.toFixed(6))]),
      [
        ['dense', 0.01],
        ['dense_1', 0.1],
        ['dense_2', 1],
      ],
    );
  });
});
