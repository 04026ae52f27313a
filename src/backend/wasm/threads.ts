// Threads for the wasm backend: workers that each instantiate the same module on the same shared
// memory, and the protocol by which a kernel call's tasks are shared between them and the calling
// thread. Browser-safe: how a worker is started (worker_threads in Node, a Web Worker in a page)
// is the caller's SpawnWasmWorker.
//
// A job is one task function (exports.ts TASK_FUNCTIONS) with its scalar arguments and a task
// count. Its description sits in a control block in linear memory; workers sleep in Atomics.wait
// on its generation word, wake, and claim tasks by compare-and-swap on the claim word until none
// are left, as does the calling thread, which then waits until every task is done. A kernel call
// therefore stays synchronous, and a worker that is slow to wake (a busy machine) only means the
// calling thread does more of the tasks itself.
//
// Control block (int32 words at `control`):
//   GEN    job generation (1..0x7fff); workers wait on it
//   CLAIM  (generation << 16) | next task; a thread claims a task only while the generation is the
//          one it read, and the caller closes a finished job (next = 0xffff), so a late worker can
//          never take a task with another job's arguments
//   DONE   tasks finished in the current job; FAILED 1 + the first failed task (0: none)
//   TASKS, FUNCTION, ARGUMENT_COUNT  the job; SHUTDOWN  1 once the pool is closed
//   READY  workers that have instantiated the module; WORKER_TASKS  tasks run on workers (statistic)
// then, from byte 64, the job's arguments as float64 (every i32 and f32 is exact in a float64).
import { TASK_FUNCTIONS, type KernelExports, type TaskFunction } from './exports.js';

export const GEN = 0;
export const CLAIM = 1;
export const DONE = 2;
export const FAILED = 3;
export const TASKS = 4;
export const FUNCTION = 5;
export const ARGUMENT_COUNT = 6;
export const SHUTDOWN = 7;
export const READY = 8;
export const WORKER_TASKS = 9;
export const ARGUMENTS_BYTE = 64;
export const MAX_ARGUMENTS = 24;
export const CONTROL_BYTES = ARGUMENTS_BYTE + 8 * MAX_ARGUMENTS;
/** Bytes of stack each worker instance gets (the module's own stack is for the calling thread). */
export const WORKER_STACK_BYTES = 256 * 1024;
const CLOSED = 0xffff;
/** A job with no task finished for this long means a worker died: fail loudly. */
const STALL_MS = 60_000;

/** What a worker is started with (structured-cloneable: the module and the shared memory). */
export interface WasmWorkerStart {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control block. */
  control: number;
  /** Initial stack pointer of this worker's instance (the top of its stack block). */
  stackTop: number;
  /** Thread index (the calling thread is 0), which picks the worker's scratch. */
  thread: number;
}

/** A started worker: resolves `ready` once it is in its loop, rejects if it fails to start. */
export interface WasmWorkerHandle {
  readonly ready: Promise<void>;
  terminate(): void;
}

export type SpawnWasmWorker = (start: WasmWorkerStart) => WasmWorkerHandle;

/**
 * Runs task `task` of whatever job `control` describes, for worker loops and the caller alike.
 * Returns false when no task is left to claim for generation `gen`.
 */
function claimAndRun(
  words: Int32Array,
  args: Float64Array,
  exports: KernelExports,
  gen: number,
  thread: number,
  onError: (task: number, error: unknown) => void,
): boolean {
  const word = Atomics.load(words, CLAIM);
  const task = word & 0xffff;
  if (word >>> 16 !== gen || task >= Atomics.load(words, TASKS)) return false;
  if (Atomics.compareExchange(words, CLAIM, word, word + 1) !== word) return true;
  const fn = exports[TASK_FUNCTIONS[Atomics.load(words, FUNCTION)] as TaskFunction];
  const count = Atomics.load(words, ARGUMENT_COUNT);
  const values = new Array<number>(count + 2);
  for (let i = 0; i < count; i++) values[i] = args[i] as number;
  values[count] = task;
  values[count + 1] = thread;
  try {
    fn(...values);
  } catch (error) {
    Atomics.compareExchange(words, FAILED, 0, task + 1);
    onError(task, error);
  }
  if (thread > 0) Atomics.add(words, WORKER_TASKS, 1);
  Atomics.add(words, DONE, 1);
  Atomics.notify(words, DONE);
  return true;
}

