// Where a `vit` training step's time goes (batch 128; 50 tokens of width 64, 4 heads of 16, MLP
// 128, 6 blocks). Letters: B batch, T tokens, D width, H heads, R = B*T token rows.
//
//   npx tsx bench/vit-profile.ts [--threads N] [--steps N] [--kernels-only | --step-only]
//
// Part 1, kernels: each kernel of the step at the vit's shapes, native and js (the portable
// backend, one thread), median and best ms over many calls; "per step" is how often one training
// step calls it, and the sums estimate the kernel time of a step on each backend.
// Part 2, step: the real model through autograd on the native backend (forward, label-smoothed
// loss, backward, AdamW), with every kernel call timed: ms per step, the time inside kernels by
// kernel, and the rest (JS: autograd bookkeeping, op dispatch, shape checks, allocation).
import type { Backend, Conv2DAttrs, Kernels, MatMulAttrs } from '../src/backend/kernels.js';
import { createJsBackend } from '../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../src/backend/native/index.js';
import { setBackendInstance } from '../src/backend/registry.js';
import { adamW } from '../src/optim/index.js';
import { gradients } from '../src/tensor/autograd.js';
import { fromStorage } from '../src/tensor/ops/creation.js';
import { softmaxCrossEntropy } from '../src/tensor/ops/nn.js';
import { tidy } from '../src/tensor/tensor.js';
import { Random } from '../src/util/random.js';
import { vit } from '../src/zoo/vit.js';

const availability = nativeBackendAvailable();
if (!availability.available) {
  console.log(`native backend unavailable: ${availability.reason}`);
  process.exit(0);
}
const argument = (flag: string): number | undefined => {
  const i = process.argv.indexOf(flag);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
};
const threads = argument('--threads');
const native = createNativeBackend(threads === undefined ? {} : { threads });
const js = createJsBackend();

const [B, T, D, H, DK, M, DEPTH] = [128, 50, 64, 4, 16, 128, 6];
const R = B * T;

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
}

// ---------------------------------------------------------------- part 1: kernels

/** Inputs of every kernel row, allocated on `backend`. */
function inputs(backend: Backend) {
  const random = (n: number, scale = 1): Float32Array => {
    const x = backend.alloc('float32', n);
    for (let i = 0; i < n; i++) x[i] = (Math.random() * 2 - 1) * scale;
    return x;
  };
  return {
    random,
    images: random(B * 28 * 28),
    patchKernel: random(4 * 4 * 64, 0.2),
    patchBias: random(64),
    patchGrad: random(B * 7 * 7 * 64),
    rows: random(R * D),
    rowsGrad: random(R * D),
    hidden: random(R * M),
    hiddenGrad: random(R * M),
    w: random(D * D, 0.1),
    w1: random(D * M, 0.1),
    w2: random(M * D, 0.1),
    bias: random(D),
    gamma: random(D),
    rowMean: random(R),
    rowInvStd: random(R, 1).fill(0.8),
    heads: random(B * H * T * DK),
    headsGrad: random(B * H * T * DK),
    scores: random(B * H * T * T, 3),
    scoresGrad: random(B * H * T * T),
    scalar: random(1),
  };
}

const mm = (
  batch: number,
  m: number,
  k: number,
  n: number,
  transposeA = false,
  transposeB = false,
): MatMulAttrs => ({
  batch,
  m,
  k,
  n,
  transposeA,
  transposeB,
});
const patchConv: Conv2DAttrs = {
  N: B,
  H: 28,
  W: 28,
  C: 1,
  KH: 4,
  KW: 4,
  OH: 7,
  OW: 7,
  strideH: 4,
  strideW: 4,
  padTop: 0,
  padBottom: 0,
  padLeft: 0,
  padRight: 0,
  dilationH: 1,
  dilationW: 1,
  O: 64,
};
const norm = { outer: R, size: D, epsilon: 1e-5 };
const softmaxRows = { outer: B * H * T, size: T };

