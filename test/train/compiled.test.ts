// Captured steps (src/tensor/capture.ts through fit/evaluate/predict): the replayed step is the
// eager step, bit for bit, on every zoo model and every backend (js and wasm replay as a loop over
// their kernels, native as one plan); the guard of a non-finite step holds in replay; what cannot
// be replayed runs eagerly with its reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { createNodeWasmBackend, wasmBackendAvailable } from '../../src/backend/wasm/node.js';
import { setBackendInstance } from '../../src/backend/registry.js';
import { sparseCategoricalCrossentropy } from '../../src/losses/index.js';
import { Layer } from '../../src/nn/layer.js';
import { Callback } from '../../src/train/callbacks/callback.js';
import type { CallContext } from '../../src/nn/layer.js';
import { dense, flatten } from '../../src/nn/index.js';
import { adam, rmsprop } from '../../src/optim/index.js';
import type { Optimizer } from '../../src/optim/index.js';
import { Tensor } from '../../src/tensor/tensor.js';
import { sequential } from '../../src/train/model.js';
import type { Model } from '../../src/train/model.js';
import type { BatchEndEvent, FitOptions, TrainEvent } from '../../src/train/types.js';
import { Random } from '../../src/util/random.js';
import { ZOO_MODEL_NAMES, getRecipe } from '../../src/zoo/recipes.js';
import { newRun, resumeRun, tempDir, weightBytes } from './setup.js';

const native = nativeBackendAvailable();
const wasm = wasmBackendAvailable();
const backends: [string, () => Backend, string | false][] = [
  ['js', () => createJsBackend(), false],
  [
    'native',
    () => createNativeBackend(),
    native.available ? false : `native addon unavailable: ${native.reason}`,
  ],
  // One thread: no workers to stop when the file ends.
  [
    'wasm',
    () => createNodeWasmBackend({ threads: 1 }),
    wasm.available ? false : `wasm module unavailable: ${wasm.reason}`,
  ],
];

/** `count` random u8 images of 28x28 and labels 0..9, from a seed. */
function images(count: number, seed: number): { x: Uint8Array; y: Uint8Array } {
  const random = new Random(seed);
  const x = Uint8Array.from({ length: count * 784 }, () => random.nextInt(256));
  const y = Uint8Array.from({ length: count }, (_, i) => (i * 7 + seed) % 10);
  return { x, y };
}

interface Run {
  weights: Uint8Array;
  losses: number[];
  finite: boolean[];
  debug: string[];
}

async function train(
  makeModel: () => Model,
  optimizer: () => Optimizer,
  data: { x: Uint8Array | Float32Array; y: Uint8Array },
  options: FitOptions,
): Promise<Run> {
  const model = makeModel();
  model.compile({ optimizer: optimizer(), loss: sparseCategoricalCrossentropy({ fromLogits: true }) });
  const losses: number[] = [];
  const finite: boolean[] = [];
  const debug: string[] = [];
  await model.fit(data.x, data.y, {
    epochs: 1,
    verbose: 0,
    seed: 3,
    shuffle: false,
    debug: (line) => debug.push(line),
    onEvent: (event: TrainEvent) => {
      if (event.type !== 'batchEnd') return;
      losses.push(event.batchLoss);
      finite.push(event.finite);
    },
    ...options,
  });
  return { weights: weightBytes(model), losses, finite, debug };
}

function assertSameRun(replayed: Run, eager: Run): void {
  assert.deepEqual(replayed.losses, eager.losses, 'batch losses');
  assert.deepEqual(replayed.finite, eager.finite, 'finite flags');
  assert.ok(Buffer.from(replayed.weights).equals(Buffer.from(eager.weights)), 'weights are bit-identical');
}

