// How the CLI reports failures: one line on stderr (a stack trace only with --debug) and an exit
// code that tells a script what happened. The codes are listed in `mnist-lab --help`.
import { CommanderError, type Command } from 'commander';
import { TrainingDivergedError } from '../index.js';
import { RunFolderError } from '../runs/node/folder.js';

/** Exit codes of every command. */
export const EXIT_CODES = {
  /** Done, or interrupted by SIGINT/SIGTERM with a resumable checkpoint. */
  ok: 0,
  /** A runtime failure: missing file, corrupt data, failed write (disk full), ... */
  error: 1,
  /**
   * Invalid arguments: a bad flag value, an unknown flag or command, incompatible flags, an output
   * folder that holds a run or other files.
   */
  usage: 2,
  /** Training diverged: a NaN or infinite loss or gradient; the last good checkpoint is kept. */
  diverged: 3,
} as const;

export const EXIT_CODES_HELP =
  'Exit codes: 0 done (or interrupted, resumable), 1 runtime error, 2 invalid arguments, 3 training diverged (NaN/Inf).';

/** Invalid arguments found after parsing (incompatible flags, a class out of range): exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Commander codes that are not failures. */
const COMMANDER_OK = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Writes the one error line for `error` and returns the exit code. */
export function reportError(error: unknown, debug: boolean): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`mnist-lab: ${oneLine(message)}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  if (error instanceof UsageError || error instanceof RunFolderError) return EXIT_CODES.usage;
  if (error instanceof TrainingDivergedError) return EXIT_CODES.diverged;
  return EXIT_CODES.error;
}

/**
 * The exit code of a commander error, after writing its one line (commander's own output is
 * silenced in main.ts). `args` are the command-line words after the program name; they name the
 * command whose --help the line points to.
 */
export function reportCommanderError(error: CommanderError, program: Command, args: string[]): number {
  if (COMMANDER_OK.has(error.code)) return EXIT_CODES.ok;
  // "error: option '--epochs <n>' argument 'abc' is invalid. --epochs expects ..." -> "--epochs expects ..."
  let message = error.message.replace(/^error: /, '');
  const invalid = /^option '(-[^ ,']*)[^']*' argument '([^']*)' is invalid\. (.*)$/s.exec(message);
  const argument = /^command-argument value '([^']*)' is invalid for argument '([^']*)'\. (.*)$/s.exec(
    message,
  );
  if (argument) {
    const [, value = '', name = '', reason = ''] = argument;
    message =
      reason.startsWith(name) || reason.includes(`'${value}'`) ? reason : `${name} '${value}': ${reason}`;
  }
  if (invalid) {
    const [, flag = '', value = '', reason = ''] = invalid;
    const choices = /^Allowed choices are (.*?)\.?$/.exec(reason);
    if (choices) message = `${flag} expects one of ${choices[1]}, found '${value}'`;
    else message = reason.startsWith(flag) ? reason : `${flag}: ${reason}`;
  }
  process.stderr.write(`mnist-lab: ${oneLine(message)} (see '${commandPath(program, args)} --help')\n`);
  return EXIT_CODES.usage;
}

/** "mnist-lab finetune compare" for args ['finetune', 'compare', '--ranks', 'x']. */
function commandPath(program: Command, args: string[]): string {
  const names = [program.name()];
  let command = program;
  for (const word of args) {
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) break;
    names.push(sub.name());
    command = sub;
  }
  return names.join(' ');
}

/** Error messages are one line: a multi-line message (a wrapped cause) is joined. */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .join(' ');
}
