// `mnist-lab evaluate <runDir>`: a trained run evaluated on a dataset split. A thin client of the
// public API.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { loadDataset, loadModel, selectBackend, type Model } from '../../index.js';
import { printInfo, printJson, printResult } from '../output.js';
import { backendOptions, selectClasses, type RunRecipe } from './train.js';

interface EvaluateFlags {
  dataset?: string;
  dataDir?: string;
  offline?: boolean;
  split: 'test' | 'train';
  backend?: 'js' | 'native';
  threads?: number;
  json?: boolean;
}

async function readRunRecipe(runDir: string): Promise<RunRecipe | undefined> {
  try {
    const config = JSON.parse(await readFile(join(runDir, 'config.json'), 'utf8')) as {
      runConfig?: { recipe?: RunRecipe };
    };
    return config.runConfig?.recipe;
  } catch {
    return undefined;
  }
}

async function evaluate(runDir: string, flags: EvaluateFlags): Promise<void> {
  const backend = selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  const recipe = await readRunRecipe(runDir);
  const model: Model = await loadModel(runDir);
  const datasetName = flags.dataset ?? recipe?.dataset ?? 'mnist';
  const log = flags.json ? () => undefined : printInfo;
  const dataset = await loadDataset(datasetName, {
    ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
    ...(flags.offline ? { offline: true } : {}),
    onEvent: (event) => log(event.message),
  });
  const set = selectClasses(flags.split === 'train' ? dataset.train : dataset.test, recipe?.classes);
  const result = await model.evaluate(set.images, set.labels, {
    batchSize: 1000,
    ...(recipe?.normalize ? { normalize: recipe.normalize } : {}),
  });
  const output = {
    runDir,
    backend: backend.name,
    dataset: dataset.name,
    split: flags.split,
    [flags.split]: { loss: result.loss, accuracy: result.accuracy },
  };
  if (flags.json) printJson(output);
  else
    printResult(
      `${flags.split}: loss ${result.loss.toFixed(4)}, accuracy ${(result.accuracy * 100).toFixed(2)}% (${set.count} images, backend ${backend.name})`,
    );
}

export function registerEvaluateCommand(program: Command): void {
  const evaluateCommand = program
    .command('evaluate')
    .description('evaluate a trained run on a dataset split')
    .argument('<runDir>', 'a run directory written by train')
    .option('--dataset <name>', 'dataset (default: the one the run trained on)')
    .option('--data-dir <dir>', 'look for the dataset files in this directory first')
    .option('--offline', 'never use the network')
    .addOption(new Option('--split <name>', 'which split').choices(['test', 'train']).default('test'))
    .option('--json', 'print one JSON object on stdout and nothing else');
  backendOptions(evaluateCommand).action((runDir: string, flags: EvaluateFlags) => evaluate(runDir, flags));
}
