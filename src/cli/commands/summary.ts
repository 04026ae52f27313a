// `mnist-lab summary MODEL|RUN`: the Keras summary table (layers, output shapes, parameter counts)
// of a zoo model or of a saved model (a run directory, a checkpoint directory or a
// model.safetensors). A thin client of Model.summary().
import { existsSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { ZOO_MODEL_NAMES, getRecipe, loadModel, type Model } from '../../index.js';
import { printJson, printResult } from '../output.js';

interface SummaryFlags {
  json?: boolean;
}

/** A zoo name or an existing path; anything else is refused naming both choices. */
function modelOrRun(value: string): string {
  if ((ZOO_MODEL_NAMES as readonly string[]).includes(value) || existsSync(value)) return value;
  throw new InvalidArgumentError(
    `expected a zoo model (${ZOO_MODEL_NAMES.join(', ')}) or a run directory, checkpoint directory or ` +
      `model.safetensors, found '${value}' (no such model or path)`,
  );
}

async function summary(target: string, flags: SummaryFlags): Promise<void> {
  // A path that is also a zoo name ('cnn' in the current folder) is the zoo's: say ./cnn for the path.
  const model: Model = (ZOO_MODEL_NAMES as readonly string[]).includes(target)
    ? getRecipe(target).model()
    : await loadModel(target);
  const text = model.summary(() => undefined);
  if (flags.json) {
    const trainable = model.trainableWeights.reduce((n, w) => n + w.value.size, 0);
    printJson({
      model: model.name,
      params: model.countParams(),
      trainableParams: trainable,
      nonTrainableParams: model.countParams() - trainable,
      layers: model.layers.map((layer) => ({
        name: layer.name,
        className: layer.className,
        params: layer.countParams(),
      })),
      summary: text,
    });
  } else printResult(text);
}

export function registerSummaryCommand(program: Command): void {
  program
    .command('summary')
    .description('print the layer table and parameter counts of a zoo model or a saved model (Keras summary)')
    .argument(
      '<model>',
      `a zoo model (${ZOO_MODEL_NAMES.join(', ')}) or a run directory / model.safetensors`,
      modelOrRun,
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action((target: string, _flags: SummaryFlags, command: Command) =>
      summary(target, command.optsWithGlobals<SummaryFlags>()),
    );
}
