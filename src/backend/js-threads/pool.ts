// The worker_threads pool of the threaded js backend (Node only). `threads - 1` workers plus the
// main thread run each job's tasks (src/backend/js-threads/protocol.ts); the main thread blocks in
// Atomics.wait until all are done, so a kernel call stays synchronous like every other kernel.
//
// - Workers start lazily, on the first job big enough to split, and in the background: jobs run on
//   the main thread alone until a worker has flagged itself ready, so nothing waits for start-up
//   and a pool whose workers fail to start just computes on one thread (after one log line).
// - Workers are unref'd: they never keep the process alive. close() terminates them.
// - Messages carry each job's typed arrays (SharedArrayBuffer views: shared, not copied). A worker
//   still busy with (or not yet woken for) earlier jobs is skipped rather than waited for.
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { nodeWorkerStarter } from '../node-worker.js';
import {
  CLAIM,
  controlLength,
  DONE,
  FAILED,
  MAX_TASKS,
  nextGeneration,
  readySlot,
  seenSlot,
  work,
  WORKER_TASKS,
} from './protocol.js';
import { runTask, taskCount, type Job } from './tasks.js';

export interface WorkerPoolOptions {
  /** Threads computing a job, the main thread included (workers: threads - 1). */
  threads: number;
  /** Where the one line about workers failing to start goes; default stderr. */
  log?: (line: string) => void;
  /** The worker's entry (tests point it at a missing file); default worker.js/.ts next to this. */
  workerUrl?: URL;
}

/** What the main thread posts to a worker for one job. */
export interface JobMessage {
  gen: number;
  tasks: number;
  job: Job;
}

/** Data each worker starts with. */
export interface WorkerStart {
  control: SharedArrayBuffer;
  index: number;
  errors: MessagePort;
}

/** A job whose tasks have not all finished after this long means a worker died: fail loudly. */
const STALL_MS = 60_000;
/** A worker this many job messages behind is not sent more. */
const MAX_LAG = 8;

interface PoolWorker {
  worker: Worker;
  /** This side of the worker's error channel. */
  errors: MessagePort;
  posted: number;
  exited: boolean;
}

type PoolState = 'idle' | 'running' | 'failed' | 'closed';

