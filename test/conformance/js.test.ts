// The conformance suite on the js backend: every case of cases.ts against the naive float64
// reference (reference.ts), in float32 and in float64.
//   float32: |js - ref| <= 1e-5 * |ref| + 1e-6 * max|ref|   (float32 rounding of inputs/outputs,
//            plus cancellation relative to the output's scale)
//   float64: the same form with 1e-10 and 1e-12 (float64 arithmetic in a different order)
// Also checks that every kernel of the contract has at least one case, and the pool's reuse.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Backend, KernelName, Storage } from '../../src/backend/kernels.js';
import { StoragePool, bindJsKernels, createJsBackend, heapAlloc } from '../../src/backend/js/index.js';
import type { Allocator } from '../../src/backend/js/index.js';
import { conformanceCases } from './cases.js';

const backend = createJsBackend();

function assertClose(
  actual: Storage,
  expected: Float64Array,
  rel: number,
  absScale: number,
  what: string,
): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: length ${actual.length}, expected ${expected.length}`,
  );
  let scale = 0;
  for (const e of expected) if (Number.isFinite(e)) scale = Math.max(scale, Math.abs(e));
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    if (!(Math.abs(a - e) <= rel * Math.abs(e) + absScale * scale)) {
      assert.fail(`${what}: element ${i} is ${a}, reference ${e} (difference ${Math.abs(a - e)})`);
    }
  }
}

describe('conformance: js matches the float64 reference', () => {
  for (const c of conformanceCases) {
    it(`${c.kernel}: ${c.name}`, () => {
      const expected = c.reference();
      const f32 = c.run(backend);
      assert.equal(f32.length, expected.length, 'number of outputs');
      f32.forEach((a, i) => {
        if (!(a instanceof Int32Array))
          assert.ok(a instanceof Float32Array, `output ${i} of a float32 run is float32`);
        assertClose(a, expected[i] as Float64Array, 1e-5, 1e-6, `float32 output ${i}`);
      });
      const f64 = c.runAs(backend, 'float64');
      f64.forEach((a, i) => {
        if (!(a instanceof Int32Array))
          assert.ok(a instanceof Float64Array, `output ${i} of a float64 run is float64`);
        assertClose(a, expected[i] as Float64Array, 1e-10, 1e-12, `float64 output ${i}`);
      });
    });
  }
});

describe('conformance suite coverage', () => {
  it('has a case for every kernel of the contract', () => {
    const covered = new Set(conformanceCases.map((c) => c.kernel));
    const missing = (Object.keys(backend.kernels) as KernelName[]).filter((k) => !covered.has(k));
    assert.deepEqual(missing, []);
  });

  it('runs every case deterministically (same outputs twice)', () => {
    for (const c of conformanceCases.slice(0, 40)) {
      const first = c.run(backend);
      const second = c.run(backend);
      first.forEach((a, i) => assert.deepEqual(second[i], a, `${c.kernel}: ${c.name} output ${i}`));
    }
  });
});

describe('js backend storage pool', () => {
  it('reuses released storage by dtype and length, and fully writes pooled outputs', () => {
    const pool = new StoragePool(1024);
    const a = pool.alloc('float32', 16);
    a.fill(123);
    pool.release(a);
    assert.equal(pool.bytes, 64);
    assert.notEqual(pool.alloc('float64', 16), a, 'another dtype is not served from the float32 list');
    const b = pool.alloc('float32', 16);
    assert.equal(b, a, 'same dtype and length is reused');
    assert.equal(pool.bytes, 0);
    pool.release(b);
    pool.release(b);
    assert.equal(pool.bytes, 64, 'a double release is ignored');
  });

  it('keeps at most its byte bound', () => {
    const pool = new StoragePool(100);
    pool.release(new Float64Array(10));
    pool.release(new Float64Array(10));
    assert.equal(pool.bytes, 80);
    pool.release(new Int32Array(100));
    assert.equal(pool.bytes, 80);
  });

  it('kernels overwrite stale pooled memory (Conv2DBackpropInput, MaxPoolGrad, AvgPoolGrad, Pad)', () => {
    const js = createJsBackend();
    const names = new Set<KernelName>([
      'Conv2DBackpropInput',
      'MaxPoolGrad',
      'AvgPoolGrad',
      'Pad',
      'Sum',
      'Max',
    ]);
    for (const c of conformanceCases.filter((k) => names.has(k.kernel))) {
      const clean = c.run(js);
      // Poison, release, and run again: outputs now come from the pool.
      for (const s of clean) {
        s.fill(Number.NaN as never);
        js.release(s);
      }
      const again = c.run(js);
      const expected = c.run(createJsBackend());
      again.forEach((a, i) => assert.deepEqual(a, expected[i], `${c.kernel}: ${c.name} output ${i}`));
    }
  });
});

describe('bindJsKernels', () => {
  it('allocates every output through the allocator it is bound to (the native backend relies on it)', () => {
    const allocated = new Set<Storage>();
    const counting = ((dtype: 'float32', size: number) => {
      const s = heapAlloc(dtype, size);
      allocated.add(s);
      return s;
    }) as Allocator;
    const bound: Backend = {
      name: 'counting',
      threads: 1,
      alloc: counting,
      release: () => {},
      kernels: bindJsKernels(counting),
    };
    for (const c of conformanceCases) {
      const outputs = c.run(bound);
      // In-place optimizer updates return their (allocated) inputs; everything else is new.
      outputs.forEach((o, i) =>
        assert.ok(allocated.has(o), `${c.kernel}: ${c.name} output ${i} bypassed the allocator`),
      );
    }
  });
});
