// The benchmark plan: which child processes measure each workload on each side, how a record
// becomes one number, and which targets (issues 3, 4 and 19) apply.
//
// Sides: "ours" is mnist-lab (bench/workloads/*.ts through the public API, or the CLI for the
// end-to-end run); "peer" is PyTorch (bench/peer/torch_bench.py, same model, batch size,
// optimizer and thread count), for issue 3's js target @tensorflow/tfjs's CPU backend, or, for the
// wasm backend's target (issue 19), mnist-lab's own js backend.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { nodeTs } from './child.js';
import type { ChildCommand, ChildResult } from './child.js';

export type BackendName = 'js' | 'native' | 'wasm';
export type Framework = 'mnist-lab' | 'mnist-lab js' | 'mnist-lab supervised' | 'pytorch' | 'tfjs';

export const WORKLOAD_NAMES = [
  'cnn',
  'mlp',
  'fast',
  'inference',
  'latency',
  'fast-e2e',
  'rss',
  'vit',
  'cnn-bf16',
  'fast-bf16',
  'fast-e2e-bf16',
  'rss-vit',
  'tfjs-cnn',
  'wasm',
  'wasm-browser',
  'teach',
  'pretrain',
] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface BenchOptions {
  readonly root: string;
  readonly rounds: number;
  readonly threads: number;
  /** undefined: mnist-lab picks its default backend (native when the addon loads). */
  readonly backend: BackendName | undefined;
  readonly quick: boolean;
  /** Timed seconds per throughput measurement (after warm-up). */
  readonly seconds: number;
  readonly python: string;
  readonly torchAvailable: boolean;
  /** A scratch directory the harness deletes at the end (run directories of CLI runs). */
  readonly scratchDir: string;
  /** 'tuned': the PyTorch peer runs with PEER_MALLOC_ENV (see there); 'default': stock glibc malloc. */
  readonly peerMalloc: 'tuned' | 'default';
}

/**
 * NOTE: stock glibc malloc serves PyTorch's large activation buffers (> 32 MB at batch 1000) with
 * fresh mmap()s and trims freed memory, so every forward pays page faults and kernel page zeroing;
 * measured here, cnn inference at batch 1000 runs ~5x faster without that. PyTorch's CPU tuning
 * guide recommends a caching allocator (jemalloc/tcmalloc); these glibc tunables get the same
 * effect with no install, so the peer is PyTorch at its best rather than a strawman.
 */
export const PEER_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: '4000000000',
  MALLOC_TRIM_THRESHOLD_: '4000000000',
};

/** One measurement reduced to the number the table compares (and, for e2e runs, accuracy). */
export interface Measurement {
  readonly value: number;
  readonly accuracy?: number;
  /** Backend the mnist-lab child reports it ran on. */
  readonly backend?: string;
  /** The BLAS the PyTorch child mapped ('openblas-pthread', 'reference', ...). */
  readonly blas?: string;
}

export interface Side {
  readonly framework: Framework;
  /** Builds the child for one round (rounds differ only in seed). */
  child(round: number): ChildCommand;
  measure(result: ChildResult): Measurement;
}

/** Per-workload figures after all rounds, as the targets see them. */
export interface Figures {
  readonly oursMedian: number;
  readonly peerMedian: number | undefined;
  /** Median of per-round ratios, oriented so that > 1 means mnist-lab is better. */
  readonly ratioMedian: number | undefined;
  /** Lowest accuracy over rounds (end-to-end workloads). */
  readonly oursMinAccuracy: number | undefined;
  /** Every round's accuracy (end-to-end workloads). */
  readonly oursAccuracies?: readonly number[];
}

export interface Target {
  readonly description: string;
  /** The target is checked only when the mnist-lab side ran on this backend. */
  readonly backend: BackendName;
  /**
   * Whether the figures meet it; `others` holds the other workloads of the same bench run (a bf16
   * row compares with its float32 row). undefined: cannot be judged (the other row did not run).
   */
  met(figures: Figures, others: ReadonlyMap<string, Figures>): boolean | undefined;
}

