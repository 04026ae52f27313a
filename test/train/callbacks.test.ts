import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sgd } from '../../src/optim/index.js';
import { TrainingContext } from '../../src/train/callbacks/callback.js';
import { EarlyStopping } from '../../src/train/callbacks/early-stopping.js';
import { LearningRateScheduler } from '../../src/train/callbacks/learning-rate-scheduler.js';
import { CsvLogger, JsonlLogger } from '../../src/train/callbacks/loggers.js';
import { ModelCheckpoint } from '../../src/train/callbacks/model-checkpoint.js';
import { TerminateOnNaN } from '../../src/train/callbacks/terminate-on-nan.js';
import { loadModel } from '../../src/loading/node.js';
import { jsonlLogger, modelCheckpoint } from '../../src/train/run.js';
import type { EpochEndEvent, TrainEvent } from '../../src/train/types.js';
import {
  PIXELS,
  listFiles,
  newRun,
  resumeRun,
  smallModel,
  syntheticData,
  tempDir,
  weightBytes,
} from './setup.js';

const data = syntheticData(48);

/**
 * fit options whose validation labels are the training labels shifted by one class: the better the
 * model learns the training labels, the worse its validation loss, so epoch 0 has the best.
 */
function worseningValidation(epochs: number) {
  const labels = data.labels.map((k) => (k + 1) % 3);
  return {
    epochs,
    batchSize: 16,
    verbose: 0,
    validationData: [data.images, labels] as [Uint8Array, Uint8Array],
  } as const;
}
const validation = syntheticData(12, 5);

function epochEnd(epoch: number, valLoss: number): EpochEndEvent {
  return {
    type: 'epochEnd',
    epoch,
    step: epoch,
    loss: 1,
    accuracy: 0.5,
    valLoss,
    valAccuracy: 0.5,
    lr: 0.01,
    seconds: 1,
  };
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement and restores the best weights', async () => {
    const model = smallModel();
    model.buildFor([6, 6, 1]);
    const stopper = new EarlyStopping({ monitor: 'val_loss', patience: 2, restoreBestWeights: true });
    const context = new TrainingContext(model, sgd());
    stopper.setContext(context);
    stopper.onTrainBegin({
      type: 'trainBegin',
      epochs: 10,
      initialEpoch: 0,
      stepsPerEpoch: 1,
      batchSize: 1,
      samples: 1,
      validationSamples: 1,
      step: 0,
    });
    const losses = [1.0, 0.5, 0.6, 0.7, 0.4];
    const snapshots: Uint8Array[] = [];
    for (let epoch = 0; epoch < losses.length && !context.stopTraining; epoch++) {
      model.weights[0]!.value.data.fill(epoch); // each epoch leaves different weights
      snapshots.push(weightBytes(model));
      stopper.onEpochEnd(epochEnd(epoch, losses[epoch]!));
    }
    assert.equal(context.stopTraining, true);
    assert.equal(stopper.stoppedEpoch, 3);
    assert.equal(stopper.bestEpoch, 1);
    assert.match(
      context.stopMessage ?? '',
      /val_loss did not improve for 2 epoch\(s\) \(best 0.50000 at epoch 2\)/,
    );
    stopper.onTrainEnd({ type: 'trainEnd', epoch: 4, step: 4, stopped: true, seconds: 1 });
    assert.deepEqual(weightBytes(model), snapshots[1]);
  });

  it('ends a real fit early (minDelta no epoch can reach)', async () => {
    const history = await smallModel().fit(data.images, data.labels, {
      epochs: 20,
      verbose: 0,
      callbacks: [new EarlyStopping({ monitor: 'loss', minDelta: 100, patience: 1 })],
    });
    assert.deepEqual(history.epoch, [0, 1]);
    assert.equal(history.stopReason, 'early-stopping');
    assert.match(history.stopMessage ?? '', /^early stopping: loss did not improve for 1 epoch/);
  });

  it('a resumed run stops at the epoch the uninterrupted run stops at (wait and best are checkpointed)', async () => {
    // Epoch 0 has the best val_loss, so with patience 2 the run stops after epoch 2.
    const fit = worseningValidation(8);
    const stopper = (): EarlyStopping => new EarlyStopping({ monitor: 'val_loss', patience: 2 });
    const straight = await smallModel().fit(data.images, data.labels, { ...fit, callbacks: [stopper()] });
    assert.deepEqual(straight.epoch, [0, 1, 2]);

    const dir = tempDir();
    try {
      const controller = new AbortController();
      await smallModel().fit(data.images, data.labels, {
        ...fit,
        ...(await newRun(dir.path)),
        signal: controller.signal,
        callbacks: [stopper()],
        // Interrupted in epoch 2, after epoch 1 did not improve: one epoch of waiting is saved.
        onEvent: (e) => (e.type === 'batchEnd' && e.epoch === 2 ? controller.abort() : undefined),
      });
      const latest = readFileSync(join(dir.path, 'latest'), 'utf8').trim();
      const state = JSON.parse(readFileSync(join(dir.path, latest, 'state.json'), 'utf8')) as {
        callbacks?: Record<string, Record<string, unknown>>;
      };
      assert.deepEqual(state.callbacks?.['EarlyStopping(val_loss)'], {
        monitor: 'val_loss',
        mode: 'min',
        wait: 1,
        best: straight.history.val_loss?.[0],
        epoch: 0,
      });

      const resumed = stopper();
      const history = await smallModel().fit(data.images, data.labels, {
        ...fit,
        ...(await resumeRun(dir.path)),
        callbacks: [resumed],
      });
      assert.deepEqual(history.epoch, straight.epoch);
      assert.deepEqual(history.history.val_loss, straight.history.val_loss);
      assert.equal(resumed.stoppedEpoch, 2);
      assert.equal(resumed.bestEpoch, 0);
    } finally {
      dir.remove();
    }
  });

  it('refuses to monitor validation values without validation data', async () => {
    await assert.rejects(
      smallModel().fit(data.images, data.labels, { verbose: 0, callbacks: [new EarlyStopping()] }),
      /monitors 'val_loss' but fit\(\) has no validation data/,
    );
  });
});