/** The body of a worker: instantiate, then run jobs until the pool shuts down. */
export function runWasmWorker(start: WasmWorkerStart, onReady: () => void): void {
  const instance = new WebAssembly.Instance(start.module, { env: { memory: start.memory } });
  const exports = instance.exports as unknown as KernelExports;
  exports.__stack_pointer.value = start.stackTop;
  const buffer = start.memory.buffer;
  const words = new Int32Array(buffer, start.control, CONTROL_BYTES / 4);
  const args = new Float64Array(buffer, start.control + ARGUMENTS_BYTE, MAX_ARGUMENTS);
  Atomics.add(words, READY, 1);
  onReady();
  let seen = 0;
  for (;;) {
    Atomics.wait(words, GEN, seen);
    if (Atomics.load(words, SHUTDOWN) === 1) return;
    const gen = Atomics.load(words, GEN);
    seen = gen;
    while (claimAndRun(words, args, exports, gen, start.thread, () => {}));
  }
}

export interface WasmThreadsOptions {
  exports: KernelExports;
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  /** Byte offset of a CONTROL_BYTES block, zeroed. */
  control: number;
  /** Threads, the calling one included. */
  threads: number;
  /** Allocates a worker's stack block (WORKER_STACK_BYTES); returns its byte offset. */
  stack: () => number;
  spawn: SpawnWasmWorker | undefined;
  /** Where the one line about workers failing goes. */
  log: (line: string) => void;
}

export class WasmThreads {
  readonly threads: number;
  private readonly words: Int32Array;
  private readonly args: Float64Array;
  private readonly handles: WasmWorkerHandle[] = [];
  private state: 'idle' | 'running' | 'failed' | 'closed' = 'idle';
  private gen = 0;
  private jobs = 0;
  private readyPromise: Promise<number> | undefined;
  /** Atomics.wait is not allowed on a page's main thread: spin there instead. */
  private readonly canBlock: boolean;

  constructor(private readonly options: WasmThreadsOptions) {
    this.threads = options.spawn ? options.threads : 1;
    const buffer = options.memory.buffer;
    // A plain memory (copy mode: one thread) detaches its views when it grows: keep the control
    // words on the JS heap then; nothing else reads them.
    const shared = typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer;
    this.words = shared
      ? new Int32Array(buffer, options.control, CONTROL_BYTES / 4)
      : new Int32Array(CONTROL_BYTES / 4);
    this.args = shared
      ? new Float64Array(buffer, options.control + ARGUMENTS_BYTE, MAX_ARGUMENTS)
      : new Float64Array(MAX_ARGUMENTS);
    this.canBlock = blockingAllowed(this.words);
  }

  /** Threads that would run a job now: 1 + the workers in their loop. */
  get activeThreads(): number {
    return this.state === 'running' ? 1 + Atomics.load(this.words, READY) : 1;
  }

  /** Jobs run so far, and tasks that ran on workers. */
  stats(): { jobs: number; workerTasks: number } {
    return { jobs: this.jobs, workerTasks: Atomics.load(this.words, WORKER_TASKS) };
  }

  /** Starts the workers in the background (no-op once started, failed or closed). */
  start(): void {
    if (this.state !== 'idle' || this.threads === 1 || !this.options.spawn) return;
    this.state = 'running';
    for (let thread = 1; thread < this.threads; thread++) {
      try {
        const stackTop = this.options.stack() + WORKER_STACK_BYTES;
        const handle = this.options.spawn({
          module: this.options.module,
          memory: this.options.memory,
          control: this.options.control,
          stackTop,
          thread,
        });
        handle.ready.catch((error: unknown) => this.fail(error));
        this.handles.push(handle);
      } catch (error) {
        this.fail(error);
        return;
      }
    }
  }

