#!/usr/bin/env node
// `npm run fuzz`: the fuzz tests at a longer size. Runs every fuzz test file (the safetensors
// reader's, the server's /api/predict properties, test/reliability/fuzz.test.ts and any
// test/**/*fuzz*.test.ts) with FUZZ_RUNS cases per property (default 20000;
// `FUZZ_RUNS=100000 npm run fuzz` for more) and closes with the cases run per parser. CI runs the same files at their own smaller size in `npm test`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const DEFAULT_RUNS = 20000;
// Fuzz properties that live beside other tests: the safetensors reader's, and /api/predict's in
// the server's load test.
const ALWAYS = ['test/io/safetensors.test.ts', 'test/server/load.test.ts'];

function fuzzFiles(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) fuzzFiles(path, out);
    else if (/fuzz.*\.test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

const runs = process.env.FUZZ_RUNS || String(DEFAULT_RUNS);
if (!/^[1-9]\d*$/.test(runs)) {
  console.error(`FUZZ_RUNS expects a whole number of cases per property, found '${runs}'`);
  process.exit(2);
}
const files = [...ALWAYS.filter((file) => existsSync(file)), ...fuzzFiles('test', [])];
console.error(`fuzz: ${runs} cases per property over ${files.join(', ')}`);
const started = performance.now();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files], {
  env: { ...process.env, FUZZ_RUNS: runs },
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  maxBuffer: 64 * 1024 * 1024,
});
process.stdout.write(result.stdout);

// Each fuzz file prints "fuzz cases: <parser> <n>" when it ends (test/reliability/fuzz-runs.ts).
const cases = new Map();
for (const [, parser, count] of result.stdout.matchAll(/^fuzz cases: (.+) (\d+)$/gm)) {
  cases.set(parser, (cases.get(parser) ?? 0) + Number(count));
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(`\nfuzz cases per parser (${runs} per property, ${seconds} s):`);
for (const [parser, count] of [...cases].sort()) console.log(`  ${parser.padEnd(20)} ${count}`);
const failed = result.status !== 0;
console.log(failed ? 'fuzz: FAILED (see above)' : 'fuzz: all passed');
process.exit(failed ? 1 : 0);
