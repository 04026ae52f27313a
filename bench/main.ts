// `npm run bench`: mnist-lab against its peers, side by side in one run.
//
// For each workload, each round runs the mnist-lab child and then the peer child (A B A B ...),
// every measurement in a fresh process. The table shows each side's median and the median of the
// per-round ratios, with the targets of issues 3 (js backend >= 100x tfjs-cpu on cnn), 4
// (native backend vs PyTorch, end-to-end fast recipe, peak RSS) and 19 (wasm backend >= 4x js). Raw records go to
// bench/results/latest.json.
//
//   npm run bench -- [--workloads cnn,mlp,...] [--rounds 3] [--threads N] [--backend js|native|wasm]
//                    [--seconds 5] [--quick] [--python /usr/bin/python3]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { pythonHasTorch, runChild } from './harness/child.js';
import { buildPlan, NO_TORCH_WORKLOADS, WORKLOAD_NAMES } from './harness/plan.js';
import type { BackendName, BenchOptions, Side, Workload, WorkloadName } from './harness/plan.js';
import { checkTargets, renderTable, summarise } from './harness/report.js';
import type { Round, SideRound, WorkloadSummary } from './harness/report.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = join(ROOT, 'bench/results/latest.json');

const USAGE = `usage: npm run bench -- [options]
  --workloads LIST   comma-separated, from: ${WORKLOAD_NAMES.join(', ')} (default: all)
  --rounds N         interleaved rounds per workload (default 3; --quick: 1)
  --threads N        threads for both sides (default: available cores)
  --backend B        mnist-lab backend, js, native or wasm (default: mnist-lab's own choice)
  --seconds T        timed seconds per throughput measurement (default 5; --quick: 2)
  --quick            a smoke run: 1 round, short timings, 1 tfjs batch
  --peer-malloc M    tuned (default: glibc tunables that keep PyTorch's freed buffers, see
                     bench/harness/plan.ts) or default (stock malloc)
  --python PATH      interpreter with torch (default /usr/bin/python3)`;

function parseOptions(): { options: BenchOptions; names: WorkloadName[] } {
  const { values } = parseArgs({
    options: {
      workloads: { type: 'string' },
      rounds: { type: 'string' },
      threads: { type: 'string' },
      backend: { type: 'string' },
      seconds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'peer-malloc': { type: 'string', default: 'tuned' },
      python: { type: 'string', default: '/usr/bin/python3' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const names = (values.workloads ?? WORKLOAD_NAMES.join(',')).split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(WORKLOAD_NAMES as readonly string[]).includes(name)) {
      fail(`--workloads: unknown workload '${name}'; expected some of ${WORKLOAD_NAMES.join(', ')}`);
    }
  }
  const backend = values.backend;
  if (backend !== undefined && backend !== 'js' && backend !== 'native' && backend !== 'wasm') {
    fail(`--backend: expected js, native or wasm, found '${backend}'`);
  }
  const positive = (flag: string, text: string | undefined, fallback: number): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!(value > 0)) fail(`--${flag}: expected a positive number, found '${text}'`);
    return value;
  };
  const peerMalloc = values['peer-malloc'];
  if (peerMalloc !== 'tuned' && peerMalloc !== 'default') {
    fail(`--peer-malloc: expected tuned or default, found '${peerMalloc}'`);
  }
  const quick = values.quick;
  const selected = names as WorkloadName[];
  const needsTorch = selected.some((name) => !NO_TORCH_WORKLOADS.includes(name));
  const options: BenchOptions = {
    root: ROOT,
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
    threads: Math.round(positive('threads', values.threads, availableParallelism())),
    backend: backend as BackendName | undefined,
    quick,
    seconds: positive('seconds', values.seconds, quick ? 2 : 5),
    python: values.python,
    torchAvailable: needsTorch && pythonHasTorch(values.python),
    scratchDir: mkdtempSync(join(tmpdir(), 'mnist-lab-bench-')),
    peerMalloc,
  };
  return { options, names: selected };
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${USAGE}`);
  process.exit(2);
}

/**
 * The PyTorch peer must run on OpenBLAS: Debian's PyTorch links libblas.so.3, the reference BLAS
 * unless libopenblas0-pthread is installed (then update-alternatives points it at OpenBLAS), and on
 * the reference BLAS it is several times slower (the seed mlp: ~7,500 against ~28,000 images/s).
 * Each peer child also reports the BLAS it mapped, and ratios against the reference one are refused.
 */
function requireOpenBlas(): void {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'libopenblas0-pthread'], { encoding: 'utf8' });
  if (query.error) return; // not a Debian system: the per-child check still refuses the reference BLAS
  if (!query.stdout.includes('install ok installed')) {
    console.error(
      "bench: the PyTorch peer needs libopenblas0-pthread (without it Debian's PyTorch runs on the " +
        'reference BLAS); install it: apt-get install libopenblas0-pthread',
    );
    process.exit(2);
  }
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function measureSide(
  workload: Workload,
  side: Side,
  round: number,
  errors: string[],
): Promise<SideRound | undefined> {
  const label = `[${workload.name} ${round + 1}] ${side.framework}`;
  const child = side.child(round);
  try {
    const result = await runChild(child, ROOT, workload.timeoutSeconds);
    const measurement = side.measure(result);
    const backend = measurement.backend ? ` (${measurement.backend})` : '';
    const blas = measurement.blas ? ` (BLAS: ${measurement.blas})` : '';
    const accuracy =
      measurement.accuracy === undefined ? '' : `, accuracy ${(100 * measurement.accuracy).toFixed(2)}%`;
    log(`${label}${backend}${blas}: ${measurement.value.toFixed(3)} ${workload.metric}${accuracy}`);
    return { measurement, wallSeconds: result.wallSeconds, record: result.record };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${label}: FAILED: ${message}`);
    errors.push(`${side.framework}: ${message.split('\n')[0]}`);
    return undefined;
  }
}

