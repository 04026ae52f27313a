// `npm run bench:mpi`: data-parallel overhead on one machine (issue 20). Side by side, A B A B...:
// 1 process x 2 threads against `mpirun -np 2` x 1 thread each, the same `mnist-lab train` (cnn,
// native backend, global batch 128), each a fresh job. Prints each side's median images/s, the
// median of the per-round ratios (target >= 0.85), and the all-reduce's share of process 0's step.
// --bind-to none: on a machine others share, a rank pinned to a busy core stalls both (measured
// ~690 against ~1,130 images/s).
//
//   npm run bench:mpi -- [--rounds 3] [--limit 12800] [--model cnn] [--backend native]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../dist/cli/main.js');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    limit: { type: 'string', default: '12800' },
    model: { type: 'string', default: 'cnn' },
    backend: { type: 'string', default: 'native' },
  },
});
const rounds = Number(values.rounds);
const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-bench-mpi-'));

interface Result {
  imagesPerSecond: number;
  dataParallel?: { allReduceMsPerStep: number; stepMsPerStep: number; allReduceValues: number };
}

function train(processes: 1 | 2, round: number): Result {
  const args = [
    ...['train', '--model', values.model as string, '--backend', values.backend as string],
    ...['--dataset', 'mnist', '--offline', '--epochs', '1', '--limit', values.limit as string],
    ...['--batch-size', '128', '--json', '--threads', processes === 1 ? '2' : '1'],
    ...['--out', join(scratch, `${processes}-${round}`)],
  ];
  const argv =
    processes === 1
      ? [process.execPath, MAIN, ...args]
      : [
          'mpirun',
          ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []),
          ...['--bind-to', 'none'],
          '-np',
          '2',
          process.execPath,
          MAIN,
          ...args,
        ];
  const child = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`${argv.join(' ')} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as Result;
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

const single: number[] = [];
const parallel: number[] = [];
const ratios: number[] = [];
const allReduceShare: number[] = [];
let allReduceMs: number[] = [];
let stepMs: number[] = [];
let floats = 0;
try {
  for (let round = 0; round < rounds; round++) {
    const one = train(1, round);
    const two = train(2, round);
    single.push(one.imagesPerSecond);
    parallel.push(two.imagesPerSecond);
    ratios.push(two.imagesPerSecond / one.imagesPerSecond);
    const d = two.dataParallel;
    if (d) {
      allReduceMs.push(d.allReduceMsPerStep);
      stepMs.push(d.stepMsPerStep);
      allReduceShare.push(d.allReduceMsPerStep / d.stepMsPerStep);
      floats = d.allReduceValues;
    }
    console.log(
      `round ${round + 1}: 1x2 threads ${one.imagesPerSecond} img/s, 2x1 thread ${two.imagesPerSecond} img/s ` +
        `(ratio ${(two.imagesPerSecond / one.imagesPerSecond).toFixed(2)}; all-reduce ${d?.allReduceMsPerStep} ms of a ${d?.stepMsPerStep} ms step)`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
allReduceMs = allReduceMs.length ? allReduceMs : [NaN];
stepMs = stepMs.length ? stepMs : [NaN];
console.log(
  `| ${values.model} ${values.backend} batch 128 | 1 process x 2 threads ${Math.round(median(single))} img/s ` +
    `| 2 processes x 1 thread ${Math.round(median(parallel))} img/s | ratio ${median(ratios).toFixed(2)} (target >= 0.85) ` +
    `| all-reduce of ${floats} floats ${median(allReduceMs).toFixed(2)} ms of a ${median(stepMs).toFixed(1)} ms step ` +
    `(${(100 * median(allReduceShare)).toFixed(0)}%, waiting for the slower process included) | ${rounds} rounds |`,
);
