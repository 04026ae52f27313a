// Run directories on Node (DESIGN.md "Checkpoints and runs"), loadModel(), and the Node file access
// the browser-safe trainer and callbacks reach through callbacks/storage.ts (registered on import).
//
//   <run>/config.json                 model config, training config, versions
//   <run>/metrics.jsonl               one TrainEvent per line
//   <run>/checkpoints/<step>/model.safetensors
//   <run>/checkpoints/<step>/optimizer.safetensors
//   <run>/checkpoints/<step>/state.json   TrainState + SHA-256 of the two files
//   <run>/latest                      "checkpoints/<step>": written last, after the files it names
//
// Every file is written atomically: a temp file in the same directory, fsync, rename, fsync of the
// directory. A crash at any point leaves `latest` naming a complete, verified checkpoint.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { getLoss } from '../losses/index.js';
import type { LossConfig } from '../losses/index.js';
import { getOptimizer } from '../optim/index.js';
import type { OptimizerConfig } from '../optim/index.js';
import { setFileAccess } from './callbacks/storage.js';
import { TrainingDivergedError, type TerminateOnNaN } from './callbacks/terminate-on-nan.js';
import type { FileAccess } from './callbacks/storage.js';
import { modelFromBytes, restoreOptimizer } from './checkpoint.js';
import { restoreInputNormalization, savedInputNormalization } from './legacy-normalization.js';
import type { Model } from './model.js';
import type { CheckpointData, MetricName, RunStore, TrainEvent, TrainState } from './types.js';

export const LATEST_FILE = 'latest';
export const CHECKPOINTS_DIR = 'checkpoints';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';
export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
/** Per-batch metrics.jsonl lines written together (see RunDirectory.appendEvent). */
export const METRICS_BATCH_LINES = 50;
/** ...or after this many milliseconds, so live readers (the server's event stream) stay current. */
export const METRICS_FLUSH_MS = 250;

/** Test hook: called at each stage of an atomic write (fault injection throws from it). */
export type WriteStage = 'opened' | 'written' | 'synced' | 'renamed';
let faultHook: ((stage: WriteStage, path: string) => void) | undefined;
export function setWriteFaultHook(hook: ((stage: WriteStage, path: string) => void) | undefined): void {
  faultHook = hook;
}

async function syncDirectory(directory: string): Promise<void> {
  // NOTE: fsync of a directory makes the rename durable on Linux; some platforms refuse it.
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // unsupported (e.g. Windows): the rename is still atomic, only its durability is weaker
  } finally {
    await handle?.close();
  }
}

/** Writes `data` to `path` atomically: temp file, fsync, rename, fsync of the directory. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const directory = dirname(path);
  // A directory made here is itself a new entry of its parent: sync that too.
  const created = await mkdir(directory, { recursive: true });
  if (created !== undefined) await syncDirectory(dirname(created));
  const temp = join(directory, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const handle = await open(temp, 'w');
  let renamed = false;
  try {
    faultHook?.('opened', path);
    await handle.writeFile(data);
    faultHook?.('written', path);
    await handle.sync();
    faultHook?.('synced', path);
    await handle.close();
    await rename(temp, path);
    renamed = true;
    faultHook?.('renamed', path);
    await syncDirectory(directory);
  } finally {
    if (!renamed) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface StoredState extends TrainState {
  /** SHA-256 and size of the checkpoint's files, checked on load. */
  files: Record<string, { bytes: number; sha256: string }>;
}

async function readVerified(directory: string, name: string, state: StoredState): Promise<Uint8Array> {
  const path = join(directory, name);
  const bytes = new Uint8Array(await readFile(path));
  const expected = state.files[name];
  if (!expected || expected.sha256 !== sha256(bytes)) {
    throw new Error(
      `${path}: content does not match the checksum in ${STATE_FILE} (corrupt or partly written checkpoint); ` +
        'point latest at an earlier checkpoints/<step> to recover',
    );
  }
  return bytes;
}

/** A run directory's default name: `<kind>-<name>-<UTC time to the second>`, e.g. cnn-mnist-2026-11-29_10-12-51. */
export function runDirName(kind: string, name: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
  return `${kind}-${name.replace(/[^a-z0-9-]+/gi, '_')}-${stamp}`;
}

