// Runs mnist-lab command lines in one process through main() and prints, for each, its exit code
// and what it wrote: a JSON array on the real stdout. Used by cli-args.test.ts so that ~80 command
// lines cost one node start (the test runner's own output must not mix with the captured writes).
//
// Usage: node --import tsx test/reliability/cli-runner.ts '<JSON array of argument arrays>'
import { main } from '../../src/cli/main.js';

/** A command line still running after this long started real work: a validation gap. */
const TIMEOUT_MS = 10_000;

export interface CliResult {
  args: string[];
  code: number | 'timeout';
  stdout: string;
  stderr: string;
}

const commandLines = JSON.parse(process.argv[2] ?? '[]') as string[][];
const realStdout = process.stdout.write.bind(process.stdout);
const results: CliResult[] = [];
for (const args of commandLines) {
  const out = { stdout: '', stderr: '' };
  process.stdout.write = ((chunk: string | Uint8Array) => ((out.stdout += String(chunk)), true)) as never;
  process.stderr.write = ((chunk: string | Uint8Array) => ((out.stderr += String(chunk)), true)) as never;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), TIMEOUT_MS)),
  );
  const code = await Promise.race([main([process.execPath, 'mnist-lab', ...args]), timeout]);
  clearTimeout(timer);
  process.exitCode = undefined;
  results.push({ args, code, ...out });
  if (code === 'timeout') break; // its work goes on in this process: later results would mix with it
}
realStdout(`${JSON.stringify(results)}\n`, () => process.exit(0));
