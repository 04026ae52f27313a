// How the main thread and the workers share one job (the shared control words and the claim loop),
// used by both sides. A job is a kernel call split into independent tasks that write disjoint parts
// of the output; every participating thread claims tasks until none are left.
//
// Control words (Int32Array on a SharedArrayBuffer):
//   CLAIM   (generation << 16) | next task: a thread claims a task by compare-and-swap, and only
//           while the generation is the one of the job it was told about, so a worker that wakes
//           up late for an old job cannot take a task of the next one.
//   DONE    tasks finished in the current job; the main thread waits (Atomics.wait) until all are.
//   FAILED  1 + the first task that threw, 0 when none did.
//   WORKER_TASKS  tasks run on workers since the pool started (a statistic for tests and benchmarks).
//   READY + i   1 once worker i has loaded its code; SEEN + i  job messages worker i has handled.

export const CLAIM = 0;
export const DONE = 1;
export const FAILED = 2;
export const WORKER_TASKS = 3;
const HEADER = 16;

/** Tasks per job are below 2^16 (the task index shares the claim word with the generation). */
export const MAX_TASKS = 0xffff;

export function readySlot(worker: number): number {
  return HEADER + 2 * worker;
}

export function seenSlot(worker: number): number {
  return HEADER + 2 * worker + 1;
}

export function controlLength(workers: number): number {
  return HEADER + 2 * workers;
}

/** The generation after `gen`, in 1..0x7fff (0 is never a job's generation). */
export function nextGeneration(gen: number): number {
  return (gen % 0x7fff) + 1;
}

/**
 * Claims and runs tasks of job `gen` until none are left (or the job is over). A task that throws
 * is reported through `onError` and FAILED; it still counts as done, so the main thread never hangs.
 */
export function work(
  control: Int32Array,
  gen: number,
  tasks: number,
  run: (task: number) => void,
  onError: (task: number, error: unknown) => void,
): void {
  for (;;) {
    const word = Atomics.load(control, CLAIM);
    const task = word & 0xffff;
    if (word >>> 16 !== gen || task >= tasks) return;
    if (Atomics.compareExchange(control, CLAIM, word, word + 1) !== word) continue;
    try {
      run(task);
    } catch (error) {
      Atomics.compareExchange(control, FAILED, 0, task + 1);
      onError(task, error);
    }
    Atomics.add(control, DONE, 1);
    Atomics.notify(control, DONE);
  }
}
