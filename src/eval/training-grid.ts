// The seed tutorial's comparison: one network trained with each loss and each optimizer, everything
// else equal (the same seed, so the same initial weights, data order and dropout masks), then one
// report: test accuracy, macro F1, training time and the epoch that first reached a target test
// accuracy, and the curves of every run overlaid. Browser-safe: the caller writes the files
// (`mnist-lab compare` writes report.html and compare.json).
//
// Letters: E epochs, S optimizer steps, P points of a smoothed curve.
import { classifierLoss } from '../losses/index.js';
import { getOptimizer } from '../optim/index.js';
import type { Model } from '../train/model.js';
import { fitPlan } from '../train/plan.js';
import type { TrainEvent } from '../train/types.js';
import { evaluateClassifier, type LabelledImages } from './evaluate.js';
import { REPORT_STYLE } from './report.js';
import { escapeXml, lineChartSvg } from './svg-charts.js';

export interface TrainingGridOptions {
  /** A fresh, unbuilt model (called once per run: every run starts from the same seeded weights). */
  model: () => Model;
  /** Loss names of classifierLoss (sparse-ce, ce, mse, bce). */
  losses: readonly string[];
  /** Optimizer names of getOptimizer (sgd, adam, ...), each with Keras's default arguments. */
  optimizers: readonly string[];
  train: LabelledImages;
  test: LabelledImages;
  /** Default 2. */
  epochs?: number;
  /** Default 128. */
  batchSize?: number;
  /** Default 0. */
  seed?: number;
  /** Train on the first `limit` examples only. */
  limit?: number;
  /** Every optimizer's learning rate (default: each optimizer's own default). */
  learningRate?: number;
  /** The test accuracy "epochs to target" counts to. Default 0.98. */
  target?: number;
  /** One line per finished run. */
  log?: (line: string) => void;
}

export const TRAINING_GRID_DEFAULTS = { epochs: 2, batchSize: 128, seed: 0, target: 0.98 } as const;

/** Smoothed training curve: the mean over each window of steps, at the window's last step. */
export interface CurveSample {
  step: number;
  loss: number;
  accuracy: number;
}

export interface TrainingGridRun {
  loss: string;
  optimizer: string;
  /** After the last epoch. */
  testAccuracy: number;
  macroF1: number;
  /** Wall time of training (the per-epoch test passes excluded). */
  trainSeconds: number;
  /** The first epoch (1-based) whose test accuracy reached the target; null if none did. */
  epochsToTarget: number | null;
  /** (E) test accuracy after each epoch. */
  testAccuracyByEpoch: number[];
  /** (P) training loss and accuracy, smoothed over windows of steps. */
  curve: CurveSample[];
}

export interface TrainingGridResult {
  format: 'mnist-lab/compare@1';
  model: string;
  epochs: number;
  batchSize: number;
  seed: number;
  limit: number | null;
  learningRate: number | null;
  target: number;
  trainExamples: number;
  testExamples: number;
  runs: TrainingGridRun[];
}

/** Points kept per smoothed curve. */
const CURVE_POINTS = 100;

/** Trains every (loss, optimizer) pair in turn: losses outer, optimizers inner. */
export async function trainingGrid(options: TrainingGridOptions): Promise<TrainingGridResult> {
  const o = { ...TRAINING_GRID_DEFAULTS, ...options };
  // Checked before the first run, so a typo does not cost the runs before it.
  for (const loss of o.losses) classifierLoss(loss);
  for (const optimizer of o.optimizers) getOptimizer(optimizer);
  const trainExamples = Math.min(o.train.count, o.limit ?? Infinity);
  const runs: TrainingGridRun[] = [];
  let modelName = '';
  for (const loss of o.losses) {
    for (const optimizer of o.optimizers) {
      const model = o.model();
      modelName = model.name;
      const run = await trainOne(model, loss, optimizer, o, trainExamples);
      runs.push(run);
      o.log?.(
        `${loss} / ${optimizer}: test accuracy ${(run.testAccuracy * 100).toFixed(2)}%, macro F1 ` +
          `${run.macroF1.toFixed(4)}, ${run.trainSeconds.toFixed(1)} s, ${epochsToTargetText(run, o.target)}`,
      );
    }
  }
  return {
    format: 'mnist-lab/compare@1',
    model: modelName,
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    limit: o.limit ?? null,
    learningRate: o.learningRate ?? null,
    target: o.target,
    trainExamples,
    testExamples: o.test.count,
    runs,
  };
}

