// The runs under the server's runs directory, as the API shows them: a summary per run and a run's
// detail, read through the runs layer (RunDirectory, confined: symbolic links and files whose real
// path leaves the runs directory are never read). A directory is a run when it holds config.json or
// metrics.jsonl; a run whose files are unreadable is listed as 'failed' rather than failing the list.
//
// Status: 'running' while a process writes the run's training (its lock is held by a live process,
// the server's child runs, or, for writers without a lock, metrics.jsonl changed within
// LIVE_WINDOW_MS); 'evaluating' after training ended while that process still evaluates and writes
// the report; then 'finished' or 'stopped' (a final trainEnd event), else 'failed'. An imported
// run (a model, no training events) is 'finished'.
//
// bestAccuracy (accuracyKind says which): for a run that validates, its best validation accuracy;
// otherwise the test accuracy of its evaluation (evaluation.json), null until it is evaluated.
// Training accuracy is never shown there.
import { readdir } from 'node:fs/promises';
import { sep } from 'node:path';
import { type EpochEndEvent, type TrainEvent } from '../index.js';
import { recipeClassNames } from '../predict/node/run-recipe.js';
import {
  CONFIG_FILE,
  EVALUATION_FILE,
  LATEST_FILE,
  METRICS_FILE,
  MODEL_FILE,
  REPORT_FILE,
} from '../runs/layout.js';
import { RunDirectory } from '../runs/node/directory.js';
import type { RunConfig } from '../runs/types.js';
import { HttpError } from './http.js';
import type { AccuracyKind, EpochRecord, RunDetail, RunStatus, RunSummary } from './api-types.js';

export type { AccuracyKind, EpochRecord, RunDetail, RunStatus, RunSummary };

/** What the training supervisor knows about a run it started (it may have no files yet). */
export interface SupervisedRun {
  state: 'running' | 'finished' | 'failed';
  model: string;
  dataset: string;
  createdAt: string;
}

/** A metrics.jsonl written to within this long counts as a run in progress when no lock says so. */
const LIVE_WINDOW_MS = 30_000;
const RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
/** The files a summary is read from: it is read again when one of them changes (size or time). */
const SUMMARY_FILES = [CONFIG_FILE, METRICS_FILE, LATEST_FILE, MODEL_FILE, EVALUATION_FILE, REPORT_FILE];

/** A run's files as last read: the summary's fields that do not depend on the clock, and the detail. */
interface RunRead {
  key: string;
  config: RunConfig | undefined;
  history: EpochRecord[];
  /** From the last trainEnd after the last trainBegin. */
  ended: 'finished' | 'stopped' | undefined;
  /** Training events were written (an imported run has none). */
  trained: boolean;
  /** Unreadable files: the run is 'failed' whatever else it says. */
  broken: boolean;
  hasModel: boolean;
  hasReport: boolean;
  bestAccuracy: number | null;
  accuracyKind: AccuracyKind;
  createdAt: string;
  metricsModified: number;
}

export class RunCatalog {
  private readonly cache = new Map<string, RunRead>();

  constructor(
    readonly runsDir: string,
    private readonly supervised: (id: string) => SupervisedRun | undefined,
  ) {}

  /** Run `id`, confined to the runs directory; 404 for a name that is not a run directory here. */
  async run(id: string): Promise<RunDirectory> {
    const run = RUN_ID.test(id) ? await RunDirectory.within(this.runsDir, id) : undefined;
    if (run && ((await this.isRunDir(run)) || this.supervised(id))) return run;
    throw new HttpError(404, `no run '${id.slice(0, 200)}' in the runs directory (GET /api/runs lists them)`);
  }

  /** The directory of run `id` (see run()). */
  async runDir(id: string): Promise<string> {
    return (await this.run(id)).path;
  }

  /** 404 unless `relative` of run `id` is a file the server may read (not a link, inside the run). */
  async checkServable(id: string, relative: string): Promise<string | undefined> {
    const run = await this.run(id);
    if (!(await run.exists(relative))) return undefined;
    try {
      return await run.servablePath(relative);
    } catch (error) {
      throw new HttpError(404, `run '${id}': ${this.withoutPaths((error as Error).message)}`);
    }
  }

