#!/usr/bin/env node
// The mnist-lab command line: a thin client of the public API. Each command group lives in
// src/cli/commands/<group>.ts and registers itself on the program here; no training or data logic
// lives in the CLI.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerDataCommands } from './commands/data.js';
import { EXIT_CODES_HELP, reportCommanderError, reportError } from './errors.js';
import { registerTrainCommands } from './commands/train.js';
import { registerCompareCommand } from './commands/compare.js';
import { registerSummaryCommand } from './commands/summary.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerInteropCommands } from './commands/interop.js';
import { registerFinetuneCommands } from './commands/finetune.js';
import { registerPretrainCommand } from './commands/pretrain.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStartCommand } from './commands/start.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('mnist-lab')
    .description('Train, fine-tune and evaluate neural networks on MNIST-family data.')
    .version(VERSION)
    .option('--debug', 'print stack traces on errors')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    // Errors are one line written by main() (errors.ts); commander's own error output is silenced.
    .configureOutput({ outputError: () => undefined })
    .exitOverride();
  registerStartCommand(program);
  registerDataCommands(program);
  registerTrainCommands(program);
  registerCompareCommand(program);
  registerSummaryCommand(program);
  registerEvaluateCommand(program);
  registerPredictCommand(program);
  registerInteropCommands(program);
  registerPretrainCommand(program);
  registerFinetuneCommands(program);
  registerServeCommand(program);
  return program;
}

/** Runs the CLI on `argv` (as process.argv: node, script, ...words) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) return reportCommanderError(error, program, argv.slice(2));
    return reportError(error, argv.includes('--debug'));
  }
}

/** True when this file is the program node runs (bin link, dist/cli/main.js, tsx), not an import. */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

/**
 * A reader that stops early (`mnist-lab --help | head -3`) closes the pipe: the output ends there,
 * quietly, instead of with an unhandled EPIPE and its stack trace.
 */
function endQuietlyOnClosedPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== 'EPIPE') throw error;
  process.exit(Number(process.exitCode ?? 0));
}

if (isEntryPoint()) {
  process.stdout.on('error', endQuietlyOnClosedPipe);
  process.stderr.on('error', endQuietlyOnClosedPipe);
  process.exitCode = await main(process.argv);
}
