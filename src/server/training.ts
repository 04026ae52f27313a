// POST /api/train: one training run at a time, started as a child `mnist-lab train` process so a
// crash or a long epoch never touches the server. Its output goes to <run>/serve-train.log; the
// run directory fills as any CLI run's does, and the events stream follows its metrics.jsonl.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { ZOO_MODEL_NAMES } from '../index.js';
import { runDirName, SERVE_LOG_FILE } from '../runs/layout.js';
import { HttpError } from './http.js';
import { CLI_ENTRY } from './paths.js';
import type { SupervisedRun } from './runs.js';

/** The child's output, in the run directory (the runs layout counts it as part of a new run). */
export const TRAIN_LOG_FILE = SERVE_LOG_FILE;
export const TRAIN_DATASETS = ['mnist', 'fashion-mnist'] as const;

export interface TrainRequest {
  model: string;
  dataset: (typeof TRAIN_DATASETS)[number];
  epochs?: number;
  limit?: number;
  seed?: number;
}

const FIELDS = ['model', 'dataset', 'epochs', 'limit', 'seed'];

function integerField(
  body: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
): number | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new HttpError(
      400,
      `${name}: expected a whole number from ${min} to ${max}, found ${JSON.stringify(value)}`,
    );
  }
  return value;
}

/** Checks a POST /api/train body field by field; 400 naming the first bad field. */
export function parseTrainRequest(body: unknown): TrainRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'expected a JSON object like {"model": "fast", "epochs": 1}');
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !FIELDS.includes(key));
  if (unknown !== undefined) {
    throw new HttpError(400, `unknown field '${unknown.slice(0, 50)}': expected only ${FIELDS.join(', ')}`);
  }
  const model = fields['model'];
  if (typeof model !== 'string' || !(ZOO_MODEL_NAMES as readonly string[]).includes(model)) {
    throw new HttpError(
      400,
      `model: expected one of ${ZOO_MODEL_NAMES.join(', ')}, found ${JSON.stringify(model)}`,
    );
  }
  const dataset = fields['dataset'] ?? 'mnist';
  if (typeof dataset !== 'string' || !(TRAIN_DATASETS as readonly string[]).includes(dataset)) {
    throw new HttpError(
      400,
      `dataset: expected ${TRAIN_DATASETS.join(' or ')}, found ${JSON.stringify(dataset)}`,
    );
  }
  const epochs = integerField(fields, 'epochs', 1, 50);
  const limit = integerField(fields, 'limit', 1, 60_000);
  const seed = integerField(fields, 'seed', 0, 2 ** 31 - 1);
  return {
    model,
    dataset: dataset as TrainRequest['dataset'],
    ...(epochs !== undefined ? { epochs } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
}

/** Flags of node itself, minus the test runner's (a child started from a test must not run tests). */
function nodeFlags(): string[] {
  return process.execArgv.filter((flag) => !flag.startsWith('--test'));
}

export interface SupervisorOptions {
  runsDir: string;
  /** Passed to the child: the server's backend and thread count. */
  backend: string;
  threads?: number;
  log: (line: string) => void;
}

/** Starts and tracks the server's training children. */
export class TrainingSupervisor {
  private child: { id: string; process: ChildProcess; exited: Promise<void> } | undefined;
  private readonly runs = new Map<string, SupervisedRun>();

  constructor(private readonly options: SupervisorOptions) {}

  /** What this server knows about run `id`, when it started it. */
  get(id: string): SupervisedRun | undefined {
    return this.runs.get(id);
  }

  /** Starts `mnist-lab train` for the request; 409 while another one runs. Returns the run id. */
  start(request: TrainRequest): string {
    if (this.child) {
      throw new HttpError(409, `a training run (${this.child.id}) is already running; wait for it to finish`);
    }
    const createdAt = new Date();
    const base = runDirName(request.model, request.dataset, createdAt);
    let id = base;
    for (let n = 2; existsSync(join(this.options.runsDir, id)); n++) id = `${base}-${n}`;
    const runDir = join(this.options.runsDir, id);
    mkdirSync(runDir, { recursive: true });
    const args = [
      ...nodeFlags(),
      CLI_ENTRY,
      'train',
      ...['--model', request.model, '--dataset', request.dataset, '--out', runDir, '--offline'],
      ...['--backend', this.options.backend],
      ...(this.options.threads !== undefined ? ['--threads', String(this.options.threads)] : []),
      ...(request.epochs !== undefined ? ['--epochs', String(request.epochs)] : []),
      ...(request.limit !== undefined ? ['--limit', String(request.limit)] : []),
      ...(request.seed !== undefined ? ['--seed', String(request.seed)] : []),
    ];
    const log = openSync(join(runDir, TRAIN_LOG_FILE), 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, args, { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log); // the child holds its own copy
    }
    const record: SupervisedRun = {
      state: 'running',
      model: request.model,
      dataset: request.dataset,
      createdAt: createdAt.toISOString(),
    };
    this.runs.set(id, record);
    const exited = new Promise<void>((resolve) => {
      const finish = (failure: string | undefined) => {
        record.state = failure === undefined ? 'finished' : 'failed';
        if (failure !== undefined)
          this.options.log(`training ${id} ${failure} (see ${join(runDir, TRAIN_LOG_FILE)})`);
        if (this.child?.process === child) this.child = undefined;
        resolve();
      };
      child.once('error', (error) => finish(`could not start: ${error.message}`));
      child.once('exit', (code, signal) =>
        finish(code === 0 ? undefined : `exited with ${signal ? `signal ${signal}` : `code ${code}`}`),
      );
    });
    this.child = { id, process: child, exited };
    this.options.log(`training ${id}: ${request.model} on ${request.dataset} (pid ${child.pid})`);
    return id;
  }

  /** Stops a running child (SIGTERM: it checkpoints and exits; SIGKILL after `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    const current = this.child;
    if (!current) return;
    current.process.kill('SIGTERM');
    const timer = setTimeout(() => current.process.kill('SIGKILL'), graceMs);
    await current.exited;
    clearTimeout(timer);
  }
}
