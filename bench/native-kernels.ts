// Kernel-level timing of the native backend on the `cnn` recipe's training step (batch 128) and
// the `mlp` recipe's per-step kernel sequence (batch 32). Each row is the median over many
// iterations; outputs go back to the pool after every call, as in training. Letters: N batch;
// activations NHWC, conv kernels HWIO, dense kernels [in, out].
//
//   npx tsx bench/native-kernels.ts [--threads N] [--filter conv] [--bare]
//
// --filter: only the cnn rows whose name contains the text (no step sum; the mlp part is skipped).
// --bare: also builds native/bench/conv-bare.cc (a C++ compiler and oneDNN's headers needed; DNNL_ROOT
// as for the addon) and runs it with the same thread count: the same convolutions as plain oneDNN
// calls, no N-API and no JS, to separate oneDNN's time from the binding's. The two tables run one
// after the other: on a shared machine compare the best columns, or run with --threads 1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Backend, Conv2DAttrs, Window2D } from '../src/backend/kernels.js';
import { loadAddon } from '../src/backend/native/binding.js';
import { createNativeBackend, nativeBackendAvailable } from '../src/backend/native/index.js';

const availability = nativeBackendAvailable();
if (!availability.available) {
  console.log(`native backend unavailable: ${availability.reason}`);
  process.exit(0);
}
const threadsArg = process.argv.indexOf('--threads');
const filterArg = process.argv.indexOf('--filter');
const filter = filterArg > 0 ? (process.argv[filterArg + 1] ?? '') : '';
const bare = process.argv.includes('--bare');
const backend: Backend = createNativeBackend(
  threadsArg > 0 ? { threads: Number(process.argv[threadsArg + 1]) } : {},
);
const k = backend.kernels;

function random(n: number, scale = 1): Float32Array {
  const x = backend.alloc('float32', n);
  for (let i = 0; i < n; i++) x[i] = (Math.random() * 2 - 1) * scale;
  return x;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

interface Timing {
  median: number;
  best: number;
}

/**
 * Median and best ms of `run` (which returns what it allocated, released after timing). The best
 * is printed too because the development machine is shared: with another process on the second
 * core, every OpenMP barrier can wait a scheduler slice, and the median shows that, not the code.
 */
function time(run: () => unknown, iterations: number): Timing {
  const samples: number[] = [];
  for (let i = 0; i < iterations + 5; i++) {
    const start = process.hrtime.bigint();
    const out = run();
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= 5) samples.push(elapsed);
    releaseAll(out);
  }
  return { median: median(samples), best: Math.min(...samples) };
}

function releaseAll(out: unknown): void {
  if (out instanceof Float32Array || out instanceof Int32Array) backend.release(out);
  else if (out && typeof out === 'object') for (const v of Object.values(out)) releaseAll(v);
}

function window(N: number, H: number, W: number, C: number, KH: number, stride: number): Window2D {
  const OH = Math.floor((H - KH) / stride) + 1;
  const OW = Math.floor((W - KH) / stride) + 1;
  return {
    N,
    H,
    W,
    C,
    KH,
    KW: KH,
    OH,
    OW,
    strideH: stride,
    strideW: stride,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
    dilationH: 1,
    dilationW: 1,
  };
}

// ---- cnn, batch 128: Conv(32,3) relu -> MaxPool 2 -> Conv(64,3) relu -> MaxPool 2 -> Dense 1600->10 ----
const N = 128;
const conv1: Conv2DAttrs = { ...window(N, 28, 28, 1, 3, 1), O: 32 }; // (128,26,26,32)
const pool1 = window(N, 26, 26, 32, 2, 2); // (128,13,13,32)
const conv2: Conv2DAttrs = { ...window(N, 13, 13, 32, 3, 1), O: 64 }; // (128,11,11,64)
const pool2 = window(N, 11, 11, 64, 2, 2); // (128,5,5,64)

