import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeSafetensors } from '../../src/formats/safetensors.js';
import { adam } from '../../src/optim/index.js';
import { TrainingContext } from '../../src/train/callbacks/callback.js';
import type { SavePoint } from '../../src/train/callbacks/callback.js';
import { RunCheckpoints } from '../../src/train/callbacks/run-checkpoints.js';
import type { CheckpointData, FitOptions, TrainEvent } from '../../src/train/types.js';
import { Random } from '../../src/util/random.js';
import { MemoryRun, PIXELS, smallModel, syntheticData, weightBytes } from './setup.js';

const data = syntheticData(48);
const BASE: FitOptions = { batchSize: 16, seed: 5, verbose: 0 };

/** A safetensors file's tensors in order, shapes and bytes (their names hold each model's layer names). */
function tensorsOf(bytes: Uint8Array): unknown {
  return [...decodeSafetensors(bytes).tensors.values()].map((t) => [t.shape, [...t.bytes]]);
}

/** What a checkpoint holds, comparable with deepEqual across two models of one architecture. */
function contents(checkpoint: CheckpointData): unknown {
  const { model, optimizer, state } = checkpoint;
  return { model: tensorsOf(model), optimizer: tensorsOf(optimizer), state };
}

describe('RunCheckpoints', () => {
  it('passed in callbacks, without a run, writes the checkpoints fit({run}) writes', async () => {
    const run = new MemoryRun();
    await smallModel().fit(data.images, data.labels, { ...BASE, epochs: 2, run, keepCheckpoints: 4 });
    const store = new MemoryRun();
    const events: TrainEvent[] = [];
    await smallModel().fit(data.images, data.labels, {
      ...BASE,
      epochs: 2,
      callbacks: [new RunCheckpoints({ store, keep: 4 })],
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(
      store.checkpoints.map((c) => c.state.step),
      [3, 6],
    );
    assert.deepEqual(store.checkpoints.map(contents), run.checkpoints.map(contents));
    assert.deepEqual([...store.keeps, ...run.keeps], [4, 4, 4, 4]);
    // The callback sends its checkpoint events to the sinks; without a run nothing else is written.
    assert.deepEqual(
      events.filter((e) => e.type === 'checkpoint'),
      [
        { type: 'checkpoint', epoch: 1, step: 3, path: 'memory/3' },
        { type: 'checkpoint', epoch: 2, step: 6, path: 'memory/6' },
      ],
    );
    assert.equal(store.config, undefined);
    assert.deepEqual(store.events, []);
  });

  it('given with the run, replaces the one fit would build: its every wins, nothing is written twice', async () => {
    const run = new MemoryRun();
    await smallModel().fit(data.images, data.labels, {
      ...BASE,
      epochs: 3,
      run,
      callbacks: [new RunCheckpoints({ store: run, every: 'end' })],
    });
    assert.deepEqual(
      run.checkpoints.map((c) => c.state.epoch),
      [3],
    );
    assert.deepEqual(
      run.events.filter((e) => e.type === 'checkpoint' || e.type === 'epochEnd').map((e) => e.type),
      ['epochEnd', 'epochEnd', 'epochEnd', 'checkpoint'],
    );
  });

  it('resumes a fit from its store: 1 epoch, then resumed to 3, equals 3 uninterrupted epochs', async () => {
    const straight = smallModel();
    const expected = await straight.fit(data.images, data.labels, { ...BASE, epochs: 3 });
    const store = new MemoryRun();
    await smallModel().fit(data.images, data.labels, {
      ...BASE,
      epochs: 1,
      callbacks: [new RunCheckpoints({ store })],
    });
    const resumed = smallModel();
    const history = await resumed.fit(data.images, data.labels, {
      ...BASE,
      epochs: 3,
      resume: true,
      callbacks: [new RunCheckpoints({ store })],
    });
    assert.deepEqual(weightBytes(resumed), weightBytes(straight));
    assert.deepEqual(history.history.loss, expected.history.loss);
    // The checkpoint resumed from (step 3) is not written again.
    assert.deepEqual(
      store.checkpoints.map((c) => c.state.step),
      [3, 6, 9],
    );
  });

  it('writes no checkpoint after an epoch with a non-finite step', async () => {
    const poisoned = Float32Array.from(data.images, (p) => p / 255);
    poisoned[PIXELS * 20 + 5] = NaN; // an image of the second batch of every epoch (no shuffle)
    const store = new MemoryRun();
    await smallModel({ dropout: false }).fit(poisoned, data.labels, {
      ...BASE,
      epochs: 2,
      shuffle: false,
      callbacks: [new RunCheckpoints({ store })],
    });
    assert.deepEqual(store.checkpoints, []);
    // The same fit on clean pixels writes one per epoch.
    await smallModel({ dropout: false }).fit(
      Float32Array.from(data.images, (p) => p / 255),
      data.labels,
      { ...BASE, epochs: 2, shuffle: false, callbacks: [new RunCheckpoints({ store })] },
    );
    assert.equal(store.checkpoints.length, 2);
  });

  describe('at save points, on its own', () => {
    const model = smallModel();
    model.buildFor([6, 6, 1]);

    /** A callback attached to a context of `model`, trained for `epochs` epochs. */
    function attached(options: { every?: 'epoch' | 'end'; epochs: number }): {
      callback: RunCheckpoints;
      store: MemoryRun;
      context: TrainingContext;
    } {
      const store = new MemoryRun();
      const callback = new RunCheckpoints({ store, ...(options.every ? { every: options.every } : {}) });
      const context = new TrainingContext(model, adam());
      callback.setContext(context);
      callback.onTrainBegin({
        type: 'trainBegin',
        epochs: options.epochs,
        initialEpoch: 0,
        stepsPerEpoch: 2,
        batchSize: 16,
        samples: 32,
        validationSamples: 0,
        step: 0,
      });
      return { callback, store, context };
    }

    /** One epoch of two batches, `finite` telling whether each step was. */
    function runEpoch(callback: RunCheckpoints, epoch: number, finite: [boolean, boolean]): void {
      callback.onEpochBegin({ type: 'epochBegin', epoch, lr: 0.01 });
      finite.forEach((ok, batch) =>
        callback.onBatchEnd({
          type: 'batchEnd',
          epoch,
          batch,
          step: epoch * 2 + batch,
          size: 16,
          loss: 1,
          accuracy: 0.5,
          batchLoss: ok ? 1 : NaN,
          finite: ok,
          imagesPerSecond: 1,
        }),
      );
    }

    function point(kind: SavePoint['kind'], epoch: number, batchInEpoch: number, step: number): SavePoint {
      const random = new Random(1).state();
      return {
        kind,
        state: {
          format: 'mnist-lab/train-state@1',
          epoch,
          batchInEpoch,
          step,
          shuffleRandom: random,
          dropoutRandom: random,
          epochProgress: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
          history: { epoch: [], history: { loss: [], accuracy: [], lr: [] } },
        },
        callbackStates: () => ({ 'EarlyStopping(loss)': { wait: 1 } }),
        log: async () => undefined,
      };
    }

    it('skips the epoch end after a non-finite step, not the next epoch nor an interruption', async () => {
      const { callback, store } = attached({ epochs: 3 });
      runEpoch(callback, 0, [true, false]);
      await callback.onSavePoint(point('epochEnd', 1, 0, 2));
      runEpoch(callback, 1, [true, true]);
      await callback.onSavePoint(point('epochEnd', 2, 0, 4));
      runEpoch(callback, 2, [false, true]);
      await callback.onSavePoint(point('interrupted', 2, 2, 6));
      assert.deepEqual(
        store.checkpoints.map((c) => [c.state.epoch, c.state.batchInEpoch, c.state.step]),
        [
          [2, 0, 4],
          [2, 2, 6],
        ],
      );
      // The other callbacks' states go with each checkpoint.
      assert.deepEqual(store.checkpoints[0]?.state.callbacks, { 'EarlyStopping(loss)': { wait: 1 } });
    });

    it("every 'end': only the last epoch, a stopped run's epoch, or an interruption", async () => {
      const { callback, store, context } = attached({ every: 'end', epochs: 3 });
      runEpoch(callback, 0, [true, true]);
      await callback.onSavePoint(point('interrupted', 0, 1, 1));
      await callback.onSavePoint(point('epochEnd', 1, 0, 2));
      runEpoch(callback, 1, [true, true]);
      context.stop('enough');
      await callback.onSavePoint(point('epochEnd', 2, 0, 4));
      const last = attached({ every: 'end', epochs: 3 });
      runEpoch(last.callback, 2, [true, true]);
      await last.callback.onSavePoint(point('epochEnd', 3, 0, 6));
      assert.deepEqual(
        [...store.checkpoints, ...last.store.checkpoints].map((c) => c.state.step),
        [1, 4, 6],
      );
    });

    it('never writes the same step twice', async () => {
      const { callback, store } = attached({ epochs: 2 });
      runEpoch(callback, 0, [true, true]);
      await callback.onSavePoint(point('epochEnd', 1, 0, 2));
      await callback.onSavePoint(point('interrupted', 1, 0, 2));
      assert.equal(store.checkpoints.length, 1);
    });
  });

  it('refuses a keep that is not a positive integer and an unknown every', () => {
    const store = new MemoryRun();
    assert.throws(
      () => new RunCheckpoints({ store, keep: 0 }),
      /^Error: RunCheckpoints: keep \(fit's keepCheckpoints\) must be a positive integer, found 0$/,
    );
    assert.throws(
      () => new RunCheckpoints({ store, every: 'step' as 'end' }),
      /RunCheckpoints: every \(fit's checkpointEvery\) must be 'epoch' or 'end', found 'step'/,
    );
  });
});