  /** The real path of run `id`'s model file to send; 404 when it has none the server may read. */
  async modelPath(id: string): Promise<string> {
    const run = await this.run(id);
    try {
      const relative = await run.modelFile();
      if (relative !== null) return await run.servablePath(relative);
    } catch (error) {
      throw new HttpError(404, `run '${id}': ${this.withoutPaths((error as Error).message)}`);
    }
    throw new HttpError(404, `run '${id}' has no model yet (no checkpoint, no model.safetensors)`);
  }

  private async isRunDir(run: RunDirectory): Promise<boolean> {
    return (await run.exists(CONFIG_FILE)) || (await run.exists(METRICS_FILE));
  }

  /** True while run `id` may still append events: its writer lives, or its server child runs. */
  async isLive(id: string): Promise<boolean> {
    const run = await this.run(id);
    return (await this.writerAlive(id, run)) ?? (await this.recentlyWritten(run));
  }

  /**
   * Whether a live process writes run `id`: true/false from its lock or the server's child,
   * undefined when neither says (a writer without a lock).
   */
  private async writerAlive(id: string, run: RunDirectory): Promise<boolean | undefined> {
    if (this.supervised(id)?.state === 'running') return true;
    const holder = await run.lockHolder();
    // An unreadable lock (a writer that died creating it) says nothing: the clock decides.
    if (holder?.record) return holder.state !== 'gone';
    return undefined;
  }

  private async recentlyWritten(run: RunDirectory): Promise<boolean> {
    const info = await run.info(METRICS_FILE);
    return info !== undefined && Date.now() - info.mtimeMs < LIVE_WINDOW_MS;
  }

