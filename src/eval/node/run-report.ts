// writeRunReport(): reads a run directory (config.json, metrics.jsonl) through the runs layer,
// optionally evaluates the model on a labelled set, and writes <run>/report.html and the
// evaluation's numbers as data, <run>/evaluation.json (readers never parse the HTML), atomically;
// with `png`, also the charts and the mistakes gallery as <run>/report/*.png. Node-only (files,
// pngjs, resvg). The caller holds the run's lock when another process might write the run.
//
// Letters: N examples, K classes, S optimizer steps.
import { cpus } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { renderGrid } from '../../data/grid.js';
import { encodePng } from '../../data/node/png.js';
import { scheduleFromConfig } from '../../optim/schedules.js';
import type { ScheduleConfig } from '../../optim/schedules.js';
import { EVALUATION_FILE, EVALUATION_FORMAT, REPORT_FILE, REPORT_PNG_DIR } from '../../runs/layout.js';
import { RunDirectory, readModelSource } from '../../runs/node/directory.js';
import { writeFileAtomic } from '../../runs/node/files.js';
import type { EvaluationRecord, RunConfig } from '../../runs/types.js';
import type { LayerClasses } from '../../nn/layer.js';
import type { Model } from '../../train/model.js';
import { modelFromFiles } from '../../train/run.js';
import type { InputNormalization } from '../../data/normalize.js';
import type { TrainEvent } from '../../train/types.js';
import { VERSION } from '../../version.js';
import { attentionMaps, hasAttentionScores } from '../attention.js';
import type { CurvePoint } from '../charts.js';
import { evaluateClassifier, type ClassifierEvaluation, type LabelledImages } from '../evaluate.js';
import {
  renderReportCharts,
  renderReportHtml,
  type AttentionPanel,
  type GalleryItem,
  type ReportData,
  type ReportSection,
  type TrainingCurves,
} from '../report.js';

export interface RunReportOptions {
  /** The trained model; default: the run's, loaded with `layers`. */
  model?: Model;
  /**
   * The classes the run's model may name (LAYER_CLASSES), to load it when `model` is not given;
   * with neither, the report has no model section.
   */
  layers?: LayerClasses;
  /** The labelled set to evaluate (u8 28x28 images); without it the report has no evaluation. */
  set?: LabelledImages;
  /** An evaluation of `set` already computed (skips a second pass). */
  evaluation?: ClassifierEvaluation;
  /** (K) class names, e.g. Dataset.classes. */
  classNames?: readonly string[];
  /** Shown in the report. Default: the run's dataset, 'test'. */
  dataset?: string;
  split?: string;
  /** @deprecated models carry their input normalisation; see FitOptions.normalize. */
  normalize?: InputNormalization;
  /** Also write the charts and the gallery as PNG files under <run>/report/. */
  png?: boolean;
  /** Images in the mistakes gallery. Default 24. */
  galleryCount?: number;
  /** Further sections after the training curves (a pretraining run's reconstructions). */
  sections?: readonly ReportSection[];
  /** The loss curve's axis title. Default 'cross-entropy'. */
  lossLabel?: string;
}

export interface RunReport {
  /** The report.html written. */
  path: string;
  /** The evaluation.json written (with an evaluation). */
  evaluationPath?: string;
  evaluation?: ClassifierEvaluation;
  /** PNG files written with `png`. */
  pngFiles: string[];
}

/** The run's events (metrics.jsonl), one per line; a torn last line (a crash mid-append) is skipped. */
export function readRunEvents(runDir: string): Promise<TrainEvent[]> {
  return RunDirectory.at(runDir).events<TrainEvent>();
}

/** The optimizer's learning rate in config.json: a number or a saved schedule. */
function learningRateOf(config: Partial<RunConfig>): number | ScheduleConfig | undefined {
  const value = config.training?.optimizer?.config?.['learningRate'];
  if (typeof value === 'number') return value;
  return typeof value === 'object' && value !== null ? (value as ScheduleConfig) : undefined;
}

