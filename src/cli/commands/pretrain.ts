// `mnist-lab pretrain`: self-supervised pretraining of a zoo vit as a masked autoencoder, a thin
// client of pretrain() (src/pretrain). The run directory is a run like train's (checkpoints,
// --resume, SIGINT), labels are never read, and its report shows reconstructions of test images.
// Under mpirun every process trains (data-parallel); process 0 alone writes the run and reports.
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { getRecipe, loadDataset, selectBackend, type TrainEvent } from '../../index.js';
import { writeRunReport } from '../../eval/node/run-report.js';
import { MAE_DEFAULTS, maskedAutoencoder, pretrain, PRETRAIN_DEFAULTS } from '../../pretrain/index.js';
import { reconstructionSection } from '../../pretrain/node/report.js';
import { runDirName } from '../../runs/layout.js';
import { RunDirectory } from '../../runs/node/directory.js';
import { writeFileAtomic } from '../../runs/node/files.js';
import { openRun } from '../../runs/node/writer.js';
import { CollectiveDataParallel } from '../../distributed/data-parallel.js';
import { fromRankZero, type ProcessGroup } from '../../distributed/launch.js';
import { processRunStore } from '../../distributed/run-store.js';
import { dataParallelLine, dataParallelSummary, inProcessGroup } from '../data-parallel.js';
import { EXIT_CODES_HELP, UsageError } from '../errors.js';
import {
  datasetName,
  dataDirOption,
  existingDirectory,
  integerIn,
  numberIn,
  checkResumeFlags,
} from '../flags.js';
import { dataEventPrinter, printInfo, printJson, printResult } from '../output.js';
import { inRunFolder } from '../run-folder.js';
import { backendOptions, threadsPerProcess } from './train.js';

export interface PretrainFlags {
  model: 'vit' | 'vit-7';
  objective: 'mae';
  maskRatio: number;
  decoderDim?: number;
  decoderDepth?: number;
  normPixLoss?: boolean;
  dataset: string;
  dataDir?: string;
  offline?: boolean;
  epochs: number;
  batchSize?: number;
  lr?: number;
  seed: number;
  limit?: number;
  out?: string;
  resume?: string;
  overwrite?: boolean;
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  json?: boolean;
  debug?: boolean;
}

/** The flags that shape a pretraining run; saved in config.json so --resume restores them. */
const RUN_SHAPING_FLAGS = [
  'model',
  'objective',
  'maskRatio',
  'decoderDim',
  'decoderDepth',
  'normPixLoss',
  'dataset',
  'epochs',
  'batchSize',
  'lr',
  'seed',
  'limit',
] as const;

async function withResumedFlags(flags: PretrainFlags, command: Command): Promise<PretrainFlags> {
  if (!flags.resume) return flags;
  checkResumeFlags(flags);
  const config = await RunDirectory.at(flags.resume).config();
  const saved = config?.runConfig?.flags as Partial<PretrainFlags> | undefined;
  if (!saved || config?.model?.className !== 'MaskedAutoencoder') {
    throw new UsageError(
      `--resume ${flags.resume}: not a pretraining run (no MaskedAutoencoder in its config.json); give a directory 'mnist-lab pretrain' wrote`,
    );
  }
  const merged: Record<string, unknown> = { ...flags };
  for (const key of RUN_SHAPING_FLAGS) {
    if (saved[key] !== undefined && command.getOptionValueSource(key) !== 'cli') merged[key] = saved[key];
  }
  return merged as unknown as PretrainFlags;
}

