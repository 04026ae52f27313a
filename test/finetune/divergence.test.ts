// Divergence in fine-tuning: runFineTune stops at the first non-finite loss or gradient and throws
// TrainingDivergedError naming the step (the CLI turns it into exit code 3); with
// stopOnNonFinite: false it skips such steps and finishes. A real divergence, no test hook: Adam
// at a learning rate of 1e30 moves every weight by ~1e30 in one step, and the logits overflow.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runFineTune } from '../../src/finetune/session.js';
import { TrainingDivergedError } from '../../src/index.js';
import { LAYER_CLASSES } from '../../src/loading/index.js';
import { scratchDir, syntheticTask, tinyBase } from './setup.js';

describe('runFineTune: divergence', () => {
  const task = syntheticTask(32);
  const base = tinyBase;
  const diverging = {
    task,
    layers: LAYER_CLASSES,
    method: 'full' as const,
    epochs: 3,
    batchSize: 8,
    learningRate: 1e30,
  };

  it('stops at the first non-finite step with an error naming it', async () => {
    const runDir = join(scratchDir('diverge'), 'run');
    await assert.rejects(runFineTune({ ...diverging, base: base(), runDir }), (error: unknown) => {
      assert.ok(error instanceof TrainingDivergedError, `a TrainingDivergedError, found ${String(error)}`);
      assert.match(
        error.message,
        /^fine-tuning: training diverged: .* is not finite at step \d+ \(epoch \d+, batch \d+\)/,
      );
      return true;
    });
  });

  it('with stopOnNonFinite: false, skips the non-finite steps and finishes', async () => {
    const runDir = join(scratchDir('diverge-skip'), 'run');
    const result = await runFineTune({ ...diverging, base: base(), runDir, stopOnNonFinite: false });
    assert.equal(result.method, 'full');
  });
});