/** What evaluation.json holds for an evaluation of `dataset`'s `split`. */
export function evaluationRecord(
  evaluation: ClassifierEvaluation,
  where: { dataset: string; split: string },
): EvaluationRecord {
  return {
    format: EVALUATION_FORMAT,
    evaluatedAt: new Date().toISOString(),
    dataset: where.dataset,
    split: where.split,
    count: evaluation.count,
    loss: evaluation.loss,
    accuracy: evaluation.accuracy,
    top2Accuracy: evaluation.top2Accuracy,
    macro: { ...evaluation.macro },
    weighted: { ...evaluation.weighted },
    perClass: evaluation.perClass.map((c) => ({ ...c })),
    confusionMatrix: evaluation.confusionMatrix.map((row) => [...row]),
    ece: evaluation.ece,
  };
}

const MAX_CURVE_POINTS = 400;

/** Consecutive points averaged in groups so a line has at most MAX_CURVE_POINTS (smooths noise too). */
function downsample(points: CurvePoint[]): CurvePoint[] {
  if (points.length <= MAX_CURVE_POINTS) return points;
  const group = Math.ceil(points.length / MAX_CURVE_POINTS);
  const out: CurvePoint[] = [];
  for (let i = 0; i < points.length; i += group) {
    const slice = points.slice(i, i + group);
    out.push({
      step: (slice[slice.length - 1] as CurvePoint).step,
      value: slice.reduce((a, p) => a + p.value, 0) / slice.length,
      series: (slice[0] as CurvePoint).series,
    });
  }
  return out;
}

/** Loss, accuracy and learning-rate curves; a resumed run's repeated steps keep their last value. */
export function trainingCurves(events: readonly TrainEvent[], config: Partial<RunConfig>): TrainingCurves {
  const batches = new Map<number, { loss: number; accuracy: number; step: number }>();
  const epochs = new Map<
    number,
    { step: number; loss: number; accuracy: number; valLoss?: number; valAccuracy?: number }
  >();
  let lastStep = 0;
  const epochLr = new Map<number, number>();
  let stepsPerEpoch = 0;
  for (const event of events) {
    if (event.type === 'trainBegin') stepsPerEpoch = event.stepsPerEpoch;
    if (event.type === 'epochBegin') epochLr.set(event.epoch, event.lr);
    if (event.type === 'batchEnd' && event.finite) {
      // step + 1: the curve's x is "optimizer steps taken" once this batch's update is applied.
      batches.set(event.step, { loss: event.batchLoss, accuracy: event.accuracy, step: event.step + 1 });
      lastStep = Math.max(lastStep, event.step + 1);
    }
    if (event.type === 'epochEnd') {
      epochs.set(event.epoch, {
        step: event.step,
        loss: event.loss,
        accuracy: event.accuracy,
        ...(event.valLoss !== undefined ? { valLoss: event.valLoss } : {}),
        ...(event.valAccuracy !== undefined ? { valAccuracy: event.valAccuracy } : {}),
      });
      lastStep = Math.max(lastStep, event.step);
    }
  }
  const sortedBatches = [...batches.values()].sort((a, b) => a.step - b.step);
  const sortedEpochs = [...epochs.values()].sort((a, b) => a.step - b.step);
  const loss = downsample(
    sortedBatches.map((b) => ({ step: b.step, value: b.loss, series: 'train (batch)' })),
  );
  const accuracy = downsample(
    sortedBatches
      .filter((b) => typeof b.accuracy === 'number')
      .map((b) => ({ step: b.step, value: b.accuracy, series: 'train (epoch so far)' })),
  );
  for (const e of sortedEpochs) {
    loss.push({ step: e.step, value: e.loss, series: 'train (epoch)' });
    // A pretraining run's events carry no accuracy (its loss is self-supervised).
    if (typeof e.accuracy === 'number')
      accuracy.push({ step: e.step, value: e.accuracy, series: 'train (epoch)' });
    if (e.valLoss !== undefined) loss.push({ step: e.step, value: e.valLoss, series: 'validation' });
    if (e.valAccuracy !== undefined)
      accuracy.push({ step: e.step, value: e.valAccuracy, series: 'validation' });
  }
  const learningRate: CurvePoint[] = [];
  const configured = learningRateOf(config);
  const stride = Math.max(1, Math.ceil(lastStep / MAX_CURVE_POINTS));
  if (typeof configured === 'object' && lastStep > 0) {
    const schedule = scheduleFromConfig(configured);
    for (let step = 0; step <= lastStep; step += stride) {
      learningRate.push({ step, value: schedule.at(step), series: 'learning rate' });
    }
  } else if (typeof configured === 'number' && lastStep > 0) {
    learningRate.push({ step: 0, value: configured, series: 'learning rate' });
    learningRate.push({ step: lastStep, value: configured, series: 'learning rate' });
  } else {
    for (const [epoch, lr] of [...epochLr.entries()].sort((a, b) => a[0] - b[0])) {
      learningRate.push({ step: epoch * stepsPerEpoch, value: lr, series: 'learning rate' });
    }
  }
  return { loss, accuracy, learningRate };
}

