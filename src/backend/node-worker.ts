// Starting a worker_threads worker from a module next to the caller (Node only), for the backends
// that compute on worker threads (src/backend/js-threads, src/backend/wasm).
import { Worker, type TransferListItem } from 'node:worker_threads';

export type StartNodeWorker = (workerData: unknown, transferList?: readonly TransferListItem[]) => Worker;

/**
 * How to start the worker `name` (without extension) next to the module at `callerUrl`: its
 * compiled .js, or, when running from the TypeScript sources (tests, benchmarks under tsx), the
 * .ts with tsx's loader registered inside the worker (Node 20 workers do not inherit the parent's
 * --import loader hooks). `override` (tests) is started as given.
 */
export function nodeWorkerStarter(callerUrl: string, name: string, override?: URL): StartNodeWorker {
  const start =
    (entry: URL | string, evaluated: boolean): StartNodeWorker =>
    (workerData, transferList) =>
      new Worker(entry, { workerData, transferList: transferList ? [...transferList] : [], eval: evaluated });
  if (override) return start(override, false);
  if (!callerUrl.endsWith('.ts')) return start(new URL(`./${name}.js`, callerUrl), false);
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return start(
    `import(${JSON.stringify(tsx)}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry)}))`,
    true,
  );
}
