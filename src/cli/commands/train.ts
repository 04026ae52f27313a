// `mnist-lab train` and `mnist-lab evaluate`: a thin client of the public API. The CLI parses and
// validates flags, prints the typed training events, and prints one JSON object with --json;
// the training loop, the zoo and the data layer do the work.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  ZOO_MODEL_NAMES,
  getRecipe,
  loadDataset,
  selectBackend,
  terminateOnNaN,
  type Dataset,
  type ImageSet,
  type TrainEvent,
} from '../../index.js';
import { subsetByClasses, subsetClassNames } from '../../data/split.js';
import { CollectiveDataParallel } from '../../distributed/data-parallel.js';
import { fromRankZero, type ProcessGroup } from '../../distributed/launch.js';
import { processRunStore } from '../../distributed/run-store.js';
import { evaluateClassifier } from '../../eval/evaluate.js';
import { writeRunReport } from '../../eval/node/run-report.js';
import {
  getOptimizer,
  type Optimizer,
  SCHEDULE_NAMES,
  scheduleByName,
  type ScheduleName,
} from '../../optim/index.js';
import { runDirName } from '../../runs/layout.js';
import { fitPlan } from '../../train/plan.js';
import { RunDirectory } from '../../runs/node/directory.js';
import { openRun } from '../../runs/node/writer.js';
import type { RunRecipe } from '../../runs/types.js';
import { checkPrecision } from '../../tensor/precision.js';
import { throwIfDiverged } from '../../train/run.js';
import { dataParallelLine, dataParallelSummary, inProcessGroup } from '../data-parallel.js';
import { EXIT_CODES_HELP, UsageError } from '../errors.js';
import type { Interrupts } from '../interrupts.js';
import {
  builtInClassCount,
  datasetName,
  dataDirOption,
  existingDirectory,
  integerIn,
  numberIn,
  checkResumeFlags,
} from '../flags.js';
import { dataEventPrinter, printInfo, printJson, printResult } from '../output.js';
import { inRunFolder } from '../run-folder.js';
import {
  EXPERIMENT_FLAG_NAMES,
  addEarlyStoppingOptions,
  addLossAndOptimizerOptions,
  checkExperimentFlags,
  experimentCallbacks,
  trainingLoss,
  withOptimizerFlags,
  type ExperimentFlags,
} from './train-options.js';

// ---- flag parsing: every value validated with a one-line error naming the flag ----

/** "0-4" or "0,2,5" or "0-2,7" -> [0, 1, 2, 7]. */
export function parseClassList(value: string): number[] {
  const classes: number[] = [];
  for (const part of value.split(',')) {
    const range = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!range)
      throw new InvalidArgumentError(`--classes expects a list like 0-4 or 0,2,5, found '${value}'`);
    const first = Number(range[1]);
    const last = range[2] === undefined ? first : Number(range[2]);
    if (last < first) throw new InvalidArgumentError(`--classes range '${part.trim()}' runs backwards`);
    for (let k = first; k <= last; k++) if (!classes.includes(k)) classes.push(k);
  }
  return classes;
}

export interface TrainFlags extends ExperimentFlags {
  model: string;
  dataset: string;
  dataDir?: string;
  offline?: boolean;
  epochs?: number;
  batchSize?: number;
  /** Micro-batches of --batch-size per optimizer step (gradient accumulation). */
  accumulate?: number;
  optimizer?: string;
  lr?: number;
  schedule?: ScheduleName;
  augment?: boolean;
  validationSplit?: number;
  seed: number;
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  out?: string;
  resume?: string;
  /** Move an existing run in --out aside (<out>.old-<time>) and start a new one there. */
  overwrite?: boolean;
  limit?: number;
  classes?: number[];
  /** False with --no-stop-on-nan: non-finite steps are skipped and training goes on. */
  stopOnNan: boolean;
  json?: boolean;
  /** False with --no-compile: every step runs eagerly. */
  compile: boolean;
  /** --precision bf16: mixed precision (bfloat16 convolutions and products). */
  precision?: 'f32' | 'bf16';
  /** The program's --debug: also print the data sources that were absent and why steps run eagerly. */
  debug?: boolean;
  /** Under mpirun: batch norm over the global batch's statistics instead of each process's. */
  syncBn?: boolean;
}

function defaultRunDir(model: string, dataset: string): string {
  return join('runs', runDirName(model, dataset));
}

