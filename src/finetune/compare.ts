// `finetune compare`: the same task and base, several ways of adapting it, at equal epochs:
// head-only, full, LoRA at a few ranks, and the same architecture trained from scratch. Each method
// starts from a fresh load of the base (methods change weights in place). For few-shot, a sweep
// over K labelled examples per class gives the learning curve (rows with `shots`, CSV).
import { join } from 'node:path';
import type { ImageSet } from '../data/dataset.js';
import { subsetByShots } from '../data/split.js';
import { sparseCategoricalCrossentropy } from '../losses/index.js';
import { adam } from '../optim/index.js';
import { layerFromConfig } from '../nn/index.js';
import type { LayerClasses } from '../nn/layer.js';
import { DEFAULT_INPUT_SHAPE } from '../train/checkpoint.js';
import { fitPlan } from '../train/plan.js';
import { Model } from '../train/model.js';
import { openRun } from '../runs/node/writer.js';
import { Random } from '../util/random.js';
import { loadBase } from './base.js';
import { isPretrainingModel } from '../pretrain/transfer.js';
import { getRecipe } from '../zoo/recipes.js';
import { replaceHead } from './head.js';
import { runFineTune } from './session.js';
import { formatTable } from './report.js';
import type { TaskData } from './tasks.js';

export interface CompareOptions {
  task: TaskData;
  /** The base (run dir, checkpoint dir or model.safetensors). */
  from: string;
  /** The classes the base may name (LAYER_CLASSES). */
  layers: LayerClasses;
  /** Each method writes <runDir>/<method>. */
  runDir: string;
  /** Epochs for every method. Default 2. */
  epochs?: number;
  /** LoRA ranks compared. Default [2, 8]. */
  loraRanks?: readonly number[];
  /** LoRA alpha (scale alpha / rank). Default 8. */
  alpha?: number;
  /**
   * Methods to run. Default: head, full, lora, scratch (the base's architecture from random
   * weights); also 'linear-probe' and 'cnn' (the zoo's cnn trained from scratch, the convnet
   * reference). From a pretraining run the default is scratch, linear-probe, lora, full, cnn.
   */
  methods?: readonly CompareMethod[];
  /** Layers kept frozen in 'full' (e.g. 'conv*'). */
  freeze?: string;
  learningRate?: number;
  batchSize?: number;
  seed?: number;
  limit?: number;
  /** Few-shot: at least this many optimizer steps per method, whatever K (1 shot is one batch). */
  minSteps?: number;
  log?: (line: string) => void;
}

export type CompareMethod = 'linear-probe' | 'head' | 'full' | 'lora' | 'scratch' | 'cnn';
export const COMPARE_METHODS: readonly CompareMethod[] = [
  'linear-probe',
  'head',
  'full',
  'lora',
  'scratch',
  'cnn',
];
/** What `finetune compare --from PRETRAIN_RUN` runs by default. */
export const PRETRAINED_COMPARE_METHODS: readonly CompareMethod[] = [
  'scratch',
  'linear-probe',
  'lora',
  'full',
  'cnn',
];

export const COMPARE_DEFAULTS = {
  epochs: 2,
  loraRanks: [2, 8],
  alpha: 8,
  methods: ['head', 'full', 'lora', 'scratch'],
  learningRate: 0.001,
  batchSize: 128,
  seed: 0,
  minSteps: 0,
} as const;

export const FEW_SHOT_SWEEP: readonly number[] = [1, 10, 100, 1000];

export interface CompareRow {
  method: string;
  shots?: number;
  trainableParams: number;
  totalParams: number;
  accuracy: number;
  seconds: number;
}

/** Runs each method on `options.task` (its training set as given). */
export async function compareMethods(options: CompareOptions): Promise<CompareRow[]> {
  const pretrained = isPretrainingModel((await loadBase(options.from, options.layers)).model);
  const o = {
    ...COMPARE_DEFAULTS,
    ...options,
    methods: options.methods ?? (pretrained ? PRETRAINED_COMPARE_METHODS : COMPARE_DEFAULTS.methods),
  };
  const log = options.log ?? (() => undefined);
  const rows: CompareRow[] = [];
  const n = Math.min(o.limit ?? o.task.train.count, o.task.train.count);
  const batchSize = Math.max(1, Math.min(o.batchSize, n));
  const limited = o.limit !== undefined ? { limit: o.limit } : {};
  const { stepsPerEpoch } = fitPlan(o.task.train.count, { batchSize, ...limited });
  const epochs = Math.max(o.epochs, Math.ceil(o.minSteps / stepsPerEpoch));
  const common = {
    task: o.task,
    layers: o.layers,
    epochs,
    learningRate: o.learningRate,
    // Constant, as fromScratch() trains: equal settings for every method, whatever the task's defaults.
    schedule: 'constant' as const,
    batchSize,
    seed: o.seed,
    ...limited,
  };
  const push = (r: CompareRow): void => {
    rows.push(r);
    log(`${r.method}: accuracy ${(r.accuracy * 100).toFixed(2)}% in ${r.seconds.toFixed(1)} s`);
  };
  for (const method of o.methods) {
    if (method === 'scratch') {
      push(await fromScratch(o.task, o.from, { ...common, runDir: join(o.runDir, 'scratch') }));
    } else if (method === 'cnn') {
      push(await fromScratch(o.task, 'cnn', { ...common, runDir: join(o.runDir, 'cnn') }));
    } else if (method === 'lora') {
      for (const rank of o.loraRanks) {
        const result = await runFineTune({
          ...common,
          base: await loadBase(o.from, o.layers),
          from: o.from,
          runDir: join(o.runDir, `lora-r${rank}`),
          method,
          lora: { rank, alpha: o.alpha },
        }).catch((error: unknown) => {
          // A base LoRA cannot adapt (applyLora names why): the comparison goes on without this row.
          if (!(pretrained && error instanceof Error && error.message.startsWith('applyLora:'))) throw error;
          log(`lora r=${rank}: not run (${error.message})`);
          return undefined;
        });
        if (result) push(row(`lora r=${rank}`, result));
      }
    } else {
      const result = await runFineTune({
        ...common,
        base: await loadBase(o.from, o.layers),
        from: o.from,
        runDir: join(o.runDir, method),
        method,
        ...(method === 'full' && o.freeze !== undefined ? { freeze: o.freeze } : {}),
      });
      push(row(method, result));
    }
  }
  return rows;
}

