// The fine-tuning recipe: set trainable flags (and maybe a new head or LoRA adapters) on a base
// model, then call the same fit() as any training — twice for gradual unfreezing (fastai's
// fine_tune: the head alone for `headEpochs`, then the unfrozen model at a lower rate).
// Pure and browser-safe (a run directory needs Node's run.ts loaded, as for fit()).
import { sparseCategoricalCrossentropy } from '../losses/index.js';
import { adam, scheduleByName } from '../optim/index.js';
import type { Optimizer } from '../optim/optimizer.js';
import { LayerNormalization } from '../nn/layers/layer-normalization.js';
import { exampleCount } from '../train/batches.js';
import { DEFAULT_INPUT_SHAPE } from '../train/checkpoint.js';
import type { Model } from '../train/model.js';
import { fitPlan } from '../train/plan.js';
import type { FitHistory, FitOptions, ImageInput, LabelInput } from '../train/types.js';
import { fitWithFeatureCache } from './feature-cache.js';
import { classifierIndex, replaceHead } from './head.js';
import { applyLrMultipliers, lrMultipliersFor } from './lr.js';
import type { LrGroup } from './lr.js';
import { applyLora } from './lora.js';
import type { LoraOptions } from './lora.js';
import { parameterCounts } from './report.js';
import { freeze, freezeAllBut, freezeUntil } from './select.js';

export type FineTuneMethod = 'linear-probe' | 'head' | 'full' | 'lora';
export const FINE_TUNE_METHODS: readonly FineTuneMethod[] = ['linear-probe', 'head', 'full', 'lora'];

/** How Adam's rate moves over the fine-tuning steps (optim's scheduleByName: cosine warms up first). */
export type FineTuneSchedule = 'constant' | 'cosine' | 'one-cycle';
export const FINE_TUNE_SCHEDULES: readonly FineTuneSchedule[] = ['constant', 'cosine', 'one-cycle'];

export interface FineTuneOptions {
  /**
   * linear-probe: only the classifier (the last Dense) trains; head: the classifier and a
   * LayerNormalization right before it (a vit's final norm; for other models the same as
   * linear-probe); full: every layer not frozen; lora: adapters (+ new head). Default 'head'.
   */
  method?: FineTuneMethod;
  /** Replace the classifier with a fresh one of this many classes (a new task's class count). */
  classes?: number;
  /** Layers kept frozen (selector: name, glob or index range), for 'full' and 'lora'. */
  freeze?: string;
  /** Freeze every layer up to and including this one ('full'). */
  freezeUntil?: string;
  /** Learning-rate multiplier per layer group (discriminative learning rates). */
  lrGroups?: readonly LrGroup[];
  /** LoRA settings, and `target`: the layers to adapt (default every Dense/Conv2D but a new head). */
  lora?: LoraOptions & { target?: string };
  /** Total epochs (head epochs included). Default 2. */
  epochs?: number;
  /** Gradual unfreezing ('full'): train only the head for this many epochs first. Default 0. */
  headEpochs?: number;
  /** After the head epochs, continue at learningRate times this. Default 0.5. */
  unfreezeLrFactor?: number;
  /** Adam's learning rate (the peak for 'cosine' and 'one-cycle'). Default 0.001. */
  learningRate?: number;
  /**
   * Adam's rate over all the fine-tuning steps (head epochs included). Default 'constant'. With a
   * schedule, gradual unfreezing keeps it (unfreezeLrFactor applies to a constant rate only).
   */
  schedule?: FineTuneSchedule;
  /** An optimizer to use instead of Adam (its own learning rate applies). */
  optimizer?: Optimizer;
  /** Everything else fit() takes (batch size, seed, normalisation, run directory, events...). */
  fit?: FitOptions;
  /**
   * Compute the outputs of a frozen, deterministic leading block once and train the rest on them
   * (feature-cache.ts; same result up to float rounding). Default true; used only where valid.
   */
  featureCache?: boolean;
  /** Batch size of the feature cache's one pass over the frozen layers. Default: fit's batch size. */
  featureBatchSize?: number;
  /** Progress lines (what the feature cache holds). */
  log?: (line: string) => void;
}

export const FINE_TUNE_DEFAULTS = {
  method: 'head',
  epochs: 2,
  headEpochs: 0,
  unfreezeLrFactor: 0.5,
  learningRate: 0.001,
  schedule: 'constant',
  featureCache: true,
} as const;

export interface FineTuneResult {
  /** The adapted model (a new object when the head was replaced or LoRA applied). */
  model: Model;
  /** One history per fit() call (two with gradual unfreezing). */
  histories: FitHistory[];
  trainableParams: number;
  totalParams: number;
  trainSeconds: number;
  /** Name of the new classifier, when it was replaced. */
  headName?: string;
}