/** The checkpoint directory a run directory's `latest` names, or null when it has none. */
export async function latestCheckpointDir(runDir: string): Promise<string | null> {
  const pointer = join(runDir, LATEST_FILE);
  if (!existsSync(pointer)) return null;
  const relative = (await readFile(pointer, 'utf8')).trim();
  if (!/^checkpoints\/\d+$/.test(relative)) {
    throw new Error(
      `${pointer}: expected 'checkpoints/<step>', found ${JSON.stringify(relative.slice(0, 80))}`,
    );
  }
  return join(runDir, relative);
}

/**
 * Throws TrainingDivergedError when `guard` stopped a fit into `runDir`: its message (naming the
 * step), after `stage: ` when given, then the last good checkpoint, or that none was written.
 */
export async function throwIfDiverged(
  guard: TerminateOnNaN | undefined,
  runDir: string,
  stage?: string,
): Promise<void> {
  if (!guard?.message) return;
  const latest = await latestCheckpointDir(runDir);
  throw new TrainingDivergedError(
    `${stage ? `${stage}: ` : ''}${guard.message}; ` +
      (latest ? `the last good checkpoint is ${latest}` : `no checkpoint was written in ${runDir}`),
  );
}

/** Reads and verifies the three files of a checkpoint directory. */
export async function readCheckpoint(directory: string): Promise<CheckpointData> {
  const statePath = join(directory, STATE_FILE);
  let state: StoredState;
  try {
    state = JSON.parse(await readFile(statePath, 'utf8')) as StoredState;
  } catch (error) {
    throw new Error(`${statePath}: cannot read the checkpoint state (${(error as Error).message})`);
  }
  if (state.format !== 'mnist-lab/train-state@1' || typeof state.files !== 'object') {
    throw new Error(
      `${statePath}: not an mnist-lab checkpoint state (format ${JSON.stringify(state.format)})`,
    );
  }
  const model = await readVerified(directory, MODEL_FILE, state);
  const optimizer = await readVerified(directory, OPTIMIZER_FILE, state);
  const { files: _files, ...trainState } = state;
  return { model, optimizer, state: trainState };
}

/** A run directory as a RunStore. */
export class RunDirectory implements RunStore {
  private metrics: FileHandle | undefined;
  /** metrics.jsonl lines not yet written: batch events are written METRICS_BATCH_LINES at a time. */
  private pending: string[] = [];
  private lastWrite = 0;

  constructor(readonly location: string) {}

  async writeConfig(config: Record<string, unknown>): Promise<void> {
    await writeFileAtomic(join(this.location, CONFIG_FILE), JSON.stringify(config, null, 2) + '\n');
  }

  async appendEvent(event: TrainEvent): Promise<void> {
    if (!this.metrics) {
      await mkdir(this.location, { recursive: true });
      this.metrics = await open(join(this.location, METRICS_FILE), 'a');
    }
    this.pending.push(JSON.stringify(event) + '\n');
    // NOTE: per-batch events are buffered: written every METRICS_BATCH_LINES lines or
    // METRICS_FLUSH_MS, whichever comes first (live readers lag by at most that). Any other event
    // (epoch end, checkpoint, train end), a checkpoint and close() write the buffer at once. A process
    // killed mid-epoch loses at most those last buffered batch lines.
    if (
      event.type !== 'batchEnd' ||
      this.pending.length >= METRICS_BATCH_LINES ||
      performance.now() - this.lastWrite >= METRICS_FLUSH_MS
    ) {
      await this.flushMetrics();
    }
  }

