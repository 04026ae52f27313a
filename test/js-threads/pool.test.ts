// The threaded js backend's worker pool: clean shutdown (close, and a process that never calls it
// still exits), fallback to one thread when workers cannot start, and backend selection on Node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import type { Conv2DAttrs } from '../../src/backend/kernels.js';
import { createJsBackend } from '../../src/backend/js/index.js';
import { createJsThreadsBackend } from '../../src/backend/js-threads/index.js';
import { selectBackend } from '../../src/backend/select.js';
import { wasmBackendAvailable } from '../../src/backend/wasm/node.js';
import { window } from '../conformance/cases.js';
import { Prng } from '../conformance/prng.js';

const attrs: Conv2DAttrs = { ...window(16, 13, 13, 8, 3, 3), O: 16 };
const prng = new Prng(5);
const x = Float32Array.from(prng.uniform(16 * 13 * 13 * 8));
const w = Float32Array.from(prng.uniform(3 * 3 * 8 * 16));
const expected = createJsBackend().kernels.Conv2D(x, w, null, attrs);

describe('js-threads pool', () => {
  it('close() terminates the workers; the backend keeps computing on the main thread', async () => {
    const backend = createJsThreadsBackend({ threads: 2, minFlops: 0 });
    assert.equal(await backend.ready(), 2);
    assert.deepEqual(backend.kernels.Conv2D(x, w, null, attrs), expected);
    await backend.close();
    const before = backend.stats();
    assert.deepEqual(backend.kernels.Conv2D(x, w, null, attrs), expected);
    assert.equal(backend.stats().workerTasks, before.workerTasks, 'no task reaches a closed pool');
  });

  it('falls back to one thread, with one log line, when workers cannot start', async () => {
    const lines: string[] = [];
    const backend = createJsThreadsBackend({
      threads: 3,
      minFlops: 0,
      log: (line) => lines.push(line),
      workerUrl: new URL('./no-such-worker.js', import.meta.url),
    });
    assert.equal(await backend.ready(), 1, 'no worker is ready');
    assert.deepEqual(backend.kernels.Conv2D(x, w, null, attrs), expected);
    assert.equal(lines.length, 1, `one line, found ${JSON.stringify(lines)}`);
    assert.match(lines[0]!, /js backend: .*computing on one thread/);
    assert.equal(backend.stats().workerTasks, 0);
    await backend.close();
  });

  it('does not keep the process alive: a script that never calls close() exits', () => {
    const script = `
      import { createJsThreadsBackend } from ${JSON.stringify(new URL('../../src/backend/js-threads/index.ts', import.meta.url).href)};
      const backend = createJsThreadsBackend({ threads: 2, minFlops: 0 });
      const threads = await backend.ready();
      const x = new Float32Array(8 * 13 * 13 * 8).fill(1), w = new Float32Array(9 * 8 * 4).fill(0.5);
      const attrs = { N: 8, H: 13, W: 13, C: 8, KH: 3, KW: 3, OH: 11, OW: 11, O: 4, strideH: 1, strideW: 1,
        padTop: 0, padBottom: 0, padLeft: 0, padRight: 0, dilationH: 1, dilationW: 1 };
      const y = backend.kernels.Conv2D(x, w, null, attrs);
      console.log(threads, y[0]);
    `;
    const started = Date.now();
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(child.signal, null, `the child was killed after ${Date.now() - started} ms (still alive?)`);
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), '2 36', 'two threads; 3x3x8 taps of 1 x 0.5');
  });
});

describe('selectBackend on Node', () => {
  it("'js' with threads > 1 is the threaded js backend; threads 1 the plain one", () => {
    const threaded = selectBackend({ backend: 'js', threads: 2 });
    assert.equal(threaded.name, 'js');
    assert.equal(threaded.threads, 2);
    assert.equal(threaded.alloc('float32', 4).buffer instanceof SharedArrayBuffer, true);
    assert.equal(selectBackend({ backend: 'js', threads: 2 }), threaded, 'selecting again reuses the pool');
    const single = selectBackend({ backend: 'js', threads: 1 });
    assert.equal(single.name, 'js');
    assert.equal(single.threads, 1);
    assert.equal(single.alloc('float32', 4).buffer instanceof SharedArrayBuffer, false);
    assert.throws(
      () => selectBackend({ backend: 'js', threads: 0 }),
      /threads must be a positive integer, found 0/,
    );
  });

  it('a bad thread count is refused once, by the backend that would use it', () => {
    for (const threads of [0, -2, 1.5, Number.NaN]) {
      assert.throws(
        () => selectBackend({ backend: 'js', threads }),
        new RegExp(`^Error: js backend: threads must be a positive integer, found ${threads}$`),
      );
      if (wasmBackendAvailable().available) {
        assert.throws(
          () => selectBackend({ backend: 'wasm', threads }),
          new RegExp(`^Error: wasm backend: threads must be a positive integer, found ${threads}$`),
        );
      }
    }
  });
});
