// How CLI commands print. With --json a command writes exactly one JSON object to stdout and
// nothing else; progress and information always go to stderr so stdout stays parseable.
import type { DataEvent } from '../data/dataset.js';

/** The single JSON result of a command, on one line. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A line of the human-readable result (stdout). Commands call it only without --json. */
export function printResult(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A progress or information line (stderr), in every mode. */
export function printInfo(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * What loading a dataset says: the source used, sources that failed, downloads. Sources that are
 * simply absent (a first run's empty cache) are printed only with --debug.
 */
export function dataEventPrinter(
  log: (line: string) => void,
  options: { debug?: boolean },
): (event: DataEvent) => void {
  return (event) => {
    if (event.kind !== 'source-absent' || options.debug === true) log(event.message);
  };
}
