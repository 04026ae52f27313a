// `mnist-lab finetune`, `finetune compare` and `finetune layers`: thin clients of the public
// fine-tuning API. Flags are validated here with one-line errors; src/finetune does the work.
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LAYER_CLASSES, selectBackend } from '../../index.js';
import { loadAdapter } from '../../finetune/adapter.js';
import { loadBase } from '../../finetune/base.js';
import { fewShotReportHtml, learningCurveSvg } from '../../finetune/chart.js';
import {
  COMPARE_METHODS,
  compareCsv,
  type CompareMethod,
  compareMethods,
  compareShots,
  compareTable,
  FEW_SHOT_SWEEP,
} from '../../finetune/compare.js';
import { mergeLora } from '../../finetune/lora.js';
import { type LrGroup, parseLrGroups } from '../../finetune/lr.js';
import {
  FINE_TUNE_DEFAULTS,
  FINE_TUNE_SCHEDULES,
  type FineTuneMethod,
  type FineTuneSchedule,
} from '../../finetune/recipe.js';
import { layerRows, layerTable } from '../../finetune/report.js';
import { FINE_TUNE_RUN_DEFAULTS, runFineTune } from '../../finetune/session.js';
import {
  BUILT_IN_TASKS,
  DIGITS_TRANSFER_DEFAULTS as DT,
  loadTask,
  type TaskData,
} from '../../finetune/tasks.js';
import { fromRankZero, type ProcessGroup } from '../../distributed/launch.js';
import { runDirName } from '../../runs/layout.js';
import { RunDirectory } from '../../runs/node/directory.js';
import { writeFileAtomic } from '../../runs/node/files.js';
import { encodeModel } from '../../train/checkpoint.js';
import { dataEventPrinter, printInfo, printJson, printResult } from '../output.js';
import { inRunFolder } from '../run-folder.js';
import { dataParallelLine, dataParallelSummary, inProcessGroup } from '../data-parallel.js';
import { EXIT_CODES_HELP, UsageError } from '../errors.js';
import {
  datasetName,
  dataDirOption,
  existingDirectory,
  existingPath,
  integerIn,
  numberIn,
  checkResumeFlags,
} from '../flags.js';
import { backendOptions, threadsPerProcess } from './train.js';

function fraction(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n >= 1) {
      throw new InvalidArgumentError(`${flag} expects a number in [0, 1), found '${value}'`);
    }
    return n;
  };
}

/** A built-in task or a dataset (checked as --dataset is). */
function taskName(value: string): string {
  if ((BUILT_IN_TASKS as readonly string[]).includes(value)) return value;
  try {
    return datasetName()(value);
  } catch {
    throw new InvalidArgumentError(
      `--task expects ${BUILT_IN_TASKS.join(', ')} or a dataset (mnist, fashion-mnist, idx:DIR, folder:DIR), found '${value}'`,
    );
  }
}

