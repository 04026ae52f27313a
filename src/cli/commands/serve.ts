// `mnist-lab serve`: the web app and its JSON API on a local HTTP server (src/server). Prints one
// line with the address and runs until SIGINT/SIGTERM, then closes cleanly (a training run the
// server started is stopped with a checkpoint) and exits 0.
import { Command } from 'commander';
import { startServer } from '../../server/index.js';
import { getBackend } from '../../index.js';
import { integerIn } from '../flags.js';
import { printResult } from '../output.js';
import { backendOptions } from './train.js';

interface ServeFlags {
  port: number;
  host: string;
  runs: string;
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
}

async function serve(flags: ServeFlags): Promise<void> {
  const server = await startServer({
    port: flags.port,
    host: flags.host,
    runsDir: flags.runs,
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  printResult(`mnist-lab serve: ${server.url} (runs: ${flags.runs}, backend: ${getBackend().name})`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description('serve the web app (draw a digit, watch training, browse runs) and its JSON API')
    .option('--port <n>', 'TCP port (0: any free port)', integerIn('--port', 0, 65535), 8080)
    .option('--host <address>', 'address to bind (127.0.0.1: this machine only)', '127.0.0.1')
    .option('--runs <dir>', 'the runs directory to list and train into', 'runs');
  backendOptions(command).action((flags: ServeFlags) => serve(flags));
}
