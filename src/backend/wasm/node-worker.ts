// A worker thread of the wasm backend in Node: runs jobs on the shared memory until the pool
// shuts down (src/backend/wasm/threads.ts). Started by node.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { runWasmWorker, type WasmWorkerStart } from './threads.js';

if (!parentPort)
  throw new Error('wasm backend: node-worker.ts runs only as a worker thread (src/backend/wasm/node.ts)');
const port = parentPort;
runWasmWorker(workerData as WasmWorkerStart, () => port.postMessage('ready'));
port.close();