function configRows(config: Partial<RunConfig>, runDir: string): [string, string][] {
  const rows: [string, string][] = [['run directory', resolve(runDir)]];
  const fit = config.training?.fit ?? {};
  const recipe = config.runConfig?.recipe;
  const add = (key: string, value: unknown): void => {
    if (value !== undefined && value !== null)
      rows.push([key, typeof value === 'string' ? value : JSON.stringify(value)]);
  };
  add('created', config.createdAt);
  add('model', recipe?.model ?? config.model?.config?.name ?? config.model?.className);
  add('dataset', recipe?.dataset);
  add('classes', recipe?.classes);
  const optimizer = config.training?.optimizer;
  const lr = learningRateOf(config);
  add('optimizer', optimizer?.className);
  add('learning rate', typeof lr === 'object' ? `${lr.className} ${JSON.stringify(lr.config)}` : lr);
  add('loss', config.training?.loss?.name);
  for (const key of [
    'epochs',
    'batchSize',
    'seed',
    'validationSplit',
    'augment',
    'limit',
    'stepsPerEpoch',
    'normalize',
  ]) {
    add(key, fit[key]);
  }
  return rows;
}

function environmentRows(config: Partial<RunConfig>): [string, string][] {
  const v = config.versions ?? {};
  const rows: [string, string][] = [];
  rows.push(['backend (training)', String(v['backend'] ?? 'unknown')]);
  rows.push(['threads (training)', String(v['threads'] ?? 'unknown')]);
  // Data-parallel runs (mpirun -np N): the processes that trained it; one for every other run.
  rows.push(['processes (training)', String(v['processes'] ?? 1)]);
  rows.push(['mnist-lab (training)', String(v['mnistLab'] ?? 'unknown')]);
  rows.push(['runtime (training)', String(v['runtime'] ?? 'unknown')]);
  rows.push(['mnist-lab (report)', VERSION]);
  rows.push(['runtime (report)', `Node.js ${process.version}`]);
  rows.push([
    'platform',
    `${process.platform} ${process.arch}, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'})`,
  ]);
  return rows;
}

