// RunWriter: a run directory as a RunStore (what fit({run}) writes through), opened with openRun().
// It holds the run's lock while it writes, writes every file atomically with `latest` moved last,
// and prunes only checkpoints this run wrote: state.json names the run (config.json runId) and the
// directory holds nothing but a checkpoint's own files.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, readdir, rmdir, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKPOINT_FILES,
  CONFIG_FILE,
  LATEST_FILE,
  METRICS_FILE,
  MODEL_FILE,
  OPTIMIZER_FILE,
  STATE_FILE,
  checkpointPointer,
} from '../layout.js';
import type { CheckpointData, RunConfig, RunEvent, RunStore } from '../types.js';
import { sha256Hex } from '../../data/node/files.js';
import { RunDirectory, type StoredState } from './directory.js';
import { writeFileAtomic } from './files.js';
import { claimFolder } from './folder.js';
import { acquireRunLock, type RunLock } from './lock.js';

/** Per-batch metrics.jsonl lines written together (see RunWriter.appendEvent). */
export const METRICS_BATCH_LINES = 50;
/** ...or after this many milliseconds, so live readers (the server's event stream) stay current. */
export const METRICS_FLUSH_MS = 250;

/** Temp files of the atomic writer inside a checkpoint directory (a crash mid-write leaves one). */
const CHECKPOINT_TEMP = /^\.(?:model\.safetensors|optimizer\.safetensors|state\.json)\.tmp-\d+-[0-9a-f]+$/;

export interface OpenRunOptions {
  /** Continue the run in the folder (it must hold one). Default: a new run (the folder must be missing or empty). */
  resume?: boolean;
  /** What writes the run, shown to a second process. Default 'mnist-lab'. */
  command?: string;
  /** Told when a stale lock is taken over. Default: a line on stderr. */
  onTakeover?: (line: string) => void;
}

/**
 * Opens run directory `directory` for writing and locks it (re-entrant within this process: a
 * caller that holds the lock already keeps it). Throws RunFolderError when the folder is not what
 * `resume` says, RunLockedError when another process writes it.
 */
export async function openRun(directory: string, options: OpenRunOptions = {}): Promise<RunWriter> {
  const command = options.command ?? 'mnist-lab';
  const lockOptions = { command, ...(options.onTakeover ? { onTakeover: options.onTakeover } : {}) };
  const { lock } = await claimFolder(directory, {
    mode: options.resume ? 'resume' : 'new',
    ...lockOptions,
  });
  let runId: string = randomUUID();
  if (options.resume) {
    const config = await RunDirectory.at(directory).config();
    if (config?.runId) runId = config.runId;
    else if (config) {
      // A run of an earlier version: it gets its id now (its older checkpoints are never pruned).
      await writeFileAtomic(
        join(directory, CONFIG_FILE),
        JSON.stringify({ ...config, runId }, null, 2) + '\n',
      );
    }
  }
  return new RunWriter(directory, runId, lock as RunLock, lockOptions);
}

/** A run directory as a RunStore; see openRun(). */
export class RunWriter implements RunStore {
  private metrics: FileHandle | undefined;
  /** metrics.jsonl lines not yet written: batch events are written METRICS_BATCH_LINES at a time. */
  private pending: string[] = [];
  private lastWrite = 0;
  private lock: RunLock | undefined;

  constructor(
    readonly location: string,
    /** config.json runId: every checkpoint's state.json carries it. */
    readonly runId: string,
    lock: RunLock,
    private readonly lockOptions: { command: string; onTakeover?: (line: string) => void },
  ) {
    this.lock = lock;
  }

  /** The reader of the same directory. */
  get reader(): RunDirectory {
    return RunDirectory.at(this.location);
  }

  /** Writing after close() (a second fit() into the same run) takes the lock again. */
  private async locked(): Promise<void> {
    this.lock ??= await acquireRunLock(this.location, this.lockOptions);
  }

  async writeConfig(config: RunConfig): Promise<void> {
    await this.locked();
    await writeFileAtomic(
      join(this.location, CONFIG_FILE),
      JSON.stringify({ ...config, runId: this.runId }, null, 2) + '\n',
    );
  }

  async appendEvent(event: RunEvent): Promise<void> {
    if (!this.metrics) {
      await this.locked();
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
    await this.locked();
    const relative = checkpointPointer(checkpoint.state.step);
    const directory = join(this.location, relative);
    await writeFileAtomic(join(directory, MODEL_FILE), checkpoint.model);
    await writeFileAtomic(join(directory, OPTIMIZER_FILE), checkpoint.optimizer);
    const stored: StoredState = {
      ...checkpoint.state,
      runId: this.runId,
      files: {
        [MODEL_FILE]: { bytes: checkpoint.model.length, sha256: sha256Hex(checkpoint.model) },
        [OPTIMIZER_FILE]: { bytes: checkpoint.optimizer.length, sha256: sha256Hex(checkpoint.optimizer) },
      },
    };
    await writeFileAtomic(join(directory, STATE_FILE), JSON.stringify(stored) + '\n');
    await this.flushMetrics();
    await this.metrics?.sync(); // metrics up to this checkpoint are durable with it
    await writeFileAtomic(join(this.location, LATEST_FILE), relative + '\n');
    await this.prune(checkpoint.state.step, keep);
    return directory;
  }

  /** True when checkpoint directory `directory` was written by this run and holds nothing else. */
  private async ownCheckpoint(directory: string): Promise<string[] | undefined> {
    try {
      const state = JSON.parse(await readFile(join(directory, STATE_FILE), 'utf8')) as { runId?: unknown };
      if (state.runId !== this.runId) return undefined;
      const entries = await readdir(directory);
      const foreign = entries.some((name) => !CHECKPOINT_FILES.includes(name) && !CHECKPOINT_TEMP.test(name));
      return foreign ? undefined : entries;
    } catch {
      return undefined;
    }
  }

  /**
   * Removes all but the `keep` newest checkpoints (never the one `latest` names), each only when
   * this run wrote it; a checkpoint directory holding anything else is left as it is.
   */
  private async prune(latestStep: number, keep: number): Promise<void> {
    const steps = (await this.reader.checkpointSteps()).sort((a, b) => b - a);
    for (const step of steps.slice(Math.max(keep, 1))) {
      if (step === latestStep) continue;
      const directory = join(this.location, checkpointPointer(step));
      const entries = await this.ownCheckpoint(directory);
      if (!entries) continue;
      for (const name of entries) await unlink(join(directory, name)).catch(() => undefined);
      await rmdir(directory).catch(() => undefined); // not empty (a file appeared meanwhile): left
    }
  }

  loadLatestCheckpoint(): Promise<CheckpointData | null> {
    return this.reader.loadLatestCheckpoint();
  }

  /** Writes what is buffered, makes metrics.jsonl durable and releases this writer's hold on the lock. */
  async close(): Promise<void> {
    try {
      await this.flushMetrics();
      const metrics = this.metrics;
      this.metrics = undefined;
      if (metrics) {
        await metrics.sync();
        await metrics.close();
      }
    } finally {
      const lock = this.lock;
      this.lock = undefined;
      await lock?.release();
    }
  }
}