async function trainOne(
  model: Model,
  loss: string,
  optimizer: string,
  o: TrainingGridOptions & Required<Pick<TrainingGridOptions, 'epochs' | 'batchSize' | 'seed' | 'target'>>,
  trainExamples: number,
): Promise<TrainingGridRun> {
  model.compile({
    optimizer: getOptimizer({
      className: optimizer,
      config: o.learningRate !== undefined ? { learningRate: o.learningRate } : {},
    }),
    loss: classifierLoss(loss),
    metrics: ['accuracy'],
  });
  const steps = fitPlan(trainExamples, { batchSize: o.batchSize, epochs: o.epochs }).totalSteps;
  const window = Math.max(1, Math.ceil(steps / CURVE_POINTS));
  const curve: CurveSample[] = [];
  let windowLoss = 0;
  let windowCorrect = 0;
  let windowSeen = 0;
  let correctInEpoch = 0;
  const testAccuracyByEpoch: number[] = [];
  let last: ReturnType<typeof evaluateClassifier> | undefined;
  let testSeconds = 0;
  const onEvent = (event: TrainEvent): void => {
    if (event.type === 'epochBegin') correctInEpoch = 0;
    if (event.type === 'batchEnd') {
      // The event's accuracy is the epoch's running mean over full batches but the last: this
      // batch's correct count is the difference of two running counts.
      const correctSoFar = Math.round(event.accuracy * (event.batch * o.batchSize + event.size));
      windowCorrect += correctSoFar - correctInEpoch;
      correctInEpoch = correctSoFar;
      windowLoss += event.batchLoss * event.size;
      windowSeen += event.size;
      if ((event.step + 1) % window === 0 || event.step + 1 === steps) {
        curve.push({
          step: event.step + 1,
          loss: windowLoss / windowSeen,
          accuracy: windowCorrect / windowSeen,
        });
        windowLoss = windowCorrect = windowSeen = 0;
      }
    }
    if (event.type === 'epochEnd') {
      const started = performance.now();
      last = evaluateClassifier(model, o.test, { batchSize: Math.max(o.batchSize, 128), outputs: 'logits' });
      testSeconds += (performance.now() - started) / 1000;
      testAccuracyByEpoch.push(last.accuracy);
    }
  };
  const started = performance.now();
  await model.fit(o.train.images, o.train.labels, {
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
    verbose: 0,
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    onEvent,
  });
  const trainSeconds = (performance.now() - started) / 1000 - testSeconds;
  const reached = testAccuracyByEpoch.findIndex((accuracy) => accuracy >= o.target);
  return {
    loss,
    optimizer,
    testAccuracy: last?.accuracy ?? NaN,
    macroF1: last?.macro.f1 ?? NaN,
    trainSeconds,
    epochsToTarget: reached < 0 ? null : reached + 1,
    testAccuracyByEpoch,
    curve,
  };
}

function epochsToTargetText(run: TrainingGridRun, target: number): string {
  const percent = `${Math.round(target * 1000) / 10}%`;
  return run.epochsToTarget === null
    ? `${percent} not reached in ${run.testAccuracyByEpoch.length} epochs`
    : `${percent} at epoch ${run.epochsToTarget}`;
}

