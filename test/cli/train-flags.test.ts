// `mnist-lab train`'s experiment flags reach fit(): the loss (--loss, --label-smoothing), the
// optimizer's options (--weight-decay, --clip-norm), early stopping (--early-stopping --patience) and
// the best epoch's model (--save-best, written as <run>/best/model.safetensors).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkExperimentFlags,
  experimentCallbacks,
  trainingLoss,
  withOptimizerFlags,
} from '../../src/cli/commands/train-options.js';
import { cosineDecay, sgd } from '../../src/optim/index.js';
import { EarlyStopping } from '../../src/train/callbacks/early-stopping.js';
import { ModelCheckpoint } from '../../src/train/callbacks/model-checkpoint.js';
import { cli, scratch } from '../runs/helpers.js';

const root = scratch('train-flags');
after(() => root.remove());

describe('train flags', () => {
  it('train --loss mse --weight-decay --clip-norm --early-stopping --save-best: a run that records them', () => {
    const out = join(root.path, 'run');
    const result = cli([
      'train',
      '--model',
      'mlp',
      '--limit',
      '400',
      '--epochs',
      '2',
      '--validation-split',
      '0.2',
      '--optimizer',
      'sgd',
      '--loss',
      'mse',
      '--weight-decay',
      '0.0005',
      '--clip-norm',
      '2',
      '--early-stopping',
      '--patience',
      '1',
      '--save-best',
      '--offline',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(result.status, 0, result.stderr);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
      training: { loss: unknown; optimizer: { className: string; config: Record<string, unknown> } };
      runConfig: { flags: Record<string, unknown> };
    };
    assert.deepEqual(config.training.loss, { name: 'mean_squared_error', config: { fromLogits: true } });
    assert.equal(config.training.optimizer.className, 'SGD');
    assert.equal(config.training.optimizer.config['weightDecay'], 0.0005);
    assert.equal(config.training.optimizer.config['clipNorm'], 2);
    // Saved with the run, so --resume continues with the same loss and options.
    assert.deepEqual(
      Object.fromEntries(
        ['loss', 'weightDecay', 'clipNorm', 'earlyStopping', 'patience', 'saveBest'].map((k) => [
          k,
          config.runConfig.flags[k],
        ]),
      ),
      { loss: 'mse', weightDecay: 0.0005, clipNorm: 2, earlyStopping: true, patience: 1, saveBest: true },
    );
    assert.ok(existsSync(join(out, 'best', 'model.safetensors')), 'the best epoch is kept');
    // ...and its value and epoch with every checkpoint, so --resume replaces it only with a better one.
    const latest = readFileSync(join(out, 'latest'), 'utf8').trim();
    const state = JSON.parse(readFileSync(join(out, latest, 'state.json'), 'utf8')) as {
      history: { history: { val_loss: number[] } };
      callbacks: Record<string, { best: number; epoch: number }>;
    };
    const valLoss = state.history.history.val_loss;
    const best = state.callbacks['ModelCheckpoint(val_loss)'];
    assert.equal(best?.best, Math.min(...valLoss));
    assert.equal(best?.epoch, valLoss.indexOf(Math.min(...valLoss)));
    const summary = cli(['summary', join(out, 'best', 'model.safetensors')]);
    assert.match(summary.stdout, /Total params: 101,770/);
  });

  it('builds the loss, optimizer and callbacks the flags name', () => {
    // The recipe's label smoothing applies to the cross-entropies, not to mse.
    assert.deepEqual(trainingLoss({}, 0.1).getConfig(), { fromLogits: true, labelSmoothing: 0.1 });
    assert.deepEqual(trainingLoss({ loss: 'bce', labelSmoothing: 0.2 }, 0.1).getConfig(), {
      fromLogits: true,
      labelSmoothing: 0.2,
    });
    assert.equal(trainingLoss({ loss: 'mse' }, 0.1).name, 'mean_squared_error');
    // An optimizer rebuilt with the flags keeps its class, rate schedule and other options.
    const schedule = cosineDecay({ initialLearningRate: 0.1, decaySteps: 10 });
    const rebuilt = withOptimizerFlags(sgd({ learningRate: schedule, momentum: 0.9 }), {
      weightDecay: 0.01,
      clipNorm: 1,
    });
    assert.equal(rebuilt.className, 'SGD');
    assert.deepEqual(rebuilt.getConfig(), {
      learningRate: { className: 'CosineDecay', config: schedule.getConfig() },
      momentum: 0.9,
      nesterov: false,
      weightDecay: 0.01,
      clipNorm: 1,
    });
    const unchanged = sgd();
    assert.equal(withOptimizerFlags(unchanged, {}), unchanged);
    const [stopping, best] = experimentCallbacks(
      { earlyStopping: true, patience: 3, saveBest: true, validationSplit: 0.1 },
      join(root.path, 'x'),
    );
    assert.ok(stopping instanceof EarlyStopping);
    assert.equal(stopping.patience, 3);
    assert.equal(stopping.monitor, 'val_loss');
    assert.ok(best instanceof ModelCheckpoint);
    assert.equal(best.saveBestOnly, true);
    assert.deepEqual(experimentCallbacks({}, 'x'), []);
    assert.doesNotThrow(() => checkExperimentFlags({ earlyStopping: true, validationSplit: 0.1 }));
  });
});
