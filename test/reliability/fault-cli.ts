// Runs `mnist-lab <args>` in this process with a write fault injected: every atomic write into
// the second checkpoint directory (and later ones) fails with ENOSPC at the given stage, as a
// full disk would. Used by disk-full.test.ts; exits with the CLI's exit code.
//
// Usage: node --import tsx test/reliability/fault-cli.ts <opened|written|synced> <mnist-lab args...>
import { main } from '../../src/cli/main.js';
import { setWriteFaultHook, type WriteStage } from '../../src/runs/node/files.js';

const [failStage, ...args] = process.argv.slice(2);
const checkpointSteps = new Set<string>();
setWriteFaultHook((stage: WriteStage, path: string) => {
  const step = /checkpoints[/\\](\d+)[/\\]/.exec(path)?.[1];
  if (step === undefined) return;
  checkpointSteps.add(step);
  if (checkpointSteps.size >= 2 && stage === failStage) {
    throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
  }
});
process.exitCode = await main([process.execPath, 'mnist-lab', ...args]);
