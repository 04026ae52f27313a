// Kernel-level throughput of the js backend (or the wasm backend): MatMul shapes, and the `cnn`
// recipe's convolutions (forward, backprop-input, backprop-filter) at batch 128, then an estimate of
// images/s for the conv + matmul work of one cnn training step.
//   npx tsx bench/js-kernels.ts [--threads N] [--backend js|wasm]
// --threads 1 (default) is the single-threaded js backend; N > 1 the worker-thread variant
// (src/backend/js-threads), whose CPU column then sums every thread's time. --backend wasm measures
// the wasm backend (src/backend/wasm) with N threads instead.
// Each row is the median of timed repetitions after warm-up; outputs go back to the pool after
// every call, as in training. Letters: N batch; NHWC activations, HWIO conv kernels.
import type { Backend, Conv2DAttrs, MatMulAttrs, Storage } from '../src/backend/kernels.js';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { createJsBackend } from '../src/backend/js/index.js';
import { createJsThreadsBackend } from '../src/backend/js-threads/index.js';
import { createNodeWasmBackend } from '../src/backend/wasm/node.js';

const { values: flags } = parseArgs({
  options: { threads: { type: 'string', default: '1' }, backend: { type: 'string', default: 'js' } },
});
const threads = Number(flags.threads);
if (!Number.isInteger(threads) || threads < 1) {
  throw new Error(`--threads: expected a positive integer, found '${flags.threads}'`);
}
if (flags.backend !== 'js' && flags.backend !== 'wasm') {
  throw new Error(`--backend: expected js or wasm, found '${flags.backend}'`);
}
const threaded =
  flags.backend === 'wasm'
    ? createNodeWasmBackend({ threads })
    : threads > 1
      ? createJsThreadsBackend({ threads })
      : undefined;
const backend: Backend = threaded ?? createJsBackend();
const activeThreads = threaded ? await threaded.ready() : 1;
const k = backend.kernels;
const minSeconds = Number(process.env['BENCH_SECONDS'] ?? 1.5);

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
  /** Median wall seconds per call. */
  wall: number;
  /** Median CPU seconds (user + system) per call: this process's own work, steadier than wall on a shared machine. */
  cpu: number;
}

