// The benchmark's report: no ratio against a PyTorch peer on the reference BLAS, and targets that
// compare one row with another (bf16 with float32) judged from the same run.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Measurement, Side, Target, Workload } from '../../bench/harness/plan.js';
import { checkTargets, renderTable, summarise, type Round } from '../../bench/harness/report.js';

const side = (framework: 'mnist-lab' | 'pytorch'): Side => ({
  framework,
  child: () => ({ command: 'true', args: [] }),
  measure: () => ({ value: 0 }),
});

function workload(name: Workload['name'], targets: Target[] = []): Workload {
  return {
    name,
    description: name,
    metric: 'images/s',
    higherIsBetter: true,
    ours: side('mnist-lab'),
    peer: side('pytorch'),
    targets,
    timeoutSeconds: 1,
  };
}

function rounds(ours: number[], peer: number[], blas: string): Round[] {
  const m = (value: number, extra: Partial<Measurement> = {}) => ({
    measurement: { value, ...extra },
    wallSeconds: 1,
    record: {},
  });
  return ours.map((value, i) => ({
    ours: m(value, { backend: 'native' }),
    peer: m(peer[i] as number, { blas }),
    errors: [],
  }));
}

const atLeast3x: Target = {
  description: '>= 3x PyTorch',
  backend: 'native',
  met: (f) => (f.ratioMedian === undefined ? undefined : f.ratioMedian >= 3),
};

describe('bench report', () => {
  it('refuses a ratio when the PyTorch peer ran on the reference BLAS', () => {
    const reference = summarise(workload('mlp', [atLeast3x]), rounds([900, 1000], [100, 100], 'reference'));
    assert.equal(reference.ratioMedian, undefined);
    assert.match(reference.ratioRefused ?? '', /reference BLAS; install libopenblas0-pthread/);
    const [checked] = checkTargets([workload('mlp', [atLeast3x])], [reference]);
    assert.equal(checked?.targets[0]?.met, null);
    assert.match(renderTable([reference]), /refused: reference BLAS/);
    assert.match(renderTable([reference]), /pytorch \(reference\)/);

    const openblas = summarise(
      workload('mlp', [atLeast3x]),
      rounds([900, 1000], [100, 100], 'openblas-pthread'),
    );
    assert.equal(openblas.ratioMedian, 9.5);
    assert.equal(checkTargets([workload('mlp', [atLeast3x])], [openblas])[0]?.targets[0]?.met, true);
  });

  it('judges a bf16 row against the float32 row of the same run, and not without it', () => {
    const overFloat32: Target = {
      description: '>= 1.5x cnn',
      backend: 'native',
      met: (f, others) => {
        const base = others.get('cnn')?.oursMedian;
        return base === undefined ? undefined : f.oursMedian >= 1.5 * base;
      },
    };
    const cnn = summarise(workload('cnn'), rounds([100, 100], [10, 10], 'openblas-pthread'));
    const bf16 = summarise(
      workload('cnn-bf16', [overFloat32]),
      rounds([140, 160], [10, 10], 'openblas-pthread'),
    );
    const both = checkTargets([workload('cnn'), workload('cnn-bf16', [overFloat32])], [cnn, bf16]);
    assert.equal(both[1]?.targets[0]?.met, true);
    const alone = checkTargets([workload('cnn-bf16', [overFloat32])], [bf16]);
    assert.equal(alone[0]?.targets[0]?.met, null);
  });
});
