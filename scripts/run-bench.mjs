#!/usr/bin/env node
// `npm run bench`: runs the benchmark harness (bench/main.ts) through tsx, forwarding arguments
// and the exit code:
//   npm run bench                                 every workload, 3 interleaved rounds
//   npm run bench -- --workloads cnn,mlp --rounds 5 --backend native
//   npm run bench -- --quick                      a smoke run
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', join(root, 'bench/main.ts'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
