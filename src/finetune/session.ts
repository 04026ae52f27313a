// One fine-tuning run end to end (Node): a base (loaded from --from, or pretrained here for the
// built-in tasks), the task's data, fineTune(), a test evaluation, and the run directory:
//   <run>/base/           the pretrained base's own run (only when it was pretrained here)
//   <run>/config.json ... the fine-tune's run (fit's files), runConfig.finetune says what was done
//   <run>/adapter/        adapter.safetensors + adapter.json (LoRA runs)
// Under mpirun (options.group) every process runs this with the same options and trains each fit
// data-parallel; process 0 alone reads the base, writes the run and evaluates, the others receive
// the base from it (so only process 0's host needs the base and the run directory).
import { join } from 'node:path';
import type { ImageSet } from '../data/dataset.js';
import { sparseCategoricalCrossentropy } from '../losses/index.js';
import { terminateOnNaN } from '../train/callbacks/terminate-on-nan.js';
import type { Model } from '../train/model.js';
import { CollectiveDataParallel } from '../distributed/data-parallel.js';
import type { Collectives, DataParallelTiming } from '../distributed/data-parallel.js';
import { modelFilesFromRankZero, processRunStore } from '../distributed/run-store.js';
import type { LayerClasses } from '../nn/layer.js';
import { readModelSource, type ModelFiles } from '../runs/node/directory.js';
import { fitPlan } from '../train/plan.js';
import { openRun, type RunWriter } from '../runs/node/writer.js';
import type { RunRecipe } from '../runs/types.js';
import { modelFromFiles, throwIfDiverged } from '../train/run.js';
import type { TrainEvent } from '../train/types.js';
import { saveAdapter } from './adapter.js';
import { TRANSFER_CNN, architecture } from './architectures.js';
import { baseFromFiles, loadBase } from './base.js';
import type { PretrainedBase } from './base.js';
import { fineTune } from './recipe.js';
import type { FineTuneMethod, FineTuneOptions } from './recipe.js';
import { trainableReport } from './report.js';
import { isPretrainingModel, pretrainedEncoder } from '../pretrain/transfer.js';
import type { TaskData } from './tasks.js';

export interface FineTuneRunOptions extends Omit<FineTuneOptions, 'fit' | 'classes'> {
  /** The task's data (loadTask()). */
  task: TaskData;
  /** Base run directory / checkpoint / model.safetensors; absent: pretrain on the task's source. */
  from?: string;
  /**
   * The classes a model read from disk may name (LAYER_CLASSES): the base (--from's, or the one
   * pretrained here and read back) and, with `resume`, the run's fine-tuned model.
   */
  layers: LayerClasses;
  /** Where to write the run. */
  runDir: string;
  /** Model pretrained when there is no base: 'transfer-cnn' (digits-transfer's default) or a zoo name ('cnn' otherwise). */
  pretrainModel?: string;
  /** Epochs of that pretraining. Default 1. */
  pretrainEpochs?: number;
  /** Examples per step of that pretraining. Default: batchSize. */
  pretrainBatchSize?: number;
  /** Examples per step of fine-tuning (and of pretraining unless pretrainBatchSize says). Default 128. */
  batchSize?: number;
  /** Default 0. */
  seed?: number;
  /** Train on the first N examples only (quick runs, tests). */
  limit?: number;
  onEvent?: (event: TrainEvent) => void;
  /** Progress lines ('pretraining base...'). */
  log?: (line: string) => void;
  /** Fit's verbose level. Default 0. */
  verbose?: 0 | 1 | 2;
  /** Reuse an already loaded base (compare runs several methods on one base). */
  base?: PretrainedBase;
  /**
   * Stop at the first NaN or infinite loss or gradient (its update is not applied) and throw
   * TrainingDivergedError naming the step. Default true; false skips such steps and goes on.
   */
  stopOnNonFinite?: boolean;
  /**
   * Data-parallel under mpirun: the job's processes, each running this with the same options (see
   * the header). Absent: one process.
   */
  group?: Collectives;
  /**
   * Continue the fine-tune in `runDir` from its latest checkpoint: the model is the one the run
   * records (new head, adapters, trainable flags), its base is the one its config.json names.
   * Gradual unfreezing (headEpochs) cannot be resumed.
   */
  resume?: boolean;
  /** Aborting it stops fine-tuning at the next batch with a checkpoint (to resume), as fit's. */
  signal?: AbortSignal;
  /**
   * Called when the fine-tune's own training is about to start (the data loaded, a base pretrained):
   * from then on the signal checkpoints (the CLI arms its Ctrl-C handling here; before, it exits).
   */
  onFitStart?: () => void;
  /** Stored in config.json as runConfig.flags: the CLI's flags, which its --resume restores. */
  flags?: Record<string, unknown>;
}

