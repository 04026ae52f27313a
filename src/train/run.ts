// Training's Node corner: modelFromFiles() (a Model from a run, a checkpoint or a model.safetensors,
// read by the runs layer; loadModel, src/loading/node.ts, is it with every class), the divergence error that names the last good checkpoint, and the file-writing
// callbacks wired to Node's file access. The browser-safe trainer and callbacks import none of this:
// they get a RunStore (fit({run})) or a FileAccess from their caller.
import { getLoss } from '../losses/index.js';
import type { LayerClasses } from '../nn/layer.js';
import { getOptimizer } from '../optim/index.js';
import { RunDirectory, type ModelFiles } from '../runs/node/directory.js';
import { nodeFiles } from '../runs/node/files.js';
import { OPTIMIZER_FILE } from '../runs/layout.js';
import {
  CsvLogger,
  JsonlLogger,
  ModelCheckpoint,
  type CsvLoggerOptions,
  type JsonlLoggerOptions,
  type ModelCheckpointOptions,
} from './callbacks/index.js';
import { TrainingDivergedError } from './callbacks/terminate-on-nan.js';
import { restoreOptimizer } from './checkpoint.js';
import { decodeModel } from './model-file.js';
import { restoreInputNormalization, savedInputNormalization } from './legacy-normalization.js';
import type { Model } from './model.js';
import type { FitHistory, MetricName } from './types.js';

/**
 * A Model from what the runs layer read: architecture and weights from model.safetensors (its
 * classes looked up in `layers`, see decodeModel); with the run's config.json at hand, compiled
 * with the run's loss and optimizer (and, from a checkpoint, the optimizer's state), with an old
 * run's input normalisation put back in front.
 */
export function modelFromFiles(files: ModelFiles, layers: LayerClasses): Model {
  const model = decodeModel(files.model, layers, files.modelFile);
  const training = files.config?.training;
  if (training?.optimizer && training.loss) {
    const optimizer = getOptimizer(training.optimizer);
    model.compile({
      optimizer,
      loss: getLoss(training.loss),
      metrics: (training.metrics as MetricName[] | undefined) ?? ['accuracy'],
    });
    if (files.checkpoint && files.checkpointDir) {
      const params = model.trainableWeights.map((w) => w.value);
      restoreOptimizer(
        optimizer,
        files.checkpoint.optimizer,
        params,
        `${files.checkpointDir}/${OPTIMIZER_FILE}`,
      );
    }
  }
  // A run saved before models carried their input normalisation: its config.json has it.
  return files.config ? restoreInputNormalization(model, savedInputNormalization(files.config)) : model;
}

/**
 * Throws TrainingDivergedError when a fit into `runDir` ended diverged (its stopReason, set by
 * TerminateOnNaN): the stop's message (naming the step), after `stage: ` when given, then the last
 * good checkpoint, or that none was written. `runDir` undefined: this process holds no run (a
 * data-parallel process other than 0, which stops alike): the message alone. The one place
 * divergence becomes an error.
 */
export async function throwIfDiverged(
  history: Pick<FitHistory, 'stopReason' | 'stopMessage'> | undefined,
  runDir: string | undefined,
  stage?: string,
): Promise<void> {
  if (history?.stopReason !== 'diverged') return;
  const message = `${stage ? `${stage}: ` : ''}${history.stopMessage}`;
  if (runDir === undefined) throw new TrainingDivergedError(message);
  const run = RunDirectory.at(runDir);
  const latest = await run.latestCheckpoint().catch(() => null);
  throw new TrainingDivergedError(
    `${message}; ` +
      (latest ? `the last good checkpoint is ${run.file(latest)}` : `no checkpoint was written in ${runDir}`),
  );
}

// ---- the file-writing callbacks with Node's file access (what the package entry exports) ----

/** Keras CSVLogger writing `path` on Node (or a sink). */
export function csvLogger(options: CsvLoggerOptions): CsvLogger {
  return new CsvLogger({ files: nodeFiles, ...options });
}

/** One JSON event per line to `path` on Node (or a sink). */
export function jsonlLogger(options: JsonlLoggerOptions): JsonlLogger {
  return new JsonlLogger({ files: nodeFiles, ...options });
}

/** ModelCheckpoint writing <directory>/{best,last}/model.safetensors on Node (or a save function). */
export function modelCheckpoint(options: ModelCheckpointOptions): ModelCheckpoint {
  return new ModelCheckpoint({ files: nodeFiles, ...options });
}
