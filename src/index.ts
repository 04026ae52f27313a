// The public API of mnist-lab: every export is named here (no `export *`). Examples, integration
// tests, the CLI and the web page import only from this file.

export { VERSION } from './version.js';

// ---- backend contract ----
export type { Backend, DType, Kernels, KernelName, Shape, Storage } from './backend/kernels.js';

// ---- data ----

// ---- tensors and autograd ----

// ---- layers, models, losses, optimizers ----

// ---- training ----
