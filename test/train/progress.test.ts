// Progress when stdout is not a terminal (CI logs, pipes): plain lines about every 10% of an epoch
// with an ETA, no control characters; on a terminal the live bar. Driven by hand-made events so the
// timing is the test's, not the machine's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ProgressBar,
  formatSeconds,
  type ProgressBarOptions,
} from '../../src/train/callbacks/progress-bar.js';

/** Two epochs of `steps` batches of 10 images at 100 images/s; returns what the bar wrote. */
function drive(options: ProgressBarOptions & { isTTY?: boolean }, steps = 50): string {
  let out = '';
  const bar = new ProgressBar({
    ...options,
    stream: { write: (text: string) => (out += text), isTTY: options.isTTY ?? false, columns: 200 },
  });
  bar.onTrainBegin({
    type: 'trainBegin',
    epochs: 2,
    initialEpoch: 0,
    stepsPerEpoch: steps,
    batchSize: 10,
    samples: steps * 10,
    validationSamples: 0,
    step: 0,
  });
  for (let epoch = 0; epoch < 2; epoch++) {
    bar.onEpochBegin({ type: 'epochBegin', epoch, lr: 0.001 });
    for (let batch = 0; batch < steps; batch++) {
      bar.onBatchEnd({
        type: 'batchEnd',
        epoch,
        batch,
        step: epoch * steps + batch,
        size: 10,
        loss: 0.5,
        accuracy: 0.75,
        batchLoss: 0.5,
        finite: true,
        imagesPerSecond: 100,
      });
    }
    bar.onEpochEnd({
      type: 'epochEnd',
      epoch,
      step: (epoch + 1) * steps,
      loss: 0.5,
      accuracy: 0.75,
      lr: 0.001,
      seconds: 5,
    });
  }
  return out;
}

describe('progress when not on a terminal', () => {
  it('a line at each tenth of an epoch with its ETA, then the epoch line; no control characters', () => {
    const out = drive({ minLineIntervalMs: 0 });
    assert.ok(!out.includes('\r') && !out.includes('\u001b'), 'no carriage return or escape sequence');
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 2 * (9 + 1));
    assert.equal(
      lines[0],
      'Epoch 1/2 - 10% (5/50) - loss: 0.5000 - accuracy: 0.7500 - 100 img/s - ETA 4.5s (all epochs: 9.5s)',
    );
    assert.match(lines[8]!, /^Epoch 1\/2 - 90% \(45\/50\) - .* - ETA 0\.5s \(all epochs: 5\.5s\)$/);
    assert.match(lines[9]!, /^Epoch 1\/2 - 5\.0s - loss: 0\.5000 - accuracy: 0\.7500 - lr: 0\.00100$/);
    // The last epoch's lines have no "all epochs" part.
    assert.equal(
      lines[10],
      'Epoch 2/2 - 10% (5/50) - loss: 0.5000 - accuracy: 0.7500 - 100 img/s - ETA 4.5s',
    );
  });

  it('short epochs stay quiet: lines at most every minLineIntervalMs', () => {
    const lines = drive({ minLineIntervalMs: 60_000 }).trimEnd().split('\n');
    assert.deepEqual(
      lines.map((line) => line.slice(0, 12)),
      ['Epoch 1/2 - ', 'Epoch 2/2 - '],
    );
  });

  it('epochs shorter than ten steps still get at most one line per step', () => {
    const lines = drive({ minLineIntervalMs: 0 }, 4).trimEnd().split('\n');
    assert.deepEqual(
      lines.slice(0, 4).map((line) => /^Epoch 1\/2 - (\d+%)/.exec(line)?.[1] ?? line.slice(0, 20)),
      ['25%', '50%', '75%', 'Epoch 1/2 - 5.0s - l'],
    );
  });

  it('display epochs (verbose 2) prints epoch lines only; a TTY gets the live bar', () => {
    assert.equal(drive({ display: 'epochs', minLineIntervalMs: 0 }).trimEnd().split('\n').length, 2);
    const live = drive({ isTTY: true });
    assert.match(live, /\rEpoch 1\/2 \[=+\] 50\/50 - /);
    assert.ok(live.includes('\u001b[K'), 'the bar clears the rest of the line');
  });

  it('formats durations as seconds, minutes or hours', () => {
    assert.deepEqual(
      [formatSeconds(4.56), formatSeconds(125), formatSeconds(3 * 3600 + 5 * 60)],
      ['4.6s', '2m05s', '3h05m'],
    );
  });

  it('rounds to the unit it shows, so a carry never prints 60 of anything', () => {
    assert.deepEqual([59.94, 59.96, 179.6, 3599.6, 10776, 7199.9].map(formatSeconds), [
      '59.9s',
      '1m00s',
      '3m00s',
      '1h00m',
      '3h00m',
      '2h00m',
    ]);
  });
});
