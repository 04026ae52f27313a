// The runs under the server's runs directory, as the API shows them: a summary per run (from
// config.json, metrics.jsonl, `latest` and report.html) and a run's detail. A directory is a run
// when it holds config.json or metrics.jsonl; a run whose files are unreadable is listed as
// 'failed' rather than failing the list.
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  REPORT_FILE,
  latestCheckpointDir,
  readRunEvents,
  recipeClassNames,
  type EpochEndEvent,
  type RunRecipe,
  type TrainEvent,
} from '../index.js';
import { HttpError } from './http.js';
import type { EpochRecord, RunDetail, RunStatus, RunSummary } from './api-types.js';

export type { EpochRecord, RunDetail, RunStatus, RunSummary };

/** What the training supervisor knows about a run it started (it may have no files yet). */
export interface SupervisedRun {
  state: 'running' | 'finished' | 'failed';
  model: string;
  dataset: string;
  createdAt: string;
}

/** A metrics.jsonl written to within this long counts as a run in progress (e.g. a CLI run). */
const LIVE_WINDOW_MS = 30_000;
const RUN_ID = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
/** The evaluation table's summary row in report.html (src/eval/report.ts). */
const REPORT_ACCURACY = /<tr class="average"><td>accuracy<\/td><td><\/td><td><\/td><td>([0-9.]+)<\/td>/;

interface RunConfigFile {
  createdAt?: string;
  model?: { className?: string; config?: { name?: string } };
  runConfig?: { recipe?: RunRecipe };
}

interface CachedSummary {
  key: string;
  summary: Omit<RunSummary, 'status'> & { ended: RunStatus | undefined; live: boolean };
}

export class RunCatalog {
  private readonly cache = new Map<string, CachedSummary>();

  constructor(
    readonly runsDir: string,
    private readonly supervised: (id: string) => SupervisedRun | undefined,
  ) {}

  /** The directory of run `id`; 404 for a name that is not a run directory here. */
  runDir(id: string): string {
    const directory = join(this.runsDir, id);
    if (!RUN_ID.test(id) || (!this.isRunDir(directory) && !this.supervised(id))) {
      throw new HttpError(
        404,
        `no run '${id.slice(0, 200)}' in the runs directory (GET /api/runs lists them)`,
      );
    }
    return directory;
  }

  private isRunDir(directory: string): boolean {
    return existsSync(join(directory, 'config.json')) || existsSync(join(directory, 'metrics.jsonl'));
  }