export interface Workload {
  readonly name: WorkloadName;
  readonly description: string;
  readonly metric: 'images/s' | 'ms' | 's' | 'MB';
  readonly higherIsBetter: boolean;
  readonly ours: Side;
  /** Absent when the peer is unavailable (no PyTorch); `skipReason` says why. */
  readonly peer: Side | undefined;
  readonly skipReason?: string;
  readonly targets: readonly Target[];
  /** A run may take this long before it is killed. */
  readonly timeoutSeconds: number;
}

const WORKLOADS_DIR = 'bench/workloads';
const TORCH_SCRIPT = 'bench/peer/torch_bench.py';

function number(result: ChildResult, key: string): number {
  const value = result.record[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`child record has no numeric '${key}': ${JSON.stringify(result.record)}`);
  }
  return value;
}

function optionalString(result: ChildResult, key: string): string | undefined {
  const value = result.record[key];
  return typeof value === 'string' ? value : undefined;
}

function withBackend(measurement: { value: number; accuracy?: number }, result: ChildResult): Measurement {
  const backend = optionalString(result, 'backend');
  return backend === undefined ? measurement : { ...measurement, backend };
}

/** Arguments every mnist-lab child gets: backend and thread count. */
function oursCommonArgs(options: BenchOptions, backend: BackendName | undefined): string[] {
  return [...(backend ? ['--backend', backend] : []), '--threads', String(options.threads)];
}

/**
 * The same OpenMP settings for both sides: OMP_NUM_THREADS sizes oneDNN's pool (native backend)
 * and PyTorch's intra-op pool alike. NOTE: mnist-lab's native backend defaults OMP_WAIT_POLICY to
 * passive (spin-waiting collapses on shared cores), so the peer gets the same policy; set
 * OMP_WAIT_POLICY=active in the environment to measure both sides spinning.
 */
function threadEnv(options: BenchOptions): Record<string, string> {
  return {
    OMP_NUM_THREADS: String(options.threads),
    OMP_WAIT_POLICY: process.env['OMP_WAIT_POLICY'] ?? 'passive',
    MNIST_LAB_THREADS: String(options.threads),
  };
}

/** Workloads whose peer is not PyTorch (they run without it). */
export const NO_TORCH_WORKLOADS: readonly WorkloadName[] = [
  'tfjs-cnn',
  'wasm',
  'rss-vit',
  'wasm-browser',
  'teach',
  'pretrain',
];

/** threadEnv for the mnist-lab side, with its spin (spinEnv). */
function oursEnv(options: BenchOptions): Record<string, string> {
  return { ...threadEnv(options), ...spinEnv('mnist-lab', '') };
}

/**
 * libgomp's spin before a waiting thread sleeps (GOMP_SPINCOUNT; OMP_WAIT_POLICY=passive alone
 * means none), each side's best per workload as measured here on an idle 2-core machine:
 * - PyTorch: none for the seed mlp (its OpenBLAS threads need the cores an OpenMP team would spin
 *   on: 40,500 images/s against 27,100 with 30,000 spins), 30,000 for the conv nets (cnn 4,100 ->
 *   5,500 images/s);
 * - mnist-lab: 30,000 (a replayed step's ops run back to back: mlp 82,900 -> 100,500, cnn 12,700 ->
 *   14,600). Its library default stays passive: on shared cores spinning costs far more than it
 *   saves (see src/backend/native/binding.ts).
 * GOMP_SPINCOUNT in the environment overrides both (GOMP_SPINCOUNT=0 on a busy machine).
 */
function spinEnv(framework: 'mnist-lab' | 'pytorch', workload: string): Record<string, string> {
  const best = framework === 'pytorch' && workload === 'mlp' ? '0' : '30000';
  return { GOMP_SPINCOUNT: process.env['GOMP_SPINCOUNT'] ?? best };
}

