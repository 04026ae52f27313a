// Mixed precision (fit({precision: 'bfloat16'}), train --precision bf16): bfloat16 convolutions
// and products where the backend has them, the same replay guarantees, and a one-line refusal
// where the backend or the CPU lacks them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import type { Model } from '../../src/train/model.js';
import type { FitOptions } from '../../src/train/types.js';
import { Random } from '../../src/util/random.js';
import { getRecipe } from '../../src/zoo/recipes.js';
import { REPO_ROOT } from '../eval/helpers.js';
import { weightBytes } from './setup.js';

const native = nativeBackendAvailable();
const bf16 = native.available && createNativeBackend().precisions?.includes('bfloat16');

function data(count: number): { x: Uint8Array; y: Uint8Array } {
  const random = new Random(4);
  return {
    x: Uint8Array.from({ length: count * 784 }, () => random.nextInt(256)),
    y: Uint8Array.from({ length: count }, (_, i) => i % 10),
  };
}

async function fast(options: FitOptions): Promise<{ model: Model; weights: Uint8Array }> {
  const recipe = getRecipe('fast');
  const model = recipe.model();
  model.compile({
    optimizer: recipe.optimizer(100),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
  });
  const { x, y } = data(16 * 5);
  await model.fit(x, y, { batchSize: 16, epochs: 1, verbose: 0, seed: 2, shuffle: false, ...options });
  return { model, weights: weightBytes(model) };
}

describe('precision bfloat16', () => {
  it('is refused on the js backend with one line, before any step', async () => {
    setBackendInstance(createJsBackend());
    await assert.rejects(
      fast({ precision: 'bfloat16' }),
      /^Error: precision bfloat16: the js backend computes in float32 only \(bfloat16 needs the native backend on a CPU with AVX512_BF16 or AMX\); use float32 instead$/,
    );
  });

  it(
    'trains the fast recipe: replayed equals eager bit for bit, and differs from float32',
    { skip: bf16 ? false : 'no bfloat16 on this CPU or no native addon' },
    async () => {
      setBackendInstance(createNativeBackend());
      const lines: string[] = [];
      const replayed = await fast({ precision: 'bfloat16', debug: (line) => lines.push(line) });
      const eager = await fast({ precision: 'bfloat16', compile: false });
      const float32 = await fast({});
      assert.ok(Buffer.from(replayed.weights).equals(Buffer.from(eager.weights)), 'replay equals eager');
      assert.ok(
        !Buffer.from(replayed.weights).equals(Buffer.from(float32.weights)),
        'bf16 computes differently',
      );
      assert.ok(
        lines.some((line) => /\(bfloat16\) replays as one native plan/.test(line)),
        lines.join(' | '),
      );
      // The same weights in float32 and bfloat16 predict nearly the same logits.
      const x = data(32).x;
      const a = replayed.model.predict(x, { batchSize: 32 }).data;
      const b = replayed.model.predict(x, { batchSize: 32, precision: 'bfloat16' }).data;
      let worst = 0;
      for (let i = 0; i < a.length; i++)
        worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
      assert.ok(worst > 0 && worst < 0.1, `largest logit difference ${worst}`);
    },
  );

  it(
    'train --precision bf16 where oneDNN may not use AVX512_BF16: one line, exit 1, before loading data',
    { skip: native.available ? false : 'no native addon' },
    async () => {
      const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
        execFile(
          process.execPath,
          [
            '--import',
            'tsx',
            join(REPO_ROOT, 'src/cli/main.ts'),
            'train',
            '--model',
            'mlp',
            '--precision',
            'bf16',
          ],
          { cwd: REPO_ROOT, env: { ...process.env, ONEDNN_MAX_CPU_ISA: 'AVX512_CORE' } },
          (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
        ),
      );
      assert.equal(result.code, 1);
      assert.deepEqual(result.stderr.trim().split('\n'), [
        'mnist-lab: precision bfloat16: the native backend computes in float32 only (bfloat16 needs the native backend on a CPU with AVX512_BF16 or AMX); use float32 instead',
      ]);
    },
  );
});
