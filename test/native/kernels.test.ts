// Native kernels against the conformance suite's plain-loop references on small shapes chosen
// to exercise padding, strides, dilation, transposes and broadcasting. Skipped, with the reason,
// when the addon is not built.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Conv2DAttrs, Storage, Window2D } from '../../src/backend/kernels.js';
import { loadAddon } from '../../src/backend/native/binding.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import * as ref from '../conformance/reference.js';

/** The references compute in float64 from float64 inputs. */
const f64 = (v: ArrayLike<number>): Float64Array => Float64Array.from(v);

const availability = nativeBackendAvailable();
const skip = availability.available ? false : `native addon unavailable: ${availability.reason}`;

/** mulberry32, so failures reproduce. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = 1e-4,
  atol = 1e-5,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(`${what}: element ${i} is ${a}, expected ${e}`);
    }
  }
}

function window(
  N: number,
  H: number,
  W: number,
  C: number,
  [KH, KW]: [number, number],
  [strideH, strideW]: [number, number],
  [padTop, padBottom, padLeft, padRight]: [number, number, number, number],
  [dilationH, dilationW]: [number, number] = [1, 1],
): Window2D {
  const OH = Math.floor((H + padTop + padBottom - dilationH * (KH - 1) - 1) / strideH) + 1;
  const OW = Math.floor((W + padLeft + padRight - dilationW * (KW - 1) - 1) / strideW) + 1;
  return {
    N,
    H,
    W,
    C,
    KH,
    KW,
    OH,
    OW,
    strideH,
    strideW,
    padTop,
    padBottom,
    padLeft,
    padRight,
    dilationH,
    dilationW,
  };
}

// A skipped test (not a skipped suite) so the reason shows up in the run's skip count.
if (skip) it('native kernels vs reference loops', { skip }, () => {});
else
  describe('native kernels vs reference loops', () => {
    const backend = createNativeBackend();
    const random = generator(42);
    const rand = (n: number, scale = 1): Float32Array => {
      const x = backend.alloc('float32', n);
      for (let i = 0; i < n; i++) x[i] = (random() * 2 - 1) * scale;
      return x;
    };
    const k = () => backend.kernels;

    it('allocates 64-byte aligned native storage and recycles it through the pool', () => {
      const a = backend.alloc('float32', 10);
      assert.ok(a instanceof Float32Array);
      assert.equal(a.length, 10);
      backend.release(a);
      assert.equal(
        backend.alloc('float32', 10),
        a,
        'released storage comes back for the same dtype and length',
      );
      const i = backend.alloc('int32', 3);
      assert.ok(i instanceof Int32Array);
      assert.notEqual(backend.alloc('float32', 10).buffer, a.buffer);
    });

    it('rejects float64 inputs naming the kernel and the dtype', () => {
      const x = backend.alloc('float64', 4);
      assert.throws(() => k().Relu(x), /Relu does not support float64/);
    });

    it('rejects inputs shorter than their attributes, instead of reading out of bounds', () => {
      const attrs = { batch: 1, m: 2, k: 3, n: 2, transposeA: false, transposeB: false };
      assert.throws(
        () => k().MatMul(rand(5), rand(6), attrs),
        /MatMul expected an input of 6 elements, found 5/,
      );
    });

    it('runs with the requested thread count', () => {
      const single = createNativeBackend({ threads: 1 });
      assert.equal(single.threads, 1);
      assert.throws(() => createNativeBackend({ threads: 0 }), /threads must be a positive integer/);
      const a = rand(12);
      const attrs = { batch: 1, m: 3, k: 4, n: 3, transposeA: false, transposeB: true };
      assertClose(
        single.kernels.MatMul(a, a.subarray(0, 12), attrs),
        ref.matMul(f64(a), f64(a), 1, 3, 4, 3, false, true),
        'MatMul',
      );
      createNativeBackend(); // back to every core for the remaining tests
    });

    const convCases: [string, Conv2DAttrs][] = [
      ['valid 3x3', { ...window(2, 6, 5, 3, [3, 3], [1, 1], [0, 0, 0, 0]), O: 4 }],
      ['same padding, stride 2', { ...window(2, 7, 6, 3, [3, 3], [2, 2], [1, 1, 1, 1]), O: 5 }],
      ['asymmetric padding, dilation', { ...window(1, 7, 6, 2, [3, 2], [2, 1], [1, 0, 0, 1], [1, 2]), O: 3 }],
      ['cnn conv2 shape at batch 2', { ...window(2, 13, 13, 32, [3, 3], [1, 1], [0, 0, 0, 0]), O: 64 }],
    ];
    for (const [name, a] of convCases) {
      it(`Conv2D forward, backprop input and filter: ${name}`, () => {
        const x = rand(a.N * a.H * a.W * a.C);
        const w = rand(a.KH * a.KW * a.C * a.O);
        const bias = rand(a.O);
        const dy = rand(a.N * a.OH * a.OW * a.O);
        assertClose(k().Conv2D(x, w, bias, a), ref.conv2d(f64(x), f64(w), f64(bias), a), 'Conv2D +bias');
        assertClose(k().Conv2D(x, w, null, a), ref.conv2d(f64(x), f64(w), null, a), 'Conv2D');
        assertClose(
          k().Conv2DBackpropInput(dy, w, a),
          ref.conv2dBackpropInput(f64(dy), f64(w), a),
          'Conv2DBackpropInput',
        );
        assertClose(
          k().Conv2DBackpropFilter(x, dy, a),
          ref.conv2dBackpropFilter(f64(x), f64(dy), a),
          'Conv2DBackpropFilter',
        );
      });
    }

    // Batch 8 gives conv2 enough 4x4 output tiles for the Winograd forward and backward-weights
    // (native/src/conv.cc WinogradFits); batch 2 above runs the direct kernels. Winograd's error is
    // proportional to the tensor's magnitude, not to each element's (~1e-6 of the largest |value|,
    // as large as direct's in float32), so the tolerance here is 1e-5 of the largest reference value.
    const winogradCases: [string, Conv2DAttrs][] = [
      ['cnn conv2 shape at batch 8', { ...window(8, 13, 13, 32, [3, 3], [1, 1], [0, 0, 0, 0]), O: 64 }],
      ['same padding, 16 -> 32 channels', { ...window(8, 9, 10, 16, [3, 3], [1, 1], [1, 1, 1, 1]), O: 32 }],
    ];
    const scaled = (actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) => {
      let largest = 0;
      for (let i = 0; i < expected.length; i++) largest = Math.max(largest, Math.abs(expected[i] as number));
      assertClose(actual, expected, what, 0, 1e-5 * largest);
    };
    for (const [name, a] of winogradCases) {
      it(`Winograd-sized Conv2D, FusedConv2D relu, backprop filter + bias: ${name}`, () => {
        const x = rand(a.N * a.H * a.W * a.C);
        const w = rand(a.KH * a.KW * a.C * a.O, 0.2);
        const bias = rand(a.O);
        const dy = rand(a.N * a.OH * a.OW * a.O);
        const y = ref.conv2d(f64(x), f64(w), f64(bias), a);
        scaled(k().Conv2D(x, w, bias, a), y, 'Conv2D +bias');
        const fused = k().FusedConv2D(x, w, bias, { ...a, activation: 'relu' });
        scaled(
          fused,
          ref.map(y, (v) => Math.max(v, 0)),
          'FusedConv2D relu',
        );
        const { dw, dbias } = k().Conv2DBackpropFilterBias(x, dy, a);
        scaled(dw, ref.conv2dBackpropFilter(f64(x), f64(dy), a), 'Conv2DBackpropFilterBias dw');
        scaled(dbias, ref.sumRows(f64(dy), a.N * a.OH * a.OW, a.O), 'Conv2DBackpropFilterBias dbias');
        scaled(k().Conv2DBackpropFilter(x, dy, a), dw, 'Conv2DBackpropFilter');
        // Repeatable bit for bit: the same inputs give the same outputs on a second call.
        assert.deepEqual(k().FusedConv2D(x, w, bias, { ...a, activation: 'relu' }), fused);
        assert.deepEqual(k().Conv2DBackpropFilterBias(x, dy, a).dw, dw);
        // And Winograd really ran (unless turned off), for both directions.
        const shape = `N${a.N} H${a.H} W${a.W} C${a.C} -> O${a.O}`;
        const lines = loadAddon()
          .addon!.convImplementations()
          .filter((line) => line.includes(shape));
        const winograd = new Set(
          lines.filter((line) => line.includes('wino')).map((line) => line.split(' ')[0]),
        );
        if (process.env.MNIST_LAB_CONV_WINOGRAD !== '0')
          assert.deepEqual(
            [...winograd].sort(),
            ['backward-weights', 'backward-weights+bias', 'forward'],
            lines.join('; '),
          );
      });
    }

    const poolCases: [string, Window2D][] = [
      ['2x2 stride 2, odd input (floor)', window(2, 11, 11, 3, [2, 2], [2, 2], [0, 0, 0, 0])],
      ['3x3 stride 2 same padding', window(1, 7, 8, 2, [3, 3], [2, 2], [1, 1, 1, 1])],
    ];
    for (const [name, a] of poolCases) {
      it(`MaxPool / AvgPool forward and backward: ${name}`, () => {
        const x = rand(a.N * a.H * a.W * a.C);
        const dy = rand(a.N * a.OH * a.OW * a.C);
        const { y, workspace } = k().MaxPool(x, a);
        assertClose(y, ref.maxPool(f64(x), a), 'MaxPool');
        assertClose(k().MaxPoolGrad(dy, x, workspace, a), ref.maxPoolGrad(f64(dy), f64(x), a), 'MaxPoolGrad');
        assertClose(k().AvgPool(x, a), ref.avgPool(f64(x), a), 'AvgPool');
        assertClose(k().AvgPoolGrad(dy, a), ref.avgPoolGrad(f64(dy), a), 'AvgPoolGrad');
      });
    }

    it('MatMul with every transpose combination, batched and not', () => {
      for (const batch of [1, 3])
        for (const transposeA of [false, true])
          for (const transposeB of [false, true]) {
            const [m, kk, n] = [5, 7, 4];
            const a = rand(batch * m * kk);
            const b = rand(batch * kk * n);
            assertClose(
              k().MatMul(a, b, { batch, m, k: kk, n, transposeA, transposeB }),
              ref.matMul(f64(a), f64(b), batch, m, kk, n, transposeA, transposeB),
              `MatMul batch ${batch} tA ${transposeA} tB ${transposeB}`,
            );
          }
    });

    it('unary kernels and their gradients', () => {
      const x = rand(1000, 3);
      const dy = rand(1000);
      const positive = Float32Array.from(x, (v) => Math.abs(v) + 0.1);
      const erf = (z: number) => {
        // Abramowitz-Stegun 7.1.26 is too coarse for 1e-4; integrate the series instead.
        let sum = 0;
        let term = z;
        for (let n = 0; n < 60; n++) {
          sum += term / (2 * n + 1);
          term *= (-z * z) / (n + 1);
        }
        return (2 / Math.sqrt(Math.PI)) * sum;
      };
      const phi = (v: number) => 0.5 * (1 + erf(v / Math.SQRT2));
      const pdf = (v: number) => Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI);
      const sig = (v: number) => 1 / (1 + Math.exp(-v));
      const map = (a: ArrayLike<number>, f: (v: number, i: number) => number) => Array.from(a, f);
      assertClose(
        k().Neg(x),
        map(x, (v) => -v),
        'Neg',
      );
      assertClose(k().Exp(x), map(x, Math.exp), 'Exp');
      assertClose(k().Log(positive), map(positive, Math.log), 'Log');
      assertClose(k().Sqrt(positive), map(positive, Math.sqrt), 'Sqrt');
      assertClose(k().Abs(x), map(x, Math.abs), 'Abs');
      assertClose(
        k().Relu(x),
        map(x, (v) => Math.max(v, 0)),
        'Relu',
      );
      assertClose(
        k().LeakyRelu(x, { alpha: 0.2 }),
        map(x, (v) => (v > 0 ? v : 0.2 * v)),
        'LeakyRelu',
      );
      assertClose(k().Sigmoid(x), map(x, sig), 'Sigmoid');
      assertClose(k().Tanh(x), map(x, Math.tanh), 'Tanh');
      assertClose(
        k().Gelu(x),
        map(x, (v) => v * phi(v)),
        'Gelu',
      );
      const g = (i: number) => dy[i] as number;
      assertClose(
        k().ReluGrad(dy, x),
        map(x, (v, i) => (v > 0 ? g(i) : 0)),
        'ReluGrad',
      );
      assertClose(
        k().LeakyReluGrad(dy, x, { alpha: 0.2 }),
        map(x, (v, i) => (v > 0 ? g(i) : 0.2 * g(i))),
        'LeakyReluGrad',
      );
      const y = k().Sigmoid(x);
      assertClose(
        k().SigmoidGrad(dy, y),
        map(y, (s, i) => g(i) * s * (1 - s)),
        'SigmoidGrad',
      );
      const t = k().Tanh(x);
      assertClose(
        k().TanhGrad(dy, t),
        map(t, (v, i) => g(i) * (1 - v * v)),
        'TanhGrad',
      );
      assertClose(
        k().GeluGrad(dy, x),
        map(x, (v, i) => g(i) * (phi(v) + v * pdf(v))),
        'GeluGrad',
      );
    });

    it('binary kernels broadcast numpy-style, either operand', () => {
      const ops: [string, (x: number, y: number) => number][] = [
        ['Add', (x, y) => x + y],
        ['Sub', (x, y) => x - y],
        ['Mul', (x, y) => x * y],
        ['Div', (x, y) => x / y],
        ['Pow', (x, y) => Math.pow(x, y)],
        ['Maximum', Math.max],
        ['Minimum', Math.min],
        ['Equal', (x, y) => (x === y ? 1 : 0)],
        ['Greater', (x, y) => (x > y ? 1 : 0)],
      ];
      const shapes: [number[], number[], number[]][] = [
        [
          [4, 5],
          [4, 5],
          [4, 5],
        ],
        [[4, 5], [5], [4, 5]],
        [[5], [4, 5], [4, 5]],
        [
          [2, 1, 3],
          [4, 1],
          [2, 4, 3],
        ],
        [
          [3, 1],
          [1, 6],
          [3, 6],
        ],
        [[2, 3, 4], [], [2, 3, 4]],
        [[], [2, 3], [2, 3]],
      ];
      for (const [aShape, bShape, outShape] of shapes) {
        const a = rand(ref.sizeOf(aShape));
        const b = rand(ref.sizeOf(bShape));
        b[0] = a[0] as number; // one equal pair for Equal
        for (const [name, f] of ops) {
          const base = name === 'Pow' ? Float32Array.from(a, (v) => Math.abs(v) + 0.5) : a;
          const kernel = k()[name as 'Add'];
          assertClose(
            kernel(base, b, { aShape, bShape, outShape }),
            ref.broadcast(f64(base), aShape, f64(b), bShape, outShape, f),
            `${name} [${aShape}] [${bShape}]`,
          );
        }
      }
    });

    it('Sum and Max over any axes; ArgMax picks the first maximum', () => {
      const shape = [3, 4, 5, 6];
      const x = rand(ref.sizeOf(shape));
      for (const axes of [[0], [3], [0, 1, 2], [1, 2], [0, 2], [1, 3], [0, 1, 2, 3]]) {
        assertClose(
          k().Sum(x, { shape, axes }),
          ref.reduce(f64(x), shape, axes, 0, (s, v) => s + v),
          `Sum ${axes}`,
        );
        assertClose(
          k().Max(x, { shape, axes }),
          ref.reduce(f64(x), shape, axes, -Infinity, Math.max),
          `Max ${axes}`,
        );
      }
      const big = rand(128 * 26 * 26 * 8);
      const bigShape = [128, 26, 26, 8];
      assertClose(
        k().Sum(big, { shape: bigShape, axes: [0, 1, 2] }),
        ref.reduce(f64(big), bigShape, [0, 1, 2], 0, (s, v) => s + v),
        'Sum NHW',
      );
      const tied = backend.alloc('float32', 6);
      tied.set([1, 3, 3, 2, 2, 0]);
      assert.deepEqual(Array.from(k().ArgMax(tied, { shape: [2, 3], axis: 1 })), [1, 0]);
      assert.deepEqual(Array.from(k().ArgMax(tied, { shape: [2, 3], axis: 0 })), [1, 0, 0]);
    });

    it('Transpose, Concat, Slice and Pad, float32 and int32', () => {
      const shape = [2, 3, 4];
      const x = rand(24);
      const xi = backend.alloc('int32', 24);
      xi.forEach((_, i) => (xi[i] = i));
      for (const src of [x, xi] as Storage[]) {
        const t = k().Transpose(src, { shape, perm: [2, 0, 1] });
        assert.equal(t.constructor, src.constructor);
        for (let i = 0; i < 24; i++) {
          const [a, b, c] = ref.unravel(i, [4, 2, 3]) as [number, number, number];
          assert.equal(t[i], src[(b * 3 + c) * 4 + a]);
        }
        const s = k().Slice(src, { shape, begin: [1, 1, 1], size: [1, 2, 3] });
        assert.deepEqual(
          Array.from(s),
          [17, 18, 19, 21, 22, 23].map((i) => src[i]),
        );
        const twice = k().Concat([src, src], { shapes: [shape, shape], axis: 0 });
        assert.equal(twice.constructor, src.constructor);
        assert.deepEqual(Array.from(twice), [...Array.from(src), ...Array.from(src)]);
      }
      const a = rand(6);
      const b = rand(4);
      const c = k().Concat([a, b], {
        shapes: [
          [2, 3],
          [2, 2],
        ],
        axis: 1,
      });
      assert.deepEqual(Array.from(c), [a[0], a[1], a[2], b[0], b[1], a[3], a[4], a[5], b[2], b[3]]);
      const p = k().Pad(a, {
        shape: [2, 3],
        paddings: [
          [1, 0],
          [0, 2],
        ],
        value: 7,
      });
      assert.deepEqual(Array.from(p), [7, 7, 7, 7, 7, a[0], a[1], a[2], 7, 7, a[3], a[4], a[5], 7, 7]);
    });

    it('Softmax, LogSoftmax and their gradients over the last axis', () => {
      const [outer, size] = [6, 10];
      const x = rand(outer * size, 4);
      const dy = rand(outer * size);
      const sm = new Float64Array(outer * size);
      for (let r = 0; r < outer; r++) {
        const row = Array.from(x.subarray(r * size, (r + 1) * size));
        const mx = Math.max(...row);
        const z = row.reduce((s, v) => s + Math.exp(v - mx), 0);
        row.forEach((v, j) => (sm[r * size + j] = Math.exp(v - mx) / z));
      }
      const y = k().Softmax(x, { outer, size });
      assertClose(y, sm, 'Softmax');
      const ly = k().LogSoftmax(x, { outer, size });
      assertClose(ly, Array.from(sm, Math.log), 'LogSoftmax');
      const dSm = new Float64Array(outer * size);
      const dLsm = new Float64Array(outer * size);
      for (let r = 0; r < outer; r++) {
        let dot = 0;
        let sum = 0;
        for (let j = 0; j < size; j++) {
          dot += (dy[r * size + j] as number) * (y[r * size + j] as number);
          sum += dy[r * size + j] as number;
        }
        for (let j = 0; j < size; j++) {
          const i = r * size + j;
          dSm[i] = (y[i] as number) * ((dy[i] as number) - dot);
          dLsm[i] = (dy[i] as number) - Math.exp(ly[i] as number) * sum;
        }
      }
      assertClose(k().SoftmaxGrad(dy, y, { outer, size }), dSm, 'SoftmaxGrad');
      assertClose(k().LogSoftmaxGrad(dy, ly, { outer, size }), dLsm, 'LogSoftmaxGrad');
    });

    it('SoftmaxCrossEntropy with label smoothing, and its gradient', () => {
      const [batch, classes, labelSmoothing] = [8, 10, 0.1];
      const logits = rand(batch * classes, 5);
      const labels = backend.alloc('int32', batch);
      labels.forEach((_, i) => (labels[i] = (i * 3) % classes));
      const attrs = { batch, classes, labelSmoothing };
      const { loss, probs } = k().SoftmaxCrossEntropy(logits, labels, attrs);
      let expectedLoss = 0;
      const expectedGrad = new Float64Array(batch * classes);
      for (let r = 0; r < batch; r++) {
        const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
        const mx = Math.max(...row);
        const lse = Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) + mx;
        for (let j = 0; j < classes; j++) {
          const target = (j === labels[r] ? 1 - labelSmoothing : 0) + labelSmoothing / classes;
          expectedLoss -= (target * ((row[j] as number) - lse)) / batch;
          expectedGrad[r * classes + j] = ((Math.exp((row[j] as number) - lse) - target) * 0.5) / batch;
        }
      }
      assertClose(loss, [expectedLoss], 'loss');
      assertClose(
        k().SoftmaxCrossEntropyGrad(probs, labels, Float32Array.of(0.5), attrs),
        expectedGrad,
        'dlogits',
      );
    });

    it('BatchNorm (training and inference) and LayerNorm, forward and backward', () => {
      const [outer, size, epsilon] = [12, 5, 1e-3];
      const x = rand(outer * size, 2);
      const gamma = rand(size);
      const beta = rand(size);
      const dy = rand(outer * size);
      // Reference in float64 for statistics along `axis` of an (outer, size) view.
      const norm = (perColumn: boolean) => {
        const groups = perColumn ? size : outer;
        const count = perColumn ? outer : size;
        const at = (g: number, j: number) => (perColumn ? j * size + g : g * size + j);
        const mean = new Float64Array(groups);
        const inv = new Float64Array(groups);
        const y = new Float64Array(outer * size);
        const dx = new Float64Array(outer * size);
        const dgamma = new Float64Array(size);
        const dbeta = new Float64Array(size);
        for (let g = 0; g < groups; g++) {
          let s = 0;
          for (let j = 0; j < count; j++) s += x[at(g, j)] as number;
          const mu = s / count;
          let v = 0;
          for (let j = 0; j < count; j++) v += ((x[at(g, j)] as number) - mu) ** 2;
          mean[g] = mu;
          inv[g] = 1 / Math.sqrt(v / count + epsilon);
        }
        const feature = (i: number) => i % size;
        const group = (i: number) => (perColumn ? i % size : Math.floor(i / size));
        const xhat = (i: number) =>
          ((x[i] as number) - (mean[group(i)] as number)) * (inv[group(i)] as number);
        for (let i = 0; i < outer * size; i++) {
          y[i] = (gamma[feature(i)] as number) * xhat(i) + (beta[feature(i)] as number);
          dgamma[feature(i)] += (dy[i] as number) * xhat(i);
          dbeta[feature(i)] += dy[i] as number;
        }
        for (let g = 0; g < groups; g++) {
          let sumG = 0;
          let sumGX = 0;
          for (let j = 0; j < count; j++) {
            const i = at(g, j);
            const gi = (dy[i] as number) * (gamma[feature(i)] as number);
            sumG += gi;
            sumGX += gi * xhat(i);
          }
          for (let j = 0; j < count; j++) {
            const i = at(g, j);
            const gi = (dy[i] as number) * (gamma[feature(i)] as number);
            dx[i] = ((inv[g] as number) / count) * (count * gi - sumG - xhat(i) * sumGX);
          }
        }
        return { y, mean, inv, dx, dgamma, dbeta };
      };
      const attrs = { outer, size, epsilon };
      const bnRef = norm(true);
      const bn = k().BatchNorm(x, gamma, beta, attrs);
      assertClose(bn.y, bnRef.y, 'BatchNorm y');
      assertClose(bn.mean, bnRef.mean, 'BatchNorm mean');
      assertClose(bn.invStd, bnRef.inv, 'BatchNorm invStd');
      const bnGrad = k().BatchNormGrad(dy, x, gamma, bn.mean, bn.invStd, attrs);
      assertClose(bnGrad.dx, bnRef.dx, 'BatchNormGrad dx', 1e-4, 1e-4);
      assertClose(bnGrad.dgamma, bnRef.dgamma, 'BatchNormGrad dgamma');
      assertClose(bnGrad.dbeta, bnRef.dbeta, 'BatchNormGrad dbeta');
      const variance = Float32Array.from(bnRef.inv, (s) => 1 / (s * s) - epsilon);
      assertClose(
        k().BatchNormInference(x, gamma, beta, bn.mean, variance, attrs),
        bnRef.y,
        'BatchNormInference',
      );
      const lnRef = norm(false);
      const ln = k().LayerNorm(x, gamma, beta, attrs);
      assertClose(ln.y, lnRef.y, 'LayerNorm y');
      assertClose(ln.mean, lnRef.mean, 'LayerNorm mean');
      assertClose(ln.invStd, lnRef.inv, 'LayerNorm invStd');
      const lnGrad = k().LayerNormGrad(dy, x, gamma, ln.mean, ln.invStd, attrs);
      assertClose(lnGrad.dx, lnRef.dx, 'LayerNormGrad dx', 1e-4, 1e-4);
      assertClose(lnGrad.dgamma, lnRef.dgamma, 'LayerNormGrad dgamma');
      assertClose(lnGrad.dbeta, lnRef.dbeta, 'LayerNormGrad dbeta');
    });

    it('AdamUpdate (L2 and decoupled) and SgdUpdate (momentum, Nesterov) update every parameter in place', () => {
      const sizes = [7, 50000];
      for (const decoupled of [false, true]) {
        const params = sizes.map((n) => rand(n));
        const grads = sizes.map((n) => rand(n));
        const m = sizes.map((n) => rand(n, 0.1));
        const v = sizes.map((n) => Float32Array.from(rand(n), (x) => x * x * 0.1));
        const [p0, m0, v0] = [params, m, v].map((list) => list.map((a) => Float64Array.from(a)));
        const attrs = {
          lr: 0.01,
          beta1: 0.9,
          beta2: 0.999,
          epsilon: 1e-7,
          weightDecay: 0.1,
          decoupledWeightDecay: decoupled,
        };
        k().AdamUpdate(params, grads, m, v, Float64Array.of(attrs.lr, 3), attrs);
        const alpha = (attrs.lr * Math.sqrt(1 - attrs.beta2 ** 3)) / (1 - attrs.beta1 ** 3);
        sizes.forEach((n, t) => {
          const [ep, em, ev] = [new Float64Array(n), new Float64Array(n), new Float64Array(n)];
          for (let i = 0; i < n; i++) {
            let p = p0[t]![i]!;
            let g = grads[t]![i]!;
            if (decoupled) p -= attrs.lr * attrs.weightDecay * p;
            else g += attrs.weightDecay * p;
            em[i] = m0[t]![i]! + (g - m0[t]![i]!) * (1 - attrs.beta1);
            ev[i] = v0[t]![i]! + (g * g - v0[t]![i]!) * (1 - attrs.beta2);
            ep[i] = p - (alpha * em[i]!) / (Math.sqrt(ev[i]!) + attrs.epsilon);
          }
          assertClose(params[t]!, ep, `Adam params ${t}`);
          assertClose(m[t]!, em, `Adam m ${t}`);
          assertClose(v[t]!, ev, `Adam v ${t}`);
        });
      }
      for (const nesterov of [false, true]) {
        const params = sizes.map((n) => rand(n));
        const grads = sizes.map((n) => rand(n));
        const velocity = sizes.map((n) => rand(n, 0.1));
        const [p0, v0] = [params, velocity].map((list) => list.map((a) => Float64Array.from(a)));
        const attrs = { lr: 0.1, momentum: 0.9, nesterov, weightDecay: 0.01 };
        k().SgdUpdate(params, grads, velocity, Float64Array.of(attrs.lr), attrs);
        sizes.forEach((n, t) => {
          const [ep, ev] = [new Float64Array(n), new Float64Array(n)];
          for (let i = 0; i < n; i++) {
            const g = grads[t]![i]! + attrs.weightDecay * p0[t]![i]!;
            ev[i] = attrs.momentum * v0[t]![i]! - attrs.lr * g;
            ep[i] = p0[t]![i]! + (nesterov ? attrs.momentum * ev[i]! - attrs.lr * g : ev[i]!);
          }
          assertClose(params[t]!, ep, `SGD params ${t}`);
          assertClose(velocity[t]!, ev, `SGD velocity ${t}`);
        });
      }
    });
  });