function torchSide(options: BenchOptions, args: readonly string[], measure: Side['measure']): Side {
  return {
    framework: 'pytorch',
    child: (round) => ({
      command: options.python,
      args: [TORCH_SCRIPT, ...args, '--threads', String(options.threads), '--seed', String(round)],
      // NOTE: the machine's OPENBLAS_* variables pass through unchanged (they keep OpenBLAS correct
      // on this CPU); the harness only adds the thread and malloc settings.
      env: {
        ...threadEnv(options),
        ...spinEnv(
          'pytorch',
          args.includes('--workload') ? (args[args.indexOf('--workload') + 1] ?? '') : 'fast',
        ),
        ...(options.peerMalloc === 'tuned' ? PEER_MALLOC_ENV : {}),
      },
    }),
    measure: (result) => {
      const blas = optionalString(result, 'blas');
      const measurement = measure(result);
      return blas === undefined ? measurement : { ...measurement, blas };
    },
  };
}

/** BLAS builds a ratio against PyTorch is refused with: a peer on them is not PyTorch at its best. */
export const REFUSED_BLAS: ReadonlySet<string> = new Set(['reference', 'none']);

/** mnist-lab's side of a peak-RSS row: `model` trained on the full data set at batch 128. */
function peakRssOurs(
  options: BenchOptions,
  model: 'cnn' | 'vit',
  env: Record<string, string>,
): Workload['ours'] {
  return {
    framework: 'mnist-lab',
    child: (round) =>
      nodeTs(
        `${WORKLOADS_DIR}/train.ts`,
        [
          '--model',
          model,
          '--batch',
          '128',
          '--full-data',
          '--seconds',
          String(Math.max(options.seconds, options.quick ? 5 : 20)),
          '--seed',
          String(round),
          ...oursCommonArgs(options, options.backend),
        ],
        env,
      ),
    measure: (result) => withBackend({ value: number(result, 'peakRssMb') }, result),
  };
}

function trainWorkload(
  options: BenchOptions,
  model: 'cnn' | 'mlp' | 'fast' | 'vit',
  batchSize: number,
  targets: readonly Target[],
  bf16 = false,
): Workload {
  const name: WorkloadName = bf16 ? (`${model}-bf16` as WorkloadName) : model;
  // Warm-up steps are untimed on both sides: first-call allocation, primitive creation, JIT.
  const warmup = model === 'mlp' ? 20 : model === 'vit' ? 3 : 5;
  const seconds = String(options.seconds);
  const imagesPerSecond = (result: ChildResult): Measurement =>
    withBackend({ value: number(result, 'imagesPerSecond') }, result);
  return {
    name,
    description: `train ${model}, batch ${batchSize}${bf16 ? ', bf16 vs autocast' : ''}`,
    metric: 'images/s',
    higherIsBetter: true,
    ours: {
      framework: 'mnist-lab',
      child: (round) =>
        nodeTs(
          `${WORKLOADS_DIR}/train.ts`,
          [
            '--model',
            model,
            '--batch',
            String(batchSize),
            '--warmup',
            String(warmup),
            '--seconds',
            seconds,
            '--seed',
            String(round),
            ...(bf16 ? ['--precision', 'bfloat16'] : []),
            ...oursCommonArgs(options, options.backend),
          ],
          oursEnv(options),
        ),
      measure: imagesPerSecond,
    },
    ...torchPeer(options, [
      '--mode',
      'train',
      '--workload',
      model,
      '--warmup',
      String(warmup),
      '--seconds',
      seconds,
      ...(bf16 ? ['--bf16'] : []),
    ]),
    targets,
    timeoutSeconds: 600,
  };
}

