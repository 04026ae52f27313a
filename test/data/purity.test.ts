// The pure data modules (and the PRNG) must run in a browser: no Node-only imports or globals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers.js';

test('src/data/*.ts and src/util/random.ts import nothing Node-only', () => {
  const dataDir = join(REPO_ROOT, 'src', 'data');
  const files = [
    ...readdirSync(dataDir)
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(dataDir, name)),
    join(REPO_ROOT, 'src', 'util', 'random.ts'),
  ];
  assert.ok(files.length >= 10, `found only ${files.length} files`);
  for (const file of files) {
    const source = readFileSync(file, 'utf8');
    const imports = [...source.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
    for (const specifier of imports) {
      assert.ok(
        specifier.startsWith('./') || specifier.startsWith('../util/'),
        `${file} imports '${specifier}'`,
      );
      assert.ok(!specifier.includes('/node/'), `${file} imports the Node-only '${specifier}'`);
    }
    assert.doesNotMatch(source, /\b(process|Buffer|require)\b[.(]/, `${file} uses a Node global`);
  }
});
