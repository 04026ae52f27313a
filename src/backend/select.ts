// Choosing the backend for a Node.js process: the native backend when its addon loads, else js
// with one line saying how to get the fast one. Explicit choice: the option, then MNIST_LAB_BACKEND.
import type { Backend } from './kernels.js';
import { createJsBackend } from './js/index.js';
import { createNativeBackend, nativeBackendAvailable } from './native/index.js';
import { registerBackend, setBackendInstance } from './registry.js';

export type BackendName = 'js' | 'native';

export interface SelectBackendOptions {
  /** 'js' or 'native'; default MNIST_LAB_BACKEND, else native when available. */
  backend?: string;
  /** Compute threads (native backend); default every available core. */
  threads?: number;
  /** Where the one-line hint goes when falling back to js; default stderr. */
  log?: (line: string) => void;
}

export const NATIVE_HINT =
  'mnist-lab: using the js backend; for the fast native backend install oneDNN ' +
  "('apt-get install libdnnl-dev' or 'brew install onednn') and run 'npm run build:native'";

let hintShown = false;

registerBackend('js', createJsBackend);

/** Activates and returns the backend for this process. */
export function selectBackend(options: SelectBackendOptions = {}): Backend {
  const requested = options.backend ?? process.env['MNIST_LAB_BACKEND'] ?? undefined;
  if (requested !== undefined && requested !== 'js' && requested !== 'native') {
    throw new Error(`unknown backend '${requested}': choose 'js' or 'native'`);
  }
  const native = nativeBackendAvailable();
  if (requested === 'native' && !native.available) {
    throw new Error(`the native backend is not available: ${native.reason ?? 'the addon did not load'}`);
  }
  if (requested === 'native' || (requested === undefined && native.available)) {
    return setBackendInstance(
      createNativeBackend(options.threads === undefined ? {} : { threads: options.threads }),
    );
  }
  if (requested === undefined && !hintShown) {
    hintShown = true;
    (options.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(NATIVE_HINT);
  }
  return setBackendInstance(createJsBackend());
}