const x0 = random(N * 28 * 28); // (128,28,28,1)
const w1 = random(3 * 3 * 1 * 32, 0.3);
const b1 = random(32, 0.1);
const y1 = k.Conv2D(x0, w1, b1, conv1);
const a1 = k.Relu(y1);
const p1 = k.MaxPool(a1, pool1);
const w2 = random(3 * 3 * 32 * 64, 0.1);
const b2 = random(64, 0.1);
const y2 = k.Conv2D(p1.y, w2, b2, conv2);
const a2 = k.Relu(y2);
const p2 = k.MaxPool(a2, pool2);
const mask = random(N * 1600);
const wd = random(1600 * 10, 0.05);
const bd = random(10, 0.1);
const labels = backend.alloc('int32', N);
for (let i = 0; i < N; i++) labels[i] = i % 10;
const logits = k.MatMul(p2.y, wd, { batch: 1, m: N, k: 1600, n: 10, transposeA: false, transposeB: false });
const xent = k.SoftmaxCrossEntropy(logits, labels, { batch: N, classes: 10, labelSmoothing: 0 });
const one = backend.alloc('float32', 1);
one[0] = 1;
const dlogits = k.SoftmaxCrossEntropyGrad(xent.probs, labels, one, {
  batch: N,
  classes: 10,
  labelSmoothing: 0,
});
const dPool2 = random(N * 5 * 5 * 64);
const dA2 = random(N * 11 * 11 * 64);
const dPool1 = random(N * 13 * 13 * 32);
const dA1 = random(N * 26 * 26 * 32);
const sizes = [3 * 3 * 32, 32, 3 * 3 * 32 * 64, 64, 1600 * 10, 10]; // 34,826 parameters
const params = sizes.map((n) => random(n));
const grads = sizes.map((n) => random(n, 0.01));
const ms = sizes.map((n) => random(n, 0));
const vs = sizes.map((n) => random(n, 0).fill(0));
let step = 0;
const dropoutState = Uint32Array.of(1, 2, 3, 4);