async function runWorkload(workload: Workload, rounds: number): Promise<WorkloadSummary> {
  if (!workload.peer && workload.skipReason) log(`[${workload.name}] peer skipped: ${workload.skipReason}`);
  const results: Round[] = [];
  for (let round = 0; round < rounds; round++) {
    const errors: string[] = [];
    const ours = await measureSide(workload, workload.ours, round, errors);
    const peer = workload.peer ? await measureSide(workload, workload.peer, round, errors) : undefined;
    results.push({ ours, peer, errors });
  }
  return summarise(workload, results);
}

function gitCommit(): string | undefined {
  const result = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

async function main(): Promise<void> {
  const { options, names } = parseOptions();
  const environment = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    cpu: cpus()[0]?.model,
    cores: availableParallelism(),
    node: process.version,
    threads: options.threads,
    rounds: options.rounds,
    seconds: options.seconds,
    backend: options.backend ?? 'default',
    python: options.torchAvailable ? options.python : null,
    peerMalloc: options.peerMalloc,
  };
  log(
    `bench: ${names.join(', ')}; ${options.rounds} round(s), ${options.threads} thread(s), backend ` +
      `${environment.backend}, ${environment.cpu ?? 'unknown CPU'}, node ${process.version}`,
  );
  // torchAvailable is true only when a selected row has a PyTorch peer.
  if (options.torchAvailable) requireOpenBlas();
  if (!options.torchAvailable && names.some((name) => !NO_TORCH_WORKLOADS.includes(name))) {
    log(
      `bench: ${options.python} cannot import torch: PyTorch rows are skipped (Debian: apt install python3-torch)`,
    );
  }

  const measured: WorkloadSummary[] = [];
  const workloads = buildPlan(options, names);
  try {
    for (const workload of workloads) measured.push(await runWorkload(workload, options.rounds));
  } finally {
    rmSync(options.scratchDir, { recursive: true, force: true });
  }
  const summaries = checkTargets(workloads, measured);

  const table = renderTable(summaries);
  console.log(`\n${table}`);
  console.log(
    '\nmedians over rounds; ratio = median of per-round ratios, > 1 favours mnist-lab ' +
      '(images/s: mnist-lab / peer; ms, s, MB: peer / mnist-lab); @ = lowest test accuracy over rounds',
  );
  const failures = summaries.flatMap((s) =>
    s.rounds.flatMap((round) => round.errors.map((e) => `${s.workload}: ${e}`)),
  );
  for (const failure of failures) console.log(`failed: ${failure}`);

  mkdirSync(dirname(RESULTS_FILE), { recursive: true });
  writeFileSync(RESULTS_FILE, `${JSON.stringify({ environment, table, workloads: summaries }, null, 2)}\n`);
  console.log(`\nraw results: ${RESULTS_FILE}`);
  process.exitCode = failures.length ? 1 : 0;
}

await main();
