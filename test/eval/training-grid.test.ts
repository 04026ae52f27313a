// trainingGrid(): every (loss, optimizer) pair trained from the same seeded weights on the same data
// order, with its test accuracy, macro F1, time, epochs to the target and curves; the table and the
// report page made from the result.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { trainingGrid, trainingGridHtml, trainingGridTable } from '../../src/eval/training-grid.js';
import { CLASSES, smallModel, syntheticData } from '../train/setup.js';

const train = { ...syntheticData(96, 1), count: 96 };
const test = { ...syntheticData(48, 2), count: 48 };

describe('trainingGrid', () => {
  const grid = trainingGrid({
    model: () => smallModel({ dropout: false }),
    losses: ['sparse-ce', 'ce', 'mse'],
    optimizers: ['sgd', 'adam'],
    train,
    test,
    epochs: 3,
    batchSize: 16,
    learningRate: 0.05,
    target: 0.9,
  });

  it('trains every pair, losses outer, each to a usable classifier', async () => {
    const result = await grid;
    assert.deepEqual(
      result.runs.map((run) => `${run.loss}/${run.optimizer}`),
      ['sparse-ce/sgd', 'sparse-ce/adam', 'ce/sgd', 'ce/adam', 'mse/sgd', 'mse/adam'],
    );
    for (const run of result.runs) {
      assert.equal(run.testAccuracyByEpoch.length, 3);
      assert.equal(run.testAccuracy, run.testAccuracyByEpoch[2]);
      assert.ok(run.macroF1 >= 0 && run.macroF1 <= 1);
      assert.ok(run.trainSeconds > 0);
      // 6 steps per epoch, 18 in all: every step is its own point (fewer steps than points kept).
      assert.deepEqual(
        run.curve.map((p) => p.step),
        Array.from({ length: 18 }, (_, i) => i + 1),
      );
      const reached = run.testAccuracyByEpoch.findIndex((a) => a >= 0.9);
      assert.equal(run.epochsToTarget, reached < 0 ? null : reached + 1);
    }
    const adam = result.runs.find((run) => run.loss === 'sparse-ce' && run.optimizer === 'adam');
    assert.ok(adam && adam.testAccuracy > 1 / CLASSES + 0.3, `adam learns: ${adam?.testAccuracy}`);
    assert.equal(result.trainExamples, 96);
  });

  it('starts every run from the same weights and data order (seeded)', async () => {
    const result = await grid;
    const run = (loss: string, optimizer: string) =>
      result.runs.find((r) => r.loss === loss && r.optimizer === optimizer)!;
    // ce on one-hot targets and sparse-ce are the same loss: the same first step, to rounding, only
    // when the initial weights and the first batch are the same.
    for (const optimizer of ['sgd', 'adam']) {
      const [a, b] = [run('sparse-ce', optimizer).curve[0]!, run('ce', optimizer).curve[0]!];
      assert.ok(Math.abs(a.loss - b.loss) < 1e-5, `${optimizer}: first losses ${a.loss} and ${b.loss}`);
      assert.equal(a.accuracy, b.accuracy);
    }
    // ...and the batch accuracies, recovered from the running means, are whole batches' fractions.
    for (const p of run('mse', 'adam').curve) assert.equal(Math.round(p.accuracy * 16), p.accuracy * 16);
  });

  it('writes the README table and a report with the table and three overlaid charts', async () => {
    const result = await grid;
    const table = trainingGridTable(result).split('\n');
    assert.equal(table[0], '| loss | optimizer | test accuracy | macro F1 | train seconds | epochs to 90% |');
    assert.equal(table.length, 2 + 6);
    assert.match(
      table[3]!,
      /^\| sparse-ce \| adam \| \d+\.\d\d% \| \d\.\d{4} \| \d+\.\d \| (\d|not in 3) \|$/,
    );
    const html = trainingGridHtml(result, [['backend', 'js']]);
    assert.equal((html.match(/<tr><td>/g) ?? []).length, 6 + 8, 'six result rows and eight settings rows');
    for (const chart of ['test-accuracy', 'train-accuracy', 'train-loss']) {
      const figure = new RegExp(`<figure data-chart="${chart}"><svg[^]*?</svg></figure>`).exec(html);
      assert.ok(figure, `${chart} chart`);
      assert.equal((figure[0].match(/class="series"/g) ?? []).length, 6, `${chart}: one line per run`);
    }
    assert.match(html, /<td>backend<\/td><td>js<\/td>/);
  });

  it('refuses an unknown loss or optimizer before training anything', async () => {
    let built = 0;
    const options = {
      model: () => (built++, smallModel()),
      train,
      test,
    };
    await assert.rejects(
      trainingGrid({ ...options, losses: ['ce', 'hinge'], optimizers: ['sgd'] }),
      /unknown loss 'hinge'/,
    );
    await assert.rejects(
      trainingGrid({ ...options, losses: ['ce'], optimizers: ['lbfgs'] }),
      /unknown optimizer 'lbfgs'/,
    );
    assert.equal(built, 0);
  });
});
