// `mnist-lab evaluate <runDir>`: a trained run evaluated on a dataset split: the sklearn-style
// classification report, the confusion matrix, the most-confused pairs and calibration, and
// <runDir>/report.html (with --png, the charts as PNG too). A thin client of the public API.
import { Command, Option } from 'commander';
import { loadDataset, loadModel, selectBackend, type Model } from '../../index.js';
import { subsetClassNames } from '../../data/split.js';
import { evaluateClassifier } from '../../eval/evaluate.js';
import { formatClassificationReport, formatConfusionMatrix, formatMostConfused } from '../../eval/format.js';
import { writeRunReport } from '../../eval/node/run-report.js';
import { readRunRecipe } from '../../predict/node/run-recipe.js';
import { inspectFolder } from '../../runs/node/folder.js';
import { acquireRunLock, type RunLock, RunLockedError } from '../../runs/node/lock.js';
import { checkPrecision } from '../../tensor/precision.js';
import { datasetName, dataDirOption, existingPath } from '../flags.js';
import { dataEventPrinter, printInfo, printJson, printResult } from '../output.js';
import { backendOptions, executionOf, executionOptions, selectClasses } from './train.js';

interface EvaluateFlags {
  dataset?: string;
  dataDir?: string;
  offline?: boolean;
  split: 'test' | 'train';
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  report: boolean;
  png?: boolean;
  json?: boolean;
  /** False with --no-compile: every batch runs eagerly. */
  compile: boolean;
  /** --precision bf16: mixed precision (bfloat16 convolutions and products). */
  precision?: 'f32' | 'bf16';
  /** The program's --debug: also print the sources that were absent and why batches run eagerly. */
  debug?: boolean;
}

const round = (value: number, digits = 6): number => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The lock of run directory `path` for writing its report, or null when another process writes the
 * run (a training: its own report would replace ours); undefined when `path` is not a run directory.
 */
async function reportLock(path: string, log: (line: string) => void): Promise<RunLock | null | undefined> {
  if ((await inspectFolder(path)).kind !== 'run') return undefined;
  try {
    return await acquireRunLock(path, { command: 'mnist-lab evaluate' });
  } catch (error) {
    if (!(error instanceof RunLockedError)) throw error;
    log(`report not written: ${error.message}; evaluate again when it is done (or pass --no-report)`);
    return null;
  }
}

async function evaluate(runDir: string, flags: EvaluateFlags): Promise<void> {
  const backend = selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  if (flags.precision === 'bf16') checkPrecision('bfloat16');
  const recipe = await readRunRecipe(runDir);
  const model: Model = await loadModel(runDir);
  const datasetName = flags.dataset ?? recipe?.dataset ?? 'mnist';
  const log = flags.json ? () => undefined : printInfo;
  const dataset = await loadDataset(datasetName, {
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.offline ? { offline: true } : {}),
    onEvent: dataEventPrinter(log, flags),
  });
  const set = selectClasses(flags.split === 'train' ? dataset.train : dataset.test, recipe?.classes);
  if (set.count === 0) {
    throw new Error(
      `evaluate: the ${flags.split} split of ${dataset.name} has no images; choose another with --split or --dataset`,
    );
  }
  // A run trained on a class subset was relabelled 0..k-1: name its outputs after the original classes.
  const classNames = subsetClassNames(dataset.classes, recipe?.classes);
  // loadModel gives a model that standardises its own inputs (an old run's normalisation restored).
  const result = evaluateClassifier(model, set, { classNames, batchSize: 1000, ...executionOf(flags) });
  const lock = flags.report ? await reportLock(runDir, printInfo) : null;
  const report =
    flags.report && lock !== null
      ? await writeRunReport(runDir, {
          model,
          set,
          evaluation: result,
          classNames,
          dataset: dataset.name,
          split: flags.split,
          ...(flags.png ? { png: true } : {}),
        }).finally(() => lock?.release())
      : undefined;
  const perClass = result.perClass.map((c) => ({
    label: c.label,
    name: c.name,
    precision: round(c.precision),
    recall: round(c.recall),
    f1: round(c.f1),
    support: c.support,
  }));
  const average = (a: { precision: number; recall: number; f1: number; support: number }) => ({
    precision: round(a.precision),
    recall: round(a.recall),
    f1: round(a.f1),
    support: a.support,
  });
  const output = {
    runDir,
    backend: backend.name,
    dataset: dataset.name,
    split: flags.split,
    count: result.count,
    [flags.split]: { loss: round(result.loss), accuracy: result.accuracy, top2Accuracy: result.top2Accuracy },
    perClass,
    macro: average(result.macro),
    weighted: average(result.weighted),
    micro: average(result.micro),
    confusionMatrix: result.confusionMatrix,
    mostConfused: result.mostConfused.map((p) => ({ ...p, rate: round(p.rate) })),
    ece: round(result.ece),
    reliability: result.reliability.map((b) => ({
      lower: round(b.lower),
      upper: round(b.upper),
      count: b.count,
      confidence: round(b.confidence),
      accuracy: round(b.accuracy),
    })),
    warnings: result.warnings,
    seconds: round(result.seconds, 3),
    imagesPerSecond: Math.round(result.imagesPerSecond),
    ...(report ? { report: report.path } : {}),
    ...(report && report.pngFiles.length > 0 ? { png: report.pngFiles } : {}),
  };
  if (flags.json) {
    printJson(output);
    return;
  }
  printResult(
    `${dataset.name} ${flags.split}: ${set.count} images, backend ${backend.name}, ${result.seconds.toFixed(2)} s\n`,
  );
  printResult(formatClassificationReport(result, 4));
  printResult(
    `loss ${result.loss.toFixed(4)}, top-2 accuracy ${(result.top2Accuracy * 100).toFixed(2)}%, ` +
      `expected calibration error ${(result.ece * 100).toFixed(2)}%\n`,
  );
  for (const w of result.warnings)
    printResult(`warning: ${w.metric} of class ${w.name} set to 0 (${w.reason})`);
  printResult('confusion matrix (rows: true class, columns: predicted):');
  printResult(formatConfusionMatrix(result.confusionMatrix, classNames));
  printResult('most confused (true -> predicted):');
  printResult(formatMostConfused(result.mostConfused));
  if (report) printResult(`report: ${report.path}`);
  for (const file of report?.pngFiles ?? []) printResult(`png: ${file}`);
}

export function registerEvaluateCommand(program: Command): void {
  const evaluateCommand = program
    .command('evaluate')
    .description('evaluate a trained run: classification report, confusion matrix, report.html')
    .argument(
      '<runDir>',
      'a run directory written by train',
      existingPath('runDir', 'a run directory written by train'),
    )
    .option('--dataset <name>', 'dataset (default: the one the run trained on)', datasetName('--dataset'))
    .addOption(dataDirOption())
    .option('--offline', 'never use the network')
    .addOption(new Option('--split <name>', 'which split').choices(['test', 'train']).default('test'))
    .option('--no-report', 'do not write <runDir>/report.html')
    .option('--png', 'also write the charts and the mistakes gallery as PNG files in <runDir>/report/')
    .option('--json', 'print one JSON object on stdout and nothing else');
  executionOptions(backendOptions(evaluateCommand)).action(
    (runDir: string, _flags: EvaluateFlags, command: Command) =>
      evaluate(runDir, command.optsWithGlobals<EvaluateFlags>()),
  );
}
