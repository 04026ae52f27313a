// The conformance suite on the native backend: every case of test/conformance/cases.ts runs on the
// js backend (the reference) and on the native backend, and every returned storage must agree
// within |native - js| <= 1e-5 + 1e-4 * |js| (float32 arithmetic in a different order).
// Skipped as a whole, with the reason, when the addon is not built.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Storage } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createNativeBackend, nativeBackendAvailable } from '../../src/backend/native/index.js';
import { conformanceCases } from './cases.js';

const availability = nativeBackendAvailable();
const skip = availability.available ? false : `native addon unavailable: ${availability.reason}`;

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

// A skipped test (not a skipped suite) so the reason shows up in the run's skip count.
if (skip) it('conformance: native matches js', { skip }, () => {});
else
  describe('conformance: native matches js', () => {
    const js = createJsBackend();
    const native = createNativeBackend();
    for (const c of conformanceCases) {
      const reason = excluded.get(c.name);
      it(`${c.kernel}: ${c.name}`, reason ? { skip: reason } : {}, () => {
        const expected = c.run(js);
        const actual = c.run(native);
        assert.equal(actual.length, expected.length, 'number of outputs');
        expected.forEach((e, i) => assertClose(actual[i] as Storage, e, `${c.name} output ${i}`));
      });
    }
  });