  /** Starts the workers; resolves with activeThreads once all are in their loop (or failed). */
  ready(): Promise<number> {
    this.start();
    this.readyPromise ??= Promise.all(this.handles.map((h) => h.ready.catch(() => undefined))).then(
      () => this.activeThreads,
    );
    return this.readyPromise;
  }

  /**
   * Runs tasks 0..tasks-1 of `fn` with `args`: on this thread alone when `parallel` is false or no
   * worker is ready, else shared with the workers. Returns when every task is done.
   */
  run(fn: TaskFunction, args: readonly number[], tasks: number, parallel: boolean): void {
    const exports = this.options.exports;
    if (!parallel || tasks <= 1 || this.activeThreads === 1) {
      const call = exports[fn];
      for (let task = 0; task < tasks; task++) call(...args, task, 0);
      return;
    }
    if (tasks >= CLOSED) throw new Error(`wasm backend: a job of ${tasks} tasks exceeds ${CLOSED - 1}`);
    if (args.length > MAX_ARGUMENTS)
      throw new Error(`wasm backend: ${fn} has more than ${MAX_ARGUMENTS} arguments`);
    const words = this.words;
    const gen = (this.gen = (this.gen % 0x7fff) + 1);
    this.jobs++;
    this.args.set(args);
    Atomics.store(words, FUNCTION, TASK_FUNCTIONS.indexOf(fn));
    Atomics.store(words, ARGUMENT_COUNT, args.length);
    Atomics.store(words, TASKS, tasks);
    Atomics.store(words, DONE, 0);
    Atomics.store(words, FAILED, 0);
    Atomics.store(words, CLAIM, gen << 16);
    Atomics.store(words, GEN, gen);
    Atomics.notify(words, GEN);
    let firstError: unknown;
    while (claimAndRun(words, this.args, exports, gen, 0, (_task, error) => (firstError ??= error)));
    this.waitDone(tasks);
    Atomics.store(words, CLAIM, (gen << 16) | CLOSED);
    const failed = Atomics.load(words, FAILED);
    if (failed !== 0) {
      if (firstError !== undefined) throw firstError;
      throw new Error(`wasm backend: ${fn} task ${failed - 1} failed on a worker thread`);
    }
  }

  private waitDone(tasks: number): void {
    const words = this.words;
    let last = Atomics.load(words, DONE);
    let since = Date.now();
    while (last < tasks) {
      if (this.canBlock) Atomics.wait(words, DONE, last, 1000);
      const now = Atomics.load(words, DONE);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        throw new Error(
          `wasm backend: a worker thread stopped responding (${tasks - now} of ${tasks} tasks unfinished after ` +
            `${STALL_MS / 1000} s); restart with --threads 1 to compute on one thread`,
        );
      }
    }
  }

  private fail(error: unknown): void {
    if (this.state !== 'running') return;
    this.state = 'failed';
    this.options.log(
      `mnist-lab: wasm backend: worker threads failed (${error instanceof Error ? error.message : String(error)}); computing on one thread`,
    );
    this.shutdown();
  }

  /** Stops the workers; later jobs run on the calling thread. */
  close(): void {
    if (this.state === 'running') this.shutdown();
    this.state = 'closed';
  }

  private shutdown(): void {
    Atomics.store(this.words, SHUTDOWN, 1);
    Atomics.store(this.words, READY, 0);
    Atomics.add(this.words, GEN, 1);
    Atomics.notify(this.words, GEN);
    for (const handle of this.handles.splice(0)) handle.terminate();
  }
}

/** Whether this thread may block in Atomics.wait (not on a page's main thread). */
function blockingAllowed(words: Int32Array): boolean {
  try {
    Atomics.wait(words, SHUTDOWN, -1, 0);
    return true;
  } catch {
    return false;
  }
}