/** --classes must name classes the dataset has (k in 0..count-1) and at least two of them. */
export function checkClasses(
  classes: number[] | undefined,
  count: number | undefined,
  dataset: string,
): void {
  if (!classes || count === undefined) return;
  const outside = classes.filter((k) => k >= count);
  if (outside.length > 0) {
    throw new UsageError(
      `--classes ${outside.join(',')}: ${dataset} has classes 0-${count - 1}; pick classes in that range`,
    );
  }
  if (classes.length < 2) {
    throw new UsageError(
      `--classes needs at least two classes to train a classifier, found ${classes.length}`,
    );
  }
}

export function selectClasses(set: ImageSet, classes: number[] | undefined): ImageSet {
  return classes ? subsetByClasses(set, classes, { relabel: true }) : set;
}

/** The flags that shape a run; saved in config.json so --resume can restore them. */
const RUN_SHAPING_FLAGS = [
  'precision',
  'model',
  'dataset',
  'epochs',
  'batchSize',
  'accumulate',
  'optimizer',
  'lr',
  'schedule',
  'augment',
  'validationSplit',
  'seed',
  'limit',
  'classes',
  ...EXPERIMENT_FLAG_NAMES,
  'syncBn',
] as const;

type RunShapingFlags = Partial<Pick<TrainFlags, (typeof RUN_SHAPING_FLAGS)[number]>>;

function runShapingFlags(flags: TrainFlags): RunShapingFlags {
  const saved: Record<string, unknown> = {};
  for (const key of RUN_SHAPING_FLAGS) if (flags[key] !== undefined) saved[key] = flags[key];
  return saved as RunShapingFlags;
}

/**
 * With --resume, the run's saved flags fill every run-shaping flag not given on this command line,
 * so `train --resume DIR` alone continues the same run. A flag given again wins.
 */
async function withResumedFlags(flags: TrainFlags, command: Command): Promise<TrainFlags> {
  if (!flags.resume) return flags;
  checkResumeFlags(flags);
  const config = await RunDirectory.at(flags.resume).config();
  if (!config) {
    throw new UsageError(
      `--resume ${flags.resume}: no readable config.json there; give a run directory written by 'mnist-lab train'`,
    );
  }
  const saved = config.runConfig?.flags as RunShapingFlags | undefined;
  const merged: Record<string, unknown> = { ...flags };
  for (const key of RUN_SHAPING_FLAGS) {
    if (saved?.[key] !== undefined && command.getOptionValueSource(key) !== 'cli') merged[key] = saved[key];
  }
  return merged as unknown as TrainFlags;
}

/** How train runs: `header: false` when the caller already said what runs (start.ts); `group` under mpirun. */
interface TrainOptions {
  header?: boolean;
  group?: ProcessGroup | undefined;
}

/** Trains as the flags say. Under mpirun every process trains; process 0 alone writes and prints. */
export async function train(flags: TrainFlags, options: TrainOptions = {}): Promise<void> {
  const leader = (options.group?.rank ?? 0) === 0;
  const log = flags.json || !leader ? () => undefined : printInfo;
  checkExperimentFlags(flags);
  const runDir = flags.resume ?? flags.out ?? defaultRunDir(getRecipe(flags.model).name, flags.dataset);
  // --out must be new or empty (an existing run needs --resume or --overwrite, a folder of other
  // files is refused). SIGINT/SIGTERM: fit stops at the next batch (trainIn sets that up);
  // otherwise, or at a second signal, the run's lock is released and the process ends.
  const folder = {
    command: 'mnist-lab train',
    resume: flags.resume !== undefined,
    leader,
    runChoices: [`continue it with 'mnist-lab train --resume ${runDir}'`],
  };
  await inRunFolder(runDir, flags, folder, (interrupts) => trainIn(runDir, flags, log, interrupts, options));
}

