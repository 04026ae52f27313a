// The threaded js backend against the single-threaded one, kernel by kernel: MatMul, the
// convolutions (FusedConv2D included), MaxPool, MaxPoolGrad and ReluGrad over seeded random shapes
// (odd sizes, transposes, strides, padding, dilation, pointwise convs, float32 and float64), every
// call split into tasks (minFlops 0). Results must be bit-identical, whatever the thread count, and
// the work must actually reach the workers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Conv2DAttrs, FloatStorage, MatMulAttrs, Storage } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createJsThreadsBackend, type JsThreadsBackend } from '../../src/backend/js-threads/index.js';
import { Prng } from '../conformance/prng.js';
import { window } from '../conformance/cases.js';

const js = createJsBackend();
// Three threads: the main thread and two workers share every call.
const threaded: JsThreadsBackend[] = [createJsThreadsBackend({ threads: 3, minFlops: 0 })];

before(async () => {
  for (const backend of threaded) assert.equal(await backend.ready(), backend.threads, 'every worker starts');
});
after(async () => {
  for (const backend of threaded) await backend.close();
});

type Dtype = 'float32' | 'float64';

function values(prng: Prng, size: number, dtype: Dtype): FloatStorage {
  const data = prng.uniform(size);
  return dtype === 'float32' ? Float32Array.from(data) : data;
}

/** Asserts every threaded backend returns exactly what the js backend does. */
function assertSame(what: string, run: (kernels: typeof js.kernels) => Storage): void {
  const expected = run(js.kernels);
  for (const backend of threaded) {
    const actual = run(backend.kernels);
    assert.equal(actual.constructor, expected.constructor, `${what}: dtype`);
    assert.ok(actual.buffer instanceof SharedArrayBuffer, `${what}: output on shared memory`);
    assert.equal(actual.length, expected.length, `${what}: length`);
    for (let i = 0; i < expected.length; i++) {
      if (!Object.is(actual[i], expected[i])) {
        assert.fail(
          `${what}, ${backend.threads} threads: element ${i} is ${actual[i]}, one thread gives ${expected[i]}`,
        );
      }
    }
  }
}

