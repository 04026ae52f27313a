// A wasm backend worker in a page (bundled by test/web/wasm-backend.test.ts): its first message is
// the WasmWorkerStart; it answers 'ready' and then runs jobs until the pool shuts down.
import { runWasmWorker, type WasmWorkerStart } from '../../../src/backend/wasm/threads.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<WasmWorkerStart>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  scope.onmessage = null;
  runWasmWorker(event.data, () => scope.postMessage('ready'));
};