async function trainIn(
  runDir: string,
  flags: TrainFlags,
  log: (line: string) => void,
  interrupts: Interrupts,
  options: TrainOptions,
): Promise<void> {
  const { group } = options;
  const leader = (group?.rank ?? 0) === 0;
  const recipe = getRecipe(flags.model);
  checkClasses(flags.classes, builtInClassCount(flags.dataset), flags.dataset);
  const threads = flags.threads ?? threadsPerProcess(group);
  const backend = selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(threads ? { threads } : {}),
  });
  // Refused before any work where this CPU or backend lacks it.
  if (flags.precision === 'bf16') checkPrecision('bfloat16');
  if (options.header !== false)
    log(
      `mnist-lab train: model ${recipe.name}, dataset ${flags.dataset}, backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'})` +
        (group ? `, ${group.size} processes (${group.version})` : ''),
    );

  const dataset: Dataset = await loadDataset(flags.dataset, {
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.offline ? { offline: true } : {}),
    onEvent: dataEventPrinter(log, flags),
  });
  checkClasses(flags.classes, dataset.classes.length, dataset.name);
  const trainSet = selectClasses(dataset.train, flags.classes);
  const testSet = selectClasses(dataset.test, flags.classes);
  const classes = flags.classes?.length ?? dataset.classes.length;

  const epochs = flags.epochs ?? recipe.epochs;
  const batchSize = flags.batchSize ?? recipe.batchSize;
  const accumulateSteps = flags.accumulate ?? 1;
  // The options that decide fit's steps: given to fit, and to fitPlan for the schedule's length.
  const planned = {
    epochs,
    batchSize,
    ...(accumulateSteps > 1 ? { accumulateSteps } : {}),
    ...(flags.validationSplit ? { validationSplit: flags.validationSplit } : {}),
    ...(flags.limit ? { limit: flags.limit } : {}),
  };
  const totalSteps = fitPlan(trainSet.count, planned).scheduleSteps;
  let optimizer: Optimizer;
  if (flags.optimizer) {
    const learningRate = scheduleByName(flags.schedule ?? 'constant', {
      learningRate: flags.lr ?? 0.001,
      totalSteps,
    });
    optimizer = getOptimizer({ className: flags.optimizer, config: { learningRate } });
  } else {
    optimizer = recipe.optimizer(totalSteps, flags.lr);
    if (flags.schedule) {
      const learningRate = optimizer.currentLearningRate();
      optimizer.learningRate = scheduleByName(flags.schedule, { learningRate, totalSteps });
    }
  }
  optimizer = withOptimizerFlags(optimizer, flags);

  const model = recipe.model({ classes });
  model.compile({
    optimizer,
    loss: trainingLoss(flags, recipe.labelSmoothing),
    metrics: ['accuracy'],
  });
  const runRecipe: RunRecipe = {
    model: recipe.name,
    dataset: dataset.name,
    ...(flags.classes ? { classes: flags.classes } : {}),
  };
  let samplesPerEpoch = 0;
  let epochsRun = 0;
  const started = performance.now();
  // SIGINT/SIGTERM stop training at the next batch; fit writes a mid-epoch checkpoint and returns.
  // A second one ends the process at once (its lock released).
  const interrupt = new AbortController();
  interrupts.graceful = () => interrupt.abort();
  // Divergence: the first NaN/Inf loss or gradient stops the run (its update is not applied, and no
  // checkpoint is written after it, so `latest` keeps naming the last good one).
  const nanGuard = flags.stopOnNan ? terminateOnNaN() : undefined;
  // Every process stops early alike (the same weights see the same validation loss); only process 0
  // writes the best model.
  const experiments = experimentCallbacks(leader ? flags : { ...flags, saveBest: false }, runDir);
  const callbacks = [...experiments, ...(nanGuard ? [nanGuard] : [])];
  // Under mpirun process 0 alone writes the run; the others get its checkpoint when resuming.
  const opened = leader
    ? await openRun(runDir, { resume: flags.resume !== undefined, command: 'mnist-lab train' })
    : undefined;
  const run = processRunStore(runDir, opened, group);
  const dataParallel = group && new CollectiveDataParallel(group, { syncBatchNorm: !!flags.syncBn });
  const history = await model
    .fit(trainSet.images, trainSet.labels, {
      ...planned,
      seed: flags.seed,
      verbose: flags.json || !leader ? 0 : 1,
      output: process.stderr,
      runConfig: {
        recipe: runRecipe,
        flags: runShapingFlags(flags),
        backend: backend.name,
        threads: backend.threads,
      },
      run,
      ...(dataParallel ? { dataParallel } : {}),
      ...(flags.resume ? { resume: true } : {}),
      // --augment, or the recipe's own warps (the vits').
      ...(flags.augment ? { augment: true } : recipe.augment ? { augment: recipe.augment } : {}),
      onEvent: (event: TrainEvent) => {
        if (event.type === 'trainBegin')
          samplesPerEpoch = Math.min(event.samples, event.stepsPerEpoch * event.batchSize);
        if (event.type === 'epochEnd') epochsRun++;
      },
      signal: interrupt.signal,
      ...(callbacks.length > 0 ? { callbacks } : {}),
      ...executionOf(flags),
    })
    .catch(async (error: unknown) => {
      throw await writeFailure(error, runDir);
    })
    .finally(() => {
      interrupts.graceful = undefined;
    });
  if (history.stopReason === 'early-stopping') log(history.stopMessage ?? '');
  // Every process saw the same steps: process 0 reports; the others stop here, as it does.
  await throwIfDiverged(history, leader ? runDir : undefined);
  if (!leader) return;
  if (history.stopReason === 'interrupted') {
    process.stderr.write(
      `interrupted: checkpoint saved in ${runDir}; resume with: mnist-lab train --resume ${runDir}\n`,
    );
    return;
  }
  const trainSeconds = (performance.now() - started) / 1000;
  const classNames = subsetClassNames(dataset.classes, flags.classes);
  // One pass over the test set gives the printed loss/accuracy and the report's evaluation.
  // NOTE: at the training batch size: the native backend's primitives and buffers of that shape are
  // warm, while a new, larger batch pays primitive creation and fresh pages (measured: a 1000-image
  // batch took ~2x as long for the fast recipe's test pass). Tiny batches (--batch-size 8) would
  // pay per-batch overhead instead, hence the floor.
  const test =
    testSet.count > 0
      ? evaluateClassifier(model, testSet, {
          batchSize: Math.max(batchSize, 128),
          classNames,
          outputs: 'logits',
          keepWorst: 24,
          ...executionOf(flags),
        })
      : undefined;
  // report.html in the run directory: curves, per-class table, confusion heatmap, mistakes (issue 6).
  const report = await writeRunReport(runDir, {
    model,
    ...(test ? { set: testSet, evaluation: test } : {}),
    classNames,
    dataset: dataset.name,
  });
  const result = {
    runDir,
    report: report.path,
    backend: backend.name,
    threads: backend.threads,
    model: recipe.name,
    dataset: dataset.name,
    params: model.countParams(),
    epochs: history.epoch.length,
    trainSeconds: round(trainSeconds, 3),
    imagesPerSecond: Math.round((samplesPerEpoch * epochsRun) / trainSeconds),
    history: history.epoch.map((epoch, i) => ({
      epoch,
      loss: history.history.loss[i],
      accuracy: history.history.accuracy[i],
      ...(history.history.val_loss
        ? { valLoss: history.history.val_loss[i], valAccuracy: history.history.val_accuracy?.[i] }
        : {}),
    })),
    ...(test ? { test: { loss: test.loss, accuracy: test.accuracy } } : {}),
    ...(dataParallel && group
      ? {
          dataParallel: {
            ...dataParallelSummary(dataParallel.timing, group),
            syncBatchNorm: dataParallel.syncBatchNorm,
          },
        }
      : {}),
  };
  if (flags.json) printJson(result);
  else {
    if (result.dataParallel) printResult(dataParallelLine(result.dataParallel));
    if (test)
      printResult(`test: loss ${test.loss.toFixed(4)}, accuracy ${(test.accuracy * 100).toFixed(2)}%`);
    printResult(`report: ${report.path}`);
    printResult(`run saved in ${runDir} (continue it with: mnist-lab train --resume ${runDir} --epochs N)`);
  }
}

