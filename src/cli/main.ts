#!/usr/bin/env node
// The mnist-lab command line: a thin client of the public API. Each command group lives in
// src/cli/commands/<group>.ts and registers itself on the program here; no training or data logic
// lives in the CLI.
import { Command, CommanderError } from 'commander';
import { registerDataCommands } from './commands/data.js';
import { reportError } from './errors.js';
import { registerTrainCommands } from './commands/train.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerInteropCommands } from './commands/interop.js';
import { registerFinetuneCommands } from './commands/finetune.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('mnist-lab')
    .description('Train, fine-tune and evaluate neural networks on MNIST-family data.')
    .version(VERSION)
    .option('--debug', 'print stack traces on errors')
    .showHelpAfterError()
    .exitOverride();
  registerDataCommands(program);
  registerTrainCommands(program);
  registerEvaluateCommand(program);
  registerPredictCommand(program);
  registerInteropCommands(program);
  registerFinetuneCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0 through the override; usage errors were already printed.
      process.exitCode = error.exitCode;
      return;
    }
    process.exitCode = reportError(error, argv.includes('--debug'));
  }
}

await main(process.argv);