function lrGroups(value: string): LrGroup[] {
  try {
    return parseLrGroups(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function numberList(flag: string) {
  return (value: string): number[] => {
    const parts = value.split(',').map((p) => Number(p.trim()));
    if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new InvalidArgumentError(
        `${flag} expects whole numbers separated by commas (e.g. 1,10,100), found '${value}'`,
      );
    }
    return parts;
  };
}

interface CommonFlags {
  from?: string;
  task: string;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  freeze?: string;
  shots?: number;
  seed: number;
  limit?: number;
  out?: string;
  /** Move an earlier run (compare: an earlier comparison) in --out aside to <out>.old-<time>. */
  overwrite?: boolean;
  dataDir?: string;
  offline?: boolean;
  /** The program's --debug: also print the sources that were absent. */
  debug?: boolean;
  pretrainEpochs?: number;
  pretrainBatchSize?: number;
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  json?: boolean;
}

interface FinetuneFlags extends CommonFlags {
  method: FineTuneMethod;
  rank?: number;
  alpha?: number;
  loraDropout?: number;
  target?: string;
  freezeUntil?: string;
  lrMult?: LrGroup[];
  headEpochs?: number;
  schedule?: FineTuneSchedule;
  /** False with --no-stop-on-nan. */
  stopOnNan: boolean;
  /** Continue the fine-tune run in this directory from its latest checkpoint. */
  resume?: string;
}

interface CompareFlags extends CommonFlags {
  ranks?: number[];
  alpha?: number;
  sweep?: number[];
  fewShot?: boolean;
  methods?: string[];
}

/** The flags that shape a fine-tune run; saved in config.json so --resume restores them. */
const RUN_SHAPING_FLAGS = [
  'from',
  'task',
  'method',
  'rank',
  'alpha',
  'loraDropout',
  'target',
  'freeze',
  'freezeUntil',
  'headEpochs',
  'shots',
  'seed',
  'pretrainEpochs',
  'pretrainBatchSize',
  'epochs',
  'batchSize',
  'lr',
  'schedule',
  'lrMult',
  'limit',
] as const;

/**
 * Those that make the model and its data (the base, the task and its shots, the method, the adapters,
 * what is frozen): a resumed run keeps them. The others may be given again (e.g. more --epochs).
 */
const KEPT_ON_RESUME = new Set<string>(RUN_SHAPING_FLAGS.slice(0, RUN_SHAPING_FLAGS.indexOf('epochs')));

type RunShapingFlags = Partial<Pick<FinetuneFlags, (typeof RUN_SHAPING_FLAGS)[number]>>;

function runShapingFlags(flags: FinetuneFlags): RunShapingFlags {
  const saved: Record<string, unknown> = {};
  for (const key of RUN_SHAPING_FLAGS) if (flags[key] !== undefined) saved[key] = flags[key];
  return saved as RunShapingFlags;
}

/** 'freezeUntil' -> '--freeze-until'. */
function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** '--rank 4' as the user typed it, or 'no --rank'. */
function asFlag(key: string, value: unknown): string {
  return value === undefined ? `no ${flagName(key)}` : `${flagName(key)} ${String(value)}`;
}

/**
 * With --resume, the run's saved flags fill every run-shaping flag not given on this command line, so
 * `finetune --resume DIR` alone continues the same run; a flag that would change its model or data is
 * refused, one that would not (--epochs, --lr, ...) wins. Checked before any work.
 */
async function withResumedFlags(flags: FinetuneFlags, command: Command): Promise<FinetuneFlags> {
  if (!flags.resume) return flags;
  checkResumeFlags(flags);
  const run = RunDirectory.at(flags.resume);
  const config = await run.config();
  if (!config) {
    throw new UsageError(
      `--resume ${flags.resume}: no readable config.json there; give a run directory written by 'mnist-lab finetune'`,
    );
  }
  const finetune = config.runConfig?.finetune as { task?: string; method?: string } | undefined;
  if (!finetune) {
    const writer = config.runConfig?.['pretrain'] !== undefined ? 'pretrain' : 'train';
    throw new UsageError(
      `--resume ${flags.resume}: not a fine-tune run (its config.json has no finetune section); ` +
        `continue it with 'mnist-lab ${writer} --resume ${flags.resume}', or give a directory 'mnist-lab finetune' wrote`,
    );
  }
  // A run saved before its flags were: its task and method are all it says.
  const saved = (config.runConfig?.flags ?? { task: finetune.task, method: finetune.method }) as Record<
    string,
    unknown
  >;
  const merged: Record<string, unknown> = { ...flags };
  for (const key of RUN_SHAPING_FLAGS) {
    const given = command.getOptionValueSource(key) === 'cli';
    if (given && KEPT_ON_RESUME.has(key) && JSON.stringify(flags[key]) !== JSON.stringify(saved[key])) {
      throw new UsageError(
        `${asFlag(key, flags[key])}: the run in ${flags.resume} was fine-tuned with ${asFlag(key, saved[key])}, ` +
          `and --resume continues it as it was; drop ${flagName(key)}`,
      );
    }
    if (saved[key] !== undefined && !given) merged[key] = saved[key];
  }
  if (merged['headEpochs'] !== undefined) {
    throw new UsageError(
      `--resume ${flags.resume}: this run unfreezes gradually (--head-epochs ${String(merged['headEpochs'])}), whose two stages cannot be resumed; start it again with --out ${flags.resume} --overwrite`,
    );
  }
  if ((await run.latestCheckpoint()) === null) {
    throw new UsageError(
      `--resume ${flags.resume}: no checkpoint to continue from (a fine-tune writes one at its end and at Ctrl-C); start it again with --out ${flags.resume} --overwrite`,
    );
  }
  return merged as unknown as FinetuneFlags;
}

function defaultRunDir(kind: string, task: string): string {
  return join('runs', runDirName(kind, task));
}

interface ClaimOptions {
  command: string;
  /** Under mpirun: process 0 alone claims the folder and logs. */
  group?: ProcessGroup | undefined;
  replaceable?: { what: string; test: (entries: readonly string[]) => boolean };
  /** The run to continue (--resume): it must hold a run, which is locked as a new one would be. */
  resume?: boolean;
  /** The choice an existing run offers besides --overwrite ('continue it with ...'). */
  runChoices?: string[];
}

/**
 * How a command stops at SIGINT/SIGTERM: by default the process ends (its locks released); once
 * `checkpointing()` was called, the first signal aborts `signal` (fit checkpoints and returns) and
 * a second one ends the process.
 */
interface Interruption {
  signal: AbortSignal;
  checkpointing(): void;
}

/**
 * Claims the output folder and locks it for the command (inRunFolder: released when `work` ends, on
 * errors and on SIGINT/SIGTERM): it must be new or empty; an earlier run (or `replaceable` output)
 * needs --overwrite. Under mpirun (`group`) process 0 alone claims it and logs; every process
 * listens for interrupts, and one any of them gets stops them all at the same step (fit's agreed
 * signal), as in train.
 */
async function inClaimedFolder<T>(
  directory: string,
  flags: CommonFlags,
  options: ClaimOptions,
  work: (log: (line: string) => void, interruption: Interruption) => Promise<T>,
): Promise<T> {
  const { group, resume, ...claim } = options;
  const folder = { ...claim, resume: resume ?? false, leader: (group?.rank ?? 0) === 0 };
  return inRunFolder(directory, flags, folder, (interrupts) => {
    const interrupt = new AbortController();
    const interruption = {
      signal: interrupt.signal,
      checkpointing: () => (interrupts.graceful = () => interrupt.abort()),
    };
    return work(setUp(flags, group).log, interruption);
  });
}

function setUp(flags: CommonFlags, group?: ProcessGroup): { log: (line: string) => void } {
  const threads = flags.threads ?? threadsPerProcess(group);
  const backend = selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(threads ? { threads } : {}),
  });
  const log = flags.json || (group?.rank ?? 0) !== 0 ? () => undefined : printInfo;
  log(
    `mnist-lab finetune: task ${flags.task}, backend ${backend.name} (${backend.threads} threads)` +
      (group ? `, ${group.size} processes (${group.version})` : ''),
  );
  return { log };
}