/** Under mpirun without --threads: the host's cores shared among its processes (so 2 processes on 2 cores take 1 each). */
export function threadsPerProcess(group: ProcessGroup | undefined): number | undefined {
  if (!group?.localSize) return undefined;
  return Math.max(1, Math.floor(availableParallelism() / group.localSize));
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/** A full disk while writing the run: one line saying what survived and how to go on. */
async function writeFailure(error: unknown, runDir: string): Promise<unknown> {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (!code || !DISK_FULL.has(code)) return error;
  const run = RunDirectory.at(runDir);
  const latest = await run
    .latestCheckpoint()
    .then((relative) => relative && run.file(relative))
    .catch(() => null);
  return new Error(
    `no space left on the disk of ${runDir} (${code}) while writing the run; ` +
      (latest
        ? `the last good checkpoint ${latest} is intact: free space, then resume with: mnist-lab train --resume ${runDir}`
        : 'no checkpoint was written yet: free space or choose another --out, then train again'),
    { cause: error },
  );
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** How steps execute (ExecutionOptions) from --no-compile, --precision and the global --debug. */
export function executionOf(flags: { compile: boolean; debug?: boolean; precision?: 'f32' | 'bf16' }): {
  compile: boolean;
  debug?: (line: string) => void;
  precision?: 'float32' | 'bfloat16';
} {
  return {
    compile: flags.compile,
    ...(flags.debug ? { debug: (line: string) => process.stderr.write(`debug: ${line}\n`) } : {}),
    ...(flags.precision === 'bf16' ? { precision: 'bfloat16' as const } : {}),
  };
}

/** --no-compile and --precision, for the commands that run many steps (train, evaluate). */
export function executionOptions(command: Command): Command {
  return command
    .option(
      '--no-compile',
      'run every step eagerly instead of replaying the recorded kernels (results are the same)',
    )
    .addOption(
      new Option(
        '--precision <p>',
        'bf16: mixed precision, bfloat16 convolutions and products with float32 accumulation (native backend, CPUs with AVX512_BF16 or AMX)',
      )
        .choices(['f32', 'bf16'])
        .default('f32'),
    );
}

export function backendOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--backend <name>',
        'compute backend (default: native when available, else wasm, else js; env MNIST_LAB_BACKEND)',
      ).choices(['js', 'native', 'wasm']),
    )
    .option(
      '--threads <n>',
      'compute threads for the native, wasm and js backends (default: all cores)',
      integerIn('--threads', 1, 1024),
    );
}

