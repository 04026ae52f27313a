// How many cases a fuzz property runs, and the per-parser tally `npm run fuzz` prints. The CI size
// is each property's own; FUZZ_RUNS in the environment (scripts/run-fuzz.mjs) overrides it.
import { after } from 'node:test';

const tally = new Map<string, number>();
// Registered when a fuzz test file imports this module: runs once, after all its tests.
after(() => {
  for (const [name, count] of tally) process.stdout.write(`fuzz cases: ${name} ${count}\n`);
});

function runsFromEnvironment(): number | undefined {
  const value = process.env['FUZZ_RUNS'];
  if (value === undefined || value === '') return undefined;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`FUZZ_RUNS expects a whole number of cases per property, found '${value}'`);
  return runs;
}

/**
 * The numRuns of one property over `parser` (FUZZ_RUNS, else `ciRuns`), counted in the tally that
 * is printed as "fuzz cases: <parser> <n>" lines when the test file ends.
 */
export function fuzzRuns(parser: string, ciRuns: number): number {
  const runs = runsFromEnvironment() ?? ciRuns;
  countCases(parser, runs);
  return runs;
}

/** Counts hand-made cases (forged headers) in the tally. */
export function countCases(parser: string, cases: number): void {
  tally.set(parser, (tally.get(parser) ?? 0) + cases);
}