const iterations = 200;
// REPLACED marks the unfused kernels the training step no longer calls (a fused row does their work):
// timed for comparison, left out of the sum.
const REPLACED = 'replaced';
const rows: [name: string, run: () => unknown, replaced?: typeof REPLACED][] = [
  ['conv1 fwd (+bias)  x(128,28,28,1) w(3,3,1,32)', () => k.Conv2D(x0, w1, b1, conv1), REPLACED],
  ['relu1 fwd', () => k.Relu(y1), REPLACED],
  ['conv1 fwd (+bias, fused relu)', () => k.FusedConv2D(x0, w1, b1, { ...conv1, activation: 'relu' })],
  ['maxpool1 fwd', () => k.MaxPool(a1, pool1)],
  ['conv2 fwd (+bias)  x(128,13,13,32) w(3,3,32,64)', () => k.Conv2D(p1.y, w2, b2, conv2), REPLACED],
  ['relu2 fwd', () => k.Relu(y2), REPLACED],
  ['conv2 fwd (+bias, fused relu)', () => k.FusedConv2D(p1.y, w2, b2, { ...conv2, activation: 'relu' })],
  ['maxpool2 fwd', () => k.MaxPool(a2, pool2)],
  [
    'dropout mask mul (128,1600)',
    () => k.Mul(p2.y, mask, { aShape: [N, 1600], bShape: [N, 1600], outShape: [N, 1600] }),
    REPLACED,
  ],
  ['dropout kernel (mask + mul)', () => k.Dropout(p2.y, dropoutState, { rate: 0.5 })],
  [
    'dense fwd 1600->10',
    () => k.MatMul(p2.y, wd, { batch: 1, m: N, k: 1600, n: 10, transposeA: false, transposeB: false }),
  ],
  ['dense bias add', () => k.Add(logits, bd, { aShape: [N, 10], bShape: [10], outShape: [N, 10] })],
  [
    'softmax-xent fwd',
    () => k.SoftmaxCrossEntropy(logits, labels, { batch: N, classes: 10, labelSmoothing: 0 }),
  ],
  [
    'softmax-xent grad',
    () => k.SoftmaxCrossEntropyGrad(xent.probs, labels, one, { batch: N, classes: 10, labelSmoothing: 0 }),
  ],
  [
    'dense bwd dW (1600,10)',
    () => k.MatMul(p2.y, dlogits, { batch: 1, m: 1600, k: N, n: 10, transposeA: true, transposeB: false }),
  ],
  [
    'dense bwd dx (128,1600)',
    () => k.MatMul(dlogits, wd, { batch: 1, m: N, k: 10, n: 1600, transposeA: false, transposeB: true }),
  ],
  ['dense bias grad (sum)', () => k.Sum(dlogits, { shape: [N, 10], axes: [0] })],
  [
    'dropout grad mul',
    () => k.Mul(dPool2, mask, { aShape: [N, 1600], bShape: [N, 1600], outShape: [N, 1600] }),
  ],
  ['maxpool2 bwd', () => k.MaxPoolGrad(dPool2, a2, p2.workspace, pool2)],
  ['relu2 bwd', () => k.ReluGrad(dA2, y2), REPLACED],
  ['relu2 bwd at the pooled size (before maxpool2 bwd)', () => k.ReluGrad(dPool2, p2.y)],
  ['conv2 bias grad (sum)', () => k.Sum(dA2, { shape: [N, 11, 11, 64], axes: [0, 1, 2] }), REPLACED],
  ['conv2 bwd-data', () => k.Conv2DBackpropInput(dA2, w2, conv2)],
  ['conv2 bwd-filter', () => k.Conv2DBackpropFilter(p1.y, dA2, conv2), REPLACED],
  ['conv2 bwd-filter + bias grad', () => k.Conv2DBackpropFilterBias(p1.y, dA2, conv2)],
  ['maxpool1 bwd', () => k.MaxPoolGrad(dPool1, a1, p1.workspace, pool1)],
  ['relu1 bwd', () => k.ReluGrad(dA1, y1), REPLACED],
  ['relu1 bwd at the pooled size (before maxpool1 bwd)', () => k.ReluGrad(dPool1, p1.y)],
  ['conv1 bias grad (sum)', () => k.Sum(dA1, { shape: [N, 26, 26, 32], axes: [0, 1, 2] }), REPLACED],
  ['conv1 bwd-filter', () => k.Conv2DBackpropFilter(x0, dA1, conv1), REPLACED],
  ['conv1 bwd-filter + bias grad', () => k.Conv2DBackpropFilterBias(x0, dA1, conv1)],
  [
    'adam, 34,826 params in 6 tensors',
    () =>
      k.AdamUpdate(params, grads, ms, vs, Float64Array.of(1e-3, ++step), {
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
        weightDecay: 0,
        decoupledWeightDecay: false,
      }),
  ],
];

console.log(`native backend: ${backend.threads} threads; median of ${iterations} iterations`);
console.log('\ncnn training step, batch 128'.padEnd(53) + 'median ms    best ms');
let total = 0;
let totalBest = 0;
const cell = (ms: number) => ms.toFixed(3).padStart(9);
for (const [name, run, replaced] of rows) {
  if (!name.includes(filter)) continue;
  const t = time(run, iterations);
  const counted = replaced === undefined;
  if (counted) {
    total += t.median;
    totalBest += t.best;
  }
  console.log(
    `  ${name.padEnd(50)} ${cell(t.median)}  ${cell(t.best)}${counted ? '' : '  (replaced, not summed)'}`,
  );
}
if (filter === '') {
  console.log(`  ${'sum'.padEnd(50)} ${cell(total)}  ${cell(totalBest)}`);
  const rate = (ms: number) => Math.round((N / ms) * 1000);
  console.log(
    `  implied training throughput: ${rate(total)} images/s from medians, ${rate(totalBest)} from bests (target 12,000)`,
  );
} else {
  // A sum of some rows is no step's time.
  console.log(`  (--filter '${filter}': rows left out, so no step sum or implied throughput)`);
}

console.log('\nconvolution primitives the backend created (oneDNN implementation):');
for (const line of loadAddon().addon?.convImplementations() ?? []) console.log(`  ${line}`);

if (bare) runBare();
if (filter !== '') process.exit(0);

