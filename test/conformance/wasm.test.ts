// The conformance suite on the wasm backend: every case of test/conformance/cases.ts (forward
// kernels and gradient kernels alike) runs on the js backend (the reference) and on the wasm
// backend in three set-ups, and every returned storage must agree:
//   float32: |wasm - js| <= 1e-5 + 1e-4 * |js|  (float32 arithmetic in another order, as native)
//   float64: exactly (float64 calls run the js kernels on wasm storage)
// Set-ups: shared memory on one thread; shared memory on 2 threads with every call split into
// tasks (its outputs must equal the one-thread outputs bit for bit); copy mode (plain memory,
// JS-heap storage copied in and out), as a page without cross-origin isolation runs it.
// Skipped as a whole, with the reason, when the module is not built.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Backend, Storage } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createWasmBackend, type WasmBackend } from '../../src/backend/wasm/index.js';
import { loadWasmModule, nodeWasmWorkers, wasmBackendAvailable } from '../../src/backend/wasm/node.js';
import { conformanceCases } from './cases.js';

const availability = wasmBackendAvailable();
const skip = availability.available ? false : `wasm module unavailable: ${availability.reason}`;

/** Known gaps: case names that may differ, with the reason. This list only shrinks. */
const excluded = new Map<string, string>([]);

function assertClose(actual: Storage, expected: Storage, what: string): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: length ${actual.length}, expected ${expected.length}`,
  );
  assert.equal(actual.constructor.name, expected.constructor.name, `${what}: dtype`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    if (a === e) continue; // infinities
    if (!(Math.abs(a - e) <= 1e-5 + 1e-4 * Math.abs(e)))
      assert.fail(`${what}: element ${i} is ${a}, js gives ${e}`);
  }
}

function module(build: 'shared' | 'plain'): WebAssembly.Module {
  const load = loadWasmModule(build);
  if (!('module' in load)) throw new Error(load.reason);
  return load.module;
}

if (skip) it('conformance: wasm matches js', { skip }, () => {});
else
  describe('conformance: wasm matches js', () => {
    const js = createJsBackend();
    let one: WasmBackend;
    let two: WasmBackend;
    let copy: WasmBackend;
    before(async () => {
      one = createWasmBackend({ module: module('shared'), shared: true });
      two = createWasmBackend({
        module: module('shared'),
        shared: true,
        threads: 2,
        spawnWorker: nodeWasmWorkers(),
        minParallelFlops: 0,
      });
      copy = createWasmBackend({ module: module('plain'), shared: false });
      assert.equal(await two.ready(), 2, 'both threads started');
    });
    after(() => two.close());

    for (const c of conformanceCases) {
      const reason = excluded.get(c.name);
      it(`${c.kernel}: ${c.name}`, reason ? { skip: reason } : {}, () => {
        const expected = c.run(js);
        const single = c.run(one);
        assert.equal(single.length, expected.length, 'number of outputs');
        expected.forEach((e, i) => assertClose(single[i] as Storage, e, `shared, 1 thread: output ${i}`));
        c.run(two).forEach((a, i) => assert.deepEqual(a, single[i], `shared, 2 threads: output ${i}`));
        c.run(copy).forEach((a, i) => assertClose(a, expected[i] as Storage, `copy mode: output ${i}`));
        const f64 = c.runAs(js, 'float64');
        c.runAs(one as Backend, 'float64').forEach((a, i) =>
          assert.deepEqual(a, f64[i], `float64 (js kernels on wasm storage): output ${i}`),
        );
      });
    }

    it('split calls ran tasks on the worker thread', () => {
      assert.ok(two.stats().workerTasks > 0, `stats: ${JSON.stringify(two.stats())}`);
    });
  });