  /** Every run, newest first. */
  async list(): Promise<RunSummary[]> {
    let names: string[];
    try {
      names = (await readdir(this.runsDir, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory() && RUN_ID.test(entry.name))
        .map((entry) => entry.name);
    } catch {
      names = []; // no runs directory yet: no runs
    }
    const summaries: RunSummary[] = [];
    for (const id of names) {
      const run = await RunDirectory.within(this.runsDir, id);
      if (!run || (!(await this.isRunDir(run)) && !this.supervised(id))) continue;
      summaries.push(await this.summaryOf(id, run));
    }
    return summaries.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  private withModel: { ids: Promise<string[]>; at: number } | undefined;

  /**
   * Ids of the runs that have a model, newest first (candidates for a prediction without ?run=);
   * listed again at most once a second.
   */
  runsWithModel(): Promise<string[]> {
    if (!this.withModel || performance.now() - this.withModel.at > 1000) {
      const ids = this.list().then((runs) => runs.filter((run) => run.hasModel).map((run) => run.id));
      this.withModel = { ids, at: performance.now() };
      ids.catch(() => (this.withModel = undefined));
    }
    return this.withModel.ids;
  }

  async summary(id: string): Promise<RunSummary> {
    return this.summaryOf(id, await this.run(id));
  }

  private async summaryOf(id: string, run: RunDirectory, read?: RunRead): Promise<RunSummary> {
    read ??= await this.read(id, run);
    return {
      id,
      model: modelName(read.config) ?? this.supervised(id)?.model ?? 'unknown',
      dataset: read.config?.runConfig?.recipe?.dataset ?? this.supervised(id)?.dataset ?? null,
      classes: read.config?.runConfig?.recipe?.classes ?? null,
      createdAt: read.createdAt,
      status: await this.status(id, run, read),
      epochs: read.history.length,
      bestAccuracy: read.bestAccuracy,
      accuracyKind: read.accuracyKind,
      hasModel: read.hasModel,
      hasReport: read.hasReport,
    };
  }

  private async status(id: string, run: RunDirectory, read: RunRead): Promise<RunStatus> {
    const supervised = this.supervised(id);
    const writer = await this.writerAlive(id, run);
    if (read.broken && !writer) return 'failed';
    if (read.ended === 'stopped') return 'stopped';
    if (read.ended === 'finished') return writer ? 'evaluating' : 'finished';
    if (writer) return 'running';
    if (writer === undefined && Date.now() - read.metricsModified < LIVE_WINDOW_MS) return 'running';
    if (supervised?.state === 'failed') return 'failed';
    return !read.trained && read.hasModel && !read.broken ? 'finished' : 'failed';
  }

  /** The run's files, read again only when one of them changed (SUMMARY_FILES' sizes and times). */
  private async read(id: string, run: RunDirectory): Promise<RunRead> {
    const key = await run.fingerprint(SUMMARY_FILES);
    const cached = this.cache.get(id);
    if (cached && cached.key === key) return cached;
    const read = await this.readFiles(id, run, key);
    this.cache.set(id, read);
    return read;
  }

  private async readFiles(id: string, run: RunDirectory, key: string): Promise<RunRead> {
    let broken = false;
    const config = await run.config().catch(() => {
      broken = true;
      return undefined;
    });
    const events = await run.events<TrainEvent>().catch(() => {
      broken = true;
      return [] as TrainEvent[];
    });
    const history = epochHistory(events);
    let lastBegin = -1;
    let lastEnd = -1;
    events.forEach((event, i) => {
      if (event.type === 'trainBegin') lastBegin = i;
      if (event.type === 'trainEnd') lastEnd = i;
    });
    const trainEnd =
      lastEnd > lastBegin ? (events[lastEnd] as Extract<TrainEvent, { type: 'trainEnd' }>) : undefined;
    const ended = trainEnd ? (trainEnd.stopReason === 'interrupted' ? 'stopped' : 'finished') : undefined;
    const hasModel = await run.modelFile().then(
      (file) => file !== null,
      () => {
        broken = true; // a broken `latest`
        return false;
      },
    );
    const fit = config?.training?.fit ?? {};
    const validates =
      history.some((h) => h.valAccuracy !== undefined) ||
      (typeof fit['validationSplit'] === 'number' && fit['validationSplit'] > 0) ||
      fit['validationData'] === true;
    let bestAccuracy: number | null = null;
    let accuracyKind: AccuracyKind;
    if (validates) {
      accuracyKind = 'validation';
      const values = history.flatMap((h) => (h.valAccuracy === undefined ? [] : [h.valAccuracy]));
      bestAccuracy = maxOrNull(values);
    } else {
      accuracyKind = 'test';
      const evaluation = await run.evaluation();
      if (evaluation?.split === 'test' && Number.isFinite(evaluation.accuracy))
        bestAccuracy = evaluation.accuracy;
    }
    const metrics = await run.info(METRICS_FILE);
    const created =
      config?.createdAt ??
      this.supervised(id)?.createdAt ??
      (await run.info('.'))?.mtime.toISOString() ??
      new Date(0).toISOString();
    return {
      key,
      config,
      history,
      ended,
      trained: events.length > 0,
      broken,
      hasModel,
      hasReport: (await run.info(REPORT_FILE))?.isFile() === true,
      bestAccuracy,
      accuracyKind,
      createdAt: created,
      metricsModified: metrics?.mtimeMs ?? 0,
    };
  }

  /** A run's detail, from what its summary read (nothing is read twice). */
  async detail(id: string): Promise<RunDetail> {
    const run = await this.run(id);
    const read = await this.read(id, run);
    const summary = await this.summaryOf(id, run, read);
    const recipe = read.config?.runConfig?.recipe;
    return {
      run: summary,
      config: (read.config ?? {}) as unknown as Record<string, unknown>,
      history: read.history,
      classNames: recipeClassNames(recipe) ?? Array.from({ length: 10 }, (_, k) => String(k)),
      normalize: recipe?.normalize ?? null,
    };
  }

  /** `message` without the server's own paths: files are named relative to the runs directory. */
  withoutPaths(message: string): string {
    return message.split(this.runsDir + sep).join('');
  }
}

function modelName(config: RunConfig | undefined): string | undefined {
  const named = [config?.runConfig?.recipe?.model, config?.model?.config?.['name'], config?.model?.className];
  return named.find((name): name is string => typeof name === 'string');
}

/** One row per epoch (a resumed run's repeated epoch keeps its last values), in epoch order. */
export function epochHistory(events: readonly TrainEvent[]): EpochRecord[] {
  const byEpoch = new Map<number, EpochRecord>();
  for (const event of events) {
    if (event.type !== 'epochEnd') continue;
    const e: EpochEndEvent = event;
    byEpoch.set(e.epoch, {
      epoch: e.epoch,
      loss: e.loss,
      accuracy: e.accuracy,
      ...(e.valLoss !== undefined ? { valLoss: e.valLoss } : {}),
      ...(e.valAccuracy !== undefined ? { valAccuracy: e.valAccuracy } : {}),
      ...(e.lr !== undefined ? { lr: e.lr } : {}),
    });
  }
  return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
}

function maxOrNull(values: number[]): number | null {
  const finite = values.filter(Number.isFinite);
  return finite.length > 0 ? Math.max(...finite) : null;
}
