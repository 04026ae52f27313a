// `mnist-lab predict --model <runDir> image.png [...]`: PNG/JPEG pictures of single digits (photos,
// drawings on white paper, MNIST-style images) preprocessed the MNIST way and classified; prints
// the top-3 classes per image. A thin client of the public API.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import {
  decodeImage,
  encodePng,
  loadModel,
  predictDigits,
  preprocessRgba,
  readRunRecipe,
  recipeClassNames,
  selectBackend,
} from '../../index.js';
import { existingPath, integerIn } from '../flags.js';
import { printJson, printResult } from '../output.js';
import { backendOptions } from './train.js';

interface PredictFlags {
  model: string;
  top: number;
  invert?: boolean;
  saveInputs?: string;
  backend?: 'js' | 'native';
  threads?: number;
  json?: boolean;
}

async function predict(files: string[], flags: PredictFlags): Promise<void> {
  selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  const model = await loadModel(flags.model);
  const recipe = await readRunRecipe(flags.model);
  const classNames = recipeClassNames(recipe);
  const images = new Uint8Array(files.length * 784); // (N, 28, 28)
  if (flags.saveInputs) await mkdir(flags.saveInputs, { recursive: true });
  for (const [i, file] of files.entries()) {
    const picture = decodeImage(new Uint8Array(await readFile(file)), file);
    const { image } = preprocessRgba(picture.data, picture.width, picture.height, {
      invert: flags.invert === undefined ? 'auto' : flags.invert,
    });
    images.set(image, i * 784);
    if (flags.saveInputs) {
      const rgba = new Uint8Array(784 * 4);
      for (let p = 0; p < 784; p++) {
        rgba[4 * p] = rgba[4 * p + 1] = rgba[4 * p + 2] = image[p] as number;
        rgba[4 * p + 3] = 255;
      }
      await writeFile(
        join(flags.saveInputs, `${basename(file).replace(/\.[^.]*$/, '')}.28x28.png`),
        encodePng({ width: 28, height: 28, data: rgba }),
      );
    }
  }
  const predictions = predictDigits(model, images, {
    topK: flags.top,
    ...(classNames ? { classNames } : {}),
  });
  if (flags.json) {
    printJson(
      predictions.map((p, i) => ({
        file: files[i],
        label: p.label,
        name: p.name,
        probabilities: p.probabilities.map((v) => Math.round(v * 1e6) / 1e6),
        top: p.top.map((t) => ({ ...t, probability: Math.round(t.probability * 1e6) / 1e6 })),
      })),
    );
    return;
  }
  for (const [i, p] of predictions.entries()) {
    const top = p.top.map((t) => `${t.name} ${(t.probability * 100).toFixed(1)}%`).join(', ');
    printResult(`${files[i]}: ${p.name}   (${top})`);
  }
}

export function registerPredictCommand(program: Command): void {
  const command = program
    .command('predict')
    .description('classify PNG/JPEG pictures of single digits (photos or drawings work: MNIST preprocessing)')
    .argument('<images...>', 'PNG or JPEG files', (file: string, previous: string[] = []) => [
      ...previous,
      existingPath('images', 'PNG or JPEG files')(file),
    ])
    .requiredOption(
      '--model <runDir>',
      'a run directory written by train (or a checkpoint directory)',
      existingPath('--model', 'a run directory written by train (or a checkpoint directory)'),
    )
    .option('--top <k>', 'classes listed per image', integerIn('--top', 1), 3)
    .option('--invert', 'always invert grey levels (default: when the background is light)')
    .option('--no-invert', 'never invert grey levels')
    .option('--save-inputs <dir>', 'also write each preprocessed 28x28 input as PNG into this directory')
    .option('--json', 'print one JSON array [{file, label, name, probabilities, top}] on stdout');
  backendOptions(command).action((files: string[], flags: PredictFlags) => predict(files, flags));
}