function timingRows(
  events: readonly TrainEvent[],
  evaluation: ClassifierEvaluation | undefined,
): [string, string][] {
  let seconds = 0;
  let images = 0;
  let epochSeconds = 0;
  const sizes = new Map<number, number>();
  for (const event of events) {
    if (event.type === 'trainEnd') seconds += event.seconds;
    if (event.type === 'epochEnd') epochSeconds += event.seconds;
    if (event.type === 'batchEnd') sizes.set(event.step, event.size);
  }
  for (const size of sizes.values()) images += size;
  const rows: [string, string][] = [];
  if (seconds > 0) rows.push(['training time', `${seconds.toFixed(1)} s`]);
  if (epochSeconds > 0 && images > 0) {
    rows.push(['training images', images.toLocaleString('en-US')]);
    rows.push([
      'training throughput',
      `${Math.round(images / epochSeconds).toLocaleString('en-US')} images/s`,
    ]);
  }
  if (evaluation) {
    rows.push([
      'evaluation time',
      `${evaluation.seconds.toFixed(2)} s for ${evaluation.count.toLocaleString('en-US')} images`,
    ]);
    rows.push([
      'evaluation throughput',
      `${Math.round(evaluation.imagesPerSecond).toLocaleString('en-US')} images/s`,
    ]);
  }
  return rows;
}

/** (28, 28) u8 image, white ink on black as MNIST stores it, as a PNG data URI. */
function imageDataUri(pixels: Uint8Array, width: number, height: number): string {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < pixels.length; i++) {
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = pixels[i] as number;
    rgba[4 * i + 3] = 255;
  }
  return `data:image/png;base64,${Buffer.from(encodePng({ width, height, data: rgba })).toString('base64')}`;
}

