// The run directory's layout (DESIGN.md "Checkpoints and runs"): file names and the checks of what
// is read back. The one place that knows them; src/runs/node/ reads and writes them. Browser-safe.
//
//   <run>/config.json                 RunConfig: model, training config, versions, runId
//   <run>/metrics.jsonl               one training event per line
//   <run>/checkpoints/<step>/model.safetensors
//   <run>/checkpoints/<step>/optimizer.safetensors
//   <run>/checkpoints/<step>/state.json   TrainState + runId + SHA-256 of the two files
//   <run>/latest                      "checkpoints/<step>": written last, after the files it names
//   <run>/model.safetensors           the model of an imported run (no checkpoints)
//   <run>/report.html, <run>/report/  the evaluation report (and its PNG charts)
//   <run>/evaluation.json             EvaluationRecord: the report's numbers as data
//   <run>/run.lock                    LockRecord: the process writing the run (absent when none)
//   <run>/serve-train.log             output of a run the server started
//
// A run's model: the model.safetensors of the checkpoint `latest` names, else <run>/model.safetensors.
import type { EvaluationRecord, LockRecord, RunConfig, RunNormalize, RunRecipe } from './types.js';

export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const CHECKPOINTS_DIR = 'checkpoints';
export const LATEST_FILE = 'latest';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const STATE_FILE = 'state.json';
export const REPORT_FILE = 'report.html';
export const REPORT_PNG_DIR = 'report';
export const EVALUATION_FILE = 'evaluation.json';
export const LOCK_FILE = 'run.lock';
export const SERVE_LOG_FILE = 'serve-train.log';

export const RUN_FORMAT = 'mnist-lab/run@1';
export const STATE_FORMAT = 'mnist-lab/train-state@1';
export const EVALUATION_FORMAT = 'mnist-lab/evaluation@1';

/** The files of one checkpoint directory: pruning removes a checkpoint only when it holds no others. */
export const CHECKPOINT_FILES: readonly string[] = [MODEL_FILE, OPTIMIZER_FILE, STATE_FILE];

/** Entries a folder may hold and still count as empty for a new run: the lock, the server's log. */
export const NEW_RUN_ENTRIES: readonly string[] = [LOCK_FILE, SERVE_LOG_FILE];

/** A run directory's default name: `<kind>-<name>-<UTC time to the second>`, e.g. cnn-mnist-2026-11-29_10-12-51. */
export function runDirName(kind: string, name: string, at: Date = new Date()): string {
  return `${kind}-${name.replace(/[^a-z0-9-]+/gi, '_')}-${timeStamp(at)}`;
}

/** UTC time to the second, usable in a file name: 2026-11-29_10-12-51. */
export function timeStamp(at: Date = new Date()): string {
  return at.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
}

/** The checkpoint directory name for a step: checkpoints/<step>. */
export function checkpointPointer(step: number): string {
  return `${CHECKPOINTS_DIR}/${step}`;
}

/** The step `latest` names ("checkpoints/<step>"), or a message saying what was found instead. */
export function parseLatest(text: string): { step: number } | { problem: string } {
  const relative = text.trim();
  const match = /^checkpoints\/(\d+)$/.exec(relative);
  if (!match)
    return { problem: `expected 'checkpoints/<step>', found ${JSON.stringify(relative.slice(0, 80))}` };
  return { step: Number(match[1]) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function normalizeOf(value: unknown): RunNormalize | undefined {
  if (!isRecord(value)) return undefined;
  const { mean, std } = value;
  return typeof mean === 'number' && typeof std === 'number' && std > 0 ? { mean, std } : undefined;
}

/** runConfig.recipe as far as it is well formed (a hand-edited file loses only its bad fields). */
function recipeOf(value: unknown): RunRecipe | undefined {
  if (!isRecord(value) || typeof value['dataset'] !== 'string') return undefined;
  const classes = value['classes'];
  const names = value['classNames'];
  const normalize = normalizeOf(value['normalize']);
  return {
    ...(typeof value['model'] === 'string' ? { model: value['model'] } : {}),
    dataset: value['dataset'],
    ...(Array.isArray(classes) && classes.length > 0 && classes.every((k) => Number.isInteger(k) && k >= 0)
      ? { classes: classes as number[] }
      : {}),
    ...(Array.isArray(names) && names.length > 0 && names.every((name) => typeof name === 'string')
      ? { classNames: names as string[] }
      : {}),
    ...(normalize ? { normalize } : {}),
  };
}

/**
 * config.json's text as a RunConfig, or a message saying what is wrong with it. A run written by an
 * earlier version (no runId) parses. `strict` (deciding whether a folder holds a run, before writing
 * into it) also requires the run format, so `{}` or another tool's config.json is not a run; readers
 * accept a JSON object without a format (a config written by hand) and use what it says.
 */
export function parseRunConfig(
  text: string,
  options: { strict?: boolean } = {},
): { config: RunConfig } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: `not valid JSON (${(error as Error).message})` };
  }
  if (!isRecord(value)) return { problem: 'expected a JSON object' };
  const format = value['format'];
  if (format !== RUN_FORMAT && (options.strict || format !== undefined)) {
    return {
      problem: `not an mnist-lab run config (format ${JSON.stringify(format ?? null)}, expected '${RUN_FORMAT}')`,
    };
  }
  const config = { ...value, format: RUN_FORMAT } as unknown as RunConfig;
  const runConfig = value['runConfig'];
  if (isRecord(runConfig)) {
    const recipe = recipeOf(runConfig['recipe']);
    const { recipe: _recipe, ...rest } = runConfig;
    config.runConfig = { ...rest, ...(recipe ? { recipe } : {}) };
  } else delete config.runConfig;
  if (typeof value['runId'] !== 'string') delete config.runId;
  if (typeof value['createdAt'] !== 'string') delete config.createdAt;
  return { config };
}

/** evaluation.json's text as an EvaluationRecord, or undefined when it is not one. */
export function parseEvaluation(text: string): EvaluationRecord | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (
      isRecord(value) &&
      value['format'] === EVALUATION_FORMAT &&
      typeof value['accuracy'] === 'number' &&
      typeof value['split'] === 'string'
    ) {
      return value as unknown as EvaluationRecord;
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** run.lock's text as a LockRecord, or undefined (empty: being written; garbage: not ours). */
export function parseLock(text: string): LockRecord | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (
      isRecord(value) &&
      Number.isInteger(value['pid']) &&
      typeof value['host'] === 'string' &&
      typeof value['since'] === 'string'
    ) {
      return {
        pid: value['pid'] as number,
        host: value['host'],
        since: value['since'],
        command: typeof value['command'] === 'string' ? value['command'] : 'unknown',
      };
    }
  } catch {
    // not JSON
  }
  return undefined;
}