/** Median wall and CPU seconds per call of `run` (which returns what it allocated; released after timing). */
function time(run: () => Storage): Timing {
  for (let i = 0; i < 2; i++) backend.release(run());
  const wall: number[] = [];
  const cpu: number[] = [];
  const start = performance.now();
  while (wall.length < 3 || (performance.now() - start) / 1000 < minSeconds) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = run();
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    backend.release(out);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

function row(label: string, flops: number, t: Timing): void {
  console.log(
    `${label.padEnd(46)} ${(t.wall * 1e3).toFixed(2).padStart(9)} ms ${(flops / t.wall / 1e9).toFixed(2).padStart(6)} GFLOP/s` +
      `   cpu ${(t.cpu * 1e3).toFixed(2).padStart(9)} ms ${(flops / t.cpu / 1e9).toFixed(2).padStart(6)} GFLOP/s`,
  );
}

console.log(
  `${backend.name} backend, ${activeThreads} thread${activeThreads === 1 ? '' : 's'}, Node ${process.version}; ` +
    `median of >= ${minSeconds} s per row\n`,
);
console.log('MatMul (m x k x n)');
for (const [m, kk, n] of [
  [128, 784, 128],
  [128, 1600, 10],
  [256, 800, 256],
  [512, 512, 512],
] as const) {
  const attrs: MatMulAttrs = { batch: 1, m, k: kk, n, transposeA: false, transposeB: false };
  const a = random(m * kk);
  const b = random(kk * n);
  row(
    `  ${m}x${kk}x${n}`,
    2 * m * kk * n,
    time(() => k.MatMul(a, b, attrs)),
  );
}

function conv(N: number, H: number, W: number, C: number, KH: number, KW: number, O: number): Conv2DAttrs {
  return {
    N,
    H,
    W,
    C,
    KH,
    KW,
    O,
    OH: H - KH + 1,
    OW: W - KW + 1,
    strideH: 1,
    strideW: 1,
    padTop: 0,
    padBottom: 0,
    padLeft: 0,
    padRight: 0,
    dilationH: 1,
    dilationW: 1,
  };
}

const N = 128;
const step: Record<string, Timing> = {};
console.log(`\ncnn convolutions, batch ${N}, valid padding`);
for (const [name, attrs] of [
  ['conv1 x 128x28x28x1  w 3x3x1x32', conv(N, 28, 28, 1, 3, 3, 32)],
  ['conv2 x 128x13x13x32 w 3x3x32x64', conv(N, 13, 13, 32, 3, 3, 64)],
] as const) {
  const { H, W, C, KH, KW, OH, OW, O } = attrs;
  const flops = 2 * N * OH * OW * O * KH * KW * C;
  const x = random(N * H * W * C);
  const w = random(KH * KW * C * O, 0.1);
  const bias = random(O);
  const dy = random(N * OH * OW * O, 0.01);
  const key = name.slice(0, 5);
  step[`${key} forward`] = time(() => k.Conv2D(x, w, bias, attrs));
  row(`  ${name} forward`, flops, step[`${key} forward`]!);
  step[`${key} backprop-input`] = time(() => k.Conv2DBackpropInput(dy, w, attrs));
  row(`  ${name} backprop-input`, flops, step[`${key} backprop-input`]!);
  step[`${key} backprop-filter`] = time(() => k.Conv2DBackpropFilter(x, dy, attrs));
  row(`  ${name} backprop-filter`, flops, step[`${key} backprop-filter`]!);
}

// Dense 1600 -> 10: forward x.w, backprop dx = dy.w^T and dw = x^T.dy.
const xDense = random(N * 1600);
const wDense = random(1600 * 10, 0.05);
const dyDense = random(N * 10);
const denseFlops = 2 * N * 1600 * 10;
step['dense forward'] = time(() =>
  k.MatMul(xDense, wDense, { batch: 1, m: N, k: 1600, n: 10, transposeA: false, transposeB: false }),
);
step['dense backprop-input'] = time(() =>
  k.MatMul(dyDense, wDense, { batch: 1, m: N, k: 10, n: 1600, transposeA: false, transposeB: true }),
);
step['dense backprop-filter'] = time(() =>
  k.MatMul(xDense, dyDense, { batch: 1, m: 1600, k: N, n: 10, transposeA: true, transposeB: false }),
);
console.log(`\ncnn dense 1600->10, batch ${N}`);
for (const part of ['forward', 'backprop-input', 'backprop-filter'])
  row(`  dense ${part}`, denseFlops, step[`dense ${part}`]!);

// conv1's backprop-input is not needed in training (its input is the data); counted separately.
const flopsPerImage = 3 * 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 288 + 1600 * 10) - 2 * 26 * 26 * 32 * 9;
const conv1Input = step['conv1 backprop-input']!;
for (const clock of ['wall', 'cpu'] as const) {
  const total = Object.entries(step)
    .filter(([name]) => name !== 'conv1 backprop-input')
    .reduce((s, [, t]) => s + t[clock], 0);
  console.log(
    `\ncnn training step, conv + matmul work only, ${clock} time: ${(total * 1e3).toFixed(1)} ms per batch of ${N}` +
      ` = ${(N / total).toFixed(0)} images/s (${((flopsPerImage * N) / total / 1e9).toFixed(2)} GFLOP/s);` +
      ` with conv1 backprop-input too: ${(N / (total + conv1Input[clock])).toFixed(0)} images/s`,
  );
}
console.log(
  `load average at the end: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} on ${os.availableParallelism()} cores (wall time suffers when other processes share them)`,
);