/** Sets trainable flags (and builds the new head / adapters) for a method; fit nothing. */
export function prepareFineTune(
  base: Model,
  options: FineTuneOptions = {},
): { model: Model; headName: string | undefined } {
  const method = options.method ?? FINE_TUNE_DEFAULTS.method;
  if (!FINE_TUNE_METHODS.includes(method)) {
    throw new Error(
      `fine-tune method '${String(method)}' is unknown; choose one of ${FINE_TUNE_METHODS.join(', ')}`,
    );
  }
  let model = base;
  let headName: string | undefined;
  const seed = options.fit?.seed ?? 0;
  if (options.classes !== undefined) {
    model = replaceHead(model, options.classes, { seed });
    headName = (model.layers[classifierIndex(model)] as { name: string }).name;
  }
  const head = model.layers[classifierIndex(model)] as { name: string };
  for (const layer of model.layers) layer.trainable = true;
  if (method === 'linear-probe') {
    freezeAllBut(model, head.name);
  } else if (method === 'head') {
    const index = model.layers.indexOf(head as never);
    const before = model.layers[index - 1];
    freezeAllBut(model, head.name);
    if (before instanceof LayerNormalization) before.trainable = true;
  } else if (method === 'full') {
    if (options.freezeUntil !== undefined) freezeUntil(model, options.freezeUntil);
    if (options.freeze !== undefined) freeze(model, options.freeze);
  } else {
    model = applyLora(model, {
      ...options.lora,
      seed,
      ...(headName ? { trainable: headName } : {}),
    });
    if (options.freeze !== undefined) freeze(model, options.freeze);
  }
  return { model, headName };
}

/** A fine-tuned model as its run recorded it: nothing to change; its new head named when it has one. */
function asRecorded(model: Model, options: FineTuneOptions): { model: Model; headName: string | undefined } {
  if (options.classes === undefined) return { model, headName: undefined };
  return { model, headName: (model.layers[classifierIndex(model)] as { name: string }).name };
}

/**
 * prepareFineTune(), then fit() — once, or twice with gradual unfreezing. With `fit.resume`, `base`
 * is the fine-tuned model loaded from the run (loadModel) and fit continues from its checkpoint.
 */
export async function fineTune(
  base: Model,
  x: ImageInput,
  y: LabelInput,
  options: FineTuneOptions = {},
): Promise<FineTuneResult> {
  const o = { ...FINE_TUNE_DEFAULTS, ...options };
  if (!Number.isInteger(o.headEpochs) || o.headEpochs < 0 || o.headEpochs > o.epochs) {
    throw new Error(
      `fineTune: headEpochs must be a whole number from 0 to epochs (${o.epochs}), found ${o.headEpochs}`,
    );
  }
  if (o.headEpochs > 0 && o.method !== 'full') {
    throw new Error(`fineTune: gradual unfreezing (headEpochs) needs method 'full', found '${o.method}'`);
  }
  if (!FINE_TUNE_SCHEDULES.includes(o.schedule)) {
    throw new Error(
      `fineTune: schedule '${String(o.schedule)}' is unknown; choose one of ${FINE_TUNE_SCHEDULES.join(', ')}`,
    );
  }
  const fitOptions = options.fit ?? {};
  if (fitOptions.resume && o.headEpochs > 0) {
    throw new Error(
      `fineTune: a run with gradual unfreezing (headEpochs ${o.headEpochs}) cannot be resumed: its two stages train different layers`,
    );
  }
  // A resumed fit continues the model its run records (loadModel(run): the new head, the adapters
  // and the trainable flags are in place); fit restores its weights and optimizer from the checkpoint.
  const { model, headName } = fitOptions.resume ? asRecorded(base, options) : prepareFineTune(base, options);
  const optimizer =
    options.optimizer ??
    adam({
      learningRate: scheduleByName(o.schedule, {
        learningRate: o.learningRate,
        // Both stages' steps (head epochs, then the rest), as fit() plans them.
        totalSteps: fitPlan(exampleCount(x, model.inputShape ?? DEFAULT_INPUT_SHAPE), {
          ...fitOptions,
          epochs: o.epochs,
        }).scheduleSteps,
      }),
    });
  model.compile({
    optimizer,
    loss: sparseCategoricalCrossentropy({ fromLogits: true }),
    metrics: ['accuracy'],
  });
  const groups = options.lrGroups ?? [];
  const started = performance.now();
  const histories: FitHistory[] = [];
  const fit = (fitOpts: FitOptions): Promise<FitHistory> =>
    o.featureCache
      ? fitWithFeatureCache(model, x, y, fitOpts, {
          ...(o.log ? { log: o.log } : {}),
          ...(o.featureBatchSize !== undefined ? { batchSize: o.featureBatchSize } : {}),
        })
      : model.fit(x, y, fitOpts);

  if (o.headEpochs > 0) {
    // Stage 1: the head alone. Stage 2 restores the flags prepareFineTune set for 'full'.
    const flags = model.layers.map((layer) => layer.trainable);
    freezeAllBut(model, (model.layers[classifierIndex(model)] as { name: string }).name);
    histories.push(await fit({ ...fitOptions, epochs: o.headEpochs }));
    model.layers.forEach((layer, i) => (layer.trainable = flags[i] as boolean));
    if (typeof optimizer.learningRate === 'number') optimizer.learningRate *= o.unfreezeLrFactor;
  }
  if (groups.length > 0) applyLrMultipliers(optimizer, lrMultipliersFor(model, groups));
  // A stage that diverged ends the fine-tuning: the next stage would start diverged.
  if (o.epochs > o.headEpochs && histories.at(-1)?.stopReason !== 'diverged') {
    histories.push(
      await fit({
        ...fitOptions,
        epochs: o.epochs,
        initialEpoch: o.headEpochs,
      }),
    );
  }
  const counts = parameterCounts(model);
  return {
    model,
    histories,
    trainableParams: counts.trainable,
    totalParams: counts.total,
    trainSeconds: (performance.now() - started) / 1000,
    ...(headName ? { headName } : {}),
  };
}