export class WorkerPool {
  readonly threads: number;
  private readonly control: Int32Array;
  private readonly workers: PoolWorker[] = [];
  private state: PoolState = 'idle';
  private gen = 0;
  private jobs = 0;
  private readyPromise: Promise<number> | undefined;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1) {
      throw new Error(`js backend: threads must be a positive integer, found ${options.threads}`);
    }
    this.threads = options.threads;
    this.control = new Int32Array(new SharedArrayBuffer(4 * controlLength(options.threads - 1)));
  }

  /** Threads that would compute a job now: 1 + the workers that are ready. */
  get activeThreads(): number {
    let active = 1;
    for (let i = 0; i < this.workers.length; i++) {
      if (!(this.workers[i] as PoolWorker).exited && Atomics.load(this.control, readySlot(i)) === 1) active++;
    }
    return active;
  }

  /** Jobs run so far, and how many of their tasks ran on workers rather than the main thread. */
  stats(): { jobs: number; workerTasks: number } {
    return { jobs: this.jobs, workerTasks: Atomics.load(this.control, WORKER_TASKS) };
  }

  /** Starts the workers if not yet started; resolves with activeThreads once every worker is ready or gone. */
  ready(): Promise<number> {
    this.start();
    this.readyPromise ??= Promise.all(
      this.workers.map(
        (w, i) =>
          new Promise<void>((resolve) => {
            if (w.exited || Atomics.load(this.control, readySlot(i)) === 1) return resolve();
            w.worker.once('message', () => resolve());
            w.worker.once('exit', () => resolve());
          }),
      ),
    ).then(() => this.activeThreads);
    return this.readyPromise;
  }

  /** Starts the workers in the background (no-op when started, failed or closed). */
  start(): void {
    if (this.state !== 'idle' || this.threads === 1) return;
    this.state = 'running';
    try {
      const spawn = workerFactory(this.options.workerUrl);
      for (let index = 0; index < this.threads - 1; index++) {
        const channel = new MessageChannel();
        channel.port1.unref();
        const start: WorkerStart = {
          control: this.control.buffer as SharedArrayBuffer,
          index,
          errors: channel.port2,
        };
        const worker = spawn(start, [channel.port2]);
        const entry: PoolWorker = { worker, errors: channel.port1, posted: 0, exited: false };
        worker.unref();
        worker.on('error', (error) => this.fail(`a worker thread failed: ${error.message}`));
        worker.on('exit', () => {
          entry.exited = true;
        });
        this.workers.push(entry);
      }
    } catch (error) {
      this.fail(`worker threads could not start: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Runs every task of `job`: on the ready workers and on this thread; returns when all are done. */
  run(job: Job): void {
    const tasks = taskCount(job);
    if (tasks > MAX_TASKS) throw new Error(`js backend: a job of ${tasks} tasks exceeds ${MAX_TASKS}`);
    const control = this.control;
    const gen = (this.gen = nextGeneration(this.gen));
    this.jobs++;
    Atomics.store(control, DONE, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.store(control, CLAIM, gen << 16);
    if (tasks > 1 && this.state === 'running') {
      const message: JobMessage = { gen, tasks, job };
      for (let i = 0; i < this.workers.length; i++) {
        const w = this.workers[i] as PoolWorker;
        if (w.exited || Atomics.load(control, readySlot(i)) !== 1) continue;
        if (w.posted - Atomics.load(control, seenSlot(i)) > MAX_LAG) continue;
        w.posted++;
        w.worker.postMessage(message);
      }
    }
    let firstError: unknown;
    work(
      control,
      gen,
      tasks,
      (task) => runTask(job, task),
      (_task, error) => (firstError ??= error),
    );
    this.waitDone(tasks);
    const failed = Atomics.load(control, FAILED);
    if (failed !== 0) {
      if (firstError !== undefined) throw firstError;
      const detail = this.workerErrors() ?? 'no detail reported';
      throw new Error(`js backend: ${job.kernel} task ${failed - 1} failed on a worker thread: ${detail}`);
    }
  }

  /** The first error message a worker reported, if any (read synchronously off the error ports). */
  private workerErrors(): string | undefined {
    let first: string | undefined;
    for (const w of this.workers) {
      for (let report = receiveMessageOnPort(w.errors); report; report = receiveMessageOnPort(w.errors)) {
        first ??= String((report.message as { message?: unknown }).message);
      }
    }
    return first;
  }

  private waitDone(tasks: number): void {
    const control = this.control;
    let last = Atomics.load(control, DONE);
    let since = Date.now();
    while (last < tasks) {
      Atomics.wait(control, DONE, last, 1000);
      const now = Atomics.load(control, DONE);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        throw new Error(
          `js backend: a worker thread stopped responding (${tasks - now} of ${tasks} tasks unfinished after ` +
            `${STALL_MS / 1000} s); restart with --threads 1 to compute on the main thread only`,
        );
      }
    }
  }

  private fail(reason: string): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    this.state = 'failed';
    (this.options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
      `mnist-lab: js backend: ${reason}; computing on one thread`,
    );
    void this.terminate();
  }

  /** Terminates the workers; later jobs run on the main thread. */
  async close(): Promise<void> {
    this.state = 'closed';
    await this.terminate();
  }

  private async terminate(): Promise<void> {
    const workers = this.workers.splice(0);
    for (const w of workers) w.errors.close();
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

type Spawn = (start: WorkerStart, transfer: MessagePort[]) => Worker;

/** Starts worker.js (worker.ts from the sources) next to this file, or `url` (tests). */
function workerFactory(url: URL | undefined): Spawn {
  const start = nodeWorkerStarter(import.meta.url, 'worker', url);
  return (workerData, transferList) => start(workerData, transferList);
}
