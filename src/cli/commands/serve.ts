// `mnist-lab serve`: the web app and its JSON API on a local HTTP server (src/server). Prints the
// address to open (with the access token when bound beyond loopback, as Jupyter does) and runs
// until SIGINT/SIGTERM, then closes cleanly (a training run the server started is stopped with a
// checkpoint) and exits 0.
import { Command } from 'commander';
import { isLoopbackHost, startServer } from '../../server/index.js';
import { getBackend } from '../../index.js';
import { integerIn } from '../flags.js';
import { printInfo, printResult } from '../output.js';
import { backendOptions } from './train.js';

interface ServeFlags {
  port: number;
  host: string;
  runs: string;
  /** false with --no-token. */
  token: boolean;
  allowHost: string[];
  backend?: 'js' | 'native' | 'wasm';
  threads?: number;
}

async function serve(flags: ServeFlags): Promise<void> {
  const server = await startServer({
    port: flags.port,
    host: flags.host,
    runsDir: flags.runs,
    allowHosts: flags.allowHost,
    ...(flags.token ? {} : { token: false as const }),
    ...(flags.backend ? { backend: flags.backend } : {}),
    ...(flags.threads ? { threads: flags.threads } : {}),
  });
  const [first, ...others] = server.openUrls;
  printResult(`mnist-lab serve: ${first} (runs: ${flags.runs}, backend: ${getBackend().name})`);
  for (const url of others) printResult(`mnist-lab serve: also at ${url}`);
  if (server.token) {
    printInfo(
      `mnist-lab serve: bound to ${flags.host}, so the API needs the token above: open an address printed here, ` +
        `or send 'Authorization: Bearer TOKEN' (--no-token turns it off)`,
    );
  } else if (!isLoopbackHost(flags.host)) {
    printInfo(
      `mnist-lab serve: warning: --no-token on ${flags.host}: anyone who can reach this address can list runs, ` +
        `download models and start trainings`,
    );
  }
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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerServeCommand(program: Command): void {
  const command = program
    .command('serve')
    .description('serve the web app (draw a digit, watch training, browse runs) and its JSON API')
    .option('--port <n>', 'TCP port (0: any free port)', integerIn('--port', 0, 65535), 8080)
    .option(
      '--host <address>',
      'address to bind (127.0.0.1: this machine only; 0.0.0.0: every network, with an access token)',
      '127.0.0.1',
    )
    .option('--runs <dir>', 'the runs directory to list and train into', 'runs')
    .option(
      '--no-token',
      'no access token for the API even when bound beyond loopback (trusted networks only)',
    )
    .option(
      '--allow-host <name>',
      'another Host name the server answers to, e.g. behind a proxy (repeatable)',
      collect,
      [],
    );
  backendOptions(command).action((flags: ServeFlags) => serve(flags));
}
