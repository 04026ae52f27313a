// A thread of the wasm backend in the page (started by the Teach page's training worker when the
// page is cross-origin isolated): its first message is the WasmWorkerStart; it answers 'ready' and
// then computes its share of every split kernel call until the pool shuts down (wasm/README.md).
import { runWasmWorker, type WasmWorkerStart } from '../../src/browser.js';

interface WorkerScope {
  onmessage: ((event: MessageEvent<WasmWorkerStart>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (event) => {
  scope.onmessage = null;
  runWasmWorker(event.data, () => scope.postMessage('ready'));
};
