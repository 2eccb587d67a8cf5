// `backside export` and `backside import` show progress on stderr when it is a terminal (issue 18), never in piped
// output: run under a pseudo-terminal with `script`, and with pipes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

import { backsideBin, makeTempDir, runBackside } from './lib/server.mjs';

const quote = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;

/** Runs a shell command line under a pseudo-terminal (stdin, stdout and stderr on it): what the terminal shows. */
function onTerminal(commandLine) {
  const result = spawnSync('script', ['-q', '-e', '-c', commandLine, '/dev/null'], { encoding: 'utf8', timeout: 60000 });
  assert.equal(result.status, 0, `${commandLine}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

const haveScript = spawnSync('script', ['--version']).status === 0;

test('export and import draw progress on a terminal, and nothing into pipes', { skip: !haveScript && 'no script(1)' }, async () => {
  const work = makeTempDir('backside-e2e-progress-');
  const users = {};
  for (let i = 0; i < 5000; i++) users[`u${i}`] = { name: `User ${i}`, age: i % 90, active: i % 3 === 0, score: i * 1.5 };
  const file = path.join(work, 'tree.json');
  fs.writeFileSync(file, JSON.stringify({ users }));
  const dataDir = path.join(work, 'data');

  // Import under a terminal: the file's reading, then the writing.
  const imported = onTerminal(`${quote(backsideBin)} import --data-dir ${quote(dataDir)} ${quote(file)}`);
  assert.match(imported, new RegExp(`reading ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\[#+\\] 100%`));
  assert.match(imported, /writing \[#+\] 100%/);
  assert.match(imported, /imported 20000 leaves/);

  // Export piped (what scripts do): no progress, no control characters on stderr.
  const piped = await runBackside(['export', '--data-dir', dataDir]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stderr, '');
  assert.deepEqual(JSON.parse(piped.stdout), { users });

  // Export to a file with stderr on a terminal: reading, then the leaves written, to 100%.
  const out = path.join(work, 'out.json');
  const shown = onTerminal(`${quote(backsideBin)} export --data-dir ${quote(dataDir)} > ${quote(out)}`);
  assert.match(shown, /reading database default \[ +\] +0%/);
  assert.match(shown, /reading database default \[#+\] 100%/);
  assert.match(shown, /writing 20000 leaves \[#+\] 100%/);
  assert.equal(fs.readFileSync(out, 'utf8'), piped.stdout, 'the file is the same export');

  // Export whose JSON goes to the terminal itself: the data only, no bar drawn over it.
  const onScreen = onTerminal(`${quote(backsideBin)} export --data-dir ${quote(dataDir)} 2>&1`);
  assert.doesNotMatch(onScreen, /%/);
  assert.deepEqual(JSON.parse(onScreen), { users });

  // Export with stderr piped and stdout to a file: nothing drawn.
  const quiet = onTerminal(`${quote(backsideBin)} export --data-dir ${quote(dataDir)} 2>&1 > ${quote(out)} | cat`);
  assert.equal(quiet, '');
  fs.rmSync(work, { recursive: true, force: true });
});