function row(
  method: string,
  r: { trainableParams: number; totalParams: number; test: { accuracy: number }; trainSeconds: number },
): CompareRow {
  return {
    method,
    trainableParams: r.trainableParams,
    totalParams: r.totalParams,
    accuracy: r.test.accuracy,
    seconds: r.trainSeconds,
  };
}

/**
 * The base's architecture (a pretraining run's: its encoder's) with fresh weights and the task's
 * class count, or the zoo's `cnn` (from 'cnn'), trained like the others.
 */
async function fromScratch(
  task: TaskData,
  from: string | 'cnn',
  o: {
    epochs: number;
    learningRate: number;
    batchSize: number;
    seed: number;
    limit?: number;
    runDir: string;
    layers: LayerClasses;
  },
): Promise<CompareRow> {
  let model: Model;
  if (from === 'cnn') {
    model = getRecipe('cnn').model({ classes: task.classes });
  } else {
    const loaded = (await loadBase(from, o.layers)).model;
    const base = isPretrainingModel(loaded) ? loaded.encoder : loaded;
    // The base's architecture, rebuilt from its config with fresh seeded weights and the task's head.
    const fresh = layerFromConfig(base.toConfig(), o.layers);
    if (!(fresh instanceof Model)) throw new Error(`base '${from}' does not hold a model`);
    fresh.buildFor(base.inputShape ?? DEFAULT_INPUT_SHAPE, new Random(o.seed));
    model = replaceHead(fresh, task.classes, { seed: o.seed });
  }
  model.compile({
    optimizer: adam({ learningRate: o.learningRate }),
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  const started = performance.now();
  await model.fit(task.train.images, task.train.labels, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    verbose: 0,
    run: await openRun(o.runDir, { command: 'mnist-lab finetune compare' }),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  const test = await model.evaluate(task.test.images, task.test.labels, { batchSize: 1000 });
  const total = model.countParams();
  return {
    method: from === 'cnn' ? 'cnn' : 'scratch',
    trainableParams: total,
    totalParams: total,
    accuracy: test.accuracy,
    seconds,
  };
}

/** The few-shot learning curve: compareMethods() at each K of `shots` (examples per class). */
export async function compareShots(
  options: CompareOptions & { shots?: readonly number[] },
): Promise<CompareRow[]> {
  const rows: CompareRow[] = [];
  const full: ImageSet = options.task.train;
  for (const k of options.shots ?? FEW_SHOT_SWEEP) {
    const train = subsetByShots(full, k, { seed: options.seed ?? 0, classCount: options.task.classes });
    options.log?.(`few-shot K=${k}: ${train.count} training examples`);
    const krows = await compareMethods({
      ...options,
      task: { ...options.task, train },
      runDir: join(options.runDir, `k${k}`),
      minSteps: options.minSteps ?? 50,
    });
    rows.push(...krows.map((r) => ({ ...r, shots: k })));
  }
  return rows;
}

/** The comparison as a text table: method, trainable parameters, test accuracy, seconds. */
export function compareTable(rows: readonly CompareRow[]): string {
  const withShots = rows.some((r) => r.shots !== undefined);
  const header = [...(withShots ? ['K'] : []), 'method', 'trainable', 'test accuracy', 'seconds'];
  const body = rows.map((r) => [
    ...(withShots ? [String(r.shots ?? '')] : []),
    r.method,
    `${r.trainableParams.toLocaleString('en-US')} of ${r.totalParams.toLocaleString('en-US')}`,
    `${(r.accuracy * 100).toFixed(2)}%`,
    r.seconds.toFixed(1),
  ]);
  return formatTable(header, body).join('\n');
}

/** CSV of the rows (the few-shot learning curve): shots,method,trainable_params,total_params,accuracy,seconds. */
export function compareCsv(rows: readonly CompareRow[]): string {
  const lines = ['shots,method,trainable_params,total_params,test_accuracy,seconds'];
  for (const r of rows) {
    lines.push(
      [
        r.shots ?? '',
        r.method,
        r.trainableParams,
        r.totalParams,
        r.accuracy.toFixed(4),
        r.seconds.toFixed(2),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}
