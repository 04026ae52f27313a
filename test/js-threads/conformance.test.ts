// The conformance suite (test/conformance/cases.ts) on the threaded js backend: every case, every
// call split into tasks (minFlops 0), must give exactly the single-threaded js backend's outputs
// (which js.test.ts checks against the float64 reference), in float32 and float64.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createJsThreadsBackend } from '../../src/backend/js-threads/index.js';
import { conformanceCases } from '../conformance/cases.js';

const js = createJsBackend();
const threaded = createJsThreadsBackend({ threads: 2, minFlops: 0 });

before(async () => assert.equal(await threaded.ready(), 2));
after(() => threaded.close());

describe('conformance: threaded js equals js', () => {
  for (const c of conformanceCases) {
    it(`${c.kernel}: ${c.name}`, () => {
      for (const dtype of ['float32', 'float64'] as const) {
        const expected = c.runAs(js, dtype);
        const actual = c.runAs(threaded, dtype);
        assert.equal(actual.length, expected.length, 'number of outputs');
        expected.forEach((e, i) => assert.deepEqual(actual[i], e, `${dtype} output ${i}`));
      }
    });
  }
});
