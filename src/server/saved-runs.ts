// POST /api/runs: a model fine-tuned in the page (the Teach page) saved as a run of the runs
// directory, beside the runs `train` writes. The body is JSON:
//
//   {model: base64 of model.safetensors, classNames: string[K], method: 'head' | 'lora',
//    base?: run id it was taught from, name?: a word for the folder name,
//    training?: {epochs, seconds, examples}, heldOut?: {count, accuracyBefore, accuracyAfter}}
//
// The model is rebuilt before anything is written (an mnist-lab model of 28x28x1 images whose
// classifier has K outputs), so what is saved is what `predict`, `serve` and the page can load.
// The run is a new folder `taught-<base or name>-<UTC time>` (suffix -2, -3... when taken), claimed
// and locked through the runs layer like every run folder, holding model.safetensors and then
// config.json, each written atomically: a listing never sees a config without its model.
import { join } from 'node:path';
import { VERSION, modelFromBytes, type Model } from '../index.js';
import { headClasses } from '../finetune/head.js';
import { CONFIG_FILE, MODEL_FILE, runDirName } from '../runs/layout.js';
import { writeFileAtomic } from '../runs/node/files.js';
import { claimFolder, RunFolderError } from '../runs/node/folder.js';
import { RunLockedError } from '../runs/node/lock.js';
import type { RunConfig } from '../runs/types.js';
import { HttpError } from './http.js';

export const SAVE_METHODS = ['head', 'lora'] as const;
export type SaveMethod = (typeof SAVE_METHODS)[number];

/** At most this many classes, each name 1..MAX_CLASS_NAME characters. */
export const MAX_CLASSES = 64;
export const MAX_CLASS_NAME = 32;
/** Folder suffixes tried when the name is taken (two saves in the same second). */
const MAX_SUFFIX = 50;
const RUN_WORD = /^[A-Za-z0-9][A-Za-z0-9_-]{0,59}$/;

export interface SaveRunRequest {
  model: Uint8Array;
  classNames: string[];
  method: SaveMethod;
  base?: string;
  name?: string;
  training?: { epochs: number; seconds: number; examples: number };
  heldOut?: { count: number; accuracyBefore: number; accuracyAfter: number };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const bad = (message: string): HttpError => new HttpError(400, `POST /api/runs: ${message}`);

function numbers<K extends string>(
  value: unknown,
  field: string,
  keys: readonly K[],
  check: (key: K, n: number) => boolean,
): Record<K, number> {
  if (!isRecord(value)) throw bad(`'${field}' must be an object with ${keys.join(', ')}`);
  const out = {} as Record<K, number>;
  for (const key of keys) {
    const n = value[key];
    if (typeof n !== 'number' || !Number.isFinite(n) || !check(key, n)) {
      throw bad(`'${field}.${key}' must be a finite number in range, found ${JSON.stringify(n ?? null)}`);
    }
    out[key] = n;
  }
  return out;
}

/** Checks a POST /api/runs body field by field; 400 naming the first field that is wrong. */
export function parseSaveRunRequest(body: unknown): SaveRunRequest {
  if (!isRecord(body)) throw bad('expected a JSON object {model, classNames, method, ...}');
  const known = new Set(['model', 'classNames', 'method', 'base', 'name', 'training', 'heldOut']);
  const unknown = Object.keys(body).find((key) => !known.has(key));
  if (unknown !== undefined)
    throw bad(`unknown field '${unknown.slice(0, 40)}' (expected ${[...known].join(', ')})`);
  const { model, classNames, method, base, name, training, heldOut } = body;
  if (typeof model !== 'string' || model.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(model)) {
    throw bad("'model' must be the model.safetensors bytes in base64");
  }
  if (
    !Array.isArray(classNames) ||
    classNames.length < 2 ||
    classNames.length > MAX_CLASSES ||
    !classNames.every(
      (c) => typeof c === 'string' && c.trim().length > 0 && c.length <= MAX_CLASS_NAME && !/\p{Cc}/u.test(c),
    )
  ) {
    throw bad(
      `'classNames' must be 2 to ${MAX_CLASSES} names of 1 to ${MAX_CLASS_NAME} printable characters, one per output`,
    );
  }
  if (new Set(classNames).size !== classNames.length) throw bad("'classNames' has a name twice");
  if (!SAVE_METHODS.includes(method as SaveMethod)) {
    throw bad(`'method' must be one of ${SAVE_METHODS.join(', ')}, found ${JSON.stringify(method ?? null)}`);
  }
  for (const [field, value] of [
    ['base', base],
    ['name', name],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || !RUN_WORD.test(value))) {
      throw bad(
        `'${field}' must be up to 60 letters, digits, '-' or '_', found ${JSON.stringify(value).slice(0, 80)}`,
      );
    }
  }
  return {
    model: new Uint8Array(Buffer.from(model, 'base64')),
    classNames: classNames as string[],
    method: method as SaveMethod,
    ...(base !== undefined ? { base: base as string } : {}),
    ...(name !== undefined ? { name: name as string } : {}),
    ...(training !== undefined
      ? {
          training: numbers(
            training,
            'training',
            ['epochs', 'seconds', 'examples'],
            (_, n) => n >= 0 && n < 1e7,
          ),
        }
      : {}),
    ...(heldOut !== undefined
      ? {
          heldOut: numbers(heldOut, 'heldOut', ['count', 'accuracyBefore', 'accuracyAfter'], (key, n) =>
            key === 'count' ? Number.isInteger(n) && n >= 0 && n < 1e7 : n >= 0 && n <= 1,
          ),
        }
      : {}),
  };
}

