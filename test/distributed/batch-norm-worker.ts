// One process of the --sync-bn test (mpi.test.ts): trains a small conv + batch-norm model on
// synthetic images, alone or as a rank of an mpirun job, and writes its weights as JSON to argv[2].
// Usage: [mpirun -np 2] node --import tsx batch-norm-worker.ts OUT sync|local
import { writeFileSync } from 'node:fs';
import {
  adam,
  batchNormalization,
  conv2d,
  dense,
  flatten,
  sequential,
  selectBackend,
  sparseCategoricalCrossentropy,
} from '../../src/index.js';
import { CollectiveDataParallel } from '../../src/distributed/data-parallel.js';
import { joinProcessGroup } from '../../src/distributed/launch.js';
import { syntheticData } from '../train/setup.js';

const [out, mode] = process.argv.slice(2);
selectBackend({ backend: 'js', threads: 1 });
const group = joinProcessGroup();
const model = sequential([
  conv2d({ filters: 4, kernelSize: 3, inputShape: [6, 6, 1], useBias: false }),
  batchNormalization(),
  flatten(),
  dense({ units: 8, activation: 'relu' }),
  batchNormalization(),
  dense({ units: 3 }),
]);
model.compile({
  optimizer: adam({ learningRate: 0.01 }),
  loss: sparseCategoricalCrossentropy({ fromLogits: true }),
});
const data = syntheticData(96, 4);
const run = async (): Promise<void> => {
  await model.fit(data.images, data.labels, {
    epochs: 2,
    batchSize: 32,
    seed: 2,
    verbose: 0,
    ...(group ? { dataParallel: new CollectiveDataParallel(group, { syncBatchNorm: mode === 'sync' }) } : {}),
  });
  if ((group?.rank ?? 0) === 0)
    writeFileSync(
      out as string,
      JSON.stringify(model.weights.map((w) => [w.name, Array.from(w.value.data)])),
    );
  group?.finalize();
};
void run();