  private async flushMetrics(): Promise<void> {
    if (!this.metrics || this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.lastWrite = performance.now();
    await this.metrics.write(text);
  }

  async saveCheckpoint(checkpoint: CheckpointData, keep: number): Promise<string> {
    const relative = `${CHECKPOINTS_DIR}/${checkpoint.state.step}`;
    const directory = join(this.location, relative);
    await writeFileAtomic(join(directory, MODEL_FILE), checkpoint.model);
    await writeFileAtomic(join(directory, OPTIMIZER_FILE), checkpoint.optimizer);
    const stored: StoredState = {
      ...checkpoint.state,
      files: {
        [MODEL_FILE]: { bytes: checkpoint.model.length, sha256: sha256(checkpoint.model) },
        [OPTIMIZER_FILE]: { bytes: checkpoint.optimizer.length, sha256: sha256(checkpoint.optimizer) },
      },
    };
    await writeFileAtomic(join(directory, STATE_FILE), JSON.stringify(stored) + '\n');
    await this.flushMetrics();
    await this.metrics?.sync(); // metrics up to this checkpoint are durable with it
    await writeFileAtomic(join(this.location, LATEST_FILE), relative + '\n');
    await this.prune(checkpoint.state.step, keep);
    return directory;
  }

  /** Removes all but the `keep` newest checkpoints (never the one `latest` names). */
  private async prune(latestStep: number, keep: number): Promise<void> {
    const root = join(this.location, CHECKPOINTS_DIR);
    const steps = (await readdir(root))
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .sort((a, b) => b - a);
    for (const step of steps.slice(Math.max(keep, 1))) {
      if (step !== latestStep) await rm(join(root, String(step)), { recursive: true, force: true });
    }
  }

  async loadLatestCheckpoint(): Promise<CheckpointData | null> {
    const directory = await latestCheckpointDir(this.location);
    return directory === null ? null : readCheckpoint(directory);
  }

  async close(): Promise<void> {
    await this.flushMetrics();
    const metrics = this.metrics;
    this.metrics = undefined;
    if (metrics) {
      await metrics.sync();
      await metrics.close();
    }
  }
}

export function openRunDirectory(path: string): RunDirectory {
  return new RunDirectory(path);
}

interface SavedRunConfig {
  training?: { optimizer?: OptimizerConfig; loss?: LossConfig; metrics?: MetricName[] };
}

/**
 * Loads a model saved by fit({runDir}) or ModelCheckpoint: architecture (layerFromConfig) and
 * weights. `path` is a run directory (its latest checkpoint), a checkpoint directory, or a
 * model.safetensors file. With a run's config.json at hand, the model comes back compiled with the
 * run's loss and optimizer (and, from a checkpoint, the optimizer's state).
 */
export async function loadModel(path: string): Promise<Model> {
  let directory = path;
  let file = path;
  if (existsSync(path) && statSync(path).isDirectory()) {
    directory = (await latestCheckpointDir(path)) ?? path;
    file = join(directory, MODEL_FILE);
  } else directory = dirname(path);
  if (!existsSync(file)) {
    throw new Error(
      `loadModel: no ${MODEL_FILE} at ${file} (expected a run directory, a checkpoint directory or the file)`,
    );
  }
  const hasState = existsSync(join(directory, STATE_FILE));
  const checkpoint = hasState ? await readCheckpoint(directory) : undefined;
  const model = modelFromBytes(checkpoint?.model ?? new Uint8Array(await readFile(file)), file);
  // config.json: in the directory given, or in the run directory above checkpoints/<step>.
  const candidates = [join(directory, CONFIG_FILE)];
  if (basename(dirname(directory)) === CHECKPOINTS_DIR && /^\d+$/.test(basename(directory))) {
    candidates.push(join(directory, '..', '..', CONFIG_FILE));
  }
  const configPath = candidates.find((candidate) => existsSync(candidate));
  if (configPath) {
    const config = JSON.parse(await readFile(configPath, 'utf8')) as SavedRunConfig;
    const training = config.training;
    if (training?.optimizer && training.loss) {
      const optimizer = getOptimizer(training.optimizer);
      model.compile({ optimizer, loss: getLoss(training.loss), metrics: training.metrics ?? ['accuracy'] });
      if (checkpoint) {
        const params = model.trainableWeights.map((w) => w.value);
        restoreOptimizer(optimizer, checkpoint.optimizer, params, join(directory, OPTIMIZER_FILE));
      }
    }
    // A run saved before models carried their input normalisation: its config.json has it.
    return restoreInputNormalization(model, savedInputNormalization(config));
  }
  return model;
}

const nodeFiles: FileAccess = {
  writeFileAtomic,
  async appendText(path, text) {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a');
    try {
      await handle.write(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async readFile(path) {
    return new Uint8Array(await readFile(path));
  },
  joinPath: (...parts) => join(...parts),
};

setFileAccess(nodeFiles, openRunDirectory);
