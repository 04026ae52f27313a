// Without mpirun: how a process learns it is one of several, and how a global batch is shared.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shareOf } from '../../src/distributed/data-parallel.js';
import { launchedAs } from '../../src/distributed/launch.js';

describe('data-parallel launch and shares', () => {
  it('reads rank and size from mpirun, srun or PMI; one process (or none said) is not a job', () => {
    assert.deepEqual(
      launchedAs({ OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '4', OMPI_COMM_WORLD_LOCAL_SIZE: '2' }),
      { rank: 1, size: 4, launcher: 'mpirun', localSize: 2 },
    );
    assert.deepEqual(
      launchedAs({ SLURM_PROCID: '3', SLURM_STEP_NUM_TASKS: '8', SLURM_STEP_TASKS_PER_NODE: '4(x2)' }),
      { rank: 3, size: 8, launcher: 'srun', localSize: 4 },
    );
    assert.deepEqual(launchedAs({ PMI_RANK: '0', PMI_SIZE: '2' }), {
      rank: 0,
      size: 2,
      launcher: 'PMI',
      localSize: undefined,
    });
    assert.equal(launchedAs({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '1' }), undefined);
    assert.equal(launchedAs({ SLURM_PROCID: '0' }), undefined, 'sbatch alone, no srun step');
    assert.equal(launchedAs({}), undefined);
  });

  it('the shares of a global batch are disjoint, in order, cover it, and differ by at most one row', () => {
    for (const size of [1, 2, 3, 4, 7]) {
      for (const batch of [1, 5, 64, 127, 128]) {
        const shares = Array.from({ length: size }, (_, rank) => shareOf(batch, rank, size));
        assert.equal(shares[0]?.[0], 0);
        assert.equal(shares.at(-1)?.[1], batch);
        for (let r = 1; r < size; r++) assert.equal(shares[r]?.[0], shares[r - 1]?.[1]);
        const lengths = shares.map(([begin, end]) => end - begin);
        assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1, `${batch} over ${size}: ${lengths}`);
      }
    }
  });
});
