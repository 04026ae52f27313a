// The backends a browser bundle uses when the program chooses none, fastest first (the registry
// creates the first available row on first use). package.json "imports" maps #default-backends here
// outside the `node` condition; node.ts is Node's table. Browser-safe: no Node-only module.
import { createJsBackend } from '../js/index.js';
import type { BackendCandidate } from './candidate.js';

export const DEFAULT_BACKENDS: readonly BackendCandidate[] = [
  // The wasm backend needs its module fetched first (asynchronous): a page creates it with
  // createWasmBackend and setBackendInstance; the synchronous default stays js.
  {
    name: 'js', // plain TypeScript on the page's thread
    unavailable: () => null,
    create: () => createJsBackend(),
  },
];
