// `mnist-lab export` and `mnist-lab import`: a run's model out to the TF.js Layers format or ONNX,
// and a TF.js Layers model in as a run. A thin client of the public API.
import { join } from 'node:path';
import { Command, Option } from 'commander';
import {
  ONNX_INPUT_NAME,
  ONNX_OPSET,
  exportOnnx,
  importTfjsRun,
  loadModel,
  saveTfjsModel,
  selectBackend,
  writeFileAtomic,
} from '../../index.js';
import { existingPath } from '../flags.js';
import { printInfo, printJson, printResult } from '../output.js';

interface ExportFlags {
  model: string;
  format: 'tfjs' | 'onnx';
  out: string;
  json?: boolean;
}

interface ImportFlags {
  from: string;
  out: string;
  json?: boolean;
}

async function exportCommand(flags: ExportFlags): Promise<void> {
  selectBackend();
  // The model carries its input standardisation (an old run's is restored by loadModel), and the
  // exporters write its Normalization layer into the exported graph.
  const model = await loadModel(flags.model);
  const layer = model.inputNormalization;
  const normalize = layer ? { mean: layer.mean, std: layer.std } : undefined;
  let files: string[];
  if (flags.format === 'tfjs') {
    const modelJson = await saveTfjsModel(model, flags.out);
    files = [modelJson, join(flags.out, 'group1-shard1of1.bin')];
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
    .requiredOption('--out <dir>', 'directory to write model.json + group1-shard1of1.bin, or model.onnx')
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
    .requiredOption('--out <dir>', 'the run directory to create')
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action((flags: ImportFlags) => importCommand(flags));
}