/** The results as a Markdown table (the README's). */
export function trainingGridTable(result: TrainingGridResult): string {
  const target = `epochs to ${Math.round(result.target * 1000) / 10}%`;
  const lines = [
    `| loss | optimizer | test accuracy | macro F1 | train seconds | ${target} |`,
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const run of result.runs) {
    const epochs =
      run.epochsToTarget === null ? `not in ${run.testAccuracyByEpoch.length}` : String(run.epochsToTarget);
    lines.push(
      `| ${run.loss} | ${run.optimizer} | ${(run.testAccuracy * 100).toFixed(2)}% | ${run.macroF1.toFixed(4)} | ` +
        `${run.trainSeconds.toFixed(1)} | ${epochs} |`,
    );
  }
  return lines.join('\n');
}

/** The report page: the table and the overlaid curves; `details` are extra key/value lines (backend, dataset). */
export function trainingGridHtml(
  result: TrainingGridResult,
  details: readonly (readonly [string, string])[] = [],
): string {
  const name = (run: TrainingGridRun): string => `${run.loss} / ${run.optimizer}`;
  const testPoints = result.runs.flatMap((run) =>
    run.testAccuracyByEpoch.map((value, i) => ({ step: i + 1, value, series: name(run) })),
  );
  const accuracyPoints = result.runs.flatMap((run) =>
    run.curve.map((p) => ({ step: p.step, value: p.accuracy, series: name(run) })),
  );
  const lossPoints = result.runs.flatMap((run) =>
    run.curve.map((p) => ({ step: p.step, value: p.loss, series: name(run) })),
  );
  const charts = [
    [
      'test-accuracy',
      lineChartSvg({
        title: 'Test accuracy after each epoch',
        yTitle: 'accuracy',
        xTitle: 'epoch',
        points: testPoints,
      }),
    ],
    [
      'train-accuracy',
      lineChartSvg({ title: 'Training accuracy', yTitle: 'accuracy', points: accuracyPoints }),
    ],
    [
      'train-loss',
      lineChartSvg({
        title: 'Training loss (each run its own loss)',
        yTitle: 'loss',
        points: lossPoints,
        logScale: true,
      }),
    ],
  ] as const;
  const cell = (text: string): string => `<td>${escapeXml(text)}</td>`;
  const rows = result.runs
    .map(
      (run) =>
        `<tr>${cell(run.loss)}${cell(run.optimizer)}${cell(`${(run.testAccuracy * 100).toFixed(2)}%`)}` +
        `${cell(run.macroF1.toFixed(4))}${cell(run.trainSeconds.toFixed(1))}` +
        `${cell(run.epochsToTarget === null ? `not in ${run.testAccuracyByEpoch.length}` : String(run.epochsToTarget))}</tr>`,
    )
    .join('');
  const settings: (readonly [string, string])[] = [
    ['model', result.model],
    ['epochs', String(result.epochs)],
    ['batch size', String(result.batchSize)],
    ['seed', String(result.seed)],
    ['training examples', result.trainExamples.toLocaleString('en-US')],
    ['test examples', result.testExamples.toLocaleString('en-US')],
    [
      'learning rate',
      result.learningRate === null ? "each optimizer's default" : String(result.learningRate),
    ],
    ...details,
  ];
  const title = `mnist-lab compare: ${result.model}, ${result.runs.length} runs`;
  const target = `${Math.round(result.target * 1000) / 10}%`;
  return (
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escapeXml(title)}</title><style>${REPORT_STYLE}</style></head><body><main>` +
    `<header><h1>${escapeXml(title)}</h1><div class="muted">the same network, seed and data order; ` +
    `one loss and one optimizer changed at a time</div></header>` +
    `<h2>Results</h2><table id="results"><thead><tr><th>loss</th><th>optimizer</th><th>test accuracy</th>` +
    `<th>macro F1</th><th>train seconds</th><th>epochs to ${escapeXml(target)}</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<h2>Curves</h2><div class="grid charts">${charts
      .map(([id, svg]) => `<figure data-chart="${id}">${svg}</figure>`)
      .join('')}</div>` +
    `<h2>Settings</h2><table class="kv" id="settings">${settings
      .map(([k, v]) => `<tr><td>${escapeXml(k)}</td><td>${escapeXml(v)}</td></tr>`)
      .join('')}</table>` +
    `</main></body></html>\n`
  );
}
