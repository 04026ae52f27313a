// SIGINT/SIGTERM while a command holds run locks. A command that stops gracefully (train: it
// checkpoints at the next batch and returns) is told the first signal; otherwise, or at the second
// signal, every run lock this process holds is released and the process ends with the code the
// signal would give (130 for SIGINT, 143 for SIGTERM). Installed per command, removed when it ends.
import { releaseHeldLocksSync } from '../runs/node/lock.js';

const SIGNAL_EXIT_CODES: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

export interface Interrupts {
  /** Who gets the next first signal (undefined: nobody stops gracefully, the process ends). */
  graceful: (() => void) | undefined;
  /** Removes the handlers (the command ended). */
  remove(): void;
}

export function handleInterrupts(graceful?: () => void): Interrupts {
  let seen = 0;
  const state: Interrupts = {
    graceful,
    remove: () => {
      process.off('SIGINT', listener);
      process.off('SIGTERM', listener);
    },
  };
  function listener(signal: NodeJS.Signals): void {
    seen++;
    if (state.graceful && seen === 1) {
      state.graceful();
      return;
    }
    releaseHeldLocksSync();
    process.exit(SIGNAL_EXIT_CODES[signal as 'SIGINT' | 'SIGTERM'] ?? 1);
  }
  process.on('SIGINT', listener);
  process.on('SIGTERM', listener);
  return state;
}