/** Rebuilds the model: 400 when it is not an mnist-lab model of 28x28x1 images with one output per class. */
function checkModel(request: SaveRunRequest): Model {
  let model: Model;
  let outputs: number;
  try {
    model = modelFromBytes(request.model, 'model');
    outputs = headClasses(model);
  } catch (error) {
    throw bad(`'model' is not a model this server can load: ${(error as Error).message.split('\n')[0]}`);
  }
  const inputShape = model.inputShape;
  if (inputShape && inputShape.join('x') !== '28x28x1') {
    throw bad(`'model' takes ${inputShape.join('x')} inputs, expected 28x28x1 images`);
  }
  if (outputs !== request.classNames.length) {
    throw bad(`'model' has ${outputs} outputs but ${request.classNames.length} classNames were given`);
  }
  return model;
}

/** Saves the request as a new run under `runsDir`; resolves with its id. */
export async function saveRun(runsDir: string, request: SaveRunRequest, now = new Date()): Promise<string> {
  const model = checkModel(request);
  const stem = runDirName('taught', request.name ?? request.base ?? 'drawings', now);
  for (let n = 1; n <= MAX_SUFFIX; n++) {
    const id = n === 1 ? stem : `${stem}-${n}`;
    const directory = join(runsDir, id);
    let claimed;
    try {
      claimed = await claimFolder(directory, {
        mode: 'new',
        command: 'mnist-lab serve (taught in the page)',
      });
    } catch (error) {
      if (error instanceof RunFolderError || error instanceof RunLockedError) continue; // taken: next name
      throw error;
    }
    try {
      const config: RunConfig = {
        format: 'mnist-lab/run@1',
        createdAt: now.toISOString(),
        model: model.toConfig(),
        inputShape: [28, 28, 1],
        runConfig: {
          recipe: { model: 'taught', dataset: 'drawings', classNames: request.classNames },
          finetune: {
            source: 'web page (Teach)',
            method: request.method,
            ...(request.base ? { base: request.base } : {}),
            ...(request.training ?? {}),
            ...(request.heldOut ? { heldOut: request.heldOut } : {}),
          },
        },
        versions: { mnistLab: VERSION },
      };
      await writeFileAtomic(join(directory, MODEL_FILE), request.model);
      await writeFileAtomic(join(directory, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
    } finally {
      await claimed.lock?.release();
    }
    return id;
  }
  throw new HttpError(
    409,
    `POST /api/runs: the names ${stem}..-${MAX_SUFFIX} are all taken; try again in a second`,
  );
}
