import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeSafetensors } from '../../src/formats/safetensors.js';
import { encodeModel } from '../../src/train/checkpoint.js';
import { modelFromBytes } from '../../src/loading/index.js';
import { readCheckpoint } from '../../src/runs/node/directory.js';
import { openRun } from '../../src/runs/node/writer.js';
import { setWriteFaultHook } from '../../src/runs/node/files.js';
import { loadModel } from '../../src/loading/node.js';
import type { FitOptions, TrainEvent } from '../../src/train/types.js';
import { listFiles, newRun, resumeRun, smallModel, syntheticData, tempDir, weightBytes } from './setup.js';

const data = syntheticData(60);
const validation = syntheticData(12, 3);
const BASE: FitOptions = {
  batchSize: 16,
  seed: 21,
  verbose: 0,
  validationData: [validation.images, validation.labels],
};

async function withDir(fn: (path: string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  try {
    await fn(dir.path);
  } finally {
    setWriteFaultHook(undefined);
    dir.remove();
  }
}

describe('run directories and checkpoints', () => {
  it('writes config.json, metrics.jsonl, checkpoints/<step>/ and latest, leaving no temp files', () =>
    withDir(async (runDir) => {
      const model = smallModel();
      await model.fit(data.images, data.labels, {
        ...BASE,
        epochs: 2,
        ...(await newRun(runDir)),
        keepCheckpoints: 5,
      });
      assert.deepEqual(listFiles(runDir), [
        'checkpoints/4/model.safetensors',
        'checkpoints/4/optimizer.safetensors',
        'checkpoints/4/state.json',
        'checkpoints/8/model.safetensors',
        'checkpoints/8/optimizer.safetensors',
        'checkpoints/8/state.json',
        'config.json',
        'latest',
        'metrics.jsonl',
      ]);
      assert.equal(readFileSync(join(runDir, 'latest'), 'utf8'), 'checkpoints/8\n');
      const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
      assert.equal(config.model.className, 'Sequential');
      assert.equal(config.training.optimizer.className, 'Adam');
      assert.equal(config.training.loss.name, 'sparse_categorical_crossentropy');
      assert.equal(config.training.fit.seed, 21);
      assert.equal(config.versions.mnistLab, '0.1.0');
      const events = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as TrainEvent);
      assert.deepEqual(
        events.filter((e) => e.type !== 'batchEnd').map((e) => e.type),
        [
          'trainBegin',
          'epochBegin',
          'epochEnd',
          'checkpoint',
          'epochBegin',
          'epochEnd',
          'checkpoint',
          'trainEnd',
        ],
      );
      const checkpoint = await readCheckpoint(join(runDir, 'checkpoints', '8'));
      assert.equal(checkpoint.state.epoch, 2);
      assert.equal(checkpoint.state.step, 8);
      assert.deepEqual(checkpoint.state.history.epoch, [0, 1]);
      const weights = decodeSafetensors(checkpoint.model);
      assert.deepEqual(
        [...weights.tensors.keys()].map((k) => k.split('/')[1]),
        ['kernel', 'bias', 'kernel', 'bias'],
      );
      const optimizer = decodeSafetensors(checkpoint.optimizer);
      assert.equal(optimizer.metadata['iterations'], '8');
      assert.equal(optimizer.tensors.size, 8); // m and v for four weights
    }));

  it('keeps only the newest keepCheckpoints checkpoints', () =>
    withDir(async (runDir) => {
      await smallModel().fit(data.images, data.labels, {
        ...BASE,
        epochs: 4,
        ...(await newRun(runDir)),
        keepCheckpoints: 2,
      });
      assert.deepEqual(
        listFiles(runDir).filter((f) => f.endsWith('state.json')),
        ['checkpoints/12/state.json', 'checkpoints/16/state.json'],
      );
    }));

  it('resume: 1 epoch + resume to 3 gives the same weights and history as 3 uninterrupted epochs', () =>
    withDir(async (runDir) => {
      const straight = smallModel();
      const expected = await straight.fit(data.images, data.labels, { ...BASE, epochs: 3 });
      await smallModel().fit(data.images, data.labels, { ...BASE, epochs: 1, ...(await newRun(runDir)) });
      // A fresh process would build the model anew: new layer names, new initial weights.
      const resumed = smallModel();
      const history = await resumed.fit(data.images, data.labels, {
        ...BASE,
        epochs: 3,
        ...(await resumeRun(runDir)),
      });
      assert.deepEqual(weightBytes(resumed), weightBytes(straight));
      assert.deepEqual(history, expected);
    }));

  it('resume after an interruption mid-epoch (AbortSignal) continues bit-identically', () =>
    withDir(async (runDir) => {
      const straight = smallModel();
      const completed = await straight.fit(data.images, data.labels, { ...BASE, epochs: 2 });
      assert.equal(completed.stopReason, 'completed');
      assert.equal(completed.stopMessage, undefined);
      const controller = new AbortController();
      const events: TrainEvent[] = [];
      const interrupted = await smallModel().fit(data.images, data.labels, {
        ...BASE,
        epochs: 2,
        ...(await newRun(runDir)),
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.type === 'batchEnd' && e.step === 5) controller.abort(); // epoch 2, after its 2nd batch
        },
      });
      const end = events.at(-1);
      assert.ok(end?.type === 'trainEnd' && end.stopped && end.stopReason === 'interrupted');
      assert.equal(interrupted.stopReason, 'interrupted');
      assert.equal(readFileSync(join(runDir, 'latest'), 'utf8').trim(), 'checkpoints/6');
      const resumed = smallModel();
      await resumed.fit(data.images, data.labels, { ...BASE, epochs: 2, ...(await resumeRun(runDir)) });
      assert.deepEqual(weightBytes(resumed), weightBytes(straight));
    }));

  it('a signal a timer aborts stops fit, with no run files written to give the timer its turn', async () => {
    // 60 images, batch 1, up to 500 epochs: 30,000 steps (seconds), none of them waiting for I/O.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 100);
    const steps: number[] = [];
    const history = await smallModel().fit(data.images, data.labels, {
      ...BASE,
      batchSize: 1,
      epochs: 500,
      signal: controller.signal,
      onEvent: (e) => void (e.type === 'batchEnd' && steps.push(e.step)),
    });
    clearTimeout(timer);
    assert.equal(history.stopReason, 'interrupted', `fit ran all ${steps.length} steps`);
    assert.ok(steps.length < 500 * 60, `${steps.length} steps`);
  });

  it('loadModel restores architecture and weights: identical predictions, compiled with the run loss', () =>
    withDir(async (runDir) => {
      const model = smallModel();
      await model.fit(data.images, data.labels, { ...BASE, epochs: 1, ...(await newRun(runDir)) });
      const fromRun = await loadModel(runDir);
      const fromCheckpoint = await loadModel(join(runDir, 'checkpoints', '4'));
      const expected = Array.from(model.predict(validation.images).data);
      assert.deepEqual(Array.from(fromRun.predict(validation.images).data), expected);
      assert.deepEqual(Array.from(fromCheckpoint.predict(validation.images).data), expected);
      assert.equal(fromRun.className, 'Sequential');
      assert.deepEqual(
        fromRun.layers.map((l) => l.className),
        ['Flatten', 'Dense', 'Dropout', 'Dense'],
      );
      const evaluated = await fromRun.evaluate(validation.images, validation.labels);
      assert.deepEqual(evaluated, await model.evaluate(validation.images, validation.labels));
      // Also from bytes alone (the browser path).
      assert.deepEqual(weightBytes(modelFromBytes(encodeModel(model))), weightBytes(model));
    }));

  for (const stage of ['opened', 'written', 'synced', 'renamed'] as const) {
    it(`a crash while writing a checkpoint (${stage}) leaves the previous one loadable`, () =>
      withDir(async (runDir) => {
        const model = smallModel();
        await model.fit(data.images, data.labels, { ...BASE, epochs: 1, ...(await newRun(runDir)) });
        const saved = weightBytes(model);
        // Every atomic write from here on belongs to the second checkpoint (step 8): crash in
        // its state.json, or (renamed) right after its latest pointer moved.
        const target = stage === 'renamed' ? 'latest' : 'state.json';
        let armed = true;
        setWriteFaultHook((at, path) => {
          if (armed && at === stage && path.endsWith(target)) {
            armed = false;
            throw new Error(`injected fault at ${stage}`);
          }
        });
        await assert.rejects(
          model.fit(data.images, data.labels, { ...BASE, epochs: 2, ...(await resumeRun(runDir)) }),
          /injected fault/,
        );
        setWriteFaultHook(undefined);
        assert.ok(
          listFiles(runDir).every((f) => !f.includes('.tmp-')),
          listFiles(runDir).join(' '),
        );
        const latest = readFileSync(join(runDir, 'latest'), 'utf8').trim();
        // Before the rename of latest: still the first checkpoint. After: the second, complete.
        assert.equal(latest, stage === 'renamed' ? 'checkpoints/8' : 'checkpoints/4');
        const restored = await loadModel(runDir);
        if (stage !== 'renamed') assert.deepEqual(weightBytes(restored), saved);
      }));
  }

  it('a corrupted checkpoint file is refused by its checksum, naming the file', () =>
    withDir(async (runDir) => {
      await smallModel().fit(data.images, data.labels, { ...BASE, epochs: 1, ...(await newRun(runDir)) });
      const path = join(runDir, 'checkpoints', '4', 'model.safetensors');
      const bytes = readFileSync(path);
      bytes[bytes.length - 1] ^= 0xff;
      writeFileSync(path, bytes);
      await assert.rejects(loadModel(runDir), /model\.safetensors: content does not match the checksum/);
      await assert.rejects(
        smallModel().fit(data.images, data.labels, { ...BASE, epochs: 2, ...(await resumeRun(runDir)) }),
        /checksum/,
      );
    }));

  it('resuming a folder that holds no run, or a run without a checkpoint, fails clearly', () =>
    withDir(async (runDir) => {
      await assert.rejects(resumeRun(runDir), /is not an mnist-lab run \(no readable config\.json there\)/);
      const run = await openRun(runDir);
      await run.writeConfig({ format: 'mnist-lab/run@1' });
      await run.close();
      await assert.rejects(
        smallModel().fit(data.images, data.labels, { ...BASE, ...(await resumeRun(runDir)) }),
        /nothing to resume in .* \(no checkpoint yet\)/,
      );
    }));
});