/** digits-transfer pretrains the Keras experiment's network; other tasks the zoo's cnn. */
export function defaultPretrainModel(task: TaskData): string {
  return task.name === 'digits-transfer' ? TRANSFER_CNN : 'cnn';
}

/** What holds a fine-tuning run's lock, as a second process is told. */
const RUN_COMMAND = 'mnist-lab finetune';

export const FINE_TUNE_RUN_DEFAULTS = {
  pretrainEpochs: 1,
  batchSize: 128,
  seed: 0,
  verbose: 0,
  stopOnNonFinite: true,
} as const;

export interface FineTuneRunResult {
  runDir: string;
  base: string;
  baseSha256: string;
  method: FineTuneMethod;
  trainableParams: number;
  totalParams: number;
  /** 'trainable 5,130 of 39,956 (12.8%)' */
  trainable: string;
  test: { loss: number; accuracy: number };
  /** Seconds of the fine-tune's training. */
  trainSeconds: number;
  /** Seconds of pretraining the base (0 with --from). */
  pretrainSeconds: number;
  adapterDir?: string;
  model: Model;
  /** Data-parallel runs: the processes, and where the fine-tune's steps spent their time (process 0's). */
  dataParallel?: { processes: number; timing: DataParallelTiming };
  /** The signal stopped fine-tuning: a checkpoint was written, and neither test nor adapter were. */
  interrupted: boolean;
}

/** The base at `path`: read by process 0 alone under mpirun, and sent to the others. */
async function sharedBase(
  path: string,
  layers: LayerClasses,
  group: Collectives | undefined,
): Promise<PretrainedBase> {
  if (!group) return loadBase(path, layers);
  return baseFromFiles(await modelFilesFromRankZero(group, () => readModelSource(path)), layers);
}

