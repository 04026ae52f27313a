// `mnist-lab compare`: trains the grid and writes one report (report.html + compare.json) into a new
// folder; the same command twice gives the same numbers (seeded); a folder of other files is refused.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cli, scratch } from '../runs/helpers.js';

const root = scratch('compare-cli');
after(() => root.remove());
const COMPARE = [
  'compare',
  '--losses',
  'ce,bce',
  '--optimizers',
  'sgd,adam',
  '--model',
  'mlp',
  '--epochs',
  '1',
  '--limit',
  '300',
  '--offline',
];

interface Record {
  model: string;
  dataset: string;
  runs: { loss: string; optimizer: string; testAccuracy: number; macroF1: number; curve: unknown[] }[];
}

describe('mnist-lab compare', () => {
  it('writes report.html and compare.json and prints the table', () => {
    const out = join(root.path, 'grid');
    const result = cli([...COMPARE, '--out', out]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['compare.json', 'report.html']);
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines[0], '| loss | optimizer | test accuracy | macro F1 | train seconds | epochs to 98% |');
    assert.deepEqual(
      lines.slice(2, 6).map((line) => line.split(' | ').slice(0, 2).join('/')),
      ['| ce/sgd', '| ce/adam', '| bce/sgd', '| bce/adam'],
    );
    assert.equal(lines[6], `report: ${join(out, 'report.html')}`);
    const record = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8')) as Record;
    assert.equal(record.model, 'mlp');
    assert.equal(record.dataset, 'mnist');
    assert.equal(record.runs.length, 4);
    const adam = record.runs.find((r) => r.loss === 'ce' && r.optimizer === 'adam')!;
    assert.ok(adam.testAccuracy > 0.5, `300 images, one epoch of Adam: ${adam.testAccuracy}`);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    assert.match(html, /<table id="results">/);
    assert.equal((html.match(/<figure data-chart=/g) ?? []).length, 3);
  });

  it('gives the same numbers twice (--json), and refuses a folder of other files', () => {
    const first = JSON.parse(cli([...COMPARE, '--out', join(root.path, 'a'), '--json']).stdout) as Record;
    const second = JSON.parse(cli([...COMPARE, '--out', join(root.path, 'b'), '--json']).stdout) as Record;
    const numbers = (r: Record) => r.runs.map((run) => [run.testAccuracy, run.macroF1, run.curve]);
    assert.deepEqual(numbers(first), numbers(second));

    const other = join(root.path, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'notes.txt'), 'mine\n');
    const refused = cli([...COMPARE, '--out', other]);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--out .*other is not empty and holds no mnist-lab run \(found notes.txt\)/);
    assert.deepEqual(readdirSync(other), ['notes.txt']);
  });
});
