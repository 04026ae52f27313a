// A worker thread of the threaded js backend (Node only): on each job message, claims and runs
// tasks (src/backend/js-threads/protocol.ts) on the shared memory the message's typed arrays view,
// then counts the message as handled. Errors in a task go back on the error port; the task still
// counts as done so the main thread never waits forever.
import { parentPort, workerData } from 'node:worker_threads';
import type { JobMessage, WorkerStart } from './pool.js';
import { readySlot, seenSlot, work, WORKER_TASKS } from './protocol.js';
import { runTask } from './tasks.js';

const start = workerData as WorkerStart;
const control = new Int32Array(start.control);
if (!parentPort)
  throw new Error('js backend: worker.ts runs only as a worker thread (src/backend/js-threads/pool.ts)');

parentPort.on('message', ({ gen, tasks, job }: JobMessage) => {
  work(
    control,
    gen,
    tasks,
    (task) => {
      runTask(job, task);
      Atomics.add(control, WORKER_TASKS, 1);
    },
    (task, error) =>
      start.errors.postMessage({
        task,
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
  Atomics.add(control, seenSlot(start.index), 1);
});

Atomics.store(control, readySlot(start.index), 1);
parentPort.postMessage('ready');