async function writePngs(
  runDir: string,
  charts: Record<string, string>,
  set: LabelledImages | undefined,
  evaluation: ClassifierEvaluation | undefined,
): Promise<string[]> {
  let Resvg: typeof import('@resvg/resvg-js').Resvg;
  try {
    ({ Resvg } = await import('@resvg/resvg-js'));
  } catch (error) {
    throw new Error(
      `--png needs @resvg/resvg-js, which did not load here (${(error as Error).message}); ` +
        `reinstall it with 'npm install' or drop --png (report.html has the same charts)`,
    );
  }
  const files: string[] = [];
  for (const [name, svg] of Object.entries(charts)) {
    const png = new Resvg(svg, {
      background: 'white',
      fitTo: { mode: 'zoom', value: 2 },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
    const path = join(runDir, REPORT_PNG_DIR, `${name}.png`);
    await writeFileAtomic(path, png);
    files.push(path);
  }
  if (set && evaluation && evaluation.worst.length > 0 && set.images instanceof Uint8Array) {
    // The grid draws each image's label under it: here the model's (wrong) prediction.
    const indices = evaluation.worst.map((w) => w.index);
    const labels = new Uint8Array(set.count);
    for (const w of evaluation.worst) labels[w.index] = w.predicted;
    const grid = renderGrid({ images: set.images, labels, count: set.count }, indices, {
      zoom: 3,
      columns: 8,
    });
    const path = join(runDir, REPORT_PNG_DIR, 'mistakes.png');
    await writeFileAtomic(path, encodePng(grid));
    files.push(path);
  }
  return files;
}

/** Test images shown with their attention maps: this many the model got right, and of its mistakes. */
const ATTENTION_RIGHT = 4;
const ATTENTION_WRONG = 4;

/**
 * A vision transformer's attention over the first few test images it classifies right and its most
 * confident mistakes; none for models without attention.
 */
function attentionPanels(
  model: Model,
  images: Uint8Array,
  labels: ArrayLike<number>,
  evaluation: ClassifierEvaluation,
  classNames: readonly string[],
  side: number,
): AttentionPanel[] {
  if (!hasAttentionScores(model)) return [];
  const wrong = new Set(evaluation.worst.map((w) => w.index));
  const right: number[] = [];
  for (let i = 0; i < labels.length && right.length < ATTENTION_RIGHT; i++) if (!wrong.has(i)) right.push(i);
  const indices = [...right, ...evaluation.worst.slice(0, ATTENTION_WRONG).map((w) => w.index)];
  const maps = attentionMaps(model, images, indices, side);
  const name = (k: number): string => classNames[k] ?? String(k);
  const pixels = side * side;
  return indices.map((index, i) => {
    const m = maps[i] as (typeof maps)[number];
    const label = labels[index] as number;
    return {
      src: imageDataUri(images.subarray(index * pixels, (index + 1) * pixels), side, side),
      side,
      index,
      trueName: name(label),
      predictedName: name(m.predicted),
      correct: m.predicted === label,
      maps: m,
    };
  });
}

/** Writes <runDir>/report.html (and PNGs with `png`); evaluates `set` when given. */
export async function writeRunReport(runDir: string, options: RunReportOptions = {}): Promise<RunReport> {
  const run = RunDirectory.at(runDir);
  const config: Partial<RunConfig> = (await run.config()) ?? {};
  const events = await run.events<TrainEvent>();
  let model = options.model;
  if (!model && options.layers) {
    try {
      model = modelFromFiles(await readModelSource(runDir), options.layers);
    } catch {
      model = undefined; // a run without a checkpoint yet: the report has no model section
    }
  }
  const set = options.set;
  let evaluation = options.evaluation;
  if (!evaluation && set && model) {
    evaluation = evaluateClassifier(model, set, {
      ...(options.classNames ? { classNames: options.classNames } : {}),
      ...(options.normalize ? { normalize: options.normalize } : {}),
      keepWorst: options.galleryCount ?? 24,
    });
  }
  const classNames = options.classNames ?? evaluation?.perClass.map((c) => c.name) ?? [];
  const pixels = set && set.count > 0 ? set.images.length / set.count : 0;
  const side = Math.round(Math.sqrt(pixels));
  const gallery: GalleryItem[] =
    set && evaluation && set.images instanceof Uint8Array && side * side === pixels
      ? evaluation.worst.slice(0, options.galleryCount ?? 24).map((w) => ({
          src: imageDataUri(
            (set.images as Uint8Array).subarray(w.index * pixels, (w.index + 1) * pixels),
            side,
            side,
          ),
          index: w.index,
          trueName: classNames[w.label] ?? String(w.label),
          predictedName: classNames[w.predicted] ?? String(w.predicted),
          confidence: w.confidence,
          trueProbability: w.trueProbability,
        }))
      : [];
  const attention =
    model && set && evaluation && set.images instanceof Uint8Array && side * side === pixels
      ? attentionPanels(model, set.images, set.labels, evaluation, classNames, side)
      : [];
  let modelSummary: string | undefined;
  try {
    modelSummary = model?.summary(() => undefined);
  } catch {
    modelSummary = undefined; // an unbuilt model without input shape
  }
  const data: ReportData = {
    title: `mnist-lab report: ${basename(resolve(runDir))}`,
    generatedAt: new Date().toISOString(),
    config: configRows(config, runDir),
    environment: environmentRows(config),
    ...(modelSummary ? { modelSummary } : {}),
    curves: trainingCurves(events, config),
    ...(options.sections ? { sections: options.sections } : {}),
    ...(options.lossLabel ? { lossLabel: options.lossLabel } : {}),
    ...(evaluation
      ? {
          evaluation: {
            dataset: options.dataset ?? config.runConfig?.recipe?.dataset ?? 'dataset',
            split: options.split ?? 'test',
            classNames,
            result: evaluation,
          },
        }
      : {}),
    gallery,
    ...(attention.length > 0 ? { attention } : {}),
    timing: timingRows(events, evaluation),
  };
  const charts = await renderReportCharts(data);
  const path = run.file(REPORT_FILE);
  await writeFileAtomic(path, await renderReportHtml(data, charts));
  let evaluationPath: string | undefined;
  if (evaluation && data.evaluation) {
    evaluationPath = run.file(EVALUATION_FILE);
    const record = evaluationRecord(evaluation, data.evaluation);
    await writeFileAtomic(evaluationPath, JSON.stringify(record, null, 2) + '\n');
  }
  const pngFiles = options.png ? await writePngs(runDir, charts, set, evaluation) : [];
  return {
    path,
    ...(evaluationPath ? { evaluationPath } : {}),
    ...(evaluation ? { evaluation } : {}),
    pngFiles,
  };
}