describe('TerminateOnNaN', () => {
  it('stops at the first non-finite loss, names the step, and leaves the weights untouched', async () => {
    const model = smallModel({ dropout: false });
    const dir = tempDir();
    try {
      await model.fit(data.images, data.labels, {
        epochs: 1,
        batchSize: 16,
        verbose: 0,
        seed: 1,
        ...(await newRun(dir.path)),
      });
      const before = weightBytes(model);
      const poisoned = Float32Array.from(data.images, (p) => p / 255);
      poisoned[2 * PIXELS * 16 + 5] = NaN; // an image of the third batch
      const terminate = new TerminateOnNaN();
      const events: TrainEvent[] = [];
      const history = await model.fit(poisoned, data.labels, {
        epochs: 3,
        batchSize: 16,
        shuffle: false,
        verbose: 0,
        callbacks: [terminate],
        ...(await resumeRun(dir.path)),
        onEvent: (e) => events.push(e),
      });
      // relu may mask the NaN in the forward pass; the first kernel's gradient still carries it.
      assert.match(
        terminate.message ?? '',
        /^training diverged: .* is not finite at step 5 \(epoch 2, batch 3\)/,
      );
      const end = events.at(-1);
      assert.ok(end?.type === 'trainEnd' && end.stopped && end.stopReason === terminate.message);
      assert.equal(history.stopReason, 'diverged');
      assert.equal(history.stopMessage, terminate.message);
      assert.deepEqual(history.epoch, [0, 1]); // the interrupted epoch still logs, Keras style
      // Steps 3 and 4 were applied, step 5 was not; the diverged epoch wrote no checkpoint.
      assert.notDeepEqual(weightBytes(model), before);
      assert.deepEqual(readFileSync(join(dir.path, 'latest'), 'utf8').trim(), 'checkpoints/3');
    } finally {
      dir.remove();
    }
  });
});

describe('LearningRateScheduler', () => {
  it('sets the rate at each epoch start; history.lr and events show it', async () => {
    const model = smallModel();
    const history = await model.fit(data.images, data.labels, {
      epochs: 3,
      verbose: 0,
      callbacks: [new LearningRateScheduler((epoch) => 0.1 / (epoch + 1))],
    });
    assert.deepEqual(history.history.lr, [0.1, 0.05, 0.1 / 3]);
  });
});

describe('loggers', () => {
  it('CsvLogger writes a header and one row per epoch (Keras columns)', async () => {
    let text = '';
    await smallModel().fit(data.images, data.labels, {
      epochs: 2,
      verbose: 0,
      validationData: [validation.images, validation.labels],
      callbacks: [new CsvLogger({ sink: (t) => void (text += t) })],
    });
    const lines = text.trim().split('\n');
    assert.equal(lines[0], 'epoch,accuracy,loss,lr,val_accuracy,val_loss');
    assert.equal(lines.length, 3);
    assert.match(lines[2]!, /^1,[\d.]+,[\d.]+,0\.01,[\d.]+,[\d.]+$/);
  });

  it('JsonlLogger writes one parseable event per line, to a sink or a file', async () => {
    const dir = tempDir();
    try {
      let text = '';
      const path = join(dir.path, 'logs', 'events.jsonl');
      await smallModel().fit(data.images, data.labels, {
        epochs: 2,
        batchSize: 24,
        verbose: 0,
        callbacks: [new JsonlLogger({ sink: (t) => void (text += t) }), jsonlLogger({ path })],
      });
      const types = text
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as TrainEvent).type);
      assert.deepEqual(types, [
        'trainBegin',
        'epochBegin',
        'batchEnd',
        'batchEnd',
        'epochEnd',
        'epochBegin',
        'batchEnd',
        'batchEnd',
        'epochEnd',
        'trainEnd',
      ]);
      assert.equal(readFileSync(path, 'utf8'), text);
    } finally {
      dir.remove();
    }
  });
});

