// Invalid arguments (issue 9): every command rejects bad flag values, unknown flags, missing values,
// incompatible combinations and paths that do not exist with exactly one line on stderr (naming the
// flag, what it expects and the fix), exit code 2 and no stack trace, before doing any work.
//
// NOTE: all command lines run in one child process through main() (cli-runner.ts; src/cli/main.ts
// runs itself only as the entry point): ~80 invocations cost one node start instead of one each.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { CliResult } from './cli-runner.js';

const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-cli-args-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
const FILE = join(scratch, 'a-file.txt');
writeFileSync(FILE, 'not a model');
const DIR = join(scratch, 'a-dir');
mkdirSync(DIR);
const MISSING = join(scratch, 'does-not-exist');

interface Case {
  args: string[];
  /** What the error line must say (besides the flag, checked by `flag`). */
  says: RegExp;
}

/** [command line, expected message] — each must fail with exit 2 and one line. */
const CASES: Case[] = [
  // the program
  { args: ['nope'], says: /unknown command 'nope'.*mnist-lab --help/ },
  { args: ['--bogus'], says: /unknown option '--bogus'/ },
  // train: types, ranges, enums
  { args: ['train', '--epochs', '0'], says: /--epochs expects a whole number from 1 to 10000, found '0'/ },
  { args: ['train', '--epochs', 'abc'], says: /--epochs expects a whole number .* found 'abc'/ },
  { args: ['train', '--epochs', '1.5'], says: /--epochs expects a whole number/ },
  { args: ['train', '--epochs'], says: /option '--epochs <n>' argument missing/ },
  { args: ['train', '--batch-size', '-1'], says: /--batch-size expects a whole number from 1/ },
  { args: ['train', '--batch-size', '0'], says: /--batch-size expects a whole number from 1/ },
  { args: ['train', '--batch-size', '100000'], says: /--batch-size .* to 65536, found '100000'/ },
  {
    args: ['train', '--accumulate', '0'],
    says: /--accumulate expects a whole number from 1 to 4096, found '0'/,
  },
  { args: ['train', '--lr', 'abc'], says: /--lr expects a number in \(0, 1000000\], found 'abc'/ },
  { args: ['train', '--lr', '0'], says: /--lr expects a number in \(0/ },
  { args: ['train', '--lr', '-0.1'], says: /--lr expects a number in \(0/ },
  { args: ['train', '--lr', 'Infinity'], says: /--lr expects a number/ },
  { args: ['train', '--lr', 'NaN'], says: /--lr expects a number/ },
  { args: ['train', '--model', 'nope'], says: /--model expects one of mlp, cnn, .*found 'nope'/ },
  { args: ['train', '--optimizer', 'lbfgs'], says: /--optimizer expects one of adam, .*found 'lbfgs'/ },
  { args: ['train', '--schedule', 'linear'], says: /--schedule expects one of constant, .*found 'linear'/ },
  {
    args: ['train', '--validation-split', '0.95'],
    says: /--validation-split expects a number in \[0, 0.9\]/,
  },
  { args: ['train', '--validation-split', 'half'], says: /--validation-split expects a number/ },
  { args: ['train', '--seed', '-1'], says: /--seed expects a whole number from 0/ },
  { args: ['train', '--limit', '0'], says: /--limit expects a whole number from 1/ },
  { args: ['train', '--classes', '3-1'], says: /--classes range '3-1' runs backwards/ },
  { args: ['train', '--classes', 'a,b'], says: /--classes expects a list like 0-4/ },
  { args: ['train', '--classes', '0-12'], says: /--classes 10,11,12: mnist has classes 0-9/ },
  { args: ['train', '--classes', '4'], says: /--classes needs at least two classes/ },
  { args: ['train', '--threads', '0'], says: /--threads expects a whole number from 1 to 1024/ },
  { args: ['train', '--backend', 'gpu'], says: /--backend expects one of js, native, wasm, found 'gpu'/ },
  { args: ['train', 'extra'], says: /too many arguments/ },
  { args: ['train', '--frobnicate'], says: /unknown option '--frobnicate'.*mnist-lab train --help/ },
  // train: the seed tutorial's experiment flags
  {
    args: ['train', '--loss', 'hinge'],
    says: /--loss expects one of sparse-ce, ce, mse, bce, found 'hinge'/,
  },
  { args: ['train', '--label-smoothing', '1.5'], says: /--label-smoothing expects a number in \[0, 1\]/ },
  { args: ['train', '--weight-decay', '-1'], says: /--weight-decay expects a number in \[0, 1\]/ },
  { args: ['train', '--clip-norm', '0'], says: /--clip-norm expects a number in \(0, 1000000\]/ },
  { args: ['train', '--patience', '-2'], says: /--patience expects a whole number from 0/ },
  { args: ['train', '--patience', '2'], says: /--patience applies with --early-stopping/ },
  {
    args: ['train', '--early-stopping'],
    says: /--early-stopping watches the validation loss; add --validation-split/,
  },
  { args: ['train', '--save-best'], says: /--save-best keeps the epoch .*; add --validation-split/ },
  {
    args: ['train', '--loss', 'mse', '--label-smoothing', '0.1'],
    says: /--label-smoothing 0.1: loss mse takes no label smoothing/,
  },
  // compare and summary
  {
    args: ['compare', '--losses', 'ce,hinge'],
    says: /--losses expects a comma-separated list of sparse-ce, ce, mse, bce, found 'ce,hinge'/,
  },
  { args: ['compare', '--optimizers', ''], says: /--optimizers expects a comma-separated list of sgd, adam/ },
  { args: ['compare', '--model', 'nope'], says: /--model expects one of mlp, cnn/ },
  { args: ['compare', '--epochs', '0'], says: /--epochs expects a whole number from 1/ },
  { args: ['compare', '--lr', '0'], says: /--lr expects a number in \(0/ },
  { args: ['summary'], says: /missing required argument 'model'/ },
  { args: ['summary', 'nope'], says: /expected a zoo model .*found 'nope'/ },
  // train: datasets and paths
  {
    args: ['train', '--dataset', 'cifar10'],
    says: /--dataset: unknown dataset 'cifar10': expected one of mnist, fashion-mnist, or a directory/,
  },
  { args: ['train', '--dataset', `idx:${MISSING}`], says: /--dataset: dataset 'idx:.*': no such directory/ },
  {
    args: ['train', '--dataset', `folder:${FILE}`],
    says: /--dataset: dataset 'folder:.*': no such directory/,
  },
  { args: ['train', '--data-dir', MISSING], says: /--data-dir expects an existing directory, found no such/ },
  { args: ['train', '--resume', MISSING], says: /--resume expects a run directory written by train/ },
  // a file where a directory is wanted is refused, not ignored (a --data-dir file was searched by nobody)
  {
    args: ['train', '--data-dir', FILE],
    says: /--data-dir expects an existing directory, found a file '.*a-file\.txt'; give the directory itself/,
  },
  {
    args: ['train', '--resume', FILE],
    says: /--resume expects a run directory written by train, found a file .*; give the directory itself/,
  },
  {
    args: ['train', '--resume', DIR, '--out', FILE],
    says: /--resume continues the run in its own directory/,
  },
  { args: ['train', '--resume', DIR], says: /--resume .*no readable config.json there/ },
  // finetune
  {
    args: ['finetune', '--method', 'prompt'],
    says: /--method expects one of linear-probe, head, full, lora/,
  },
  { args: ['finetune', '--rank', '0'], says: /--rank expects a whole number from 1 to 4096/ },
  {
    args: ['finetune', '--rank', '4'],
    says: /--rank, --alpha and --target configure LoRA; add --method lora/,
  },
  { args: ['finetune', '--alpha', '0', '--method', 'lora'], says: /--alpha expects a number in \(0/ },
  { args: ['finetune', '--lora-dropout', '1'], says: /--lora-dropout expects a number in \[0, 1\)/ },
  { args: ['finetune', '--freeze', 'conv*'], says: /--method head already freezes/ },
  {
    args: ['finetune', '--freeze-until', 'dense', '--method', 'lora'],
    says: /--freeze-until needs --method full/,
  },
  { args: ['finetune', '--head-epochs', '2'], says: /--head-epochs .* needs --method full/ },
  { args: ['finetune', '--lr-mult', 'conv*'], says: /--lr-mult/ },
  { args: ['finetune', '--shots', '0'], says: /--shots expects a whole number from 1/ },
  {
    args: ['finetune', '--task', 'cifar-transfer'],
    says: /--task expects digits-transfer, mnist-to-fashion/,
  },
  { args: ['finetune', '--from', MISSING], says: /--from expects a run directory, checkpoint directory or/ },
  { args: ['finetune', '--data-dir', MISSING], says: /--data-dir expects an existing directory/ },
  { args: ['finetune', '--pretrain-epochs', '0'], says: /--pretrain-epochs expects a whole number from 1/ },
  { args: ['finetune', 'compare'], says: /finetune compare needs --from RUN_DIR/ },
  { args: ['finetune', 'compare', '--ranks', '0,2'], says: /--ranks expects whole numbers/ },
  {
    args: ['finetune', 'compare', '--from', DIR, '--methods', 'head,magic'],
    says: /--methods: unknown 'magic'/,
  },
  {
    args: ['finetune', 'compare', '--from', DIR, '--few-shot', '--shots', '5'],
    says: /--shots .* --few-shot/,
  },
  {
    args: ['finetune', 'merge', '--from', DIR],
    says: /finetune merge needs --from BASE, --adapter DIR and --out/,
  },
  { args: ['finetune', 'merge', '--adapter', MISSING], says: /--adapter expects/ },
  { args: ['finetune', 'merge', '--adapter', FILE], says: /--adapter expects a directory .*found a file/ },
  { args: ['finetune', '--resume', FILE], says: /--resume expects a run directory .*found a file/ },
  { args: ['pretrain', '--resume', FILE], says: /--resume expects a run directory .*found a file/ },
  { args: ['finetune', 'layers'], says: /finetune layers needs --from RUN_DIR/ },
  // evaluate
  { args: ['evaluate'], says: /missing required argument 'runDir'/ },
  {
    args: ['evaluate', MISSING],
    says: /runDir expects a run directory written by train, found no such path/,
  },
  { args: ['evaluate', DIR, '--split', 'validation'], says: /--split expects one of test, train/ },
  { args: ['evaluate', DIR, '--dataset', 'nope'], says: /--dataset: unknown dataset 'nope'/ },
  // predict
  { args: ['predict', FILE], says: /required option '--model <runDir>' not specified/ },
  {
    args: ['predict', '--model', MISSING, FILE],
    says: /--model expects a run directory .*found no such path/,
  },
  {
    args: ['predict', '--model', DIR, MISSING],
    says: /images expects PNG or JPEG files, found no such path/,
  },
  { args: ['predict', '--model', DIR, FILE, '--top', '0'], says: /--top expects a whole number from 1/ },
  { args: ['predict', '--model', DIR], says: /missing required argument 'images'/ },
  // data
  {
    args: ['data', 'prepare', 'nope'],
    says: /^mnist-lab: unknown dataset 'nope': expected one of mnist, fashion-mnist.*data prepare --help/,
  },
  { args: ['data', 'prepare'], says: /missing required argument 'dataset'/ },
  { args: ['data', 'prepare', 'mnist', '--source', 'usb'], says: /--source expects one of auto, data-dir/ },
  { args: ['data', 'prepare', 'mnist', '--timeout', '-5'], says: /--timeout expects a whole number from 1/ },
  {
    args: ['data', 'prepare', 'mnist', '--data-dir', MISSING],
    says: /--data-dir expects an existing directory/,
  },
  {
    args: ['data', 'prepare', 'mnist', '--data-dir', FILE],
    says: /--data-dir expects an existing directory, found a file/,
  },
  { args: ['data', 'show', 'mnist'], says: /required option '--out <file>' not specified/ },
  {
    args: ['data', 'show', 'mnist', '--out', FILE, '--columns', '0'],
    says: /--columns expects a whole number/,
  },
  { args: ['data', 'show', 'mnist', '--out', FILE, '--zoom', 'x'], says: /--zoom expects a whole number/ },
  {
    args: ['data', 'show', 'mnist', '--out', FILE, '--split', 'dev'],
    says: /--split expects one of train, test/,
  },
  { args: ['data', 'frobnicate'], says: /unknown command 'frobnicate'.*mnist-lab data --help/ },
  // export / import
  {
    args: ['export', '--model', DIR, '--out', DIR],
    says: /required option '--format <format>' not specified/,
  },
  {
    args: ['export', '--model', DIR, '--out', DIR, '--format', 'pt'],
    says: /--format expects one of tfjs, onnx/,
  },
  { args: ['export', '--model', MISSING, '--out', DIR, '--format', 'onnx'], says: /--model expects a run/ },
  {
    args: ['import', '--from', MISSING, '--out', DIR],
    says: /--from expects a TF.js model.json, found no such/,
  },
  { args: ['import', '--out', DIR], says: /required option '--from <path>' not specified/ },
];

/** Runs the command lines in one child process (cli-runner.ts) and returns what each did. */
function runAll(commandLines: string[][]): CliResult[] {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'cli-runner.ts'), JSON.stringify(commandLines)],
    { encoding: 'utf8', timeout: 120_000 },
  );
  assert.equal(child.status, 0, `cli-runner failed:\n${child.stderr}`);
  return JSON.parse(child.stdout) as CliResult[];
}

const EXTRA: string[][] = [['--debug', 'train', '--resume', DIR], ['--help'], ['--version']];
let results: CliResult[] = [];
before(() => {
  results = runAll([...CASES.map((c) => c.args), ...EXTRA]);
});
function resultOf(args: string[]): CliResult {
  const result = results.find((r) => r.args.join('\0') === args.join('\0'));
  assert.ok(result, `no result for ${args.join(' ')} (an earlier command line hung: see the runner)`);
  return result;
}

describe('mnist-lab: invalid arguments', () => {
  it(`covers ${CASES.length} bad invocations across every command`, () => {
    assert.ok(CASES.length >= 40);
    const commands = new Set(CASES.map((c) => c.args[0]));
    for (const name of ['train', 'finetune', 'evaluate', 'predict', 'data', 'export', 'import'])
      assert.ok(commands.has(name), name);
  });

  for (const { args, says } of CASES) {
    it(`mnist-lab ${args.join(' ').replaceAll(scratch, '<tmp>')}`, () => {
      const run = resultOf(args);
      assert.equal(run.code, 2, `exit code 2 (invalid arguments), got ${run.code}: ${run.stderr}`);
      assert.equal(run.stdout, '', 'nothing on stdout');
      const lines = run.stderr.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 1, `exactly one line on stderr, found:\n${run.stderr}`);
      const line = lines[0] ?? '';
      assert.match(line, /^mnist-lab: /);
      assert.match(line, says);
      assert.doesNotMatch(line, /\n| {4}at |Error:|\.ts:\d+/, 'no stack trace');
    });
  }

  it('with --debug the stack trace follows the line', () => {
    const run = resultOf(EXTRA[0] ?? []);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^mnist-lab: --resume .*\n.*Error/);
  });

  it('--help and --version exit 0 and list the exit codes', () => {
    const help = resultOf(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Exit codes: 0 .* 2 invalid arguments, 3 training diverged/);
    const version = resultOf(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