/** Pretrains as the flags say; under mpirun (`group`) every process trains, process 0 alone writes and prints. */
async function pretrainCommand(flags: PretrainFlags, group: ProcessGroup | undefined): Promise<void> {
  const leader = (group?.rank ?? 0) === 0;
  const log = flags.json || !leader ? () => undefined : printInfo;
  const runDir = flags.resume ?? flags.out ?? join('runs', runDirName(`mae-${flags.model}`, flags.dataset));
  const folder = {
    command: 'mnist-lab pretrain',
    resume: flags.resume !== undefined,
    leader,
    runChoices: [`continue it with 'mnist-lab pretrain --resume ${runDir}'`],
  };
  await inRunFolder(runDir, flags, folder, async (interrupts) => {
    const threads = flags.threads ?? threadsPerProcess(group);
    const backend = selectBackend({
      ...(flags.backend ? { backend: flags.backend } : {}),
      ...(threads ? { threads } : {}),
    });
    log(
      `mnist-lab pretrain: ${flags.objective} on ${flags.model}, dataset ${flags.dataset}, mask ratio ${flags.maskRatio}, backend ${backend.name} (${backend.threads} threads)` +
        (group ? `, ${group.size} processes (${group.version})` : ''),
    );
    const dataset = await loadDataset(flags.dataset, {
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      ...(flags.offline ? { offline: true } : {}),
      onEvent: dataEventPrinter(log, flags),
    });
    const model = maskedAutoencoder({
      name: 'mae',
      encoder: getRecipe(flags.model).model() as never,
      maskRatio: flags.maskRatio,
      ...(flags.decoderDim !== undefined ? { decoderDim: flags.decoderDim } : {}),
      ...(flags.decoderDepth !== undefined ? { decoderDepth: flags.decoderDepth } : {}),
      ...(flags.normPixLoss ? { normPixLoss: true } : {}),
    });
    const batchSize = flags.batchSize ?? PRETRAIN_DEFAULTS.batchSize;
    const interrupt = new AbortController();
    interrupts.graceful = () => interrupt.abort();
    let images = 0;
    const started = performance.now();
    const saved: Record<string, unknown> = {};
    for (const key of RUN_SHAPING_FLAGS) if (flags[key] !== undefined) saved[key] = flags[key];
    // A held-out slice of the test images gives the val_loss curve (fixed masks, cheap); under
    // mpirun process 0 alone computes it (it is only written, never acted on).
    const validation = leader
      ? dataset.test.images.subarray(0, Math.min(dataset.test.count, 2000) * 784)
      : undefined;
    // Under mpirun process 0 alone writes the run; the others get its checkpoint when resuming.
    const opened = leader
      ? await openRun(runDir, { resume: flags.resume !== undefined, command: 'mnist-lab pretrain' })
      : undefined;
    const run = processRunStore(runDir, opened, group);
    const dataParallel = group && new CollectiveDataParallel(group);
    const history = await pretrain(model, dataset.train.images, {
      epochs: flags.epochs,
      batchSize,
      seed: flags.seed,
      ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      ...(validation ? { validationData: validation } : {}),
      verbose: 0,
      // Why steps run eagerly (a new mask every batch), with --debug.
      ...(flags.debug ? { debug: (line: string) => process.stderr.write(`debug: ${line}\n`) } : {}),
      run,
      ...(dataParallel ? { dataParallel } : {}),
      ...(flags.resume ? { resume: true } : {}),
      runConfig: {
        recipe: { model: `mae-${flags.model}`, dataset: dataset.name },
        flags: saved,
        pretrain: { objective: flags.objective, encoder: flags.model },
      },
      signal: interrupt.signal,
      onEvent: (event: TrainEvent) => {
        if (event.type === 'batchEnd') images += event.size;
        if (event.type === 'epochEnd') {
          log(
            `epoch ${event.epoch + 1}/${flags.epochs} - ${event.seconds.toFixed(1)}s - loss: ${event.loss.toFixed(4)}` +
              (event.valLoss !== undefined ? ` - val_loss: ${event.valLoss.toFixed(4)}` : ''),
          );
        }
      },
    });
    interrupts.graceful = undefined;
    if (!leader) return; // every process saw the same steps: process 0 reports
    if (history.stopReason === 'interrupted') {
      process.stderr.write(
        `interrupted: checkpoint saved in ${runDir}; resume with: mnist-lab pretrain --resume ${runDir}\n`,
      );
      return;
    }
    const seconds = (performance.now() - started) / 1000;
    const reconstructions = reconstructionSection(model, dataset.test.images, { seed: flags.seed });
    await writeFileAtomic(join(runDir, 'report', 'reconstructions.png'), reconstructions.png);
    const report = await writeRunReport(runDir, {
      model,
      dataset: dataset.name,
      sections: [reconstructions.section],
      lossLabel: 'masked-patch MSE',
    });
    const result = {
      runDir,
      report: report.path,
      backend: backend.name,
      threads: backend.threads,
      model: flags.model,
      objective: flags.objective,
      maskRatio: flags.maskRatio,
      params: model.countParams(),
      encoderParams: model.encoder.countParams(),
      epochs: history.epoch.length,
      pretrainSeconds: Math.round(seconds * 1000) / 1000,
      imagesPerSecond: Math.round(images / seconds),
      history: history.epoch.map((epoch, i) => ({
        epoch,
        loss: history.history.loss[i],
        ...(history.history.val_loss ? { valLoss: history.history.val_loss[i] } : {}),
      })),
      testReconstructionLoss: reconstructions.loss,
      ...(dataParallel && group ? { dataParallel: dataParallelSummary(dataParallel.timing, group) } : {}),
    };
    if (flags.json) printJson(result);
    else {
      if (result.dataParallel) printResult(dataParallelLine(result.dataParallel));
      printResult(
        `reconstruction loss on ${24} test images (masked patches): ${reconstructions.loss.toFixed(4)}`,
      );
      printResult(`report: ${report.path}`);
      printResult(
        `run saved in ${runDir}; fine-tune its encoder with: mnist-lab finetune --from ${runDir} --task mnist --method full --shots 100`,
      );
    }
  });
}