async function taskOf(
  flags: CommonFlags,
  log: (line: string) => void,
  withShots: boolean,
): Promise<TaskData> {
  return loadTask(flags.task, {
    seed: flags.seed,
    ...(withShots && flags.shots !== undefined ? { shots: flags.shots } : {}),
    load: {
      ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      ...(flags.offline ? { offline: true } : {}),
      onEvent: dataEventPrinter(log, flags),
    },
  });
}

/** Fine-tunes as the flags say; under mpirun (`group`) every process trains, process 0 alone writes and prints. */
async function finetune(flags: FinetuneFlags, group: ProcessGroup | undefined): Promise<void> {
  if (
    flags.method !== 'lora' &&
    (flags.rank !== undefined || flags.alpha !== undefined || flags.target !== undefined)
  ) {
    throw new UsageError(
      `--rank, --alpha and --target configure LoRA; add --method lora (found --method ${flags.method})`,
    );
  }
  if (flags.method === 'head' && (flags.freeze !== undefined || flags.freezeUntil !== undefined)) {
    throw new UsageError(
      '--method head already freezes every layer but the head; use --method full with --freeze',
    );
  }
  if (flags.freezeUntil !== undefined && flags.method !== 'full') {
    throw new UsageError(`--freeze-until needs --method full, found --method ${flags.method}`);
  }
  if (flags.headEpochs !== undefined && flags.method !== 'full') {
    throw new UsageError(
      `--head-epochs (gradual unfreezing) needs --method full, found --method ${flags.method}`,
    );
  }
  const runDir = flags.resume ?? flags.out ?? defaultRunDir('finetune', flags.task);
  const claim = {
    command: 'mnist-lab finetune',
    group,
    ...(flags.resume ? { resume: true } : {}),
    runChoices: [`continue it with 'mnist-lab finetune --resume ${runDir}'`],
  };
  // The folder is claimed (and locked) before the data loads: a refused one costs nothing.
  const result = await inClaimedFolder(runDir, flags, claim, async (log, interruption) =>
    runFineTune({
      task: await taskOf(flags, log, true),
      layers: LAYER_CLASSES,
      runDir,
      method: flags.method,
      seed: flags.seed,
      log,
      signal: interruption.signal,
      onFitStart: interruption.checkpointing,
      flags: runShapingFlags(flags),
      ...(flags.resume ? { resume: true } : {}),
      verbose: flags.json ? 0 : 1,
      stopOnNonFinite: flags.stopOnNan,
      ...(group ? { group } : {}),
      ...(flags.from ? { from: flags.from } : {}),
      ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
      ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
      ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}),
      ...(flags.schedule !== undefined ? { schedule: flags.schedule } : {}),
      ...(flags.freeze !== undefined ? { freeze: flags.freeze } : {}),
      ...(flags.freezeUntil !== undefined ? { freezeUntil: flags.freezeUntil } : {}),
      ...(flags.lrMult ? { lrGroups: flags.lrMult } : {}),
      ...(flags.headEpochs !== undefined ? { headEpochs: flags.headEpochs } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      ...(flags.pretrainEpochs !== undefined ? { pretrainEpochs: flags.pretrainEpochs } : {}),
      ...(flags.pretrainBatchSize !== undefined ? { pretrainBatchSize: flags.pretrainBatchSize } : {}),
      lora: {
        ...(flags.rank !== undefined ? { rank: flags.rank } : {}),
        ...(flags.alpha !== undefined ? { alpha: flags.alpha } : {}),
        ...(flags.loraDropout !== undefined ? { dropout: flags.loraDropout } : {}),
        ...(flags.target !== undefined ? { target: flags.target } : {}),
      },
    }),
  );
  if (group && group.rank !== 0) return; // every process trained; process 0 reports
  if (result.interrupted) {
    process.stderr.write(
      `interrupted: checkpoint saved in ${runDir}; resume with: mnist-lab finetune --resume ${runDir}\n`,
    );
    return;
  }
  const summary = {
    runDir: result.runDir,
    base: result.base,
    method: result.method,
    trainableParams: result.trainableParams,
    totalParams: result.totalParams,
    test: result.test,
    trainSeconds: round(result.trainSeconds),
    ...(result.pretrainSeconds > 0
      ? {
          pretrainSeconds: round(result.pretrainSeconds),
          totalSeconds: round(result.pretrainSeconds + result.trainSeconds),
        }
      : {}),
    ...(result.adapterDir ? { adapterDir: result.adapterDir } : {}),
    ...(result.dataParallel && group
      ? { dataParallel: dataParallelSummary(result.dataParallel.timing, group) }
      : {}),
  };
  if (flags.json) printJson(summary);
  else {
    if (summary.dataParallel) printResult(dataParallelLine(summary.dataParallel));
    printResult(result.trainable);
    printResult(
      `test: loss ${result.test.loss.toFixed(4)}, accuracy ${(result.test.accuracy * 100).toFixed(2)}%`,
    );
    printResult(
      `fine-tuned in ${summary.trainSeconds} s; run saved in ${result.runDir} (continue it with: mnist-lab finetune --resume ${result.runDir} --epochs N)`,
    );
    if (result.adapterDir) printResult(`adapter saved in ${result.adapterDir}`);
  }
}