  /** True while run `id` may still append events: its server child runs, or a writer touched it lately. */
  async isLive(id: string): Promise<boolean> {
    const supervised = this.supervised(id);
    if (supervised) return supervised.state === 'running';
    const modified = await stat(join(this.runsDir, id, 'metrics.jsonl')).then(
      (info) => info.mtimeMs,
      () => 0,
    );
    return Date.now() - modified < LIVE_WINDOW_MS;
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
      const directory = join(this.runsDir, id);
      if (!this.isRunDir(directory) && !this.supervised(id)) continue;
      summaries.push(await this.summary(id));
    }
    return summaries.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
  }

  private newest: { id: string | undefined; at: number } | undefined;

  /** The newest run with a checkpoint, or undefined (rechecked at most once a second). */
  async newestWithModel(): Promise<string | undefined> {
    if (!this.newest || performance.now() - this.newest.at > 1000) {
      const id = (await this.list()).find((run) => run.hasModel)?.id;
      this.newest = { id, at: performance.now() };
    }
    return this.newest.id;
  }

  async summary(id: string): Promise<RunSummary> {
    const directory = join(this.runsDir, id);
    const key = await this.cacheKey(directory);
    let cached = this.cache.get(id);
    if (!cached || cached.key !== key) {
      cached = { key, summary: await this.readSummary(id, directory) };
      this.cache.set(id, cached);
    }
    const { ended, live, ...summary } = cached.summary;
    return { ...summary, status: this.status(id, ended, live) };
  }

  private status(id: string, ended: RunStatus | undefined, live: boolean): RunStatus {
    const supervised = this.supervised(id);
    if (supervised?.state === 'running') return 'running';
    if (ended) return ended;
    if (supervised?.state === 'failed') return 'failed';
    return live ? 'running' : 'failed';
  }

  /** Changes whenever a file the summary reads changes; the clock for the live window. */
  private async cacheKey(directory: string): Promise<string> {
    const parts = await Promise.all(
      ['config.json', 'metrics.jsonl', 'latest', REPORT_FILE].map(async (name) => {
        try {
          const info = await stat(join(directory, name));
          return `${info.size}:${info.mtimeMs}`;
        } catch {
          return '-';
        }
      }),
    );
    return `${parts.join('|')}|${Math.floor(Date.now() / LIVE_WINDOW_MS)}`;
  }

  private async readSummary(id: string, directory: string): Promise<CachedSummary['summary']> {
    const config = (await readJson(join(directory, 'config.json'))) as RunConfigFile | undefined;
    const recipe = config?.runConfig?.recipe;
    const supervised = this.supervised(id);
    const events = await readRunEvents(directory);
    const history = epochHistory(events);
    const trainEnd = [...events].reverse().find((e) => e.type === 'trainEnd');
    let ended: RunStatus | undefined;
    if (trainEnd) ended = trainEnd.stopReason === 'interrupted' ? 'stopped' : 'finished';
    if (config === undefined && existsSync(join(directory, 'config.json'))) ended = 'failed'; // corrupt
    const hasReport = existsSync(join(directory, REPORT_FILE));
    let hasModel = false;
    try {
      const checkpoint = await latestCheckpointDir(directory);
      hasModel = checkpoint !== null && existsSync(join(checkpoint, 'model.safetensors'));
    } catch {
      hasModel = false; // a corrupt `latest` pointer
    }
    const validation = history.flatMap((h) => (h.valAccuracy === undefined ? [] : [h.valAccuracy]));
    const trainAccuracy = history.map((h) => h.accuracy);
    const testAccuracy = hasReport && validation.length === 0 ? await reportAccuracy(directory) : undefined;
    const best = validation.length > 0 ? Math.max(...validation) : (testAccuracy ?? maxOrNull(trainAccuracy));
    let live = false;
    try {
      live = Date.now() - (await stat(join(directory, 'metrics.jsonl'))).mtimeMs < LIVE_WINDOW_MS;
    } catch {
      live = false;
    }
    const named = [recipe?.model, config?.model?.config?.name, config?.model?.className, supervised?.model];
    const classes = recipe?.classes;
    return {
      id,
      model: named.find((name): name is string => typeof name === 'string') ?? 'unknown',
      dataset: textOrNull(recipe?.dataset) ?? supervised?.dataset ?? null,
      classes: Array.isArray(classes) && classes.every(Number.isInteger) ? classes : null,
      createdAt:
        textOrNull(config?.createdAt) ?? supervised?.createdAt ?? (await stat(directory)).mtime.toISOString(),
      epochs: history.length,
      bestAccuracy: best,
      hasModel,
      hasReport,
      ended,
      live,
    };
  }

  async detail(id: string): Promise<RunDetail> {
    const directory = this.runDir(id);
    const run = await this.summary(id);
    const config = ((await readJson(join(directory, 'config.json'))) ?? {}) as Record<string, unknown>;
    const recipe = (config as RunConfigFile).runConfig?.recipe;
    return {
      run,
      config,
      history: epochHistory(await readRunEvents(directory)),
      classNames: recipeClassNames(recipe) ?? Array.from({ length: 10 }, (_, k) => String(k)),
      normalize: recipe?.normalize ?? null,
    };
  }
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

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function maxOrNull(values: number[]): number | null {
  const finite = values.filter(Number.isFinite);
  return finite.length > 0 ? Math.max(...finite) : null;
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

async function reportAccuracy(directory: string): Promise<number | undefined> {
  try {
    const match = REPORT_ACCURACY.exec(await readFile(join(directory, REPORT_FILE), 'utf8'));
    const value = match ? Number(match[1]) : NaN;
    return Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
