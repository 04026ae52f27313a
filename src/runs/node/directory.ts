// RunDirectory: the one reader of a run directory (layout.ts says what is where). Every module that
// reads a run asks it: loadModel, the eval report, predict's recipe, fine-tuning's base, the CLI and
// the server. Its errors name the file, what is wrong with it and what to do.
//
// A confined RunDirectory (RunDirectory.within(root, name): the server's) reads only regular files
// that are not symbolic links and whose real path stays inside the run's real directory, which
// itself stays inside the root's real path.
import { lstat, readFile, readdir, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import {
  CHECKPOINTS_DIR,
  CONFIG_FILE,
  EVALUATION_FILE,
  LATEST_FILE,
  METRICS_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  STATE_FILE,
  STATE_FORMAT,
  checkpointPointer,
  parseEvaluation,
  parseLatest,
  parseRunConfig,
} from '../layout.js';
import type {
  CheckpointData,
  EvaluationRecord,
  RunConfig,
  RunEvent,
  RunRecipe,
  TrainState,
} from '../types.js';
import { sha256Hex } from '../../data/node/files.js';
import { RunFileError, readProblem } from './files.js';
import { readRunLock } from './lock.js';

/** state.json: the TrainState, the run it belongs to, and SHA-256 + size of the checkpoint's files. */
export interface StoredState extends TrainState {
  files: Record<string, { bytes: number; sha256: string }>;
  /** The run that wrote the checkpoint (config.json runId); absent in checkpoints of earlier versions. */
  runId?: string;
}

/** A model as read from a run, a checkpoint or a file, with what its run says about it. */
export interface ModelFiles {
  /** The model.safetensors the weights came from. */
  modelFile: string;
  /** (bytes) its content (verified against state.json when it is a checkpoint's). */
  model: Uint8Array;
  /** The checkpoint holding it, when it is one (optimizer slots and training state). */
  checkpoint: CheckpointData | undefined;
  checkpointDir: string | undefined;
  /** The run directory it belongs to, when known. */
  runDir: string | undefined;
  /** That run's config.json. */
  config: RunConfig | undefined;
}

const CONFIG_FIX =
  'restore config.json from a copy of the run, or move it away to use the weights without it ' +
  '(inputs are then scaled to [0, 1] and classes are shown as indices)';

/** Reads a checkpoint's three files through `read`, checking state.json's checksums. */
async function readCheckpointWith(
  directory: string,
  read: (name: string, fix: string) => Promise<Uint8Array>,
): Promise<CheckpointData & { runId?: string }> {
  const statePath = join(directory, STATE_FILE);
  const recover = `point ${LATEST_FILE} at an earlier checkpoints/<step> to recover`;
  const stateText = new TextDecoder().decode(await read(STATE_FILE, recover));
  let state: StoredState;
  try {
    state = JSON.parse(stateText) as StoredState;
  } catch (error) {
    throw new RunFileError(
      statePath,
      `${statePath}: cannot read the checkpoint state (${(error as Error).message}); ${recover}`,
    );
  }
  if (state?.format !== STATE_FORMAT || typeof state.files !== 'object' || state.files === null) {
    throw new RunFileError(
      statePath,
      `${statePath}: not an mnist-lab checkpoint state (format ${JSON.stringify(state?.format ?? null)}); ${recover}`,
    );
  }
  const verified = async (name: string): Promise<Uint8Array> => {
    const bytes = await read(name, recover);
    const expected = state.files[name];
    if (!expected || expected.sha256 !== sha256Hex(bytes)) {
      throw new RunFileError(
        join(directory, name),
        `${join(directory, name)}: content does not match the checksum in ${STATE_FILE} ` +
          `(corrupt or partly written checkpoint); ${recover}`,
      );
    }
    return bytes;
  };
  const model = await verified(MODEL_FILE);
  const optimizer = await verified(OPTIMIZER_FILE);
  const { files: _files, runId, ...trainState } = state;
  return { model, optimizer, state: trainState, ...(runId !== undefined ? { runId } : {}) };
}

/** Reads and verifies the three files of a checkpoint directory (any path; not confined). */
export async function readCheckpoint(directory: string): Promise<CheckpointData> {
  const { runId: _runId, ...checkpoint } = await readCheckpointWith(directory, (name, fix) =>
    readPlain(join(directory, name), fix),
  );
  return checkpoint;
}

async function readPlain(path: string, fix: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new RunFileError(path, `${path} ${readProblem(error)}; ${fix}`, { cause: error });
  }
}