/** An earlier `finetune compare` output: its table beside the method runs; --overwrite may move it aside. */
const COMPARE_OUTPUT = {
  what: 'an earlier comparison',
  test: (entries: readonly string[]) => entries.includes('compare.csv') || entries.includes('few-shot.csv'),
};

async function compare(flags: CompareFlags & { resume?: string }): Promise<void> {
  if (flags.resume) {
    throw new UsageError(
      `--resume continues one fine-tune run ('mnist-lab finetune --resume ${flags.resume}'); a comparison runs again from its base`,
    );
  }
  if (!flags.from) {
    throw new UsageError(
      "finetune compare needs --from RUN_DIR (train a base first: 'mnist-lab train --out DIR')",
    );
  }
  const methods = flags.methods as CompareMethod[] | undefined;
  const unknown = (methods ?? []).filter((m) => !(COMPARE_METHODS as readonly string[]).includes(m));
  if (unknown.length > 0) {
    throw new UsageError(
      `--methods: unknown '${unknown.join(', ')}'; choose from ${COMPARE_METHODS.join(', ')}`,
    );
  }
  const fewShot = flags.fewShot === true || flags.sweep !== undefined;
  if (fewShot && flags.shots !== undefined) {
    throw new UsageError(
      `--shots ${flags.shots} fixes K, while --few-shot/--sweep vary it; drop --shots or use --sweep ${flags.shots}`,
    );
  }
  const runDir = flags.out ?? defaultRunDir('compare', flags.task);
  const common = {
    from: flags.from,
    layers: LAYER_CLASSES,
    runDir,
    ...(methods ? { methods } : {}),
    seed: flags.seed,
    ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
    ...(flags.ranks ? { loraRanks: flags.ranks } : {}),
    ...(flags.alpha !== undefined ? { alpha: flags.alpha } : {}),
    ...(flags.freeze !== undefined ? { freeze: flags.freeze } : {}),
    ...(flags.lr !== undefined ? { learningRate: flags.lr } : {}),
    ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
  };
  const csvPath = join(runDir, fewShot ? 'few-shot.csv' : 'compare.csv');
  const chartPath = fewShot ? join(runDir, 'few-shot.svg') : undefined;
  // The folder is claimed (and locked) before the data loads: a refused one costs nothing.
  const { rows, taskName } = await inClaimedFolder(
    runDir,
    flags,
    { command: 'mnist-lab finetune compare', replaceable: COMPARE_OUTPUT },
    async (log) => {
      const task = await taskOf(flags, log, !fewShot);
      const options = { ...common, task, log };
      const rows = fewShot
        ? await compareShots({ ...options, shots: flags.sweep ?? FEW_SHOT_SWEEP })
        : await compareMethods(options);
      await writeFileAtomic(csvPath, compareCsv(rows));
      if (chartPath) {
        const title = `few-shot: ${task.name}`;
        await writeFileAtomic(chartPath, learningCurveSvg(rows, title));
        const command = `mnist-lab ${process.argv.slice(2).join(' ')}`;
        await writeFileAtomic(join(runDir, 'report.html'), fewShotReportHtml(rows, title, command));
      }
      return { rows, taskName: task.name };
    },
  );
  if (flags.json) {
    printJson({
      runDir,
      task: taskName,
      base: flags.from,
      csv: csvPath,
      ...(chartPath ? { chart: chartPath } : {}),
      rows,
    });
  } else {
    printResult(compareTable(rows));
    printResult(`written: ${csvPath}${chartPath ? `, ${chartPath} and ${join(runDir, 'report.html')}` : ''}`);
  }
}