describe('threaded js backend: bit-identical to one thread', () => {
  it('MatMul over random shapes, transposes and batches', () => {
    const prng = new Prng(7);
    const shapes: Array<[number, number, number, number]> = [
      [1, 1, 1, 1],
      [1, 37, 50, 29],
      [2, 130, 17, 5],
      [3, 5, 64, 131],
      [1, 128, 1600, 10],
      [1, 1600, 128, 10],
      [1, 128, 10, 1600],
      [1, 67, 0, 9],
    ];
    for (let i = 0; i < 3; i++) {
      shapes.push([
        1 + prng.integers(1, 3)[0]!,
        ...(prng.integers(3, 90).map((v) => v + 1) as [number, number, number]),
      ]);
    }
    for (const [batch, m, k, n] of shapes) {
      for (const [transposeA, transposeB] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ] as const) {
        const dtype: Dtype = (m + n) % 2 === 0 ? 'float64' : 'float32';
        const a = values(prng, batch * m * k, dtype);
        const b = values(prng, batch * k * n, dtype);
        const attrs: MatMulAttrs = { batch, m, k, n, transposeA, transposeB };
        assertSame(`MatMul ${JSON.stringify(attrs)} ${dtype}`, (kernels) => kernels.MatMul(a, b, attrs));
      }
    }
  });

  const convs: Array<[string, Conv2DAttrs]> = [
    ['cnn conv1 shape, batch 9', { ...window(9, 28, 28, 1, 3, 3), O: 32 }],
    ['cnn conv2 shape, batch 5', { ...window(5, 13, 13, 32, 3, 3), O: 64 }],
    [
      'odd sizes, same padding, stride 2',
      { ...window(7, 11, 9, 3, 3, 5, { stride: 2, padding: 'same' }), O: 7 },
    ],
    [
      'dilation 2, asymmetric stride',
      { ...window(3, 15, 12, 5, 3, 2, { stride: [1, 2], dilation: 2 }), O: 11 },
    ],
    ['pointwise 1x1', { ...window(6, 7, 5, 9, 1, 1), O: 13 }],
    ['one image', { ...window(1, 10, 10, 4, 3, 3, { padding: 'same' }), O: 6 }],
    ['kernel wider than channels x taps (O > K)', { ...window(4, 8, 8, 1, 2, 2), O: 33 }],
  ];
  for (const [name, attrs] of convs) {
    it(`Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter: ${name}`, () => {
      const prng = new Prng(attrs.N * 1000 + attrs.O);
      const { N, H, W, C, KH, KW, OH, OW, O } = attrs;
      for (const dtype of ['float32', 'float64'] as const) {
        const x = values(prng, N * H * W * C, dtype);
        const w = values(prng, KH * KW * C * O, dtype);
        const bias = values(prng, O, dtype);
        const dy = values(prng, N * OH * OW * O, dtype);
        assertSame(`Conv2D ${name} ${dtype}`, (k) => k.Conv2D(x, w, bias, attrs));
        assertSame(`Conv2D no bias ${name} ${dtype}`, (k) => k.Conv2D(x, w, null, attrs));
        assertSame(`FusedConv2D relu ${name} ${dtype}`, (k) =>
          k.FusedConv2D(x, w, bias, { ...attrs, activation: 'relu' }),
        );
        assertSame(`Conv2DBackpropInput ${name} ${dtype}`, (k) => k.Conv2DBackpropInput(dy, w, attrs));
        assertSame(`Conv2DBackpropFilter ${name} ${dtype}`, (k) => k.Conv2DBackpropFilter(x, dy, attrs));
      }
    });
  }

  for (const [name, attrs] of [
    ['2x2 stride 2 over odd sizes', window(9, 13, 11, 6, 2, 2, { stride: 2 })],
    ['3x3 stride 2, same padding', window(5, 10, 9, 3, 3, 3, { stride: 2, padding: 'same' })],
    ['3x3 stride 1 (overlapping windows)', window(6, 7, 8, 5, 3, 3)],
  ] as const) {
    it(`MaxPool, MaxPoolGrad, ReluGrad: ${name}`, () => {
      const prng = new Prng(attrs.N * 31 + attrs.C);
      const { N, H, W, C, OH, OW } = attrs;
      for (const dtype of ['float32', 'float64'] as const) {
        const x = values(prng, N * H * W * C, dtype);
        // Ties: a quarter of x is 0 (the first maximum in window order must win on every thread).
        for (let i = 0; i < x.length; i += 4) x[i] = 0;
        const dy = values(prng, N * OH * OW * C, dtype);
        assertSame(`MaxPool y ${name} ${dtype}`, (k) => k.MaxPool(x, attrs).y);
        assertSame(`MaxPool workspace ${name} ${dtype}`, (k) => k.MaxPool(x, attrs).workspace);
        const { workspace } = js.kernels.MaxPool(x, attrs);
        assertSame(`MaxPoolGrad ${name} ${dtype}`, (k) => k.MaxPoolGrad(dy, x, workspace, attrs));
        const dx = values(prng, x.length, dtype);
        assertSame(`ReluGrad ${name} ${dtype}`, (k) => k.ReluGrad(dx, x));
      }
    });
  }

  it('overwrites stale pooled outputs (Conv2DBackpropInput zeroes only through its tasks)', () => {
    const attrs: Conv2DAttrs = { ...window(6, 9, 9, 4, 3, 3, { padding: 'same' }), O: 5 };
    const prng = new Prng(3);
    const dy = values(prng, 6 * 9 * 9 * 5, 'float32');
    const w = values(prng, 3 * 3 * 4 * 5, 'float32');
    const backend = threaded[0]!;
    const first = backend.kernels.Conv2DBackpropInput(dy, w, attrs);
    first.fill(Number.NaN);
    backend.release(first);
    assertSame('Conv2DBackpropInput into poisoned pooled storage', (k) =>
      k.Conv2DBackpropInput(dy, w, attrs),
    );
  });

  it('runs tasks on the worker threads, not only on the main thread', () => {
    const attrs: Conv2DAttrs = { ...window(64, 13, 13, 32, 3, 3), O: 64 };
    const prng = new Prng(11);
    const x = values(prng, 64 * 13 * 13 * 32, 'float32');
    const w = values(prng, 3 * 3 * 32 * 64, 'float32');
    const backend = threaded[0]!;
    const before = backend.stats();
    // A worker that is not scheduled in time leaves its tasks to the main thread: retry a while.
    const deadline = Date.now() + 10_000;
    while (backend.stats().workerTasks === before.workerTasks && Date.now() < deadline) {
      backend.release(backend.kernels.Conv2D(x, w, null, attrs));
    }
    const stats = backend.stats();
    assert.ok(stats.jobs > before.jobs, 'the convolution was split into tasks');
    assert.ok(stats.workerTasks > before.workerTasks, 'a worker ran some of them');
  });
});
