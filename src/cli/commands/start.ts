// `mnist-lab start` (what `npm start` runs): the first run, the same lesson whichever backend
// computes: train a convnet on MNIST, evaluate it, write the report, in about a minute on a 2-core
// machine. On the native backend, the full `cnn` recipe (Keras mnist_convnet, 3 epochs on 60,000
// images); on js, the `fast` recipe (half cnn's arithmetic per image, one-cycle schedule) for 1 epoch
// on the first 24,000 images, which reaches ~98.5% (cnn on js for a minute: 1 epoch on 12,000
// images, ~92%); on wasm, the `fast` recipe as designed (1 epoch on all 60,000, ~99%). The first line says which backend, what will be trained, how long it should take,
// and what the native backend would do.
import { Command } from 'commander';
import { selectBackend, type Backend } from '../../index.js';
import { printInfo, printResult } from '../output.js';
import { backendOptions, train, type TrainFlags } from './train.js';

export interface FirstRunPlan {
  model: 'cnn' | 'fast';
  epochs: number;
  /** Training images used (the first N of 60,000). */
  images: number;
  /** Seconds expected, training plus loading, the test pass and the report. */
  expectedSeconds: number;
}

const MNIST_TRAIN_IMAGES = 60000;

/**
 * Training speed per compute thread and the fixed cost of a run (loading, test pass, report), from
 * the 2-core development machine when quiet (native cnn ~11,000 images/s on 2 threads; js fast
 * ~2.5x js cnn's ~300). NOTE: the first line's estimate only; the progress lines give real ETAs.
 */
const PLANS = {
  native: { model: 'cnn', epochs: 3, images: 60000, imagesPerSecondPerThread: 5000, overheadSeconds: 6 },
  wasm: { model: 'fast', epochs: 1, images: 60000, imagesPerSecondPerThread: 1500, overheadSeconds: 8 },
  js: { model: 'fast', epochs: 1, images: 24000, imagesPerSecondPerThread: 250, overheadSeconds: 12 },
} as const;

/** The first run for `backend`: the full cnn recipe where it is fast, a lighter run elsewhere. */
export function firstRunPlan(backend: Pick<Backend, 'name' | 'threads'>): FirstRunPlan {
  const plan = backend.name === 'native' ? PLANS.native : backend.name === 'wasm' ? PLANS.wasm : PLANS.js;
  const rate = plan.imagesPerSecondPerThread * Math.max(1, backend.threads);
  return {
    model: plan.model,
    epochs: plan.epochs,
    images: plan.images,
    expectedSeconds: Math.round((plan.epochs * plan.images) / rate + plan.overheadSeconds),
  };
}

function aboutSeconds(seconds: number): string {
  if (seconds < 90) return `about ${Math.max(10, Math.round(seconds / 10) * 10)} s`;
  return `about ${Math.round(seconds / 60)} min`;
}

/** The first line: backend, what is trained, the expected time; on js, what native would do. */
export function firstRunIntro(backend: Pick<Backend, 'name' | 'threads'>): string {
  const plan = firstRunPlan(backend);
  const count = (n: number) => n.toLocaleString('en-US');
  const what =
    plan.images === MNIST_TRAIN_IMAGES
      ? `the full ${plan.model} recipe, ${plan.epochs} epoch${plan.epochs === 1 ? '' : 's'} on all ${count(plan.images)} training images`
      : `the ${plan.model} recipe for ${plan.epochs} epoch on the first ${count(plan.images)} of ${count(MNIST_TRAIN_IMAGES)} training images`;
  const threads = `${backend.threads} thread${backend.threads === 1 ? '' : 's'}`;
  const line = `mnist-lab start: ${backend.name} backend (${threads}): ${what}, ${aboutSeconds(plan.expectedSeconds)}`;
  if (backend.name === 'native') return `${line}.`;
  const full = firstRunPlan({ name: 'native', threads: backend.threads });
  return (
    `${line}; the native backend trains the full ${full.model} recipe (${full.epochs} epochs on all ` +
    `${count(MNIST_TRAIN_IMAGES)}) in ${aboutSeconds(full.expectedSeconds)}.`
  );
}

interface StartFlags {
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  out?: string;
  debug?: boolean;
}

async function start(flags: StartFlags): Promise<void> {
  // Chosen here (with the one-line hint on how to get native when it is missing) so the plan fits it.
  const backend = selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  const plan = firstRunPlan(backend);
  printInfo(firstRunIntro(backend));
  await train(
    {
      model: plan.model,
      dataset: 'mnist',
      epochs: plan.epochs,
      ...(plan.images < MNIST_TRAIN_IMAGES ? { limit: plan.images } : {}),
      seed: 0,
      stopOnNan: true,
      compile: true,
      backend: backend.name as NonNullable<TrainFlags['backend']>, // the one chosen above
      ...(flags.threads ? { threads: flags.threads } : {}),
      ...(flags.out ? { out: flags.out } : {}),
      ...(flags.debug ? { debug: true } : {}),
    },
    { header: false },
  );
  printResult(
    'next: mnist-lab serve (draw digits for the model in a browser), mnist-lab train --help (recipes, flags)',
  );
}

export function registerStartCommand(program: Command): void {
  const command = program
    .command('start')
    .description(
      'the first run: train a convnet on MNIST sized to the backend (about a minute), evaluate it, write the report',
    )
    .option('--out <dir>', 'run directory (default runs/<model>-mnist-<time>)');
  backendOptions(command).action((_flags: StartFlags, sub: Command) =>
    start(sub.optsWithGlobals<StartFlags>()),
  );
}