/** Trains a zoo model on the task's pretraining data into `runDir`; returns it loaded as a base. */
export async function pretrainBase(
  task: TaskData,
  runDir: string,
  options: Pick<
    FineTuneRunOptions,
    | 'pretrainModel'
    | 'pretrainEpochs'
    | 'pretrainBatchSize'
    | 'batchSize'
    | 'seed'
    | 'limit'
    | 'verbose'
    | 'onEvent'
    | 'stopOnNonFinite'
    | 'group'
    | 'layers'
  >,
): Promise<PretrainedBase> {
  const o = { ...FINE_TUNE_RUN_DEFAULTS, ...options };
  const group = options.group;
  const leader = (group?.rank ?? 0) === 0;
  const batchSize = o.pretrainBatchSize ?? o.batchSize;
  const nanGuard = o.stopOnNonFinite ? terminateOnNaN() : undefined;
  const recipe = architecture(options.pretrainModel ?? defaultPretrainModel(task));
  const data = task.pretrain;
  // What decides fit's steps: given to fit, and to fitPlan for the schedule's length.
  const planned = {
    epochs: o.pretrainEpochs,
    batchSize,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  };
  const model = recipe.model(data.classCount);
  model.compile({
    optimizer: recipe.optimizer(fitPlan(data.train.count, planned).scheduleSteps),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  const baseRecipe: RunRecipe = {
    model: recipe.name,
    dataset: data.dataset,
    ...(data.classes ? { classes: data.classes } : {}),
  };
  const history = await model.fit(data.train.images, data.train.labels, {
    ...planned,
    seed: o.seed,
    // One checkpoint, the base: a per-epoch one (weights, Adam slots, fsync) is not worth its time.
    checkpointEvery: 'end',
    verbose: o.verbose,
    run: processRunStore(runDir, leader ? await openRun(runDir, { command: RUN_COMMAND }) : undefined, group),
    ...(group ? { dataParallel: new CollectiveDataParallel(group) } : {}),
    runConfig: { recipe: baseRecipe },
    ...(o.onEvent ? { onEvent: o.onEvent } : {}),
    ...(nanGuard ? { callbacks: [nanGuard] } : {}),
  });
  // Process 0 says what survived in the run; the others stop alike.
  await throwIfDiverged(history, leader ? runDir : undefined, 'pretraining');
  return sharedBase(runDir, o.layers, group);
}

/** [H, W, 1] of a set of square single-channel images (every built-in dataset and folder:DIR). */
function imageShapeOf(set: ImageSet): number[] {
  const side = Math.round(Math.sqrt(set.images.length / Math.max(1, set.count)));
  return [side, side, 1];
}

function evaluationOf(set: ImageSet): boolean {
  return set.count > 0;
}

/** The base to fine-tune: --from's, or one pretrained here on the task's source (built-in tasks). */
async function baseOf(o: RunOptions, log: (line: string) => void): Promise<Start> {
  let pretrainSeconds = 0;
  let passBatchSize = o.batchSize;
  let base = o.base;
  let basePath = o.from;
  if (!base) {
    if (basePath === undefined) {
      if (o.task.name !== 'digits-transfer' && o.task.name !== 'mnist-to-fashion') {
        throw new Error(
          `task '${o.task.name}' needs a base: give --from RUN_DIR (a run of 'mnist-lab train'), ` +
            'or use the built-in tasks digits-transfer / mnist-to-fashion, which pretrain their own',
        );
      }
      basePath = join(o.runDir, 'base');
      log(
        `pretraining a ${o.pretrainModel ?? defaultPretrainModel(o.task)} base on ${o.task.pretrain.dataset} -> ${basePath}`,
      );
      const started = performance.now();
      base = await pretrainBase(o.task, basePath, o);
      pretrainSeconds = (performance.now() - started) / 1000;
      passBatchSize = o.pretrainBatchSize ?? o.batchSize;
    } else {
      base = await sharedBase(basePath, o.layers, o.group);
    }
  }
  basePath ??= base.modelFile;
  // A pretraining run (mnist-lab pretrain): its encoder, decoder dropped; the new head comes below.
  if (isPretrainingModel(base.model)) {
    const encoder = pretrainedEncoder(base.model, basePath, imageShapeOf(o.task.train));
    base = { ...base, model: encoder, recipe: { ...base.recipe, model: encoder.name } };
  }
  return { base, basePath, method: o.method ?? 'head', pretrainSeconds, passBatchSize };
}

/** What a fine-tune run's config.json says of it (runConfig.finetune). */
interface RecordedFineTune {
  base: string;
  baseSha256: string;
  method: FineTuneMethod;
}

/**
 * A run to resume: the fine-tuned model of its latest checkpoint, and the base its config.json
 * names. Process 0 reads and checks the run; under mpirun it sends the files to the others.
 */
async function recorded(run: RunWriter | undefined, o: RunOptions): Promise<Start> {
  const read = () => recordedFiles(run as RunWriter, o);
  const files = await (o.group ? modelFilesFromRankZero(o.group, read) : read());
  const config = files.config;
  const finetune = config?.runConfig?.finetune as unknown as RecordedFineTune; // checked by recordedFiles
  const pretrainedHere = finetune.base === join(o.runDir, 'base');
  return {
    base: {
      model: modelFromFiles(files, o.layers),
      modelFile: finetune.base,
      sha256: finetune.baseSha256,
      recipe: config?.runConfig?.recipe ?? {},
    },
    basePath: finetune.base,
    method: finetune.method,
    pretrainSeconds: 0,
    passBatchSize: pretrainedHere ? (o.pretrainBatchSize ?? o.batchSize) : o.batchSize,
  };
}

/** The files of the run to resume, after checking that it is a fine-tune run with a checkpoint. */
async function recordedFiles(run: RunWriter, o: RunOptions): Promise<ModelFiles> {
  const config = await run.reader.config();
  const finetune = config?.runConfig?.finetune as Partial<RecordedFineTune> | undefined;
  if (!finetune?.base || !finetune.baseSha256 || !finetune.method) {
    throw new Error(
      `${o.runDir}: not a fine-tuning run (its config.json has no runConfig.finetune with base and method); resume a run with the command that wrote it`,
    );
  }
  if (o.method !== undefined && o.method !== finetune.method) {
    throw new Error(
      `${o.runDir}: fine-tuned with method '${finetune.method}', cannot resume it as '${o.method}'`,
    );
  }
  if ((await run.reader.latestCheckpoint()) === null) {
    throw new Error(
      `${o.runDir}: no checkpoint to continue from (a fine-tune writes one at its end and when interrupted); start it again`,
    );
  }
  return readModelSource(o.runDir);
}

/** Pretrain (if needed), fine-tune, evaluate, save. */
export async function runFineTune(options: FineTuneRunOptions): Promise<FineTuneRunResult> {
  // The run is claimed (checked and locked) before anything is written into it, the base included.
  const leader = (options.group?.rank ?? 0) === 0;
  const run = leader
    ? await openRun(options.runDir, {
        command: RUN_COMMAND,
        ...(options.resume ? { resume: true } : {}),
      })
    : undefined;
  try {
    return await fineTuneInto(run, options);
  } finally {
    await run?.close(); // a no-op after fit closed it; releases the lock when it did not get that far
  }
}

/** What fine-tuning starts from: the base (or, resuming, the fine-tuned model) and where it came from. */
interface Start {
  base: PretrainedBase;
  basePath: string;
  method: FineTuneMethod;
  pretrainSeconds: number;
  /**
   * The batch of the inference passes (frozen features, test): the pretraining's when it ran here,
   * whose buffers the backend already holds (fresh memory is slow to touch).
   */
  passBatchSize: number;
}

/** Options given win over the task's own defaults (digits-transfer's recipe), which win over ours. */
function withDefaults(options: FineTuneRunOptions) {
  return { ...FINE_TUNE_RUN_DEFAULTS, ...options.task.defaults, ...options };
}

type RunOptions = ReturnType<typeof withDefaults>;

async function fineTuneInto(
  run: RunWriter | undefined,
  options: FineTuneRunOptions,
): Promise<FineTuneRunResult> {
  const o = withDefaults(options);
  const log = options.log ?? (() => undefined);
  const group = o.group;
  const leader = (group?.rank ?? 0) === 0;
  const start = o.resume ? await recorded(run, o) : await baseOf(o, log);
  const { base, basePath, method, pretrainSeconds, passBatchSize } = start;
  const {
    task: _task,
    from: _from,
    runDir: _runDir,
    base: _base,
    log: _log,
    onEvent,
    stopOnNonFinite,
    group: _group,
    resume,
    signal,
    onFitStart,
    flags,
    ...rest
  } = o;
  const nanGuard = stopOnNonFinite ? terminateOnNaN() : undefined;
  // One for both stages of gradual unfreezing: the same weights, one timing.
  const dataParallel = group && new CollectiveDataParallel(group);
  onFitStart?.();
  const result = await fineTune(base.model, o.task.train.images, o.task.train.labels, {
    ...rest,
    method,
    classes: o.task.classes,
    featureBatchSize: o.featureBatchSize ?? passBatchSize,
    log,
    fit: {
      batchSize: o.batchSize,
      seed: o.seed,
      verbose: o.verbose,
      run: processRunStore(o.runDir, run, group),
      ...(dataParallel ? { dataParallel } : {}),
      checkpointEvery: 'end',
      runConfig: {
        // What 'mnist-lab evaluate RUN' reads to rebuild the test data: the target's dataset and classes.
        recipe: {
          ...(base.recipe.model ? { model: base.recipe.model } : {}),
          ...o.task.target,
        },
        finetune: { task: o.task.name, base: basePath, baseSha256: base.sha256, method },
        ...(flags ? { flags } : {}),
      },
      ...(resume ? { resume: true } : {}),
      ...(signal ? { signal } : {}),
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      ...(onEvent ? { onEvent } : {}),
      ...(nanGuard ? { callbacks: [nanGuard] } : {}),
    },
  });
  const last = result.histories.at(-1);
  await throwIfDiverged(last, leader ? o.runDir : undefined, 'fine-tuning');
  const interrupted = last?.stopReason === 'interrupted';
  // Every process holds the same model: process 0 evaluates and writes it.
  const test =
    leader && !interrupted && evaluationOf(o.task.test)
      ? await result.model.evaluate(o.task.test.images, o.task.test.labels, { batchSize: passBatchSize })
      : { loss: NaN, accuracy: NaN };
  let adapterDir: string | undefined;
  if (method === 'lora' && leader && !interrupted) {
    adapterDir = join(o.runDir, 'adapter');
    await saveAdapter(result.model, adapterDir, {
      baseSha256: base.sha256,
      basePath,
      ...(result.headName ? { headName: result.headName } : {}),
    });
  }
  return {
    runDir: o.runDir,
    base: basePath,
    baseSha256: base.sha256,
    method,
    trainableParams: result.trainableParams,
    totalParams: result.totalParams,
    trainable: trainableReport(result.model),
    test: { loss: test.loss, accuracy: test.accuracy },
    trainSeconds: result.trainSeconds,
    pretrainSeconds,
    ...(adapterDir ? { adapterDir } : {}),
    model: result.model,
    ...(dataParallel && group
      ? { dataParallel: { processes: group.size, timing: dataParallel.timing } }
      : {}),
    interrupted,
  };
}