/** The PyTorch side, or the reason it is skipped. */
function torchPeer(
  options: BenchOptions,
  args: readonly string[],
  measure: Side['measure'] = (result) => ({ value: number(result, 'imagesPerSecond') }),
): { peer: Side | undefined; skipReason?: string } {
  if (!options.torchAvailable) {
    return {
      peer: undefined,
      skipReason: `${options.python} cannot import torch (Debian: apt install python3-torch)`,
    };
  }
  return { peer: torchSide(options, args, measure) };
}

/** The CLI entry: the built one when present (what users run), else the TypeScript source via tsx. */
function cliCommand(root: string, args: readonly string[], env: Record<string, string>): ChildCommand {
  const built = join(root, 'dist/cli/main.js');
  if (existsSync(built)) return { command: process.execPath, args: [built, ...args], env };
  return nodeTs('src/cli/main.ts', args, env);
}

/**
 * The `fast` recipe end to end through the CLI: wall time from spawn to exit (harness clock) with
 * process start, data loading, one epoch and the test pass; the run directory goes to a scratch
 * folder. bf16: --precision bf16 against PyTorch under autocast, and its accuracy against the
 * float32 row's (same seeds) in the same run.
 */
function fastEndToEnd(options: BenchOptions, bf16: boolean): Workload {
  const measure = (result: ChildResult, accuracy: number): Measurement =>
    withBackend({ value: result.wallSeconds, accuracy }, result);
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    name: bf16 ? 'fast-e2e-bf16' : 'fast-e2e',
    description: `CLI fast recipe, 1 epoch, wall${bf16 ? ', bf16 vs autocast' : ''}`,
    metric: 's',
    higherIsBetter: false,
    ours: {
      framework: 'mnist-lab',
      child: (round) =>
        cliCommand(
          options.root,
          [
            'train',
            '--model',
            'fast',
            '--dataset',
            'mnist',
            '--epochs',
            '1',
            '--seed',
            String(round),
            '--out',
            join(options.scratchDir, `fast-e2e${bf16 ? '-bf16' : ''}-${round}`),
            '--json',
            ...(bf16 ? ['--precision', 'bf16'] : []),
            ...oursCommonArgs(options, options.backend),
          ],
          oursEnv(options),
        ),
      measure: (result) => measure(result, testAccuracy(result)),
    },
    ...torchPeer(options, ['--mode', 'fast-e2e', ...(bf16 ? ['--bf16'] : [])], (result) => ({
      value: result.wallSeconds,
      accuracy: number(result, 'testAccuracy'),
    })),
    targets: bf16
      ? [
          {
            description: 'test accuracy within 0.2 points of fast-e2e (float32, same seeds)',
            backend: 'native',
            met: (f, others) => {
              const float32 = others.get('fast-e2e');
              if (!float32?.oursAccuracies?.length || !f.oursAccuracies?.length) return undefined;
              return Math.abs(mean(f.oursAccuracies) - mean(float32.oursAccuracies)) <= 0.002;
            },
          },
        ]
      : [
          {
            description: '>= 99.0% test accuracy (lowest round) in <= 4 s',
            backend: 'native',
            met: (f) => f.oursMedian <= 4 && (f.oursMinAccuracy ?? 0) >= 0.99,
          },
        ],
    timeoutSeconds: 1800,
  };
}

