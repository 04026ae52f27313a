// Kernel-level tests of the wasm backend beyond the small conformance cases: shapes large enough to
// take every path of the C kernels (several patch chunks and tasks, k split into blocks, edge
// tiles, padding and strides), the same results on 1 and 2 threads, the heap (size classes, reuse,
// growth that keeps earlier views valid) and storage made by another backend.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend, Conv2DAttrs, Storage, Window2D } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { sizeClass } from '../../src/backend/wasm/heap.js';
import { WASM_KERNELS, createWasmBackend, type WasmBackend } from '../../src/backend/wasm/index.js';
import { loadWasmModule, nodeWasmWorkers, wasmBackendAvailable } from '../../src/backend/wasm/node.js';
import { Prng } from '../conformance/prng.js';

const availability = wasmBackendAvailable();
const skip = availability.available ? false : `wasm module unavailable: ${availability.reason}`;

function shared(): WebAssembly.Module {
  const load = loadWasmModule('shared');
  if (!('module' in load)) throw new Error(load.reason);
  return load.module;
}

/** |a - e| <= 1e-4 |e| + 1e-5 max|e|: float32 sums in another order, relative to the output's scale. */
function assertNear(actual: Storage, expected: Storage, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (const e of expected) scale = Math.max(scale, Math.abs(e));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= 1e-4 * Math.abs(e) + 1e-5 * scale))
      assert.fail(`${what}: element ${i} is ${a}, js gives ${e}`);
  }
}

function upload(backend: Backend, values: Float64Array): Float32Array {
  const out = backend.alloc('float32', values.length);
  out.set(values);
  return out;
}

function conv(
  N: number,
  H: number,
  C: number,
  K: number,
  O: number,
  stride: number,
  pad: number,
  dilation = 1,
): Conv2DAttrs {
  const out = Math.floor((H + 2 * pad - dilation * (K - 1) - 1) / stride) + 1;
  return {
    N,
    H,
    W: H,
    C,
    KH: K,
    KW: K,
    OH: out,
    OW: out,
    strideH: stride,
    strideW: stride,
    padTop: pad,
    padBottom: pad,
    padLeft: pad,
    padRight: pad,
    dilationH: dilation,
    dilationW: dilation,
    O,
  };
}

const convShapes: [string, Conv2DAttrs][] = [
  ['cnn conv1, batch 16', conv(16, 28, 1, 3, 32, 1, 0)],
  ['cnn conv2, batch 16', conv(16, 13, 32, 3, 64, 1, 0)],
  ['5x5 same padding, 5 in, 7 out', conv(6, 12, 5, 5, 7, 1, 2)],
  ['3x3 stride 2, pad 1, dilation 2', conv(4, 15, 6, 3, 10, 2, 1, 2)],
  ['1x1 pointwise', conv(8, 9, 24, 1, 20, 1, 0)],
];

/** Runs every kernel family at the sizes above on `backend`, from a fixed stream of inputs. */
function workload(backend: Backend): Storage[] {
  const rng = new Prng(7);
  const k = backend.kernels;
  const outputs: Storage[] = [];
  for (const [, a] of convShapes) {
    const x = upload(backend, rng.uniform(a.N * a.H * a.W * a.C, -1, 1));
    const w = upload(backend, rng.uniform(a.KH * a.KW * a.C * a.O, -0.5, 0.5));
    const bias = upload(backend, rng.uniform(a.O, -0.5, 0.5));
    const dy = upload(backend, rng.uniform(a.N * a.OH * a.OW * a.O, -1, 1));
    outputs.push(k.Conv2D(x, w, bias, a), k.FusedConv2D(x, w, bias, { ...a, activation: 'relu' }));
    outputs.push(k.Conv2DBackpropInput(dy, w, a), k.Conv2DBackpropFilter(x, dy, a));
    const { dw, dbias } = k.Conv2DBackpropFilterBias(x, dy, a);
    outputs.push(dw, dbias);
  }
  for (const [m, kk, n, tA, tB, batch] of [
    [64, 1600, 10, false, false, 1],
    [1600, 64, 10, true, false, 1],
    [64, 10, 1600, false, true, 1],
    [3, 700, 33, false, false, 1],
    [17, 19, 23, true, true, 5],
  ] as const) {
    const a = upload(backend, rng.uniform(batch * m * kk, -1, 1));
    const b = upload(backend, rng.uniform(batch * kk * n, -1, 1));
    outputs.push(k.MatMul(a, b, { batch, m, k: kk, n, transposeA: tA, transposeB: tB }));
  }
  const pool: Window2D = { ...conv(8, 17, 13, 3, 0, 2, 1) };
  const x = upload(backend, rng.uniform(8 * 17 * 17 * 13, -1, 1));
  const { y, workspace } = k.MaxPool(x, pool);
  const dy = upload(backend, rng.uniform(y.length, -1, 1));
  outputs.push(y, workspace, k.MaxPoolGrad(dy, x, workspace, pool));
  const big = upload(backend, rng.uniform(100_003, -2, 2));
  outputs.push(k.Relu(big), k.ReluGrad(big, big));
  const rows = upload(backend, rng.uniform(2000 * 37, -1, 1));
  const column = upload(backend, rng.uniform(37, -1, 1));
  const attrs = { aShape: [2000, 37], bShape: [37], outShape: [2000, 37] };
  outputs.push(
    k.Add(rows, column, attrs),
    k.Mul(rows, column, attrs),
    k.Sum(rows, { shape: [2000, 37], axes: [0] }),
  );
  return outputs;
}