async function layers(flags: { from?: string; json?: boolean }): Promise<void> {
  if (!flags.from)
    throw new UsageError(
      'finetune layers needs --from RUN_DIR (a run directory, checkpoint or model.safetensors)',
    );
  const base = await loadBase(flags.from, LAYER_CLASSES);
  if (flags.json) printJson({ base: flags.from, sha256: base.sha256, layers: layerRows(base.model) });
  else printResult(layerTable(base.model));
}

async function merge(flags: {
  from?: string;
  adapter?: string;
  out?: string;
  json?: boolean;
}): Promise<void> {
  if (!flags.from || !flags.adapter || !flags.out) {
    throw new UsageError(
      'finetune merge needs --from BASE, --adapter DIR and --out FILE (the merged model.safetensors)',
    );
  }
  const merged = mergeLora(await loadAdapter(flags.adapter, flags.from, LAYER_CLASSES));
  await writeFileAtomic(flags.out, encodeModel(merged));
  if (flags.json) printJson({ model: flags.out, params: merged.countParams() });
  else
    printResult(
      `merged model written to ${flags.out} (${merged.countParams().toLocaleString('en-US')} parameters)`,
    );
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function commonOptions(command: Command): Command {
  return backendOptions(
    command
      .option(
        '--task <name>',
        `${BUILT_IN_TASKS.join(', ')}, or a dataset (mnist, fashion-mnist, idx:DIR, folder:DIR)`,
        taskName,
        'digits-transfer',
      )
      .option(
        '--epochs <n>',
        `fine-tuning epochs (default ${FINE_TUNE_DEFAULTS.epochs}; digits-transfer ${DT.epochs})`,
        integerIn('--epochs', 1, 10000),
      )
      .option(
        '--batch-size <n>',
        `examples per step (default ${FINE_TUNE_RUN_DEFAULTS.batchSize}; digits-transfer ${DT.batchSize})`,
        integerIn('--batch-size', 1, 65536),
      )
      .option(
        '--lr <rate>',
        `Adam learning rate, the peak with a schedule (default ${FINE_TUNE_DEFAULTS.learningRate}; digits-transfer ${DT.learningRate})`,
        numberIn('--lr', 0, 10, true),
      )
      .option('--freeze <pattern>', "layers kept frozen: names, globs or index ranges ('conv*', '0-3')")
      .option('--seed <n>', 'seed for heads, adapters, shots and shuffling', integerIn('--seed', 0), 0)
      .option('--limit <n>', 'train on the first N examples only', integerIn('--limit', 1))
      .option('--out <dir>', 'run directory, new or empty (default runs/<kind>-<task>-<time>)')
      .option('--overwrite', 'if --out holds an earlier run, move it aside to <out>.old-<time>')
      .addOption(dataDirOption())
      .option('--offline', 'never use the network')
      .option(
        '--pretrain-epochs <n>',
        `epochs of the base a built-in task pretrains without --from (default ${FINE_TUNE_RUN_DEFAULTS.pretrainEpochs})`,
        integerIn('--pretrain-epochs', 1, 1000),
      )
      .option(
        '--pretrain-batch-size <n>',
        `examples per step of that pretraining (default: --batch-size; digits-transfer ${DT.pretrainBatchSize})`,
        integerIn('--pretrain-batch-size', 1, 65536),
      )
      .option('--json', 'print one JSON object on stdout and nothing else'),
  );
}

export function registerFinetuneCommands(program: Command): void {
  const command = program
    .command('finetune')
    .description('adapt a pretrained run to a new task: new head, frozen layers, LoRA adapters')
    .option(
      '--from <dir>',
      'the base: a run directory (of train, or of pretrain: its encoder), checkpoint directory or model.safetensors',
      existingPath('--from', 'a run directory, checkpoint directory or model.safetensors'),
    )
    .addOption(
      new Option(
        '--method <name>',
        'what trains: linear-probe (the new classifier only), head (it and a norm right before it), full, lora',
      )
        .choices(['linear-probe', 'head', 'full', 'lora'])
        .default('head'),
    )
    .option('--rank <r>', 'LoRA rank (default 4)', integerIn('--rank', 1, 4096))
    .option(
      '--alpha <a>',
      'LoRA alpha; the update is scaled by alpha/rank (default 8)',
      numberIn('--alpha', 0, Infinity, true),
    )
    .option(
      '--lora-dropout <p>',
      'dropout on the LoRA input while training (default 0)',
      fraction('--lora-dropout'),
    )
    .option('--target <pattern>', 'layers LoRA adapts (default every Dense and Conv2D but the new head)')
    .option('--freeze-until <name>', 'freeze every layer up to and including this one (--method full)')
    .option(
      '--lr-mult <groups>',
      "learning-rate multipliers per layer group, e.g. 'conv*=0.1,head=1'",
      lrGroups,
    )
    .addOption(
      new Option(
        '--schedule <name>',
        `how the learning rate moves over fine-tuning (default ${FINE_TUNE_DEFAULTS.schedule}; digits-transfer ${DT.schedule})`,
      ).choices([...FINE_TUNE_SCHEDULES]),
    )
    .option(
      '--head-epochs <n>',
      'gradual unfreezing: train the head alone first for N epochs (--method full)',
      integerIn('--head-epochs', 1, 10000),
    )
    .option(
      '--shots <k>',
      'K labelled training examples per class (few-shot, stratified, seeded)',
      integerIn('--shots', 1),
    )
    .option('--no-stop-on-nan', 'skip non-finite steps and go on instead of stopping the run')
    .option(
      '--resume <dir>',
      'continue the fine-tune run in this directory from its latest checkpoint (its flags are restored)',
      existingDirectory('--resume', "a run directory written by 'mnist-lab finetune'"),
    )
    .addHelpText(
      'after',
      '\nA NaN or infinite loss or gradient stops the run with exit code 3, naming the step.\n' +
        'Data-parallel over several processes: mpirun -np N mnist-lab finetune ... (--batch-size stays the global batch).\n' +
        EXIT_CODES_HELP,
    );
  commonOptions(command).action((_flags: FinetuneFlags, sub: Command) =>
    inProcessGroup(async (group) =>
      finetune(
        // Process 0 reads a resumed run's flags and sends them: the others need not see the run.
        await fromRankZero(group, () => withResumedFlags(sub.optsWithGlobals<FinetuneFlags>(), sub)),
        group,
      ),
    ),
  );

  // The subcommands share the finetune options (--from, --task, --epochs, ...): commander parses
  // them on the parent wherever they appear, so each subcommand reads optsWithGlobals().
  command
    .command('compare')
    .description('head-only, full, LoRA ranks and from-scratch on one task at equal epochs: a table')
    .option('--ranks <list>', 'LoRA ranks to compare (default 2,8)', numberList('--ranks'))
    .option(
      '--methods <list>',
      `subset of ${COMPARE_METHODS.join(',')} (default: head,full,lora,scratch; from a pretraining run scratch,linear-probe,lora,full,cnn)`,
      (v: string) => v.split(',').map((s) => s.trim()),
    )
    .option(
      '--few-shot',
      `sweep K examples per class (${FEW_SHOT_SWEEP.join(', ')}) and write the curve as CSV`,
    )
    .option('--sweep <list>', 'the K values of the few-shot sweep', numberList('--sweep'))
    .action((_flags: unknown, sub: Command) =>
      compare(sub.optsWithGlobals<CompareFlags & { resume?: string }>()),
    );

  command
    .command('merge')
    .description(
      'fold a LoRA adapter (--adapter DIR) into its base (--from) and write the plain model (--out FILE)',
    )
    .option(
      '--adapter <dir>',
      'a directory with adapter.json and adapter.safetensors',
      existingDirectory('--adapter', 'a directory with adapter.json and adapter.safetensors'),
    )
    .action((_flags: unknown, sub: Command) =>
      merge(sub.optsWithGlobals<{ from?: string; adapter?: string; out?: string; json?: boolean }>()),
    );

  command
    .command('layers')
    .description("list a base's layers (--from): names, weight shapes, parameter counts, trainable flags")
    .action((_flags: unknown, sub: Command) =>
      layers(sub.optsWithGlobals<{ from?: string; json?: boolean }>()),
    );
}
