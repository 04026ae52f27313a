// Which backend computes: a registry of backend factories by name and the one active backend.
// Browser-safe: the native backend registers itself from a Node-only module (src/backend/native).
import type { Backend } from './kernels.js';

type BackendFactory = () => Backend;

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Backend>();
let active: Backend | null = null;

export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
}

export function registeredBackends(): string[] {
  return [...factories.keys()];
}

/** Makes `name` the active backend, creating it on first use. */
export function setBackend(name: string): Backend {
  let backend = instances.get(name);
  if (!backend) {
    const factory = factories.get(name);
    if (!factory) {
      throw new Error(
        `backend '${name}' is not registered (registered: ${registeredBackends().join(', ') || 'none'})`,
      );
    }
    backend = factory();
    instances.set(name, backend);
  }
  active = backend;
  return backend;
}

/** Makes an already created backend active (and the instance its name resolves to). */
export function setBackendInstance(backend: Backend): Backend {
  instances.set(backend.name, backend);
  active = backend;
  return backend;
}

/** The active backend; the first registered one ('js' unless told otherwise) when none was chosen. */
export function getBackend(): Backend {
  if (active) return active;
  const first = factories.has('js') ? 'js' : registeredBackends()[0];
  if (first === undefined) throw new Error('no backend is registered: import mnist-lab, which registers js');
  return setBackend(first);
}