for (const [name, make, skip] of backends) {
  describe(`captured steps on the ${name} backend`, { skip }, () => {
    const backend = skip ? undefined : make();
    const activate = (): void => {
      if (backend) setBackendInstance(backend);
    };
    const replayLine = name === 'native' ? /replays as one native plan/ : /replays as a loop over/;

    for (const zooName of ZOO_MODEL_NAMES.filter((m) => m !== 'vit')) {
      it(`${zooName}: 6 steps and a short last batch, replayed, equal eager bit for bit`, async () => {
        activate();
        const recipe = getRecipe(zooName);
        // Batches of 8: two recordings, three replays, then a batch of 5 (a new shape, recorded).
        const data = images(8 * 5 + 5, 11);
        const options: FitOptions = { batchSize: 8 };
        const eager = await train(
          () => recipe.model(),
          () => recipe.optimizer(100),
          data,
          { ...options, compile: false },
        );
        const replayed = await train(
          () => recipe.model(),
          () => recipe.optimizer(100),
          data,
          options,
        );
        assertSameRun(replayed, eager);
        assert.ok(
          replayed.debug.some((line) => replayLine.test(line)),
          `a replay line in: ${replayed.debug.join(' | ')}`,
        );
        assert.equal(eager.debug.length, 0, 'compile: false records nothing');
      });
    }

    it('a non-finite step is skipped in replay as in eager (the guard holds)', async () => {
      activate();
      const data = images(8 * 6, 5);
      const x = Float32Array.from(data.x, (v) => v / 255);
      x[8 * 4 * 784 + 100] = Number.NaN; // batch 4: after the plan is made
      const model = (): Model =>
        sequential([
          flatten({ inputShape: [28, 28, 1] }),
          dense({ units: 16, activation: 'relu' }),
          dense({ units: 10 }),
        ]);
      const eager = await train(model, () => adam(), { x, y: data.y }, { batchSize: 8, compile: false });
      const replayed = await train(model, () => adam(), { x, y: data.y }, { batchSize: 8 });
      assert.deepEqual(eager.finite, [true, true, true, true, false, true]);
      assertSameRun(replayed, eager);
      assert.ok(replayed.debug.some((line) => replayLine.test(line)));
    });

    it('steps that cannot replay run eagerly, with the reason, and still equal eager', async () => {
      activate();
      const data = images(8 * 4, 6);
      const model = (): Model => sequential([flatten({ inputShape: [28, 28, 1] }), dense({ units: 10 })]);
      for (const [optimizer, reason] of [
        [() => rmsprop(), /RMSprop updates the weights in JavaScript/],
        [() => adam({ clipNorm: 1 }), /clipNorm/],
      ] as const) {
        const eager = await train(model, optimizer, data, { batchSize: 8, compile: false });
        const replayed = await train(model, optimizer, data, { batchSize: 8 });
        assertSameRun(replayed, eager);
        assert.ok(
          replayed.debug.some((line) => reason.test(line)),
          replayed.debug.join(' | '),
        );
        assert.ok(!replayed.debug.some((line) => replayLine.test(line)));
      }
    });

    it('host code that changes a weight or reads a computed value inside the step is refused', async () => {
      activate();
      const data = images(8 * 4, 7);
      /** Adds 1 to its kernel's first value from JavaScript on every call (not through a kernel). */
      class Drifting extends Layer {
        readonly className = 'Drifting';
        constructor(private readonly mode: 'write' | 'read') {
          super({}, 'drifting');
        }
        call(x: Tensor, _context: CallContext): Tensor {
          if (this.mode === 'read') void x.toArray();
          return x;
        }
      }
      for (const [mode, reason] of [
        ['read', /host code reads a computed value/],
        ['write', /host code changed a weight/],
      ] as const) {
        const model = (): Model => {
          const m = sequential([
            flatten({ inputShape: [28, 28, 1] }),
            dense({ units: 10 }),
            new Drifting(mode),
          ]);
          if (mode === 'write') {
            const call = Drifting.prototype.call;
            (m.layers[2] as Drifting).call = function (x, context) {
              const kernel = (m.layers[1] as unknown as { kernel: Tensor }).kernel;
              (kernel.data as Float32Array)[0] = (kernel.data[0] as number) + 1;
              return call.call(this, x, context);
            };
          }
          return m;
        };
        const eager = await train(model, () => adam(), data, { batchSize: 8, compile: false });
        const replayed = await train(model, () => adam(), data, { batchSize: 8 });
        assertSameRun(replayed, eager);
        assert.ok(
          replayed.debug.some((line) => reason.test(line)),
          replayed.debug.join(' | '),
        );
      }
    });

    it('a layer frozen by a callback mid-run drops the plan, and the run still equals eager', async () => {
      activate();
      const data = images(8 * 8, 12);
      /** Freezes the first dense layer after batch 4 (when the step already replays). */
      class FreezeAt4 extends Callback {
        override onBatchEnd(event: BatchEndEvent): void {
          if (event.batch === 4) (this.context.model.layers[1] as Layer).trainable = false;
        }
      }
      const model = (): Model =>
        sequential([
          flatten({ inputShape: [28, 28, 1] }),
          dense({ units: 16, activation: 'relu' }),
          dense({ units: 10 }),
        ]);
      const eager = await train(model, () => adam(), data, {
        batchSize: 8,
        compile: false,
        callbacks: [new FreezeAt4()],
      });
      const replayed = await train(model, () => adam(), data, { batchSize: 8, callbacks: [new FreezeAt4()] });
      assertSameRun(replayed, eager);
    });

    it('a run interrupted while its step replays resumes from its run directory bit-identically', async () => {
      activate();
      // fast: the model carries its Normalization (folded into the u8 batches); Adam, one-cycle.
      const recipe = getRecipe('fast');
      const make = (): Model => {
        const model = recipe.model();
        model.compile({
          optimizer: recipe.optimizer(100),
          loss: sparseCategoricalCrossentropy({
            fromLogits: true,
            labelSmoothing: recipe.labelSmoothing ?? 0,
          }),
        });
        return model;
      };
      const data = images(8 * 6, 13);
      const fit = (model: Model, options: FitOptions): Promise<unknown> =>
        model.fit(data.x, data.y, { epochs: 2, batchSize: 8, seed: 5, verbose: 0, ...options });
      const eager = make();
      await fit(eager, { compile: false });
      const dir = tempDir('mnist-lab-compiled-resume-');
      try {
        const controller = new AbortController();
        const debug: string[] = [];
        await fit(make(), {
          ...(await newRun(dir.path)),
          signal: controller.signal,
          debug: (line) => debug.push(line),
          // Epoch 2, batch 3: the plan was made in epoch 1.
          onEvent: (event) => {
            if (event.type === 'batchEnd' && event.step === 8) controller.abort();
          },
        });
        assert.ok(
          debug.some((line) => replayLine.test(line)),
          debug.join(' | '),
        );
        const resumed = make();
        await fit(resumed, await resumeRun(dir.path));
        assert.ok(
          Buffer.from(weightBytes(resumed)).equals(Buffer.from(weightBytes(eager))),
          'resumed replayed weights equal the uninterrupted eager run',
        );
      } finally {
        dir.remove();
      }
    });

    it('predict and evaluate replay and equal eager', async () => {
      activate();
      const recipe = getRecipe('cnn');
      const model = recipe.model();
      model.compile({ optimizer: adam(), loss: sparseCategoricalCrossentropy({ fromLogits: true }) });
      model.buildFor([28, 28, 1], new Random(2));
      const data = images(50, 9);
      const debug: string[] = [];
      for (let call = 0; call < 4; call++) {
        const eager = model.predict(data.x, { batchSize: 16, compile: false });
        const replayed = model.predict(data.x, { batchSize: 16, debug: (line) => debug.push(line) });
        assert.deepEqual(Array.from(replayed.data), Array.from(eager.data), `predict call ${call}`);
        const eagerEval = await model.evaluate(data.x, data.y, { batchSize: 16, compile: false });
        const replayedEval = await model.evaluate(data.x, data.y, { batchSize: 16 });
        assert.deepEqual(replayedEval, eagerEval, `evaluate call ${call}`);
      }
      assert.ok(
        debug.some((line) => replayLine.test(line)),
        debug.join(' | '),
      );
      // A model with a Normalization layer: float inputs run it, u8 pixels have it folded into the
      // batch (CallContext.normalizedBy). Each gets a plan of its own, equal to eager.
      const standardised = getRecipe('fast').model();
      standardised.buildFor([28, 28, 1], new Random(4));
      const floats = Float32Array.from(data.x, (v) => v / 255);
      for (let call = 0; call < 3; call++) {
        for (const [what, x] of [
          ['float', floats],
          ['u8', data.x],
        ] as const) {
          const eager = standardised.predict(x, { batchSize: 16, compile: false });
          const replayed = standardised.predict(x, { batchSize: 16 });
          assert.deepEqual(Array.from(replayed.data), Array.from(eager.data), `${what} predict call ${call}`);
        }
      }
      // A large batch runs in chunks of 128 (the last one overlapping): the same rows as small batches.
      const large = images(300, 10).x;
      const chunked = model.predict(large, { batchSize: 300 });
      assert.deepEqual(chunked.shape, [300, 10]);
      assert.deepEqual(Array.from(chunked.data), Array.from(model.predict(large, { batchSize: 50 }).data));
    });
  });
}
