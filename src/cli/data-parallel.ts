// Commands that train under mpirun/srun (train, finetune): join the job, run the command on every
// process, finalize MPI after a success. A failure on any process is one line naming the process;
// it exits without MPI_Finalize, so the launcher stops the other processes within seconds.
import { joinProcessGroup, launchedAs, type ProcessGroup, ProcessGroupError } from '../distributed/launch.js';
import { UsageError } from './errors.js';

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

/**
 * For commands that do not train data-parallel yet: under mpirun/srun, process 0 refuses in one
 * line and the others exit with code 1 quietly, before anything is read or written.
 */
export async function oneProcessOnly(name: string, command: () => Promise<void>): Promise<void> {
  const launched = launchedAs();
  if (!launched) return command();
  if (launched.rank !== 0) {
    process.exitCode = 1;
    return;
  }
  throw new UsageError(
    `${name} runs as one process; only 'mnist-lab train' trains data-parallel under ${launched.launcher} ` +
      `(found ${launched.size} processes): run ${name} without ${launched.launcher}`,
  );
}