if (skip) it('wasm kernels', { skip }, () => {});
else
  describe('wasm kernels', () => {
    const js = createJsBackend();
    let one: WasmBackend;
    let two: WasmBackend;
    before(async () => {
      one = createWasmBackend({ module: shared(), shared: true });
      two = createWasmBackend({ module: shared(), shared: true, threads: 2, spawnWorker: nodeWasmWorkers() });
      assert.equal(await two.ready(), 2);
    });
    after(() => two.close());

    it('match the js kernels at sizes that take every path (chunks, tasks, k blocks, edge tiles)', () => {
      const expected = workload(js);
      workload(one).forEach((a, i) => assertNear(a, expected[i] as Storage, `output ${i}`));
    });

    it('give the same bits on 2 threads as on 1 (every split is deterministic)', () => {
      const single = workload(one);
      const before = two.stats().workerTasks;
      workload(two).forEach((a, i) => assert.deepEqual(a, single[i], `output ${i}`));
      assert.ok(two.stats().workerTasks > before, 'some tasks ran on the worker');
    });

    it('keep working on the calling thread after close()', () => {
      const backend = createWasmBackend({
        module: shared(),
        shared: true,
        threads: 2,
        spawnWorker: nodeWasmWorkers(),
      });
      backend.close();
      const expected = workload(one);
      workload(backend).forEach((a, i) => assert.deepEqual(a, expected[i], `output ${i}`));
      assert.equal(backend.stats().workerTasks, 0);
    });

    it('take storage made by another backend (copied in for the call)', () => {
      const x = new Float32Array([1, -2, 3, -4, 5]);
      const y = one.kernels.Relu(x);
      assert.deepEqual([...y], [1, 0, 3, 0, 5]);
      assert.notEqual(y.buffer, x.buffer);
    });

    it('lists only kernels of the contract', () => {
      for (const name of WASM_KERNELS) assert.ok(name in js.kernels, name);
    });
  });

if (!skip)
  describe('wasm heap', () => {
    const js = createJsBackend();
    it('rounds requests up to size classes: 64-byte lines, then eighths of a power of two', () => {
      assert.equal(sizeClass(1), 64);
      assert.equal(sizeClass(65), 128);
      assert.equal(sizeClass(4096), 4096);
      assert.equal(sizeClass(4097), 4608);
      assert.equal(sizeClass(1_000_000), 1_048_576);
      for (const bytes of [5000, 77_777, 3_000_001]) {
        const size = sizeClass(bytes);
        assert.ok(size >= bytes && size <= bytes * 1.25, `${bytes} -> ${size}`);
      }
    });

    it('reuses released blocks, ignores double release and views, and keeps views valid across growth', () => {
      const backend = createWasmBackend({ module: shared(), shared: true });
      const a = backend.alloc('float32', 1000);
      a.fill(3);
      backend.release(a);
      backend.release(a);
      const b = backend.alloc('float32', 1000);
      assert.equal(b.byteOffset, a.byteOffset, 'same class: the released block');
      const c = backend.alloc('float32', 1000);
      assert.notEqual(c.byteOffset, b.byteOffset, 'a double release did not hand the block out twice');
      backend.release(b.subarray(10));
      assert.notEqual(backend.alloc('float32', 1000).byteOffset, b.byteOffset, 'a view is not a block');
      c.fill(7);
      const size = backend.memoryBytes;
      const huge = backend.alloc('float32', 64 * 1024 * 1024);
      assert.ok(backend.memoryBytes > size, 'the memory grew');
      assert.equal(c.length, 1000, 'views made before the growth are still attached');
      assert.equal(c[999], 7);
      huge[huge.length - 1] = 1;
      assert.deepEqual([...backend.kernels.Relu(c).subarray(0, 2)], [7, 7]);
    });

    it('copy mode: storage on the JS heap, and the memory grows under the pool without detaching it', () => {
      const plain = loadWasmModule('plain');
      if (!('module' in plain)) throw new Error(plain.reason);
      const backend = createWasmBackend({ module: plain.module, shared: false });
      const size = backend.memoryBytes;
      const expected = workload(js);
      workload(backend).forEach((a, i) => {
        assert.ok(!(a.buffer instanceof SharedArrayBuffer), `output ${i} is JS-heap storage`);
        assertNear(a, expected[i] as Storage, `output ${i}`);
      });
      assert.ok(backend.memoryBytes > size, 'temporaries grew the memory');
      assert.deepEqual(backend.stats(), { jobs: 0, workerTasks: 0 });
    });

    it('says what to do when the memory is exhausted', () => {
      const backend = createWasmBackend({ module: shared(), shared: true, maxMemoryBytes: 16 * 1024 * 1024 });
      assert.throws(
        () => backend.alloc('float32', 8 * 1024 * 1024),
        /wasm backend: out of memory: .*maxMemoryBytes/,
      );
    });
  });
