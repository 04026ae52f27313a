import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Callback } from '../../src/train/callbacks/callback.js';
import type { SavePoint } from '../../src/train/callbacks/callback.js';
import type {
  BatchBeginEvent,
  BatchEndEvent,
  EpochBeginEvent,
  EpochEndEvent,
  TrainBeginEvent,
  TrainEndEvent,
  TrainEvent,
} from '../../src/train/types.js';
import { smallModel, syntheticData } from './setup.js';

/** Records every hook call as a short string. */
class Recorder extends Callback {
  readonly calls: string[] = [];
  override onTrainBegin(e: TrainBeginEvent): void {
    this.calls.push(`trainBegin epochs=${e.epochs} steps=${e.stepsPerEpoch}`);
  }
  override onEpochBegin(e: EpochBeginEvent): void {
    this.calls.push(`epochBegin ${e.epoch}`);
  }
  override onBatchBegin(e: BatchBeginEvent): void {
    this.calls.push(`batchBegin ${e.epoch}.${e.batch} step=${e.step}`);
  }
  override onBatchEnd(e: BatchEndEvent): void {
    this.calls.push(`batchEnd ${e.epoch}.${e.batch} step=${e.step}`);
  }
  override async onEpochEnd(e: EpochEndEvent): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 1)); // async hooks are awaited in order
    this.calls.push(`epochEnd ${e.epoch} val=${e.valLoss !== undefined}`);
  }
  override onTrainEnd(e: TrainEndEvent): void {
    this.calls.push(`trainEnd epoch=${e.epoch} stopped=${e.stopped}`);
  }
  override onSavePoint(p: SavePoint): void {
    this.calls.push(`savePoint ${p.kind} epoch=${p.state.epoch} batch=${p.state.batchInEpoch}`);
  }
}

describe('callback hooks', () => {
  it('are called in the exact order of a 2 epoch x 2 batch fit with validation', async () => {
    const data = syntheticData(20);
    const validation = syntheticData(6, 9);
    const first = new Recorder();
    const second = new Recorder();
    const events: string[] = [];
    await smallModel().fit(data.images, data.labels, {
      epochs: 2,
      batchSize: 10,
      validationData: [validation.images, validation.labels],
      callbacks: [first, second],
      verbose: 0,
      onEvent: (e: TrainEvent) => events.push(e.type),
    });
    const expected = [
      'trainBegin epochs=2 steps=2',
      'epochBegin 0',
      'batchBegin 0.0 step=0',
      'batchEnd 0.0 step=0',
      'batchBegin 0.1 step=1',
      'batchEnd 0.1 step=1',
      'epochEnd 0 val=true',
      'savePoint epochEnd epoch=1 batch=0',
      'epochBegin 1',
      'batchBegin 1.0 step=2',
      'batchEnd 1.0 step=2',
      'batchBegin 1.1 step=3',
      'batchEnd 1.1 step=3',
      'epochEnd 1 val=true',
      'savePoint epochEnd epoch=2 batch=0',
      'trainEnd epoch=2 stopped=false',
    ];
    assert.deepEqual(first.calls, expected);
    assert.deepEqual(second.calls, expected);
    // Save points are hooks, not events: the sinks do not see them.
    assert.deepEqual(
      events,
      expected.map((c) => c.split(' ')[0]).filter((type) => type !== 'savePoint'),
    );
  });

  it('a callback stops training by flag after the current batch; the epoch still ends', async () => {
    class StopAtSecondBatch extends Callback {
      override onBatchEnd(e: BatchEndEvent): void {
        if (e.step === 1) this.context.stop('enough');
      }
    }
    const recorder = new Recorder();
    const data = syntheticData(40);
    const history = await smallModel().fit(data.images, data.labels, {
      epochs: 3,
      batchSize: 10,
      callbacks: [new StopAtSecondBatch(), recorder],
      verbose: 0,
    });
    assert.deepEqual(recorder.calls.slice(-4), [
      'batchEnd 0.1 step=1',
      'epochEnd 0 val=false',
      'savePoint epochEnd epoch=1 batch=0',
      'trainEnd epoch=1 stopped=true',
    ]);
    assert.deepEqual(history.epoch, [0]);
  });

  it('an interrupted fit offers a save point where it stopped, before trainEnd and without epochEnd', async () => {
    const controller = new AbortController();
    class AbortAtFirstBatch extends Callback {
      override onBatchEnd(): void {
        controller.abort();
      }
    }
    const recorder = new Recorder();
    const data = syntheticData(40);
    const history = await smallModel().fit(data.images, data.labels, {
      epochs: 3,
      batchSize: 10,
      callbacks: [new AbortAtFirstBatch(), recorder],
      signal: controller.signal,
      verbose: 0,
    });
    assert.deepEqual(recorder.calls.slice(-3), [
      'batchEnd 0.0 step=0',
      'savePoint interrupted epoch=0 batch=1',
      'trainEnd epoch=0 stopped=true',
    ]);
    assert.equal(history.stopReason, 'interrupted');
  });
});

describe('successive fits', () => {
  it('a second fit() continues the optimizer and the global step', async () => {
    const data = syntheticData(20);
    const model = smallModel();
    const steps: number[] = [];
    const onEvent = (e: TrainEvent): void => {
      if (e.type === 'batchEnd') steps.push(e.step);
    };
    await model.fit(data.images, data.labels, { epochs: 1, batchSize: 10, verbose: 0, onEvent });
    await model.fit(data.images, data.labels, { epochs: 1, batchSize: 10, verbose: 0, onEvent });
    assert.deepEqual(steps, [0, 1, 2, 3]);
  });
});
