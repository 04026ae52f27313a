// `mnist-lab predict --model <runDir> image.png [...]`: PNG/JPEG pictures of single digits (photos,
// drawings on white paper, MNIST-style images) preprocessed the MNIST way and classified; prints
// the top-3 classes per image. Each file gets its own result or its own error (a blank picture
// does not cost the others theirs); the exit code says whether every file was classified. A thin
// client of the public API.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { decodeImage, loadModel, predictDigits, selectBackend, type Prediction } from '../../index.js';
import { encodePng } from '../../data/node/png.js';
import { readRunRecipe, recipeClassNames } from '../../predict/node/run-recipe.js';
import { preprocessRgba } from '../../predict/preprocess.js';
import { EXIT_CODES } from '../errors.js';
import { existingPath, integerIn } from '../flags.js';
import { printInfo, printJson, printResult } from '../output.js';
import { backendOptions } from './train.js';

interface PredictFlags {
  model: string;
  top: number;
  invert?: boolean;
  saveInputs?: string;
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
  json?: boolean;
}

const PIXELS = 784; // (28, 28)

/** A file's outcome: the 28x28 image the model sees, or why there is none. */
type Prepared = { file: string; image: Uint8Array } | { file: string; error: string };

/** The message of an error about `file`, starting with the file's name once. */
function aboutFile(file: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = code ? `cannot read it (${code})` : (error as Error).message;
  return message.startsWith(`${file}:`) ? message : `${file}: ${message}`;
}

/** Reads, decodes and preprocesses one picture into MNIST form (and saves that when asked). */
async function prepare(file: string, flags: PredictFlags): Promise<Prepared> {
  try {
    const picture = decodeImage(new Uint8Array(await readFile(file)), file);
    const { image } = preprocessRgba(picture.data, picture.width, picture.height, {
      invert: flags.invert === undefined ? 'auto' : flags.invert,
    });
    if (flags.saveInputs) {
      const rgba = new Uint8Array(PIXELS * 4);
      for (let p = 0; p < PIXELS; p++) {
        rgba[4 * p] = rgba[4 * p + 1] = rgba[4 * p + 2] = image[p] as number;
        rgba[4 * p + 3] = 255;
      }
      await writeFile(
        join(flags.saveInputs, `${basename(file).replace(/\.[^.]*$/, '')}.28x28.png`),
        encodePng({ width: 28, height: 28, data: rgba }),
      );
    }
    return { file, image };
  } catch (error) {
    return { file, error: aboutFile(file, error) };
  }
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

async function predict(files: string[], flags: PredictFlags): Promise<void> {
  selectBackend({
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  // The model carries its input normalisation (an old run's is restored by loadModel).
  const model = await loadModel(flags.model);
  const classNames = recipeClassNames(await readRunRecipe(flags.model));
  if (flags.saveInputs) await mkdir(flags.saveInputs, { recursive: true });
  const prepared: Prepared[] = [];
  for (const file of files) prepared.push(await prepare(file, flags));
  const ready = prepared.filter((p): p is { file: string; image: Uint8Array } => 'image' in p);
  const images = new Uint8Array(ready.length * PIXELS); // (N, 28, 28) of the readable files
  ready.forEach((p, i) => images.set(p.image, i * PIXELS));
  const predictions = new Map<Prepared, Prediction>();
  if (ready.length > 0) {
    const results = predictDigits(model, images, {
      topK: flags.top,
      ...(classNames ? { classNames } : {}),
    });
    ready.forEach((p, i) => predictions.set(p, results[i] as Prediction));
  }
  const failed = prepared.filter((p) => 'error' in p).length;
  if (flags.json) {
    printJson(
      prepared.map((p) => {
        const prediction = predictions.get(p);
        if (!prediction) return { file: p.file, error: (p as { error: string }).error };
        return {
          file: p.file,
          label: prediction.label,
          name: prediction.name,
          probabilities: prediction.probabilities.map(round),
          top: prediction.top.map((t) => ({ ...t, probability: round(t.probability) })),
        };
      }),
    );
  } else {
    for (const p of prepared) {
      const prediction = predictions.get(p);
      if (!prediction) {
        printInfo(`mnist-lab: ${(p as { error: string }).error}`);
        continue;
      }
      const top = prediction.top.map((t) => `${t.name} ${(t.probability * 100).toFixed(1)}%`).join(', ');
      printResult(`${p.file}: ${prediction.name}   (${top})`);
    }
    if (failed > 0) printInfo(`mnist-lab: ${failed} of ${files.length} pictures could not be classified`);
  }
  if (failed > 0) process.exitCode = EXIT_CODES.error;
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
    .option(
      '--json',
      'print one JSON array on stdout, one entry per file in order: {file, label, name, probabilities, top}, ' +
        'or {file, error} for a picture that could not be classified',
    )
    .addHelpText(
      'after',
      '\nEvery picture gets its own result or its own error (naming the file); one bad picture does not stop ' +
        'the others.\nExit codes: 0 every picture classified, 1 any picture could not be (or the model did not ' +
        'load), 2 invalid arguments.',
    );
  backendOptions(command).action((files: string[], flags: PredictFlags) => predict(files, flags));
}