export function registerPretrainCommand(program: Command): void {
  const command = program
    .command('pretrain')
    .description('self-supervised pretraining without labels: a vit as a masked autoencoder (MAE)')
    .addOption(
      new Option('--model <name>', 'the encoder, a zoo vit').choices(['vit', 'vit-7']).default('vit'),
    )
    .addOption(
      new Option('--objective <name>', 'the self-supervised objective').choices(['mae']).default('mae'),
    )
    .option(
      '--mask-ratio <r>',
      `fraction of each image's patches hidden from the encoder (default ${MAE_DEFAULTS.maskRatio})`,
      numberIn('--mask-ratio', 0, 1),
      MAE_DEFAULTS.maskRatio,
    )
    .option(
      '--decoder-dim <n>',
      `decoder width (default ${MAE_DEFAULTS.decoderDim})`,
      integerIn('--decoder-dim', 1, 4096),
    )
    .option(
      '--decoder-depth <n>',
      `decoder blocks (default ${MAE_DEFAULTS.decoderDepth})`,
      integerIn('--decoder-depth', 1, 64),
    )
    .option('--norm-pix-loss', "reconstruct per-patch standardised pixels (the paper's option)")
    .option(
      '--dataset <name>',
      'mnist, fashion-mnist, idx:DIR or folder:DIR (labels unused)',
      datasetName('--dataset'),
      'mnist',
    )
    .addOption(dataDirOption())
    .option('--offline', 'never use the network')
    .option('--epochs <n>', 'epochs over the training images', integerIn('--epochs', 1, 10000), 10)
    .option(
      '--batch-size <n>',
      `images per step (default ${PRETRAIN_DEFAULTS.batchSize})`,
      integerIn('--batch-size', 1, 65536),
    )
    .option(
      '--lr <rate>',
      `peak learning rate of AdamW (warm-up, then cosine; default ${PRETRAIN_DEFAULTS.learningRate})`,
      numberIn('--lr', 0, 10, true),
    )
    .option('--seed <n>', 'seed for initialisation, masks and shuffling', integerIn('--seed', 0), 0)
    .option('--limit <n>', 'pretrain on the first N images only', integerIn('--limit', 1))
    .option('--out <dir>', 'run directory, new or empty (default runs/mae-<model>-<dataset>-<time>)')
    .option('--overwrite', 'if --out holds a run, move it aside to <out>.old-<time> and start a new one')
    .option(
      '--resume <dir>',
      'continue the pretraining run in this directory from its latest checkpoint',
      existingDirectory('--resume', "a run directory written by 'mnist-lab pretrain'"),
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .addHelpText(
      'after',
      '\nData-parallel over several processes: mpirun -np N mnist-lab pretrain ... (--batch-size stays the global batch).\n' +
        EXIT_CODES_HELP,
    );
  backendOptions(command).action(async (_flags: PretrainFlags, sub: Command) =>
    inProcessGroup(async (group) => {
      // Process 0 reads a resumed run's saved flags; every process pretrains with what it read.
      const flags = await fromRankZero(group, () =>
        withResumedFlags(sub.optsWithGlobals<PretrainFlags>(), sub),
      );
      await pretrainCommand(flags, group);
    }),
  );
}
