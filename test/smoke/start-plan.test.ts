// `mnist-lab start` (npm start) sizes the first run to the backend so it takes about a minute
// either way, and its first line says the backend, the plan, the expected time and, on js, what
// the native backend would do instead.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstRunIntro, firstRunPlan } from '../../src/cli/commands/start.js';

describe('the first run (npm start)', () => {
  it('native trains the full cnn recipe; js the fast recipe for one epoch on 24,000 images; about a minute', () => {
    const native = firstRunPlan({ name: 'native', threads: 2 });
    const js = firstRunPlan({ name: 'js', threads: 2 });
    assert.deepEqual([native.model, native.epochs, native.images], ['cnn', 3, 60000]);
    assert.deepEqual([js.model, js.epochs, js.images], ['fast', 1, 24000]);
    for (const plan of [native, js])
      assert.ok(plan.expectedSeconds >= 15 && plan.expectedSeconds <= 90, `${plan.expectedSeconds} s`);
    // Fewer threads, longer: the estimate scales with them.
    assert.ok(firstRunPlan({ name: 'js', threads: 1 }).expectedSeconds > js.expectedSeconds);
  });

  it('the first line names the backend, the plan and the time; on js also what native would do', () => {
    assert.equal(
      firstRunIntro({ name: 'native', threads: 2 }),
      'mnist-lab start: native backend (2 threads): the full cnn recipe, 3 epochs on all 60,000 training images, about 20 s.',
    );
    assert.equal(
      firstRunIntro({ name: 'js', threads: 2 }),
      'mnist-lab start: js backend (2 threads): the fast recipe for 1 epoch on the first 24,000 of 60,000 training images, ' +
        'about 60 s; the native backend trains the full cnn recipe (3 epochs on all 60,000) in about 20 s.',
    );
  });

  it('wasm (the fallback without oneDNN) trains the fast recipe for one epoch on all 60,000 images', () => {
    const wasm = firstRunPlan({ name: 'wasm', threads: 2 });
    assert.deepEqual([wasm.model, wasm.epochs, wasm.images], ['fast', 1, 60000]);
    assert.ok(wasm.expectedSeconds >= 15 && wasm.expectedSeconds <= 90, `${wasm.expectedSeconds} s`);
    assert.ok(firstRunPlan({ name: 'wasm', threads: 1 }).expectedSeconds > wasm.expectedSeconds);
    assert.equal(
      firstRunIntro({ name: 'wasm', threads: 2 }),
      'mnist-lab start: wasm backend (2 threads): the full fast recipe, 1 epoch on all 60,000 training images, ' +
        'about 30 s; the native backend trains the full cnn recipe (3 epochs on all 60,000) in about 20 s.',
    );
  });
});
