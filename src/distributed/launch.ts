// Joining a data-parallel job: whether this process was started as one of several (mpirun, srun),
// and the collectives it then uses. A single process never loads MPI. Node-only.
import { loadMpiAddon, MPI_INSTALL_HINT } from './mpi.js';
import type { Collectives } from './data-parallel.js';

/** This process's place in its job, as the launcher wrote it into the environment before MPI_Init. */
export interface LaunchedAs {
  rank: number;
  size: number;
  /** Processes of the job on this host (undefined when the launcher does not say). */
  localSize: number | undefined;
  launcher: 'mpirun' | 'srun' | 'PMI';
}

/**
 * rank and size from Open MPI's mpirun (OMPI_COMM_WORLD_*), Slurm's srun (SLURM_PROCID,
 * SLURM_STEP_NUM_TASKS) or another PMI launcher (PMI_RANK, PMI_SIZE); undefined unless there are
 * several processes.
 */
export function launchedAs(env: NodeJS.ProcessEnv = process.env): LaunchedAs | undefined {
  const candidates: [LaunchedAs['launcher'], string | undefined, string | undefined, string | undefined][] = [
    ['mpirun', env['OMPI_COMM_WORLD_RANK'], env['OMPI_COMM_WORLD_SIZE'], env['OMPI_COMM_WORLD_LOCAL_SIZE']],
    // SLURM_STEP_TASKS_PER_NODE reads "2" or "2(x3)": the first count is this host's on even layouts.
    ['srun', env['SLURM_PROCID'], env['SLURM_STEP_NUM_TASKS'], env['SLURM_STEP_TASKS_PER_NODE']],
    ['PMI', env['PMI_RANK'], env['PMI_SIZE'], undefined],
  ];
  for (const [launcher, rank, size, local] of candidates) {
    if (rank === undefined || size === undefined) continue;
    const r = Number(rank);
    const n = Number(size);
    const localSize = local === undefined ? undefined : Number.parseInt(local, 10);
    if (Number.isInteger(r) && Number.isInteger(n) && n > 1 && r >= 0 && r < n)
      return { rank: r, size: n, launcher, localSize: localSize && localSize > 0 ? localSize : undefined };
  }
  return undefined;
}

/** A joined job: its collectives, and the end of this process's part in it. */
export interface ProcessGroup extends Collectives {
  /** e.g. "Open MPI v4.1.4". */
  readonly version: string;
  /** Processes of the job on this host, when the launcher says (threads are shared among them). */
  readonly localSize: number | undefined;
  /** MPI_Finalize: call once this process's work is done (a process that fails exits without it). */
  finalize(): void;
}

/** Thrown on every process when data-parallel training cannot start; only rank 0 prints it. */
export class ProcessGroupError extends Error {
  override name = 'ProcessGroupError';
  constructor(
    message: string,
    readonly rank: number,
  ) {
    super(message);
  }
}

/**
 * Joins the job this process was launched into (MPI_Init), or returns undefined when it runs alone.
 * Without the MPI addon a launched process refuses to start, with one line saying how to get it.
 */
export function joinProcessGroup(env: NodeJS.ProcessEnv = process.env): ProcessGroup | undefined {
  const launched = launchedAs(env);
  if (!launched) return undefined;
  const loaded = loadMpiAddon();
  if (!loaded.addon) {
    throw new ProcessGroupError(
      `started by ${launched.launcher} as process ${launched.rank} of ${launched.size}, but ${loaded.reason}: ` +
        `${MPI_INSTALL_HINT}, or run one process without ${launched.launcher}`,
      launched.rank,
    );
  }
  const mpi = loaded.addon;
  // NOTE: a process waiting in a collective spins by default, taking the core its peer (or another
  // program) needs; on a shared 2-core machine yielding gave cnn ~890 against ~750 images/s for 2
  // processes. Read once, at MPI_Init; a dedicated cluster may set OMPI_MCA_mpi_yield_when_idle=0.
  env['OMPI_MCA_mpi_yield_when_idle'] ??= '1';
  const joined = mpi.init();
  if (joined.size !== launched.size || joined.rank !== launched.rank) {
    throw new ProcessGroupError(
      `${launched.launcher} started ${launched.size} processes but MPI sees ${joined.size} ` +
        `(this one as rank ${joined.rank}); the mpirun that launched this job must belong to the Open MPI ` +
        'the addon was built against',
      joined.rank,
    );
  }
  return {
    rank: joined.rank,
    size: joined.size,
    version: joined.version,
    localSize: launched.localSize,
    allReduce: (values, average) => mpi.allReduce(values, average),
    broadcast: (bytes, root) => mpi.broadcast(bytes, root),
    gatherHashes: (values) => mpi.gatherHashes(values),
    finalize: () => mpi.finalize(),
  };
}

/**
 * `value()` as process 0 computes it, on every process (JSON through a broadcast): what only process
 * 0 can read, such as a resumed run's saved flags. Alone (group undefined): value() itself.
 */
export async function fromRankZero<T>(group: Collectives | undefined, value: () => Promise<T>): Promise<T> {
  if (!group) return value();
  if (group.rank === 0) {
    const result = await value();
    group.broadcast(new TextEncoder().encode(JSON.stringify(result)), 0);
    return result;
  }
  return JSON.parse(new TextDecoder().decode(group.broadcast(null, 0))) as T;
}
