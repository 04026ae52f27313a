// Batch building alone: one epoch of 60,000 MNIST-sized u8 images in shuffled batches of 256 (the
// `fast` recipe's), through imageBatch into backend storage, released after each batch as training
// does. Rows: scaled (pixel / 255), standardised (a leading Normalization folded in), augmented.
// Each row is the median (and best) of 15 epochs.
//
//   npx tsx bench/batch-building.ts [--backend js|native]
import { standardize } from '../src/data/normalize.js';
import { selectBackend } from '../src/backend/select.js';
import { dispose } from '../src/tensor/tensor.js';
import { imageBatch, toExamples } from '../src/train/batches.js';
import { Random } from '../src/util/random.js';

const backendArg = process.argv.indexOf('--backend');
const backend = selectBackend(
  backendArg > 0 ? { backend: process.argv[backendArg + 1] as 'js' | 'native' } : {},
);
const N = 60_000;
const B = 256;
const random = new Random(1);
// (N, 28, 28) u8, 80% background like MNIST.
const images = new Uint8Array(N * 784);
for (let i = 0; i < images.length; i++)
  images[i] = random.nextFloat() < 0.8 ? 0 : Math.floor(random.nextFloat() * 256);
const examples = toExamples(images, new Uint8Array(N), [28, 28, 1], 'bench');
const order = random.shuffle(Int32Array.from({ length: N }, (_, i) => i));

function epochMs(options: Parameters<typeof imageBatch>[3], count = N): number {
  const started = performance.now();
  for (let s = 0; s < count; s += B) {
    dispose(imageBatch(examples, order.subarray(s, Math.min(count, s + B)), [28, 28, 1], options));
  }
  return performance.now() - started;
}

const rows: [string, () => number][] = [
  ['scaled', () => epochMs({})],
  ['standardised', () => epochMs({ normalization: standardize() })],
  // Augmentation warps every image: a tenth of the epoch, scaled up.
  ['augmented (x10)', () => 10 * epochMs({ augment: { random, options: {} } }, N / 10)],
];
console.log(`backend ${backend.name}, ${N} images, batch ${B}: ms per epoch, median (best) of 15`);
for (const [name, run] of rows) {
  const times = Array.from({ length: 15 }, run).sort((a, b) => a - b);
  console.log(`${name.padEnd(18)} ${times[7]!.toFixed(1).padStart(8)} (${times[0]!.toFixed(1)})`);
}
