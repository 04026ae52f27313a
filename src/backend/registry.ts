// Which backend computes: the one active backend, chosen on first use when the program chose none.
// Browser-safe. The default table comes from #default-backends (package.json "imports"): on Node
// native → (wasm) → js (src/backend/defaults/node.ts), in a browser (wasm) → js (defaults/browser.ts).
// Importing this module creates and registers nothing: backends are made when first asked for.
import { DEFAULT_BACKENDS } from '#default-backends';
import type { BackendCandidate, BackendCreateOptions } from './defaults/candidate.js';
import type { Backend } from './kernels.js';

/** Backends created so far, by name: setBackend() and setBackendInstance() fill it. */
const instances = new Map<string, Backend>();
let active: Backend | null = null;
/** Fallback hints already printed: each at most once per process. */
const hintsShown = new Set<string>();

/**
 * The names setBackend() accepts: this platform's default table, then any other backend the program
 * made active with setBackendInstance(). (One table: a backend of the program's own is created by
 * the program and handed over, never registered by name.)
 */
export function registeredBackends(): string[] {
  return [...new Set([...DEFAULT_BACKENDS.map((candidate) => candidate.name), ...instances.keys()])];
}

/** Makes `name` the active backend, creating it on first use. */
export function setBackend(name: string): Backend {
  let backend = instances.get(name);
  if (!backend) {
    const candidate = DEFAULT_BACKENDS.find((row) => row.name === name);
    if (!candidate) {
      throw new Error(
        `backend '${name}' is not known (known: ${registeredBackends().join(', ')}; ` +
          'a backend of your own: setBackendInstance(backend))',
      );
    }
    const reason = candidate.unavailable();
    if (reason !== null) throw new Error(`the ${name} backend is not available: ${reason}`);
    backend = candidate.create();
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

/**
 * Creates the first available backend of `candidates` (fastest first). Each skipped row's
 * fallbackHint goes to `log` once per process (default: console.warn, i.e. stderr on Node).
 */
export function createFirstAvailable(
  candidates: readonly BackendCandidate[],
  options: BackendCreateOptions = {},
): Backend {
  const log = options.log ?? ((line: string) => console.warn(line));
  const reasons: string[] = [];
  for (const candidate of candidates) {
    const reason = candidate.unavailable();
    if (reason === null) {
      // One line, from the fastest row passed over: a second hint would only repeat the advice.
      const skipped = candidates.slice(0, candidates.indexOf(candidate)).find((c) => c.fallbackHint);
      const hint = skipped?.fallbackHint?.(candidate.name);
      if (hint !== undefined && !hintsShown.has(hint)) {
        hintsShown.add(hint);
        log(hint);
      }
      return candidate.create(options);
    }
    reasons.push(`${candidate.name}: ${reason}`);
  }
  throw new Error(`no backend is available here (${reasons.join('; ') || 'the table is empty'})`);
}

/** The active backend; on first use, the first available one of this platform's default table. */
export function getBackend(): Backend {
  return active ?? setBackendInstance(createFirstAvailable(DEFAULT_BACKENDS));
}