/** Builds native/bench/conv-bare.cc into the temp directory and runs it with this run's threads. */
function runBare(): void {
  const source = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'bench', 'conv-bare.cc');
  const binary = join(tmpdir(), 'mnist-lab-conv-bare');
  const root = process.env.DNNL_ROOT;
  const paths = root
    ? [`-I${join(root, 'include')}`, `-L${join(root, 'lib')}`, `-Wl,-rpath,${join(root, 'lib')}`]
    : [];
  const compiler = process.env.CXX ?? 'c++';
  const build = spawnSync(
    compiler,
    ['-O2', '-std=c++17', '-fopenmp', source, ...paths, '-ldnnl', '-o', binary],
    {
      encoding: 'utf8',
    },
  );
  if (build.status !== 0 || !existsSync(binary)) {
    console.log(
      `\n--bare: could not build ${source} with ${compiler}:\n${build.stderr || build.error?.message}`,
    );
    return;
  }
  console.log('');
  spawnSync(binary, [String(iterations)], {
    stdio: 'inherit',
    env: { ...process.env, OMP_NUM_THREADS: String(backend.threads) },
  });
}

// ---- mlp, batch 32: Dense 784->128 relu, Dense 128->10, softmax-xent, Adam ----
const B = 32;
const mx = random(B * 784);
const mW1 = random(784 * 128, 0.05);
const mB1 = random(128, 0.1);
const mW2 = random(128 * 10, 0.1);
const mB2 = random(10, 0.1);
const mLabels = backend.alloc('int32', B);
for (let i = 0; i < B; i++) mLabels[i] = i % 10;
const mParams = [mW1, mB1, mW2, mB2];
const mM = mParams.map((p) => random(p.length, 0).fill(0));
const mV = mParams.map((p) => random(p.length, 0).fill(0));
let mStep = 0;
const mm = (m: number, kk: number, n: number, transposeA = false, transposeB = false) => ({
  batch: 1,
  m,
  k: kk,
  n,
  transposeA,
  transposeB,
});
const xentAttrs = { batch: B, classes: 10, labelSmoothing: 0 };

/** One training step's kernels, releasing every intermediate as tidy() would; returns the call count. */
function mlpStep(): number {
  const h = k.MatMul(mx, mW1, mm(B, 784, 128));
  const hb = k.Add(h, mB1, { aShape: [B, 128], bShape: [128], outShape: [B, 128] });
  const a = k.Relu(hb);
  const z = k.MatMul(a, mW2, mm(B, 128, 10));
  const zb = k.Add(z, mB2, { aShape: [B, 10], bShape: [10], outShape: [B, 10] });
  const { loss, probs } = k.SoftmaxCrossEntropy(zb, mLabels, xentAttrs);
  const dz = k.SoftmaxCrossEntropyGrad(probs, mLabels, one, xentAttrs);
  const dW2 = k.MatMul(a, dz, mm(128, B, 10, true));
  const dB2 = k.Sum(dz, { shape: [B, 10], axes: [0] });
  const da = k.MatMul(dz, mW2, mm(B, 10, 128, false, true));
  const dh = k.ReluGrad(da, hb);
  const dW1 = k.MatMul(mx, dh, mm(784, B, 128, true));
  const dB1 = k.Sum(dh, { shape: [B, 128], axes: [0] });
  k.AdamUpdate(mParams, [dW1, dB1, dW2, dB2], mM, mV, Float64Array.of(1e-3, ++mStep), {
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-7,
    weightDecay: 0,
    decoupledWeightDecay: false,
  });
  for (const s of [h, hb, a, z, zb, loss, probs, dz, dW2, dB2, da, dh, dW1, dB1]) backend.release(s);
  return 14;
}

const calls = mlpStep();
const stepMs = time(mlpStep, 2000).median;
const tiny = random(1);
const callMs = time(() => k.Relu(tiny), 20000).median;
console.log('\nmlp training step kernels, batch 32 (Dense 784->128 relu, Dense 128->10, Adam)');
console.log(
  `  ${calls} kernel calls per step: ${stepMs.toFixed(4)} ms per step (${Math.round((B / stepMs) * 1000)} images/s)`,
);
console.log(`  ${((stepMs / calls) * 1000).toFixed(1)} us per call on average`);
console.log(
  `  per-call floor (Relu on 1 element, alloc + native call + release): ${(callMs * 1000).toFixed(2)} us`,
);
