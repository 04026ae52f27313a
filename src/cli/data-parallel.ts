// Commands that train under mpirun/srun (train, finetune, pretrain): join the job, run the command
// on every process, finalize MPI after a success. A failure on any process is one line naming the process;
// it exits without MPI_Finalize, so the launcher stops the other processes within seconds.
import type { DataParallelTiming } from '../distributed/data-parallel.js';
import { joinProcessGroup, type ProcessGroup, ProcessGroupError } from '../distributed/launch.js';

/** How long processes other than 0 wait before exiting when the job is refused. */
const QUIET_EXIT_DELAY_MS = 10_000;

/**
 * Runs `command` with this process's group (undefined when it runs alone). Without the MPI addon a
 * launched job is refused: process 0 says how to install it, the others exit with code 1 quietly.
 */
export async function inProcessGroup(
  command: (group: ProcessGroup | undefined) => Promise<void>,
): Promise<void> {
  let group: ProcessGroup | undefined;
  try {
    group = joinProcessGroup();
  } catch (error) {
    if (error instanceof ProcessGroupError && error.rank !== 0) {
      // The launcher stops every process about a second after the first one exits non-zero: the
      // others give process 0 the time to write its line (it exits right after, ending the job).
      await new Promise((resolve) => setTimeout(resolve, QUIET_EXIT_DELAY_MS));
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  if (!group) return command(undefined);
  try {
    await command(group);
  } catch (error) {
    if (error instanceof Error) error.message = `process ${group.rank} of ${group.size}: ${error.message}`;
    throw error;
  }
  group.finalize();
}

/** A result's data-parallel part: process 0's time per step, and how much of it was the all-reduce. */
export interface DataParallelSummary {
  processes: number;
  mpi: string;
  allReduceValues: number;
  allReduceMsPerStep: number;
  stepMsPerStep: number;
  /** Gathering the rows computed in shares (a fine-tune's frozen features), when there were any. */
  gatherSeconds?: number;
}

export function dataParallelSummary(timing: DataParallelTiming, group: ProcessGroup): DataParallelSummary {
  const perStep = (seconds: number): number => Math.round((seconds * 1e6) / Math.max(timing.steps, 1)) / 1000;
  return {
    processes: group.size,
    mpi: group.version,
    allReduceValues: timing.allReduceValues,
    allReduceMsPerStep: perStep(timing.allReduceSeconds),
    stepMsPerStep: perStep(timing.stepSeconds),
    ...(timing.gatherSeconds > 0 ? { gatherSeconds: Math.round(timing.gatherSeconds * 1000) / 1000 } : {}),
  };
}

/** The line printed after a data-parallel run without --json. */
export function dataParallelLine(d: DataParallelSummary): string {
  return `${d.processes} processes: the all-reduce of ${d.allReduceValues} values took ${d.allReduceMsPerStep} ms of a ${d.stepMsPerStep} ms step (process 0)`;
}
