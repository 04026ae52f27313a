// Learning-rate schedules: values at a few steps, against the formulas written out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertClose } from '../nn/helpers.js';
import {
  cosineDecay,
  exponentialDecay,
  oneCycle,
  piecewiseConstantDecay,
  SCHEDULE_NAMES,
  scheduleByName,
  scheduleFromConfig,
  serializeSchedule,
  stepDecay,
} from '../../src/optim/index.js';
import type { LearningRateSchedule, ScheduleName } from '../../src/optim/index.js';

const at = (s: LearningRateSchedule, steps: number[]): number[] => steps.map((step) => s.at(step));

test('step decay: lr * decayRate^floor(step / stepSize)', () => {
  const s = stepDecay({ initialLearningRate: 1, stepSize: 10, decayRate: 0.5 });
  assert.deepEqual(at(s, [0, 9, 10, 25]), [1, 1, 0.5, 0.25]);
  assert.deepEqual(at(stepDecay({ initialLearningRate: 1, stepSize: 3 }), [3]), [0.1]);
});

test('piecewise constant: values[i] while step <= boundaries[i] (Keras)', () => {
  const s = piecewiseConstantDecay({ boundaries: [100, 200], values: [1, 0.5, 0.1] });
  assert.deepEqual(at(s, [0, 100, 101, 200, 201]), [1, 1, 0.5, 0.5, 0.1]);
  assert.throws(
    () => piecewiseConstantDecay({ boundaries: [1], values: [1] }),
    /one more value than boundaries/,
  );
});

test('exponential decay, smooth and staircase', () => {
  const s = exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.5 });
  assertClose(at(s, [0, 5, 10, 15]), [0.1, 0.1 * Math.SQRT1_2, 0.05, 0.1 * 0.5 ** 1.5], 1e-12);
  const stairs = exponentialDecay({
    initialLearningRate: 0.1,
    decaySteps: 10,
    decayRate: 0.5,
    staircase: true,
  });
  assert.deepEqual(at(stairs, [9, 15, 20]), [0.1, 0.05, 0.025]);
});

test('cosine decay: half a cosine to alpha * peak, then flat', () => {
  assertClose(
    at(cosineDecay({ initialLearningRate: 1, decaySteps: 100 }), [0, 50, 100, 200]),
    [1, 0.5, 0, 0],
    1e-12,
  );
  assertClose(
    at(cosineDecay({ initialLearningRate: 1, decaySteps: 100, alpha: 0.1 }), [25, 50, 100]),
    [0.1 + 0.9 * 0.5 * (1 + Math.SQRT1_2), 0.55, 0.1],
    1e-12,
  );
});

test('cosine decay with linear warmup (Keras 3: initial -> warmupTarget, then cosine)', () => {
  const s = cosineDecay({ initialLearningRate: 0, warmupTarget: 1, warmupSteps: 10, decaySteps: 100 });
  assertClose(at(s, [0, 5, 10, 60, 110, 500]), [0, 0.5, 1, 0.5, 0, 0], 1e-12);
  assert.throws(
    () => cosineDecay({ initialLearningRate: 1, decaySteps: 10, warmupSteps: 5 }),
    /needs a warmupTarget/,
  );
});

test('one cycle (PyTorch OneCycleLR): 0.04 -> 1 over 30% of steps, then cosine to 4e-6', () => {
  const s = oneCycle({ maxLearningRate: 1, totalSteps: 100 });
  const initial = 1 / 25;
  const min = initial / 1e4;
  const cos = (from: number, to: number, pct: number): number =>
    to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
  // Phase 1 ends at step 0.3 * 100 - 1 = 29, phase 2 at step 99.
  assertClose(
    at(s, [0, 10, 29, 64, 99, 150]),
    [initial, cos(initial, 1, 10 / 29), 1, cos(1, min, 35 / 70), min, min],
    1e-12,
  );
  const linear = oneCycle({ maxLearningRate: 0.1, totalSteps: 10, pctStart: 0.5, annealStrategy: 'linear' });
  // Phase 1 ends at step 4: 0.004 + (0.1 - 0.004) * 2 / 4 at step 2.
  assertClose(at(linear, [2, 4]), [0.004 + 0.096 * 0.5, 0.1], 1e-12);
  const three = oneCycle({ maxLearningRate: 1, totalSteps: 100, threePhase: true });
  // Phases end at 29 (up), 58 (back to initial), 99 (down to min).
  assertClose(at(three, [29, 58, 99]), [1, initial, min], 1e-12);
});

test('schedules round-trip through their configs', () => {
  for (const s of [
    stepDecay({ initialLearningRate: 1, stepSize: 10 }),
    piecewiseConstantDecay({ boundaries: [5], values: [1, 0.1] }),
    exponentialDecay({ initialLearningRate: 0.1, decaySteps: 10, decayRate: 0.9, staircase: true }),
    cosineDecay({ initialLearningRate: 0, warmupTarget: 0.1, warmupSteps: 5, decaySteps: 50, alpha: 0.01 }),
    oneCycle({ maxLearningRate: 0.01, totalSteps: 235 }),
  ]) {
    const copy = scheduleFromConfig(JSON.parse(JSON.stringify(serializeSchedule(s))));
    assert.equal(copy.className, s.className);
    assert.deepEqual(at(copy, [0, 3, 7, 40, 100]), at(s, [0, 3, 7, 40, 100]));
  }
});

test('schedules by name: one definition for train --schedule and fine-tuning', () => {
  assert.deepEqual([...SCHEDULE_NAMES], ['constant', 'step', 'exponential', 'cosine', 'one-cycle']);
  assert.equal(scheduleByName('constant', { learningRate: 0.01, totalSteps: 100 }), 0.01);
  const named = (name: ScheduleName, totalSteps: number) => {
    const schedule = scheduleByName(name, { learningRate: 0.1, totalSteps });
    assert.notEqual(typeof schedule, 'number');
    return schedule as LearningRateSchedule;
  };
  // step: x0.1 after each third; exponential: x0.1 at the end.
  assertClose(at(named('step', 300), [0, 99, 100, 200]), [0.1, 0.1, 0.01, 0.001], 1e-12);
  assertClose(at(named('exponential', 300), [0, 150, 300]), [0.1, 0.1 * Math.sqrt(0.1), 0.01], 1e-12);
  // cosine: linear warm-up from 0 over 5% of the steps (here 50 of 1000), the peak, then 0 at the end.
  const cosine = named('cosine', 1000);
  assertClose(at(cosine, [0, 25, 50, 525, 1000]), [0, 0.05, 0.1, 0.05, 0], 1e-12);
  // ...capped at 500 steps of warm-up; too few steps for one warm-up step means none.
  assertClose(at(named('cosine', 20000), [250, 500]), [0.05, 0.1], 1e-12);
  assertClose(at(named('cosine', 8), [0, 4, 8]), [0.1, 0.05, 0], 1e-12);
  assert.equal(named('one-cycle', 100).className, 'OneCycle');
  assert.throws(
    () => scheduleByName('linear' as ScheduleName, { learningRate: 1, totalSteps: 1 }),
    /unknown learning-rate schedule 'linear': expected one of constant, step, exponential, cosine, one-cycle/,
  );
});