function configFrom(text: string, path: string): RunConfig {
  const parsed = parseRunConfig(text);
  if ('problem' in parsed) throw new RunFileError(path, `${path}: ${parsed.problem}; ${CONFIG_FIX}`);
  return parsed.config;
}

export class RunDirectory {
  /**
   * @param path the run directory as given (messages name files under it)
   * @param confinedTo the run's real path, when reads are confined (the server)
   */
  private constructor(
    readonly path: string,
    private readonly confinedTo: string | undefined,
  ) {}

  /** The run directory at `path` (not checked: reads say what is missing). */
  static at(path: string): RunDirectory {
    return new RunDirectory(path, undefined);
  }

  /**
   * Run `name` under `root`, confined (see the header); undefined when `name` is a symbolic link or
   * not a directory whose real path stays inside root's real path.
   */
  static async within(root: string, name: string): Promise<RunDirectory | undefined> {
    try {
      if ((await lstat(join(root, name))).isSymbolicLink()) return undefined;
      const realRoot = await realpath(root);
      const real = await realpath(join(root, name));
      if (!real.startsWith(realRoot + sep) || !(await stat(real)).isDirectory()) return undefined;
      return new RunDirectory(join(root, name), real);
    } catch {
      return undefined;
    }
  }

  get confined(): boolean {
    return this.confinedTo !== undefined;
  }

  /** `relative` (e.g. 'checkpoints/8/model.safetensors') under the run. */
  file(relative: string): string {
    return join(this.path, ...relative.split('/'));
  }

  /**
   * The path to read for `relative`. Confined: a symbolic link or a file whose real path leaves the
   * run is refused with a RunFileError; a missing one throws the lstat error (ENOENT).
   */
  async servablePath(relative: string): Promise<string> {
    const path = this.file(relative);
    if (this.confinedTo === undefined) return path;
    const info = await lstat(path);
    if (info.isSymbolicLink()) {
      throw new RunFileError(
        path,
        `${relative} is a symbolic link: only files inside the runs directory are read`,
      );
    }
    const real = await realpath(path);
    if (!real.startsWith(this.confinedTo + sep)) {
      throw new RunFileError(
        path,
        `${relative} leads outside its run: only files inside the runs directory are read`,
      );
    }
    return real;
  }

  /** Reads `relative`; a failure names the file (as under `path`), what is wrong and `fix`. */
  private async read(relative: string, fix: string): Promise<Uint8Array> {
    const path = this.file(relative);
    try {
      return new Uint8Array(await readFile(await this.servablePath(relative)));
    } catch (error) {
      if (error instanceof RunFileError) throw error;
      throw new RunFileError(path, `${path} ${readProblem(error)}; ${fix}`, { cause: error });
    }
  }

  /** lstat (confined) or stat of `relative`, or undefined when it is missing. */
  async info(relative: string): Promise<Stats | undefined> {
    try {
      return await (this.confined ? lstat : stat)(this.file(relative));
    } catch {
      return undefined;
    }
  }

  async exists(relative: string): Promise<boolean> {
    return (await this.info(relative)) !== undefined;
  }

  /** config.json, or undefined when there is none; a broken one throws a RunFileError saying how to fix it. */
  async config(): Promise<RunConfig | undefined> {
    if (!(await this.exists(CONFIG_FILE))) return undefined;
    const bytes = await this.read(CONFIG_FILE, CONFIG_FIX);
    return configFrom(new TextDecoder().decode(bytes), this.file(CONFIG_FILE));
  }

  /** The recipe the run was trained with (config.json runConfig.recipe), when it says. */
  async recipe(): Promise<RunRecipe | undefined> {
    return (await this.config())?.runConfig?.recipe;
  }