describe('file access is explicit (nothing registers it on import)', () => {
  it('a logger or ModelCheckpoint given a path but no file access refuses with the way to give it', () => {
    assert.throws(() => new CsvLogger({ path: 'x.csv' }), /CsvLogger: writing to 'x\.csv' needs file access/);
    assert.throws(
      () => new JsonlLogger({ path: 'x.jsonl' }),
      /JsonlLogger: writing to 'x\.jsonl' needs file access/,
    );
    assert.throws(
      () => new ModelCheckpoint({ directory: 'ckpt' }),
      /ModelCheckpoint: writing to 'ckpt' needs file access/,
    );
  });

  it('fit() refuses the removed runDir/resumeFrom options instead of ignoring them', async () => {
    await assert.rejects(
      smallModel().fit(data.images, data.labels, { verbose: 0, ...({ runDir: 'x' } as object) }),
      /runDir and resumeFrom were replaced by run: pass run: await openRun\(dir\)/,
    );
  });
});

describe('ModelCheckpoint', () => {
  it('writes best/ and last/ model files that loadModel() reads back', async () => {
    const dir = tempDir();
    try {
      const checkpoint = modelCheckpoint({ directory: dir.path, monitor: 'val_accuracy' });
      const model = smallModel();
      await model.fit(data.images, data.labels, {
        epochs: 3,
        verbose: 0,
        validationData: [validation.images, validation.labels],
        callbacks: [checkpoint],
      });
      assert.deepEqual(listFiles(dir.path), ['best/model.safetensors', 'last/model.safetensors']);
      assert.equal(checkpoint.mode, 'max');
      const last = await loadModel(join(dir.path, 'last'));
      assert.deepEqual(weightBytes(last), weightBytes(model));
      const best = await loadModel(join(dir.path, 'best', 'model.safetensors'));
      assert.equal(best.weights.length, model.weights.length);
    } finally {
      dir.remove();
    }
  });

  it('a resumed run keeps its best so far: worse epochs after the interruption leave best/ alone', async () => {
    // Epoch 0 is the best and every later epoch is worse.
    const fit = worseningValidation(3);
    const straight = await smallModel().fit(data.images, data.labels, fit);
    const valLoss = straight.history.val_loss as number[];
    assert.ok(valLoss[1]! > valLoss[0]! && valLoss[2]! > valLoss[0]!, `val_loss ${valLoss.join(', ')}`);

    const dir = tempDir();
    try {
      const bestFile = join(dir.path, 'best', 'model.safetensors');
      const controller = new AbortController();
      await smallModel().fit(data.images, data.labels, {
        ...fit,
        ...(await newRun(dir.path)),
        signal: controller.signal,
        callbacks: [modelCheckpoint({ directory: dir.path, saveBestOnly: true })],
        // Interrupted in epoch 1, after its first batch: a mid-epoch checkpoint.
        onEvent: (e) => (e.type === 'batchEnd' && e.epoch === 1 ? controller.abort() : undefined),
      });
      const bestBefore = readFileSync(bestFile);
      const latest = readFileSync(join(dir.path, 'latest'), 'utf8').trim();
      const state = JSON.parse(readFileSync(join(dir.path, latest, 'state.json'), 'utf8')) as {
        epoch: number;
        callbacks?: Record<string, { best: number; epoch: number }>;
      };
      assert.equal(state.epoch, 1);
      assert.deepEqual(state.callbacks, {
        'ModelCheckpoint(val_loss)': { monitor: 'val_loss', mode: 'min', best: valLoss[0], epoch: 0 },
      });

      const resumedCheckpoint = modelCheckpoint({ directory: dir.path, saveBestOnly: true });
      const history = await smallModel().fit(data.images, data.labels, {
        ...fit,
        ...(await resumeRun(dir.path)),
        callbacks: [resumedCheckpoint],
      });
      assert.deepEqual(history.history.val_loss, valLoss); // the run went on as one fit would
      assert.equal(resumedCheckpoint.bestEpoch, 0);
      assert.equal(resumedCheckpoint.best, valLoss[0]);
      assert.deepEqual(readFileSync(bestFile), bestBefore, 'best/ still holds epoch 0');
    } finally {
      dir.remove();
    }
  });
});

describe('ProgressBar', () => {
  const run = async (isTTY: boolean, verbose: 1 | 2 = 1): Promise<string> => {
    let out = '';
    await smallModel().fit(data.images, data.labels, {
      epochs: 2,
      batchSize: 8,
      verbose,
      output: { write: (t: string) => (out += t), isTTY, columns: 200 },
    });
    return out;
  };

  it('prints one line per epoch when the stream is not a TTY and epochs are short', async () => {
    const lines = (await run(false)).split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^Epoch 1\/2 - \d+\.\ds - loss: \d\.\d{4} - accuracy: \d\.\d{4} - lr: 0\.0100$/);
    assert.equal(lines[2], '');
  });

  it('draws a live bar on a TTY and ends each epoch with its summary line', async () => {
    const out = await run(true);
    assert.match(out, /\rEpoch 1\/2 \[=+\] 6\/6 - loss: /);
    assert.equal(out.split('\n').length, 3);
    assert.ok(!(await run(true, 2)).includes('['), 'verbose 2: no bar even on a TTY');
  });
});
