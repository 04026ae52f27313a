// The fit plan: fitPlan() counts what fit() performs (validation split, then limit; accumulation;
// a short last batch; stepsPerEpoch; initialEpoch), and the callers that build a schedule over a
// fit (fineTune, the train command) give it the step count fit then performs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fineTune } from '../../src/finetune/recipe.js';
import { syntheticData as fineTuneData, tinyCnn } from '../finetune/setup.js';
import type { LearningRateSchedule, Optimizer } from '../../src/optim/optimizer.js';
import { fitPlan } from '../../src/train/plan.js';
import type { TrainEvent } from '../../src/train/types.js';
import { cli, scratch } from '../runs/helpers.js';
import { smallModel, syntheticData } from './setup.js';

describe('fitPlan', () => {
  it('counts a short last batch as a step', () => {
    assert.deepEqual(fitPlan(100, { batchSize: 32 }), {
      heldOut: 0,
      trainExamples: 100,
      stepExamples: 32,
      stepsPerEpoch: 4,
      epochs: 1,
      totalSteps: 4,
      scheduleSteps: 4,
    });
  });

  it('holds out round(N x split) examples, as the stratified split does, then applies the limit', () => {
    // 10 x 0.25 = 2.5 held out rounds to 3: 7 left (round(10 x 0.75) would say 8).
    assert.equal(fitPlan(10, { validationSplit: 0.25, batchSize: 7 }).stepsPerEpoch, 1);
    assert.equal(fitPlan(10, { validationSplit: 0.25 }).trainExamples, 7);
    assert.equal(fitPlan(100, { validationSplit: 0.2, limit: 90 }).trainExamples, 80);
    assert.equal(fitPlan(100, { validationSplit: 0.2, limit: 30 }).trainExamples, 30);
    // Validation data given: the split is not made.
    const validationData = [new Uint8Array(0), new Uint8Array(0)] as const;
    assert.equal(fitPlan(100, { validationSplit: 0.2, validationData }).heldOut, 0);
  });

  it('counts accumulated micro-batches as one step, and epochs after initialEpoch', () => {
    const plan = fitPlan(50, { batchSize: 8, accumulateSteps: 2, epochs: 5, initialEpoch: 2 });
    assert.equal(plan.stepExamples, 16);
    assert.equal(plan.stepsPerEpoch, 4);
    assert.equal(plan.totalSteps, 12);
    assert.equal(fitPlan(50, { batchSize: 8, stepsPerEpoch: 3, epochs: 2 }).totalSteps, 6);
  });

  it('has no steps without examples, and a schedule still spans one', () => {
    const plan = fitPlan(0);
    assert.equal(plan.totalSteps, 0);
    assert.equal(plan.scheduleSteps, 1);
  });

  it('refuses what fit() refuses', () => {
    assert.throws(
      () => fitPlan(10, { batchSize: 0 }),
      /fit\(\): batchSize must be a positive integer, found 0/,
    );
    assert.throws(() => fitPlan(10, { accumulateSteps: 1.5 }), /accumulateSteps must be a positive integer/);
  });

  it('is what fit() performs: split, limit, accumulation and a short last batch', async () => {
    const data = syntheticData(60);
    const options = {
      epochs: 2,
      batchSize: 4,
      accumulateSteps: 2,
      validationSplit: 0.25,
      limit: 37,
    } as const;
    const plan = fitPlan(60, options);
    assert.equal(plan.trainExamples, 37);
    assert.equal(plan.stepsPerEpoch, 5); // 4 steps of 8, one of 5
    const events: TrainEvent[] = [];
    await smallModel().fit(data.images, data.labels, {
      ...options,
      verbose: 0,
      onEvent: (event) => events.push(event),
    });
    const begin = events.find((e) => e.type === 'trainBegin');
    assert.ok(begin?.type === 'trainBegin');
    assert.equal(begin.stepsPerEpoch, plan.stepsPerEpoch);
    assert.equal(begin.samples, plan.trainExamples);
    assert.equal(begin.validationSamples, plan.heldOut);
    assert.equal(events.filter((e) => e.type === 'batchEnd').length, plan.totalSteps);
  });
});

/** The step count a schedule spans, from its saved config. */
function scheduleLength(schedule: Record<string, unknown>): number {
  const config = schedule['config'] as Record<string, number>;
  return config['totalSteps'] ?? config['decaySteps']!;
}

describe('schedules over a fit span the steps fit performs', () => {
  const root = scratch('fit-plan');
  after(() => root.remove());

  it('fineTune: its schedule ends at the last step, with accumulation, a split and a limit', async () => {
    const { images, labels } = fineTuneData(40);
    // 40 - 10 held out = 30, limit 25, steps of 2 x 4: 4 steps an epoch (the last of 1), 8 in all.
    const result = await fineTune(tinyCnn(), images, labels, {
      method: 'full',
      epochs: 2,
      learningRate: 0.01,
      schedule: 'one-cycle',
      fit: { batchSize: 4, accumulateSteps: 2, validationSplit: 0.25, limit: 25, verbose: 0 },
    });
    const optimizer = result.model.compiled?.optimizer as Optimizer;
    const schedule = optimizer.learningRate as LearningRateSchedule;
    assert.equal(optimizer.iterations, 8);
    assert.equal(scheduleLength({ config: schedule.getConfig() }), optimizer.iterations);
  });

  it('train --schedule: the run config records the steps the run performed', () => {
    // Classes 0 and 1: 12,665 examples; half held out is 6,332.5, rounded to 6,333, leaving 6,332
    // (round(12,665 x 0.5) would leave 6,333): two steps of 2 x 1,583, not three.
    const out = join(root.path, 'run');
    const result = cli([
      'train',
      '--model',
      'mlp',
      '--classes',
      '0,1',
      '--validation-split',
      '0.5',
      '--batch-size',
      '1583',
      '--accumulate',
      '2',
      '--schedule',
      'exponential',
      '--epochs',
      '1',
      '--offline',
      '--out',
      out,
      '--json',
    ]);
    assert.equal(result.status, 0, result.stderr);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as {
      training: { optimizer: { config: { learningRate: Record<string, unknown> } } };
    };
    const latest = readFileSync(join(out, 'latest'), 'utf8').trim();
    const state = JSON.parse(readFileSync(join(out, latest, 'state.json'), 'utf8')) as { step: number };
    assert.equal(state.step, 2);
    assert.equal(scheduleLength(config.training.optimizer.config.learningRate), state.step);
  });
});