type Row = [label: string, perStep: number, run: (k: Kernels, x: ReturnType<typeof inputs>) => unknown];
// Per step: forward + backward of 6 blocks; projections q, k, v, out are 4 per block.
const rows: Row[] = [
  [
    'patch conv fwd x(128,28,28,1) 4x4/4 -> 64',
    1,
    (k, x) => k.Conv2D(x.images, x.patchKernel, x.patchBias, patchConv),
  ],
  ['patch conv bwd-filter + bias', 1, (k, x) => k.Conv2DBackpropFilterBias(x.images, x.patchGrad, patchConv)],
  ['layer norm fwd (6400, 64)', 2 * DEPTH + 1, (k, x) => k.LayerNorm(x.rows, x.gamma, x.bias, norm)],
  [
    'layer norm bwd',
    2 * DEPTH + 1,
    (k, x) => k.LayerNormGrad(x.rowsGrad, x.rows, x.gamma, x.rowMean, x.rowInvStd, norm),
  ],
  ['projection fwd (6400,64) x (64,64)', 4 * DEPTH, (k, x) => k.MatMul(x.rows, x.w, mm(1, R, D, D))],
  [
    'projection bwd dW (6400,64)^T x (6400,64)',
    4 * DEPTH,
    (k, x) => k.MatMul(x.rows, x.rowsGrad, mm(1, D, R, D, true)),
  ],
  [
    'projection bwd dx (6400,64) x (64,64)^T',
    4 * DEPTH,
    (k, x) => k.MatMul(x.rowsGrad, x.w, mm(1, R, D, D, false, true)),
  ],
  [
    'bias add (6400,64) + (64)',
    6 * DEPTH,
    (k, x) => k.Add(x.rows, x.bias, { aShape: [R, D], bShape: [D], outShape: [R, D] }),
  ],
  [
    'bias grad: sum over rows (6400,64)',
    5 * DEPTH,
    (k, x) => k.Sum(x.rowsGrad, { shape: [R, D], axes: [0] }),
  ],
  [
    'query scale (6400,64) x scalar',
    2 * DEPTH,
    (k, x) => k.Mul(x.rows, x.scalar, { aShape: [R, D], bShape: [], outShape: [R, D] }),
  ],
  [
    'heads transpose (128,50,4,16) -> (128,4,50,16)',
    8 * DEPTH,
    (k, x) => k.Transpose(x.heads, { shape: [B, T, H, DK], perm: [0, 2, 1, 3] }),
  ],
  [
    'scores q k^T: 512 x (50,16)(16,50)',
    DEPTH,
    (k, x) => k.MatMul(x.heads, x.headsGrad, mm(B * H, T, DK, T, false, true)),
  ],
  [
    'scores bwd: dS k and dS^T q, 512 x (50,50)(50,16)',
    2 * DEPTH,
    (k, x) => k.MatMul(x.scoresGrad, x.heads, mm(B * H, T, T, DK)),
  ],
  ['softmax fwd (25600, 50)', DEPTH, (k, x) => k.Softmax(x.scores, softmaxRows)],
  ['softmax bwd', DEPTH, (k, x) => k.SoftmaxGrad(x.scoresGrad, x.scores, softmaxRows)],
  ['context p v: 512 x (50,50)(50,16)', DEPTH, (k, x) => k.MatMul(x.scores, x.heads, mm(B * H, T, T, DK))],
  [
    'context bwd dP: 512 x (50,16)(16,50)^T',
    DEPTH,
    (k, x) => k.MatMul(x.headsGrad, x.heads, mm(B * H, T, DK, T, false, true)),
  ],
  [
    'context bwd dv: 512 x (50,50)^T(50,16)',
    DEPTH,
    (k, x) => k.MatMul(x.scores, x.headsGrad, mm(B * H, T, T, DK, true)),
  ],
  ['mlp dense1 fwd (6400,64) x (64,128)', DEPTH, (k, x) => k.MatMul(x.rows, x.w1, mm(1, R, D, M))],
  ['gelu fwd (6400,128)', DEPTH, (k, x) => k.Gelu(x.hidden)],
  ['gelu bwd', DEPTH, (k, x) => k.GeluGrad(x.hiddenGrad, x.hidden)],
  ['mlp dense2 fwd (6400,128) x (128,64)', DEPTH, (k, x) => k.MatMul(x.hidden, x.w2, mm(1, R, M, D))],
  [
    'mlp bwd dW1 (6400,64)^T x (6400,128)',
    DEPTH,
    (k, x) => k.MatMul(x.rows, x.hiddenGrad, mm(1, D, R, M, true)),
  ],
  [
    'mlp bwd dx1 (6400,128) x (64,128)^T',
    DEPTH,
    (k, x) => k.MatMul(x.hiddenGrad, x.w1, mm(1, R, M, D, false, true)),
  ],
  [
    'mlp bwd dW2 (6400,128)^T x (6400,64)',
    DEPTH,
    (k, x) => k.MatMul(x.hidden, x.rowsGrad, mm(1, M, R, D, true)),
  ],
  [
    'mlp bwd dx2 (6400,64) x (128,64)^T',
    DEPTH,
    (k, x) => k.MatMul(x.rowsGrad, x.w2, mm(1, R, D, M, false, true)),
  ],
  [
    'residual add (6400,64) + (6400,64)',
    4 * DEPTH,
    (k, x) => k.Add(x.rows, x.rowsGrad, { aShape: [R, D], bShape: [R, D], outShape: [R, D] }),
  ],
];

function timeKernel(
  backend: Backend,
  run: (k: Kernels) => unknown,
  iterations: number,
): { median: number; best: number } {
  const samples: number[] = [];
  for (let i = 0; i < iterations + 3; i++) {
    const start = process.hrtime.bigint();
    const out = run(backend.kernels);
    const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    if (i >= 3) samples.push(elapsed);
    release(backend, out);
  }
  return { median: median(samples), best: Math.min(...samples) };
}

function release(backend: Backend, out: unknown): void {
  if (out instanceof Float32Array || out instanceof Int32Array) backend.release(out);
  else if (out && typeof out === 'object') for (const v of Object.values(out)) release(backend, v);
}