  /**
   * metrics.jsonl's events, one per line, as written (not checked beyond being JSON objects with a
   * string `type`); a torn last line (a crash mid-append) is skipped. [] when there is no file.
   */
  async events<E extends RunEvent = RunEvent>(): Promise<E[]> {
    if (!(await this.exists(METRICS_FILE))) return [];
    const text = new TextDecoder().decode(
      await this.read(METRICS_FILE, 'it is the run’s event log: restore it or move it away'),
    );
    const events: E[] = [];
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const event = JSON.parse(line) as unknown;
        if (typeof event === 'object' && event !== null && typeof (event as RunEvent).type === 'string') {
          events.push(event as E);
        }
      } catch {
        // a partial line
      }
    }
    return events;
  }

  /** Steps of the checkpoint directories present (checkpoints/<step>), ascending. */
  async checkpointSteps(): Promise<number[]> {
    try {
      const entries = await readdir(this.file(CHECKPOINTS_DIR), { withFileTypes: true });
      return entries
        .filter((entry) => entry.isDirectory() && /^\d+$/.test(entry.name))
        .map((entry) => Number(entry.name))
        .sort((a, b) => a - b);
    } catch {
      return [];
    }
  }

  private async latestFix(): Promise<string> {
    const steps = await this.checkpointSteps();
    const newest = steps.at(-1);
    return newest === undefined
      ? `the run has no checkpoints/<step> to point it at: move ${LATEST_FILE} away`
      : `write the newest checkpoint's name into it ('${checkpointPointer(newest)}'; present: ${steps
          .slice(-5)
          .map(checkpointPointer)
          .join(', ')})`;
  }

  /** The checkpoint `latest` names ('checkpoints/<step>', relative), or null when the run has no `latest`. */
  async latestCheckpoint(): Promise<string | null> {
    const path = this.file(LATEST_FILE);
    const info = await this.info(LATEST_FILE);
    if (!info) return null;
    if (info.isDirectory()) {
      throw new RunFileError(
        path,
        `${path} is a folder, expected a file naming the latest checkpoint; move the folder away and ${await this.latestFix()}`,
      );
    }
    const text = new TextDecoder().decode(await this.read(LATEST_FILE, await this.latestFix()));
    const parsed = parseLatest(text);
    if ('problem' in parsed)
      throw new RunFileError(path, `${path}: ${parsed.problem}; ${await this.latestFix()}`);
    const relative = checkpointPointer(parsed.step);
    if (!(await this.info(relative))?.isDirectory()) {
      throw new RunFileError(
        path,
        `${path} names ${relative}, which is not there; ${await this.latestFix()}`,
      );
    }
    return relative;
  }

  /** Reads and verifies checkpoint `relative` ('checkpoints/<step>'). */
  async readCheckpoint(relative: string): Promise<CheckpointData & { runId?: string }> {
    return readCheckpointWith(this.file(relative), (name, fix) => this.read(`${relative}/${name}`, fix));
  }

  /** The checkpoint `latest` names, read and verified, or null for a run without one. */
  async loadLatestCheckpoint(): Promise<CheckpointData | null> {
    const latest = await this.latestCheckpoint();
    if (latest === null) return null;
    const { runId: _runId, ...checkpoint } = await this.readCheckpoint(latest);
    return checkpoint;
  }

  /**
   * The run's model (relative path), or null when it has none: the model.safetensors of the
   * checkpoint `latest` names, else the run's own model.safetensors (an imported run). A broken
   * `latest` throws.
   */
  async modelFile(): Promise<string | null> {
    const latest = await this.latestCheckpoint();
    const relative = latest === null ? MODEL_FILE : `${latest}/${MODEL_FILE}`;
    const info = await this.info(relative);
    return info?.isFile() ? relative : null;
  }

  /** Changes whenever the run's model changes: its path, size and modification time ('' for none). */
  async modelKey(): Promise<string> {
    const relative = await this.modelFile();
    if (relative === null) return '';
    const info = await this.info(relative);
    return `${relative}|${info?.size}|${info?.mtimeMs}`;
  }

  /** Reads the run's model (see modelFile) with its checkpoint and config. */
  async readModel(): Promise<ModelFiles> {
    const latest = await this.latestCheckpoint();
    const config = await this.config();
    if (latest !== null) {
      const { runId: _runId, ...checkpoint } = await this.readCheckpoint(latest);
      return {
        modelFile: this.file(`${latest}/${MODEL_FILE}`),
        model: checkpoint.model,
        checkpoint,
        checkpointDir: this.file(latest),
        runDir: this.path,
        config,
      };
    }
    if (!(await this.exists(MODEL_FILE))) {
      throw new RunFileError(
        this.path,
        `${this.path} holds no model: no ${LATEST_FILE} pointer to a checkpoint and no ${MODEL_FILE} ` +
          "(expected a run directory written by 'mnist-lab train' or 'mnist-lab import', a checkpoint directory or a model.safetensors)",
      );
    }
    return {
      modelFile: this.file(MODEL_FILE),
      model: await this.read(MODEL_FILE, 'the run has no other copy of its model: import or train it again'),
      checkpoint: undefined,
      checkpointDir: undefined,
      runDir: this.path,
      config,
    };
  }

  /** evaluation.json (the latest evaluation's numbers), or undefined when there is none or it is unreadable. */
  async evaluation(): Promise<EvaluationRecord | undefined> {
    if (!(await this.exists(EVALUATION_FILE))) return undefined;
    try {
      return parseEvaluation(new TextDecoder().decode(await this.read(EVALUATION_FILE, '')));
    } catch {
      return undefined;
    }
  }

  /** Size and modification time of each of `names` ('-' when missing): a cache key that changes with them. */
  async fingerprint(names: readonly string[]): Promise<string> {
    const parts = await Promise.all(
      names.map(async (name) => {
        const info = await this.info(name);
        return info ? `${info.size}:${info.mtimeMs}` : '-';
      }),
    );
    return parts.join('|');
  }

  /** Who holds the run's lock (see lock.ts), or null when nobody does. */
  lockHolder(): ReturnType<typeof readRunLock> {
    return readRunLock(this.path);
  }
}

