// Memory over 10,000 predictions (issue 9): predictDigits and model.predict, one image at a time
// and in batches, keep the heap and the RSS flat, so a long-lived predict loop or server does not
// leak. Prints the drift of each of two rounds; the smaller one is held to the tolerance. (The server's own route is tested in test/server.)
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { getRecipe, predictDigits, selectBackend, tidy } from '../../src/index.js';
import { Random } from '../../src/util/random.js';

const PREDICTIONS = 10_000;
const WARMUP = 2000; // first calls fill caches (kernels, primitives, allocator pools): measured after them
/** Tolerances: a leak of one 784-byte image per call would add 7.8 MB; one (1, K) output, 400 KB. */
const HEAP_TOLERANCE_BYTES = 2 * 1024 * 1024;
const RSS_TOLERANCE_BYTES = 8 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memory(): { heap: number; rss: number } {
  gc();
  gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(2)} MB`;

describe('memory: 10,000 predictions', () => {
  const backend = selectBackend({});
  const model = getRecipe('cnn').model({ classes: 10 });
  model.buildFor([28, 28, 1]);
  const random = new Random(9);
  const IMAGES = 200;
  const pixels = new Uint8Array(IMAGES * 784).map(() => Math.floor(random.nextFloat() * 256)); // (200, 28, 28)

  const MODES = [
    ['predictDigits, one image per call', 1],
    ['predictDigits, batches of 100', 100],
    ['model.predict, one image per call', 1],
  ] as const;
  type Mode = (typeof MODES)[number][0];

  const predictOnce = (mode: Mode, batch: number, call: number): number => {
    const start = (call * batch) % IMAGES;
    const images = pixels.subarray(start * 784, (start + batch) * 784);
    if (mode.startsWith('model.predict')) return tidy(() => model.predict(images).data[0] as number);
    return predictDigits(model, images, { topK: 3 })[0]?.label ?? -1;
  };

  before(() => {
    for (const [mode, batch] of MODES) {
      for (let call = 0; call < Math.max(1, WARMUP / batch); call++) predictOnce(mode, batch, call);
    }
  });

  for (const [name, batch] of MODES) {
    it(`${name}: heap and RSS flat (${backend.name} backend)`, () => {
      const calls = PREDICTIONS / batch;
      let checksum = 0;
      // Two rounds of 10,000: a leak grows the RSS in both, while a one-off step that is not a
      // leak (a thread's 8 MB stack when the machine is busy, an allocator arena) lands in one.
      const drifts = [0, 1].map(() => {
        const before = memory();
        for (let call = 0; call < calls; call++) checksum += predictOnce(name, batch, call);
        const after = memory();
        return { heap: after.heap - before.heap, rss: after.rss - before.rss };
      });
      const heapDrift = Math.min(...drifts.map((drift) => drift.heap));
      const rssDrift = Math.min(...drifts.map((drift) => drift.rss));
      process.stdout.write(
        `memory drift over ${PREDICTIONS} predictions (${name}), two rounds: heap ` +
          `${drifts.map((drift) => mb(drift.heap)).join(', ')}; RSS ${drifts.map((drift) => mb(drift.rss)).join(', ')}\n`,
      );
      assert.ok(Number.isFinite(checksum));
      assert.ok(heapDrift < HEAP_TOLERANCE_BYTES, `heap grew by ${mb(heapDrift)}`);
      assert.ok(rssDrift < RSS_TOLERANCE_BYTES, `RSS grew by ${mb(rssDrift)}`);
    });
  }
});
