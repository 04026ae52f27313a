// How the CLI reports failures: one line on stderr, a stack trace only with --debug.
export function reportError(error: unknown, debug: boolean): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`mnist-lab: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return 1;
}