function kernelTable(): void {
  const nativeInputs = inputs(native);
  const jsInputs = inputs(js);
  const cell = (v: number): string => v.toFixed(3).padStart(9);
  console.log(
    `part 1: kernels at the vit's shapes, batch 128 (native ${native.threads} threads; js one thread)`,
  );
  console.log(`  ${'kernel'.padEnd(50)} per step  native med   best    js med     best   js/native`);
  let [nativeSum, jsSum] = [0, 0];
  for (const [label, perStep, run] of rows) {
    const n = timeKernel(native, (k) => run(k, nativeInputs), 40);
    const j = timeKernel(js, (k) => run(k, jsInputs), 5);
    nativeSum += perStep * n.median;
    jsSum += perStep * j.median;
    console.log(
      `  ${label.padEnd(50)} ${String(perStep).padStart(8)} ${cell(n.median)} ${cell(n.best)} ${cell(j.median)} ${cell(j.best)} ${(j.median / n.median).toFixed(1).padStart(8)}x`,
    );
  }
  console.log(
    `  ${'sum of per step x median (the rows above)'.padEnd(59)} ${cell(nativeSum)} ${''.padStart(9)} ${cell(jsSum)}`,
  );
}

// ---------------------------------------------------------------- part 2: the real step

/** The backend with every kernel call timed into `spent` (ms by kernel) and counted into `calls`. */
function timed(backend: Backend, spent: Map<string, number>, calls: Map<string, number>): Backend {
  const kernels = { ...backend.kernels } as Record<string, (...args: unknown[]) => unknown>;
  for (const [name, kernel] of Object.entries(backend.kernels) as [
    string,
    (...args: unknown[]) => unknown,
  ][]) {
    kernels[name] = function (this: unknown, ...args: unknown[]) {
      const start = process.hrtime.bigint();
      const out = kernel.apply(this, args);
      spent.set(name, (spent.get(name) ?? 0) + Number(process.hrtime.bigint() - start) / 1e6);
      calls.set(name, (calls.get(name) ?? 0) + 1);
      return out;
    };
  }
  return {
    ...backend,
    alloc: backend.alloc,
    release: backend.release,
    kernels: kernels as unknown as Kernels,
  };
}

function stepProfile(steps: number): void {
  const spent = new Map<string, number>();
  const calls = new Map<string, number>();
  const backend = timed(native, spent, calls);
  setBackendInstance(backend);
  const model = vit();
  model.buildFor([28, 28, 1], new Random(0));
  const params = model.trainableWeights.map((w) => w.value);
  const optimizer = adamW({ learningRate: 1e-3, weightDecay: 0.05 });
  const random = new Random(1);
  const images = fromStorage(native.alloc('float32', B * 28 * 28), [B, 28, 28, 1]);
  for (let i = 0; i < images.size; i++) images.data[i] = random.nextFloat() * 2 - 0.5;
  const labels = fromStorage(native.alloc('int32', B), [B]);
  for (let i = 0; i < B; i++) labels.data[i] = i % 10;
  const step = (): void =>
    tidy(() => {
      const logits = model.apply(images, { training: true, random });
      const loss = softmaxCrossEntropy(logits, labels, 0.1);
      optimizer.applyGradients(params, gradients(loss, params));
    });
  for (let i = 0; i < 5; i++) step(); // primitive creation, pool warm-up
  spent.clear();
  calls.clear();
  const stepMs: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = process.hrtime.bigint();
    step();
    stepMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const total = stepMs.reduce((a, b) => a + b, 0);
  const inKernels = [...spent.values()].reduce((a, b) => a + b, 0);
  const callCount = [...calls.values()].reduce((a, b) => a + b, 0);
  console.log(
    `\npart 2: vit training step, batch 128, native (${native.threads} threads), ${steps} steps after 5 warm-up`,
  );
  console.log(
    `  ms per step: median ${median(stepMs).toFixed(1)}, best ${Math.min(...stepMs).toFixed(1)}, mean ${(total / steps).toFixed(1)} (${Math.round((B * 1000 * steps) / total)} images/s from the mean)`,
  );
  console.log(
    `  inside kernels ${(inKernels / steps).toFixed(1)} ms (${((100 * inKernels) / total).toFixed(0)}%), outside ${((total - inKernels) / steps).toFixed(1)} ms (${((100 * (total - inKernels)) / total).toFixed(0)}%: autograd, dispatch, checks, allocation); ${Math.round(callCount / steps)} kernel calls per step, ${(((total - inKernels) / callCount) * 1000).toFixed(1)} us outside per call`,
  );
  console.log(`  ${'kernel'.padEnd(28)} calls/step   ms/step   share of step`);
  for (const [name, ms] of [...spent.entries()].sort((a, b) => b[1] - a[1])) {
    console.log(
      `  ${name.padEnd(28)} ${String(Math.round((calls.get(name) ?? 0) / steps)).padStart(10)} ${(ms / steps).toFixed(2).padStart(9)} ${((100 * ms) / total).toFixed(1).padStart(12)}%`,
    );
  }
}

if (!process.argv.includes('--step-only')) kernelTable();
if (!process.argv.includes('--kernels-only')) stepProfile(argument('--steps') ?? 20);
