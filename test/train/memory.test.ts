import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Backend, Kernels, Storage } from '../../src/backend/kernels.js';
import { getBackend, setBackend, setBackendInstance } from '../../src/backend/registry.js';
import { smallModel, syntheticData } from './setup.js';

/**
 * The active backend, wrapped to count live storages: +1 per alloc() and per typed array a kernel
 * returns (kernel outputs are fresh storage by contract), -1 per release().
 */
function countingBackend(inner: Backend): { backend: Backend; live: () => number } {
  let live = 0;
  const count = (value: unknown): void => {
    if (ArrayBuffer.isView(value)) live++;
    else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) count(v);
  };
  const kernels = new Proxy(inner.kernels, {
    get(target, name: string) {
      const kernel = target[name as keyof Kernels] as unknown as (...args: unknown[]) => unknown;
      if (typeof kernel !== 'function') return kernel;
      return (...args: unknown[]) => {
        const result = kernel.apply(target, args);
        count(result);
        return result;
      };
    },
  });
  const backend = {
    name: `${inner.name}-counting`,
    threads: inner.threads,
    alloc: (dtype: 'float32', size: number) => {
      live++;
      return inner.alloc(dtype, size);
    },
    release: (storage: Storage) => {
      live--;
      inner.release(storage);
    },
    kernels,
  } as unknown as Backend;
  return { backend, live: () => live };
}

describe('memory', () => {
  it('stays flat over 1,000 training steps: live storages constant, heap bounded', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const inner = getBackend();
    const { backend, live } = countingBackend(inner);
    setBackendInstance(backend);
    try {
      const data = syntheticData(80);
      const model = smallModel(); // with dropout: masks are storages too
      const liveAtStep: number[] = [];
      const heapAtStep = new Map<number, number>();
      await model.fit(data.images, data.labels, {
        epochs: 100,
        batchSize: 8,
        verbose: 0,
        validationData: [data.images.subarray(0, 36 * 8), data.labels.subarray(0, 8)],
        onEvent: (e) => {
          if (e.type !== 'batchEnd') return;
          liveAtStep.push(live());
          if (e.step === 100 || e.step === 999) {
            gc();
            heapAtStep.set(e.step, process.memoryUsage().heapUsed);
          }
        },
      });
      assert.equal(liveAtStep.length, 1000);
      // From the second step on (the optimizer made its slots in the first), nothing accumulates.
      const settled = liveAtStep[1];
      assert.ok(
        liveAtStep.slice(1).every((n) => n === settled),
        `live storages drifted: ${liveAtStep.slice(0, 12)}...${liveAtStep.slice(-3)}`,
      );
      const growth = heapAtStep.get(999)! - heapAtStep.get(100)!;
      assert.ok(growth < 2 * 1024 * 1024, `heap grew ${growth} bytes over 900 steps`);
    } finally {
      setBackend(inner.name);
    }
  });
});