export function registerTrainCommands(program: Command): void {
  const trainCommand = program
    .command('train')
    .description('train a model of the zoo on a dataset, writing a run directory with checkpoints')
    .addOption(
      new Option('--model <name>', 'architecture and recipe from the zoo')
        .choices(ZOO_MODEL_NAMES)
        .default('cnn'),
    )
    .option(
      '--dataset <name>',
      'mnist, fashion-mnist, idx:DIR or folder:DIR',
      datasetName('--dataset'),
      'mnist',
    )
    .addOption(dataDirOption())
    .option('--offline', 'never use the network')
    .option('--epochs <n>', "epochs to train (default: the recipe's)", integerIn('--epochs', 1, 10000))
    .option(
      '--batch-size <n>',
      "examples per step (default: the recipe's)",
      integerIn('--batch-size', 1, 65536),
    )
    .option(
      '--accumulate <n>',
      'sum the gradients of N batches before each optimizer step (an effective batch of N x batch size)',
      integerIn('--accumulate', 1, 4096),
    )
    .addOption(
      new Option('--optimizer <name>', "optimizer (default: the recipe's)").choices([
        'adam',
        'adamw',
        'sgd',
        'rmsprop',
      ]),
    )
    .option('--lr <rate>', 'learning rate (peak rate for one-cycle)', numberIn('--lr', 0, 1e6, true))
    .addOption(
      new Option(
        '--schedule <name>',
        'learning-rate schedule (cosine warms up over 5% of the steps)',
      ).choices(SCHEDULE_NAMES),
    )
    .option('--augment', 'random shift, rotation and scale of training images (the vit recipes always warp)')
    .option(
      '--validation-split <fraction>',
      'hold out this stratified fraction for validation',
      numberIn('--validation-split', 0, 0.9),
    )
    .option('--seed <n>', 'seed for initialisation, splits, shuffling and dropout', integerIn('--seed', 0), 0)
    .option('--out <dir>', 'run directory, new or empty (default runs/<model>-<dataset>-<time>)')
    .option('--overwrite', 'if --out holds a run, move it aside to <out>.old-<time> and start a new one')
    .option(
      '--resume <dir>',
      'continue the run in this directory from its latest checkpoint',
      existingDirectory('--resume', 'a run directory written by train'),
    )
    .option('--limit <n>', 'train on the first N examples only', integerIn('--limit', 1))
    .option('--classes <list>', 'train on these classes only, relabelled 0..k-1 (e.g. 0-4)', parseClassList)
    .option('--no-stop-on-nan', 'skip non-finite steps and go on instead of stopping the run')
    .option('--sync-bn', 'under mpirun: batch norm uses the statistics of the global batch (all-reduced)')
    .option('--json', 'print one JSON object on stdout and nothing else')
    .addHelpText(
      'after',
      `\nA NaN or infinite loss or gradient stops the run with exit code 3, keeping the last good checkpoint.\n` +
        'Data-parallel over several processes: mpirun -np N mnist-lab train ... (--batch-size stays the global batch).\n' +
        EXIT_CODES_HELP,
    );
  addLossAndOptimizerOptions(trainCommand);
  addEarlyStoppingOptions(trainCommand);
  executionOptions(backendOptions(trainCommand)).action(async (_flags: TrainFlags, command: Command) =>
    inProcessGroup(async (group) => {
      // Process 0 reads a resumed run's saved flags; every process trains with what it read.
      const flags = await fromRankZero(group, () =>
        withResumedFlags(command.optsWithGlobals<TrainFlags>(), command),
      );
      await train(flags, { group });
    }),
  );
}
