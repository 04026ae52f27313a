// `mnist-lab compare`: the seed tutorial's experiment, one network trained with each loss and each
// optimizer (same seed, same data order), written as one report: <out>/report.html (table and
// overlaid curves) and <out>/compare.json (the same as data). A thin client of trainingGrid().
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ZOO_MODEL_NAMES, getRecipe, loadDataset, selectBackend } from '../../index.js';
import {
  TRAINING_GRID_DEFAULTS,
  trainingGrid,
  trainingGridHtml,
  trainingGridTable,
} from '../../eval/training-grid.js';
import { CLASSIFIER_LOSS_NAMES } from '../../losses/index.js';
import { runDirName } from '../../runs/layout.js';
import { writeFileAtomic } from '../../runs/node/files.js';
import { claimFolder } from '../../runs/node/folder.js';
import { datasetName, dataDirOption, integerIn, numberIn } from '../flags.js';
import { handleInterrupts } from '../interrupts.js';
import { dataEventPrinter, printInfo, printJson, printResult } from '../output.js';
import { backendOptions } from './train.js';

const OPTIMIZER_NAMES = ['sgd', 'adam', 'adamw', 'rmsprop'] as const;
/** What a compare folder holds. */
const REPORT_FILE = 'report.html';
const DATA_FILE = 'compare.json';

interface CompareFlags {
  losses: string[];
  optimizers: string[];
  model: string;
  dataset: string;
  dataDir?: string;
  offline?: boolean;
  epochs?: number;
  batchSize?: number;
  limit?: number;
  lr?: number;
  seed: number;
  out?: string;
  overwrite?: boolean;
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  json?: boolean;
  debug?: boolean;
}

/** 'ce,mse' -> ['ce', 'mse'], each one of `known`, no repeats. */
export function nameList(flag: string, known: readonly string[]) {
  return (value: string): string[] => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name.length > 0);
    const unknown = names.filter((name) => !known.includes(name));
    if (names.length === 0 || unknown.length > 0) {
      throw new InvalidArgumentError(
        `${flag} expects a comma-separated list of ${known.join(', ')}, found '${value}'`,
      );
    }
    return [...new Set(names)];
  };
}

async function compare(flags: CompareFlags): Promise<void> {
  const log = flags.json ? () => undefined : printInfo;
  const recipe = getRecipe(flags.model);
  const out = flags.out ?? join('runs', runDirName('compare', recipe.name));
  const interrupts = handleInterrupts();
  try {
    const claimed = await claimFolder(out, {
      mode: 'new',
      label: flags.out ? `--out ${out}` : out,
      ...(flags.overwrite ? { overwrite: true } : {}),
      replaceable: {
        what: 'an earlier comparison',
        test: (entries) => entries.every((name) => name === REPORT_FILE || name === DATA_FILE),
      },
      command: 'mnist-lab compare',
    });
    try {
      if (claimed.movedTo) printInfo(`--overwrite: moved what was in ${out} to ${claimed.movedTo}`);
      await compareInto(out, flags, log);
    } finally {
      await claimed.lock?.release();
    }
  } finally {
    interrupts.remove();
  }
}

async function compareInto(out: string, flags: CompareFlags, log: (line: string) => void): Promise<void> {
  const recipe = getRecipe(flags.model);
  const backend = selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  const runs = flags.losses.length * flags.optimizers.length;
  log(
    `mnist-lab compare: model ${recipe.name}, losses ${flags.losses.join(', ')} x optimizers ` +
      `${flags.optimizers.join(', ')} (${runs} runs), backend ${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'})`,
  );
  const dataset = await loadDataset(flags.dataset, {
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.offline ? { offline: true } : {}),
    onEvent: dataEventPrinter(log, flags),
  });
  const classes = dataset.classes.length;
  const result = await trainingGrid({
    model: () => recipe.model({ classes }),
    losses: flags.losses,
    optimizers: flags.optimizers,
    train: dataset.train,
    test: dataset.test,
    epochs: flags.epochs ?? TRAINING_GRID_DEFAULTS.epochs,
    batchSize: flags.batchSize ?? recipe.batchSize,
    seed: flags.seed,
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}),
    log,
  });
  const details: [string, string][] = [
    ['dataset', dataset.name],
    ['backend', `${backend.name} (${backend.threads} thread${backend.threads === 1 ? '' : 's'})`],
  ];
  const record = { ...result, dataset: dataset.name, backend: backend.name, threads: backend.threads };
  const reportPath = join(out, REPORT_FILE);
  const jsonPath = join(out, DATA_FILE);
  await writeFileAtomic(jsonPath, `${JSON.stringify(record, null, 2)}\n`);
  await writeFileAtomic(reportPath, trainingGridHtml(result, details));
  if (flags.json) printJson({ out, report: reportPath, data: jsonPath, ...record });
  else {
    printResult(trainingGridTable(result));
    printResult(`report: ${reportPath}`);
  }
}

export function registerCompareCommand(program: Command): void {
  const command = program
    .command('compare')
    .description(
      'train one network with each loss and each optimizer (same seed and data order) and write one report',
    )
    .option(
      '--losses <list>',
      `losses to compare: ${CLASSIFIER_LOSS_NAMES.join(', ')}`,
      nameList('--losses', CLASSIFIER_LOSS_NAMES),
      ['ce', 'mse', 'bce'],
    )
    .option(
      '--optimizers <list>',
      `optimizers to compare, each with its default learning rate: ${OPTIMIZER_NAMES.join(', ')}`,
      nameList('--optimizers', OPTIMIZER_NAMES),
      ['sgd', 'adam'],
    )
    .addOption(
      new Option('--model <name>', 'architecture from the zoo').choices(ZOO_MODEL_NAMES).default('cnn'),
    )
    .option(
      '--dataset <name>',
      'mnist, fashion-mnist, idx:DIR or folder:DIR',
      datasetName('--dataset'),
      'mnist',
    )
    .addOption(dataDirOption())
    .option('--offline', 'never use the network')
    .option(
      '--epochs <n>',
      `epochs of every run (default ${TRAINING_GRID_DEFAULTS.epochs})`,
      integerIn('--epochs', 1, 10000),
    )
    .option(
      '--batch-size <n>',
      "examples per step (default: the model recipe's)",
      integerIn('--batch-size', 1, 65536),
    )
    .option('--limit <n>', 'train on the first N examples only', integerIn('--limit', 1))
    .option(
      '--lr <rate>',
      "one learning rate for every optimizer (default: each optimizer's own)",
      numberIn('--lr', 0, 1e6, true),
    )
    .option(
      '--seed <n>',
      'seed of every run (initial weights, data order, dropout)',
      integerIn('--seed', 0),
      0,
    )
    .option(
      '--out <dir>',
      'folder for report.html and compare.json, new or empty (default runs/compare-<model>-<time>)',
    )
    .option('--overwrite', 'if --out holds an earlier comparison, move it aside to <out>.old-<time>')
    .option('--json', 'print one JSON object on stdout and nothing else');
  backendOptions(command).action((_flags: CompareFlags, self: Command) =>
    compare(self.optsWithGlobals<CompareFlags>()),
  );
}