/**
 * The model at `path`: a run directory (its model, see RunDirectory.modelFile), a checkpoint
 * directory (runs/NAME/checkpoints/<step>) or a model.safetensors (in either, or alone). The run's
 * config.json comes with it when there is one.
 */
export async function readModelSource(path: string): Promise<ModelFiles> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw new RunFileError(
      path,
      `${path} ${readProblem(error)}; expected a run directory, a checkpoint directory or a model.safetensors`,
    );
  }
  const directory = info.isDirectory() ? path : dirname(path);
  const inCheckpoint = basename(dirname(directory)) === CHECKPOINTS_DIR && /^\d+$/.test(basename(directory));
  const runDir = inCheckpoint ? dirname(dirname(directory)) : directory;
  const run = RunDirectory.at(runDir);
  if (info.isDirectory() && !inCheckpoint && !(await RunDirectory.at(path).exists(STATE_FILE))) {
    return run.readModel();
  }
  const config = await run.config();
  const hasState = await RunDirectory.at(directory).exists(STATE_FILE);
  if (hasState) {
    const checkpoint = await readCheckpoint(directory);
    return {
      modelFile: join(directory, MODEL_FILE),
      model: checkpoint.model,
      checkpoint,
      checkpointDir: directory,
      runDir: inCheckpoint ? runDir : undefined,
      config,
    };
  }
  const modelFile = info.isDirectory() ? join(path, MODEL_FILE) : path;
  return {
    modelFile,
    model: await readPlain(
      modelFile,
      'expected a run directory, a checkpoint directory or a model.safetensors',
    ),
    checkpoint: undefined,
    checkpointDir: undefined,
    runDir: config ? runDir : undefined,
    config,
  };
}

/** The config.json that goes with a model path (as readModelSource finds it), without reading weights. */
export async function runConfigFor(path: string): Promise<RunConfig | undefined> {
  const info = await stat(path).catch(() => undefined);
  const directory = info?.isDirectory() ? path : dirname(path);
  const inCheckpoint = basename(dirname(directory)) === CHECKPOINTS_DIR && /^\d+$/.test(basename(directory));
  return RunDirectory.at(inCheckpoint ? dirname(dirname(directory)) : directory).config();
}
