// The folder a training command writes (train, pretrain, finetune and finetune compare): claimed
// and locked before anything is read (a refused folder costs nothing), released when the command
// ends, on errors and at SIGINT/SIGTERM, which every process handles. Under mpirun process 0 alone
// claims it; the others write nothing.
import { claimFolder, type ClaimOptions } from '../runs/node/folder.js';
import { handleInterrupts, type Interrupts } from './interrupts.js';
import { printInfo } from './output.js';

export interface RunFolderOptions extends Pick<ClaimOptions, 'command' | 'replaceable' | 'runChoices'> {
  /** Continue the run in the folder (--resume) instead of starting one there. */
  resume: boolean;
  /** False on a data-parallel process other than 0: it claims nothing (process 0 holds the folder). */
  leader: boolean;
}

/**
 * Runs `work` with `runDir` claimed as the flags say (--out names it, --overwrite moves an earlier
 * run or `replaceable` output aside) and the interrupt handlers installed: `work` decides who gets
 * a first signal (Interrupts.graceful); otherwise the process ends, its lock released.
 */
export async function inRunFolder<T>(
  runDir: string,
  flags: { out?: string | undefined; overwrite?: boolean | undefined },
  options: RunFolderOptions,
  work: (interrupts: Interrupts) => Promise<T>,
): Promise<T> {
  const interrupts = handleInterrupts();
  try {
    const claimed = options.leader
      ? await claimFolder(runDir, {
          mode: options.resume ? 'resume' : 'new',
          label: options.resume ? `--resume ${runDir}` : flags.out !== undefined ? `--out ${runDir}` : runDir,
          ...(flags.overwrite ? { overwrite: true } : {}),
          ...(options.replaceable ? { replaceable: options.replaceable } : {}),
          ...(options.runChoices ? { runChoices: options.runChoices } : {}),
          command: options.command,
        })
      : undefined;
    try {
      // Said even with --json (on stderr): where the earlier folder went.
      if (claimed?.movedTo) {
        const what = options.replaceable ? 'what' : 'the run that';
        printInfo(`--overwrite: moved ${what} was in ${runDir} to ${claimed.movedTo}`);
      }
      return await work(interrupts);
    } finally {
      await claimed?.lock?.release();
    }
  } finally {
    interrupts.remove();
  }
}
