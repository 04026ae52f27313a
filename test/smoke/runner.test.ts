// The test runner CI reads (scripts/run-tests.mjs): its closing line counts what really ran, and
// its exit code fails on any failure and on a run that executed no test.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'mnist-lab-runner-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the runner on test files with these bodies; returns its exit code and closing line. */
function runOn(files: Record<string, string>): { status: number | null; closing: string } {
  const dir = mkdtempSync(join(scratch, 'case-'));
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(
      join(dir, name),
      `import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n${body}\n`,
    );
  }
  // NOTE: without NODE_TEST_CONTEXT the inner run reports as a top-level one, not to this runner.
  const { NODE_TEST_CONTEXT: _parent, ...env } = process.env;
  const result = spawnSync(process.execPath, [join(ROOT, 'scripts', 'run-tests.mjs'), dir], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
  });
  const lines = `${result.stdout}${result.stderr}`.trim().split('\n');
  return { status: result.status, closing: lines[lines.length - 1] ?? '' };
}

describe('scripts/run-tests.mjs', () => {
  it('counts passes, failures and skips and exits 1 when one test fails', () => {
    const result = runOn({
      'a.test.ts':
        "test('passes', () => assert.equal(2 + 2, 4));\ntest('skipped', { skip: true }, () => {});",
      'b.test.ts': "test('fails', () => assert.equal(2 + 2, 5));",
    });
    assert.equal(result.closing, 'tests: 1 passed, 1 failed, 1 skipped');
    assert.equal(result.status, 1);
  });

  it('exits 0 when every test passes', () => {
    const result = runOn({ 'a.test.ts': "test('passes', () => assert.ok(true));" });
    assert.equal(result.closing, 'tests: 1 passed, 0 failed, 0 skipped');
    assert.equal(result.status, 0);
  });

  it('exits 1 when it finds no test file', () => {
    const result = runOn({ 'helpers.ts': '// not a test file' });
    assert.equal(result.status, 1);
  });

  it('counts a file that fails to load as a failure', () => {
    const result = runOn({ 'a.test.ts': "import './missing-module.js';\ntest('never runs', () => {});" });
    assert.match(result.closing, /^tests: 0 passed, [1-9]\d* failed, 0 skipped$/);
    assert.equal(result.status, 1);
  });
});
