// `mnist-lab data ...`: list datasets, prepare (find, verify, download) one, show samples as a PNG.
// A thin client of the public API: every data operation lives in src/data.

import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { loadDataset, type LoadOptions } from '../../index.js';
import { classCounts } from '../../data/dataset.js';
import { parseIndexList, renderGrid } from '../../data/grid.js';
import { datasetAvailability } from '../../data/node/load.js';
import { encodePng } from '../../data/node/png.js';
import { DATASETS } from '../../data/registry.js';
import { datasetName, existingDirectory, integerIn } from '../flags.js';
import { dataEventPrinter, printInfo, printJson, printResult } from '../output.js';

interface SourceFlags {
  dataDir?: string;
  cacheDir?: string;
  offline?: boolean;
  mirror?: string[];
  timeout?: number;
  source?: 'auto' | 'data-dir' | 'cache' | 'offline' | 'download';
  json?: boolean;
  /** The program's --debug: also print the sources that were absent. */
  debug?: boolean;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The options every data command shares: where to look and how to print. */
function withSourceOptions(command: Command): Command {
  return command
    .option(
      '--data-dir <dir>',
      'look for the IDX files in this directory first',
      existingDirectory('--data-dir', 'an existing directory'),
    )
    .option('--cache-dir <dir>', 'cache directory (default $MNIST_LAB_CACHE or ~/.cache/mnist-lab)')
    .option('--offline', 'never use the network')
    .option(
      '--mirror <url>',
      'download mirror base URL, tried in order (repeatable; default $MNIST_LAB_MIRRORS)',
      collect,
    )
    .option(
      '--timeout <ms>',
      'give up on a mirror after this many ms without data',
      integerIn('--timeout', 1),
    )
    .addOption(
      new Option('--source <kind>', 'use only this source (default: the first that works, in order)').choices(
        ['auto', 'data-dir', 'cache', 'offline', 'download'],
      ),
    )
    .option('--json', 'print one JSON object on stdout and nothing else');
}

function loadOptions(flags: SourceFlags): LoadOptions {
  return {
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
    ...(flags.offline ? { offline: true } : {}),
    ...(flags.mirror !== undefined ? { mirrors: flags.mirror } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.source !== undefined ? { source: flags.source } : {}),
    onEvent: dataEventPrinter(printInfo, flags),
  };
}

function listCommand(flags: SourceFlags): void {
  const datasets = DATASETS.map((spec) => ({
    name: spec.name,
    description: spec.description,
    classes: [...spec.classes],
    sources: datasetAvailability(spec, loadOptions(flags)),
  }));
  if (flags.json) {
    printJson({ datasets });
    return;
  }
  for (const dataset of datasets) {
    printResult(`${dataset.name}: ${dataset.description}`);
    printResult(`  classes: ${dataset.classes.join(', ')}`);
    for (const source of dataset.sources)
      printResult(`  ${source.kind.padEnd(8)} ${source.status.padEnd(8)} ${source.location}`);
  }
  printResult('Also: any directory of IDX files (idx:<dir>) or of <class>/*.png folders (folder:<dir>).');
}

async function prepareCommand(name: string, flags: SourceFlags): Promise<void> {
  const dataset = await loadDataset(name, loadOptions(flags));
  const summary = (set: { labels: Uint8Array; count: number }) => ({
    count: set.count,
    classCounts: classCounts(set.labels, dataset.classes.length),
  });
  const result = {
    dataset: dataset.name,
    source: dataset.source,
    train: summary(dataset.train),
    test: summary(dataset.test),
    verified: dataset.verified,
  };
  if (flags.json) {
    printJson(result);
    return;
  }
  printResult(
    `${dataset.name}: ${result.train.count} train / ${result.test.count} test images from ${dataset.source.kind} ${dataset.source.location}` +
      (dataset.verified ? ' (SHA-256 verified)' : ' (no pinned checksums; format checked)'),
  );
  printResult(`  train class counts: ${result.train.classCounts.join(' ')}`);
  printResult(`  test class counts:  ${result.test.classCounts.join(' ')}`);
}

interface ShowFlags extends SourceFlags {
  split: 'train' | 'test';
  index: string;
  out: string;
  columns?: number;
  zoom?: number;
}

async function showCommand(name: string, flags: ShowFlags): Promise<void> {
  const indices = parseIndexList(flags.index);
  const dataset = await loadDataset(name, loadOptions(flags));
  const set = dataset[flags.split];
  const image = renderGrid(set, indices, {
    ...(flags.columns !== undefined ? { columns: flags.columns } : {}),
    ...(flags.zoom !== undefined ? { zoom: flags.zoom } : {}),
  });
  await writeFile(flags.out, encodePng(image));
  const labels = indices.map((index) => set.labels[index]);
  const result = {
    dataset: dataset.name,
    split: flags.split,
    out: flags.out,
    width: image.width,
    height: image.height,
    indices,
    labels,
    classNames: labels.map((label) => dataset.classes[label]),
  };
  if (flags.json) {
    printJson(result);
    return;
  }
  printResult(
    `wrote ${flags.out} (${indices.length} ${flags.split} images of ${dataset.name}, ${image.width}x${image.height})`,
  );
  printResult(`  labels: ${result.classNames.join(', ')}`);
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('list, prepare and look at datasets');

  withSourceOptions(data.command('list').description('datasets and where each is available from')).action(
    listCommand,
  );

  withSourceOptions(
    data
      .command('prepare')
      .description(
        'find, verify (SHA-256) and if needed download a dataset: mnist, fashion-mnist, idx:<dir>, folder:<dir>',
      )
      .argument('<dataset>', 'dataset name or directory', datasetName()),
  ).action((name: string, _flags: SourceFlags, command: Command) =>
    prepareCommand(name, command.optsWithGlobals<SourceFlags>()),
  );

  withSourceOptions(
    data
      .command('show')
      .description('write a PNG grid of samples with their labels')
      .argument('<dataset>', 'dataset name or directory', datasetName())
      .addOption(new Option('--split <split>', 'which split').choices(['train', 'test']).default('test'))
      .option('--index <list>', 'indices: 7, 0..15, 1,5,9', '0..15')
      .requiredOption('--out <file>', 'PNG file to write')
      .option('--columns <n>', 'images per row (default 10)', integerIn('--columns', 1))
      .option('--zoom <n>', 'pixel magnification (default 2)', integerIn('--zoom', 1)),
  ).action((name: string, _flags: ShowFlags, command: Command) =>
    showCommand(name, command.optsWithGlobals<ShowFlags>()),
  );
}