export function buildPlan(options: BenchOptions, names: readonly WorkloadName[]): Workload[] {
  const seconds = String(options.seconds);
  const ratioAtLeast = (factor: number, peer = 'PyTorch'): Target => ({
    description: `>= ${factor}x ${peer}`,
    backend: 'native',
    met: (figures) => (figures.ratioMedian === undefined ? undefined : figures.ratioMedian >= factor),
  });
  /** bf16 rows: at least `factor` times the float32 row's own speed in this run. */
  const overFloat32 = (row: WorkloadName, factor: number): Target => ({
    description: `>= ${factor}x mnist-lab ${row} (float32)`,
    backend: 'native',
    met: (figures, others) => {
      const float32 = others.get(row)?.oursMedian;
      return float32 === undefined ? undefined : figures.oursMedian >= factor * float32;
    },
  });
  const all: Record<WorkloadName, () => Workload> = {
    cnn: () =>
      trainWorkload(options, 'cnn', 128, [
        ratioAtLeast(3),
        {
          description: '>= 14,000 images/s (quiet machine)',
          backend: 'native',
          met: (f) => f.oursMedian >= 14_000,
        },
      ]),
    mlp: () => trainWorkload(options, 'mlp', 32, [ratioAtLeast(3)]),
    fast: () => trainWorkload(options, 'fast', 256, [ratioAtLeast(3)]),
    vit: () => trainWorkload(options, 'vit', 128, [ratioAtLeast(3)]),
    'cnn-bf16': () =>
      trainWorkload(
        options,
        'cnn',
        128,
        [overFloat32('cnn', 1.5), ratioAtLeast(2, 'PyTorch bf16 autocast')],
        true,
      ),
    'fast-bf16': () =>
      trainWorkload(
        options,
        'fast',
        256,
        [overFloat32('fast', 1.5), ratioAtLeast(2, 'PyTorch bf16 autocast')],
        true,
      ),
    inference: () => ({
      name: 'inference',
      description: 'cnn predict, batch 1000',
      metric: 'images/s',
      higherIsBetter: true,
      ours: {
        framework: 'mnist-lab',
        child: () =>
          nodeTs(
            `${WORKLOADS_DIR}/infer.ts`,
            [
              '--mode',
              'throughput',
              '--model',
              'cnn',
              '--batch',
              '1000',
              '--seconds',
              seconds,
              ...oursCommonArgs(options, options.backend),
            ],
            oursEnv(options),
          ),
        measure: (result) => withBackend({ value: number(result, 'imagesPerSecond') }, result),
      },
      ...torchPeer(options, [
        '--mode',
        'infer',
        '--workload',
        'cnn',
        '--batch',
        '1000',
        '--warmup',
        '3',
        '--seconds',
        seconds,
      ]),
      targets: [ratioAtLeast(5)],
      timeoutSeconds: 600,
    }),
    latency: () => ({
      name: 'latency',
      description: 'cnn predict, 1 image (median)',
      metric: 'ms',
      higherIsBetter: false,
      ours: {
        framework: 'mnist-lab',
        child: () =>
          nodeTs(
            `${WORKLOADS_DIR}/infer.ts`,
            [
              '--mode',
              'latency',
              '--model',
              'cnn',
              '--calls',
              '1000',
              ...oursCommonArgs(options, options.backend),
            ],
            oursEnv(options),
          ),
        measure: (result) => withBackend({ value: number(result, 'medianMs') }, result),
      },
      ...torchPeer(
        options,
        ['--mode', 'latency', '--workload', 'cnn', '--warmup', '50', '--steps', '1000'],
        (result) => ({ value: number(result, 'medianMs') }),
      ),
      targets: [
        ratioAtLeast(3),
        { description: '<= 0.09 ms', backend: 'native', met: (f) => f.oursMedian <= 0.09 },
      ],
      timeoutSeconds: 600,
    }),
    'fast-e2e': () => fastEndToEnd(options, false),
    'fast-e2e-bf16': () => fastEndToEnd(options, true),
    rss: () => ({
      name: 'rss',
      description: 'peak RSS, cnn training on full MNIST',
      metric: 'MB',
      higherIsBetter: false,
      ours: peakRssOurs(options, 'cnn', oursEnv(options)),
      ...torchPeer(
        options,
        ['--mode', 'train', '--workload', 'cnn', '--warmup', '5', '--seconds', seconds],
        (result) => ({ value: number(result, 'peakRssMb') }),
      ),
      // Issue 16: unchanged or lower than the previous build's 264 MB (noise allowed: 270).
      targets: [
        { description: '<= 270 MB (previous 264)', backend: 'native', met: (f) => f.oursMedian <= 270 },
      ],
      timeoutSeconds: 900,
    }),
    'rss-vit': () => ({
      // Issue 17: the vit's activations (attention scores [B, 4, 50, 50] per block, kept for the
      // backward pass) are what grows; no peer row (the speed rows compare it with PyTorch).
      name: 'rss-vit',
      description: 'peak RSS, vit training on full MNIST, batch 128',
      metric: 'MB',
      higherIsBetter: false,
      ours: peakRssOurs(options, 'vit', threadEnv(options)),
      peer: undefined,
      targets: [{ description: '<= 600 MB', backend: 'native', met: (f) => f.oursMedian <= 600 }],
      timeoutSeconds: 900,
    }),
    wasm: () => {
      // Issue 19: the wasm backend against the js backend, both on --threads threads, cnn training
      // in Node (the same child, only --backend differs), interleaved round by round.
      const trainChild = (backend: BackendName, round: number): ChildCommand =>
        nodeTs(
          `${WORKLOADS_DIR}/train.ts`,
          [
            '--model',
            'cnn',
            '--batch',
            '128',
            '--warmup',
            '5',
            '--seconds',
            seconds,
            '--seed',
            String(round),
            ...oursCommonArgs(options, backend),
          ],
          threadEnv(options),
        );
      const imagesPerSecond = (result: ChildResult): Measurement =>
        withBackend({ value: number(result, 'imagesPerSecond') }, result);
      return {
        name: 'wasm',
        description: 'train cnn, batch 128, wasm vs js backend',
        metric: 'images/s',
        higherIsBetter: true,
        ours: {
          framework: 'mnist-lab',
          child: (round) => trainChild('wasm', round),
          measure: imagesPerSecond,
        },
        peer: {
          framework: 'mnist-lab js',
          child: (round) => trainChild('js', round),
          measure: imagesPerSecond,
        },
        targets: [{ ...ratioAtLeast(4, 'the js backend'), backend: 'wasm' }],
        timeoutSeconds: 900,
      };
    },
    'wasm-browser': () => {
      // Issue 19: cnn training in headless Chromium, the wasm backend (cross-origin isolated page:
      // shared memory, --threads threads) against TF.js's CPU backend, from the same page bundle
      // (bench/browser/page.ts), one side per page load. TF.js trains ~1-2 images/s there, so it
      // runs one timed batch of 128 after an untimed batch of 16.
      const browserChild = (side: 'wasm' | 'tfjs'): ChildCommand =>
        nodeTs(`${WORKLOADS_DIR}/browser.ts`, [
          '--mode',
          'train',
          '--side',
          side,
          '--threads',
          String(options.threads),
          ...(side === 'wasm' ? ['--warmup', '3', '--seconds', seconds] : ['--warmup', '1', '--steps', '1']),
        ]);
      const imagesPerSecond = (result: ChildResult): Measurement =>
        withBackend({ value: number(result, 'imagesPerSecond') }, result);
      return {
        name: 'wasm-browser',
        description: 'train cnn, batch 128, in Chromium, wasm vs tfjs-cpu',
        metric: 'images/s',
        higherIsBetter: true,
        ours: { framework: 'mnist-lab', child: () => browserChild('wasm'), measure: imagesPerSecond },
        peer: {
          framework: 'tfjs',
          child: () => browserChild('tfjs'),
          measure: (result) => ({ value: number(result, 'imagesPerSecond') }),
        },
        targets: [{ ...ratioAtLeast(50, 'tfjs-cpu in the page'), backend: 'wasm' }],
        timeoutSeconds: 1800,
      };
    },
    teach: () => ({
      // Issue 19: the Teach page end to end in Chromium (a real server, drawings made with the
      // pointer): a new head on 3 new symbols x 8 drawings, fine-tuned in the page's worker.
      name: 'teach',
      description: 'Teach page: new head, 3 classes x 8 drawings',
      metric: 's',
      higherIsBetter: false,
      ours: {
        framework: 'mnist-lab',
        child: () => nodeTs(`${WORKLOADS_DIR}/browser.ts`, ['--mode', 'teach']),
        measure: (result) => withBackend({ value: number(result, 'seconds') }, result),
      },
      peer: undefined,
      skipReason: 'no peer: no other JavaScript library fine-tunes a convnet in a page worker',
      targets: [{ description: '< 2 s in the page', backend: 'wasm', met: (f) => f.oursMedian < 2 }],
      timeoutSeconds: 900,
    }),
    pretrain: () => {
      // Issue 18: pretrain() (MAE around the vit, mask ratio 0.75) against fit() training the same
      // vit as a classifier, same backend and batch, interleaved round by round.
      const child = (objective: 'mae' | 'supervised', round: number): ChildCommand =>
        nodeTs(
          `${WORKLOADS_DIR}/pretrain.ts`,
          [
            '--objective',
            objective,
            '--batch',
            '128',
            '--warmup',
            '5',
            '--seconds',
            seconds,
            '--seed',
            String(round),
            ...oursCommonArgs(options, options.backend),
          ],
          threadEnv(options),
        );
      const imagesPerSecond = (result: ChildResult): Measurement =>
        withBackend({ value: number(result, 'imagesPerSecond') }, result);
      return {
        name: 'pretrain',
        description: 'pretrain vit as MAE (mask 0.75), batch 128, vs supervised vit',
        metric: 'images/s',
        higherIsBetter: true,
        ours: { framework: 'mnist-lab', child: (round) => child('mae', round), measure: imagesPerSecond },
        peer: {
          framework: 'mnist-lab supervised',
          child: (round) => child('supervised', round),
          measure: imagesPerSecond,
        },
        targets: [],
        timeoutSeconds: 900,
      };
    },
    'tfjs-cnn': () => {
      // Issue 3: the js backend against tfjs's pure-JS CPU backend (~2 images/s), so tfjs runs a
      // fixed few batches of 128 per round, after a small untimed warm-up batch (JIT).
      const tfjsSteps = options.quick ? 1 : 2;
      return {
        name: 'tfjs-cnn',
        description: 'train cnn, batch 128, vs tfjs-cpu',
        metric: 'images/s',
        higherIsBetter: true,
        ours: {
          framework: 'mnist-lab',
          child: (round) =>
            nodeTs(
              `${WORKLOADS_DIR}/train.ts`,
              [
                '--model',
                'cnn',
                '--batch',
                '128',
                '--warmup',
                '3',
                '--seconds',
                seconds,
                '--seed',
                String(round),
                ...oursCommonArgs(options, 'js'),
              ],
              oursEnv(options),
            ),
          measure: (result) => withBackend({ value: number(result, 'imagesPerSecond') }, result),
        },
        peer: {
          framework: 'tfjs',
          child: () =>
            nodeTs('bench/peer/tfjs-cnn.ts', [
              '--steps',
              String(tfjsSteps),
              '--warmup',
              '1',
              '--warmup-batch',
              '16',
            ]),
          measure: (result) => ({ value: number(result, 'imagesPerSecond') }),
        },
        targets: [{ ...ratioAtLeast(100, 'tfjs-cpu'), backend: 'js' }],
        timeoutSeconds: 1800,
      };
    },
  };
  return names.map((name) => all[name]());
}

/** Test accuracy from the CLI's --json record: `{test: {accuracy}}`. */
function testAccuracy(result: ChildResult): number {
  const test = result.record['test'];
  if (typeof test === 'object' && test !== null && 'accuracy' in test && typeof test.accuracy === 'number') {
    return test.accuracy;
  }
  throw new Error(`CLI --json record has no test.accuracy: ${JSON.stringify(result.record)}`);
}
