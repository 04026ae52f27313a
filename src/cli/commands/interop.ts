// `mnist-lab export` and `mnist-lab import`: a run's model out to the TF.js Layers format or ONNX,
// and a TF.js Layers model in as a run. A thin client of the public API.
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { loadModel, selectBackend } from '../../index.js';
import { exportOnnx, ONNX_INPUT_NAME, ONNX_OPSET } from '../../io/onnx.js';
import { TFJS_WEIGHTS_FILE } from '../../io/tfjs.js';
import { importTfjsRun, saveTfjsModel } from '../../io/tfjs/node.js';
import { writeFileAtomic } from '../../runs/node/files.js';
import { claimFolder, inspectFolder, RunFolderError } from '../../runs/node/folder.js';
import { existingPath } from '../flags.js';
import { handleInterrupts } from '../interrupts.js';
import { printInfo, printJson, printResult } from '../output.js';

interface ExportFlags {
  model: string;
  format: 'tfjs' | 'onnx';
  out: string;
  overwrite?: boolean;
  json?: boolean;
}

interface ImportFlags {
  from: string;
  out: string;
  overwrite?: boolean;
  json?: boolean;
}

/** The files an export writes, per format. */
const EXPORT_FILES = { tfjs: ['model.json', TFJS_WEIGHTS_FILE], onnx: ['model.onnx'] } as const;
const ALL_EXPORT_FILES: readonly string[] = [...EXPORT_FILES.tfjs, ...EXPORT_FILES.onnx];

/**
 * export --out: a new or empty folder, or one holding only earlier exports (the other format's files
 * are kept beside; this format's are replaced only with --overwrite). Anything else is refused.
 */
async function checkExportFolder(flags: ExportFlags): Promise<void> {
  const state = await inspectFolder(flags.out);
  const label = `--out ${flags.out}`;
  if (state.kind === 'missing' || state.kind === 'empty') return;
  if (state.kind === 'not-a-folder') {
    throw new RunFolderError(flags.out, `${label} is a file, expected a folder; choose a folder path`);
  }
  if (state.kind === 'other' && state.entries.every((name) => ALL_EXPORT_FILES.includes(name))) {
    const clash = EXPORT_FILES[flags.format].filter((name) => state.entries.includes(name));
    if (clash.length > 0 && !flags.overwrite) {
      throw new RunFolderError(
        flags.out,
        `${label} already holds ${clash.join(' and ')} from an earlier export: replace them with --overwrite, or choose another folder`,
      );
    }
    return;
  }
  const found = state.kind === 'other' ? state.entries.slice(0, 5).join(', ') : 'an mnist-lab run';
  throw new RunFolderError(
    flags.out,
    `${label} holds other files than an export (found ${found}): choose a new or empty folder`,
  );
}

async function exportCommand(flags: ExportFlags): Promise<void> {
  await checkExportFolder(flags);
  selectBackend();
  // The model carries its input standardisation (an old run's is restored by loadModel), and the
  // exporters write its Normalization layer into the exported graph.
  const model = await loadModel(flags.model);
  const layer = model.inputNormalization;
  const normalize = layer ? { mean: layer.mean, std: layer.std } : undefined;
  let files: string[];
  if (flags.format === 'tfjs') {
    const modelJson = await saveTfjsModel(model, flags.out);
    files = [modelJson, join(flags.out, TFJS_WEIGHTS_FILE)];
  } else {
    const path = join(flags.out, 'model.onnx');
    await writeFileAtomic(path, exportOnnx(model));
    files = [path];
  }
  const input = `float32 [N, 28, 28, 1] NHWC, pixel / 255${normalize ? ` (standardisation mean ${normalize.mean}, std ${normalize.std} is inside the model)` : ''}`;
  if (flags.json) {
    printJson({
      model: flags.model,
      format: flags.format,
      files,
      input,
      ...(normalize ? { normalize } : {}),
    });
    return;
  }
  for (const file of files) printResult(`wrote ${file}`);
  printInfo(`input: ${input}`);
  if (flags.format === 'onnx') printInfo(`ONNX opset ${ONNX_OPSET}, input name '${ONNX_INPUT_NAME}'`);
}

async function importCommand(flags: ImportFlags): Promise<void> {
  const interrupts = handleInterrupts();
  try {
    // The new run's folder: new or empty, an earlier run only with --overwrite (moved aside); locked.
    const claimed = await claimFolder(flags.out, {
      mode: 'new',
      label: `--out ${flags.out}`,
      ...(flags.overwrite ? { overwrite: true } : {}),
      command: 'mnist-lab import',
    });
    try {
      if (claimed.movedTo)
        printInfo(`--overwrite: moved the run that was in ${flags.out} to ${claimed.movedTo}`);
      await importInto(flags);
    } finally {
      await claimed.lock?.release();
    }
  } finally {
    interrupts.remove();
  }
}

async function importInto(flags: ImportFlags): Promise<void> {
  selectBackend();
  const { model, modelFile } = await importTfjsRun(flags.from, flags.out);
  if (flags.json) {
    printJson({ from: flags.from, runDir: flags.out, modelFile, params: model.countParams() });
    return;
  }
  printResult(
    `imported ${flags.from} as run ${flags.out} (${model.countParams().toLocaleString('en-US')} parameters)`,
  );
  printInfo(`evaluate it with: mnist-lab evaluate ${flags.out}`);
}

export function registerInteropCommands(program: Command): void {
  program
    .command('export')
    .description('export a trained model to the TF.js Layers format or ONNX, for use elsewhere')
    .requiredOption(
      '--model <path>',
      'a run directory (its latest checkpoint), a checkpoint directory or a model.safetensors',
      existingPath('--model', 'a run directory, a checkpoint directory or a model.safetensors'),
    )
    .addOption(
      new Option('--format <format>', 'output format').choices(['tfjs', 'onnx']).makeOptionMandatory(),
    )
    .requiredOption(
      '--out <dir>',
      'folder to write model.json + group1-shard1of1.bin, or model.onnx (new, empty or of earlier exports)',
    )
    .option('--overwrite', 'replace the files of an earlier export of this format in --out')
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action((flags: ExportFlags) => exportCommand(flags));
  program
    .command('import')
    .description('import a TF.js Layers model (model.json + weight shards) as a run directory')
    .requiredOption(
      '--from <path>',
      'the model.json (its weight shards next to it)',
      existingPath('--from', 'a TF.js model.json'),
    )
    .requiredOption('--out <dir>', 'the run directory to create (new or empty)')
    .option('--overwrite', 'if --out holds a run, move it aside to <out>.old-<time>')
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action((flags: ImportFlags) => importCommand(flags));
}
