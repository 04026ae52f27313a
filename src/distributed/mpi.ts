// The seam to the MPI addon (native/src/mpi.cc, built by scripts/build-mpi.mjs when Open MPI is
// installed): the one file that declares its functions and loads it. Node-only.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions; all but initialized() need init() first, and all but it are collective. */
export interface MpiAddon {
  /** MPI_Init_thread once (later calls only answer). version: e.g. "Open MPI v4.1.4". */
  init(): { rank: number; size: number; version: string };
  finalize(): void;
  initialized(): boolean;
  /** Sums (average: then divides by the number of processes) over every process, in place. */
  allReduce(values: Float32Array | Float64Array, average?: boolean): void;
  /** The root passes its bytes, the others null; every process gets the root's bytes. */
  broadcast(bytes: Uint8Array | null, root: number): Uint8Array;
  barrier(): void;
  /** Every process's 64-bit FNV-1a hash of its bytes (16 hex digits), in rank order. */
  gatherHashes(values: ArrayBufferView): string[];
}

/** <package root>/native/mpi/build/Release (the same depth from src/ and dist/). */
export const mpiAddonPath = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'native',
  'mpi',
  'build',
  'Release',
  'mnist_lab_mpi.node',
);

export const MPI_INSTALL_HINT =
  'install Open MPI (apt-get install libopenmpi-dev openmpi-bin, or brew install open-mpi), then run `npm run build:native`';

/** The addon, or why it cannot be had (never throws). MNIST_LAB_NO_MPI=1 hides it (tests). */
export function loadMpiAddon(): { addon: MpiAddon } | { addon: null; reason: string } {
  if (process.env.MNIST_LAB_NO_MPI === '1')
    return { addon: null, reason: 'the MPI addon is disabled by MNIST_LAB_NO_MPI=1' };
  if (!existsSync(mpiAddonPath)) return { addon: null, reason: 'the MPI addon is not built' };
  try {
    return { addon: createRequire(import.meta.url)(mpiAddonPath) as MpiAddon };
  } catch (error) {
    return {
      addon: null,
      reason: `the MPI addon failed to load (${error instanceof Error ? error.message : String(error)})`,
    };
  }
}
