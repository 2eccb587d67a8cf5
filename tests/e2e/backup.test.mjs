// `backside backup` and `backside restore`, end to end: a backup taken beside a server under write load holds every
// write acknowledged before it began; a damaged backup restores nothing; a data dir in use is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ref, set } from 'firebase/database';

import { startServer, runBackside, makeTempDir, sleep } from './lib/server.mjs';
import { sdkClient } from './lib/fbsdk.mjs';

// Each REST write carries this much, so that the data file has many pages to copy. Whether a checkpoint (every
// 16 MiB of log) falls inside the backup here depends on the machine's speed: the race between the copy and
// checkpoints is tested in src/store/store_copy_test.cpp, where every commit checkpoints.
const PAD = 'p'.repeat(64 * 1024);

async function rest(server, method, p, body) {
  const response = await fetch(server.u(p), { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  assert.equal(response.status, 200, `${method} ${p} → ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function authCall(server, method, body) {
  const response = await fetch(server.u(`/identitytoolkit.googleapis.com/v1/accounts:${method}?key=demo`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

/**
 * Writers that each write keys 0, 1, 2, ... one after another until stopped, recording how many were acknowledged.
 * `write(i)` performs write i and resolves once it is acknowledged.
 */
function startWriter(name, write) {
  const writer = { name, acknowledged: 0, stopped: false, error: null };
  writer.done = (async () => {
    try {
      for (let i = 0; !writer.stopped; ++i) {
        await write(i);
        writer.acknowledged = i + 1;
      }
    } catch (error) {
      writer.error = error;
    }
  })();
  writer.stop = async () => {
    writer.stopped = true;
    await writer.done;
    if (writer.error) throw writer.error;
  };
  return writer;
}

// The keys of a writer's location in order, checked to be 0..n-1 (a consistent copy holds a prefix of what one
// sequential writer wrote); returns n.
function prefixLength(shallow, what) {
  const keys = Object.keys(shallow ?? {}).map(Number).sort((a, b) => a - b);
  keys.forEach((key, i) => assert.equal(key, i, `${what}: key ${i} missing but ${key} is there (not a consistent copy)`));
  return keys.length;
}

test('a backup taken under write load restores every write acknowledged before it began', async (t) => {
  const server = await startServer({ t });
  // Something of everything a data dir holds: a second database with its own rules, a user, the admin token.
  const adminToken = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  await rest(server, 'PUT', `/.settings/rules.json?ns=second&auth=${adminToken}`, {
    rules: { '.write': true, load: { '.read': true } },
  });
  const signUp = await authCall(server, 'signUp', { email: 'ada@example.com', password: 'correct horse', returnSecureToken: true });
  assert.equal(signUp.status, 200, JSON.stringify(signUp.json));

  const sdk = sdkClient(server, { ns: 'default', t });
  const writers = [
    ...[0, 1, 2].map((w) =>
      startWriter(`rest${w}`, (i) => rest(server, 'PUT', `/load/rest${w}/${i}.json`, { i, pad: PAD })),
    ),
    startWriter('second', (i) => rest(server, 'PUT', `/load/second/${i}.json?ns=second`, { i })),
    startWriter('sdk', (i) => set(ref(sdk.db, `load/sdk/${i}`), { i, by: 'sdk' })),
  ];
  t.after(() => Promise.allSettled(writers.map((writer) => writer.stop())));
  await sleep(1500);

  const backupDir = path.join(makeTempDir('backside-backup-'), 'backup');
  const acknowledgedBefore = Object.fromEntries(writers.map((writer) => [writer.name, writer.acknowledged]));
  const backup = await runBackside(['backup', backupDir, '--data-dir', server.dataDir], { timeoutMs: 120000 });
  const acknowledgedAfter = Object.fromEntries(writers.map((writer) => [writer.name, writer.acknowledged]));
  await Promise.all(writers.map((writer) => writer.stop()));
  assert.equal(backup.code, 0, backup.stderr);
  assert.match(backup.stdout, /backed up 2 database\(s\)/);
  for (const writer of writers) assert.ok(acknowledgedBefore[writer.name] > 0, `${writer.name} wrote before the backup`);
  const manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'backup.json'), 'utf8'));
  const listed = manifest.files.map((file) => file.path).sort();
  for (const file of ['admin-token', 'auth/signing-key.pem', 'db/default/data.mdb', 'db/default/wal',
    'auth/users/data.mdb', 'db/second/data.mdb', 'db/second/rules.json', 'db/second/wal']) {
    assert.ok(listed.includes(file), `${file} in ${JSON.stringify(listed)}`);
  }
  assert.ok(!listed.some((file) => file.endsWith('lock.mdb') || file.endsWith('backside.lock')), JSON.stringify(listed));

  const restoredDir = makeTempDir('backside-restored-');
  const restore = await runBackside(['restore', backupDir, '--data-dir', restoredDir], { timeoutMs: 120000 });
  assert.equal(restore.code, 0, restore.stderr);
  const restored = await startServer({ t, dataDir: restoredDir });
  for (const writer of writers) {
    const location = writer.name === 'second' ? '/load/second.json?ns=second&shallow=true' : `/load/${writer.name}.json?shallow=true`;
    const count = prefixLength(await rest(restored, 'GET', location), writer.name);
    assert.ok(count >= acknowledgedBefore[writer.name],
      `${writer.name}: ${count} writes restored, ${acknowledgedBefore[writer.name]} acknowledged before the backup`);
    assert.ok(count <= acknowledgedAfter[writer.name] + 1, `${writer.name}: ${count} restored, at most ${acknowledgedAfter[writer.name] + 1} made`);
  }
  assert.deepEqual(await rest(restored, 'GET', '/load/rest1/0.json'), { i: 0, pad: PAD });
  assert.deepEqual(await rest(restored, 'GET', '/load/sdk/0.json'), { i: 0, by: 'sdk' });
  // The rules, the admin token, the user and the key that signs its ID tokens came back too.
  assert.equal(fs.readFileSync(path.join(restoredDir, 'admin-token'), 'utf8').trim(), adminToken);
  const denied = await fetch(restored.u('/private.json?ns=second'));
  assert.equal(denied.status, 401);
  const signIn = await authCall(restored, 'signInWithPassword', { email: 'ada@example.com', password: 'correct horse', returnSecureToken: true });
  assert.equal(signIn.status, 200, JSON.stringify(signIn.json));
  assert.equal(signIn.json.localId, signUp.json.localId);
  const byOldToken = await fetch(restored.u(`/load/sdk/0.json?auth=${signUp.json.idToken}`));
  assert.equal(byOldToken.status, 200, 'an ID token issued before the backup verifies with the restored key');
});

/** A server with a little data in two databases, stopped, and a backup of its data dir. */
async function backedUpDataDir(t) {
  const server = await startServer({ t });
  await rest(server, 'PUT', '/things.json', { a: 1, b: { c: 'two' } });
  await rest(server, 'PUT', '/other.json?ns=second', { d: 4 });
  const backupDir = path.join(makeTempDir('backside-backup-'), 'backup');
  const backup = await runBackside(['backup', backupDir, '--data-dir', server.dataDir]);
  assert.equal(backup.code, 0, backup.stderr);
  return { server, backupDir };
}

function flipByte(file, offset) {
  const bytes = fs.readFileSync(file);
  bytes[offset] ^= 0x20;
  fs.writeFileSync(file, bytes);
}

test('a damaged backup is reported file by file and nothing is restored', async (t) => {
  const { backupDir } = await backedUpDataDir(t);
  const damages = [
    ['a truncated LMDB file', (dir) => fs.truncateSync(path.join(dir, 'db/default/data.mdb'), 4096), /db\/default\/data\.mdb is truncated: 4096 bytes of \d+/],
    ['a flipped byte in the LMDB file', (dir) => flipByte(path.join(dir, 'db/default/data.mdb'), 5000), /db\/default\/data\.mdb is damaged: its SHA-256 is/],
    ['a flipped byte in the last record of the log', (dir) => {
      const wal = path.join(dir, 'db/second/wal');
      flipByte(wal, fs.statSync(wal).size - 2); // the log alone would take this for a torn append and drop it
    }, /db\/second\/wal is damaged: its SHA-256 is/],
    ['a truncated log', (dir) => {
      const wal = path.join(dir, 'db/default/wal');
      fs.truncateSync(wal, fs.statSync(wal).size - 10);
    }, /db\/default\/wal is truncated/],
    ['a missing file', (dir) => fs.rmSync(path.join(dir, 'auth/signing-key.pem')), /auth\/signing-key\.pem: cannot open/],
    ['no manifest', (dir) => fs.rmSync(path.join(dir, 'backup.json')), /not a complete backup: it has no backup\.json/],
  ];
  for (const [what, damage, expected] of damages) {
    const copy = path.join(makeTempDir('backside-damaged-'), 'backup');
    fs.cpSync(backupDir, copy, { recursive: true });
    damage(copy);
    // Into an empty data dir: nothing appears there. Into a used one with --force: it is left as it was.
    const empty = makeTempDir('backside-restore-');
    const refused = await runBackside(['restore', copy, '--data-dir', empty]);
    assert.equal(refused.code, 1, `${what}: ${refused.stderr}`);
    assert.match(refused.stderr, expected, what);
    assert.match(refused.stderr, /nothing was restored/, what);
    assert.deepEqual(fs.readdirSync(empty).filter((name) => name !== 'backside.lock'), [], what);

    const used = makeTempDir('backside-restore-');
    fs.writeFileSync(path.join(used, 'admin-token'), 'the token that was here before\n');
    const forced = await runBackside(['restore', copy, '--data-dir', used, '--force']);
    assert.equal(forced.code, 1, `${what}: ${forced.stderr}`);
    assert.deepEqual(fs.readdirSync(used).sort(), what === 'no manifest' ? ['admin-token'] : ['admin-token', 'backside.lock'], what);
    assert.equal(fs.readFileSync(path.join(used, 'admin-token'), 'utf8'), 'the token that was here before\n', what);
  }
  // Every damaged file is named, not just the first.
  const copy = path.join(makeTempDir('backside-damaged-'), 'backup');
  fs.cpSync(backupDir, copy, { recursive: true });
  flipByte(path.join(copy, 'db/default/data.mdb'), 5000);
  fs.truncateSync(path.join(copy, 'db/second/data.mdb'), 100);
  const refused = await runBackside(['restore', copy, '--data-dir', makeTempDir('backside-restore-')]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /db\/default\/data\.mdb is damaged/);
  assert.match(refused.stderr, /db\/second\/data\.mdb is truncated: 100 bytes/);
  assert.match(refused.stderr, /\(2 problem\(s\)\)/);
});

test('restore refuses a data dir a server is using, and a non-empty one without --force', async (t) => {
  const { server, backupDir } = await backedUpDataDir(t);
  await rest(server, 'PUT', '/things.json', { changed: 'after the backup' });

  const inUse = await runBackside(['restore', backupDir, '--data-dir', server.dataDir, '--force']);
  assert.equal(inUse.code, 1, inUse.stderr);
  assert.match(inUse.stderr, /in use by another backside process/);
  assert.deepEqual(await rest(server, 'GET', '/things.json'), { changed: 'after the backup' });

  assert.equal((await server.stop()).code, 0);
  const notEmpty = await runBackside(['restore', backupDir, '--data-dir', server.dataDir]);
  assert.equal(notEmpty.code, 1, notEmpty.stderr);
  assert.match(notEmpty.stderr, /is not empty \(it holds .*db.*\): restore replaces it only with --force/);

  const forced = await runBackside(['restore', backupDir, '--data-dir', server.dataDir, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
  await server.start();
  assert.deepEqual(await rest(server, 'GET', '/things.json'), { a: 1, b: { c: 'two' } });
  assert.deepEqual(await rest(server, 'GET', '/other.json?ns=second'), { d: 4 });

  // A backup goes into a new or empty directory outside the data dir.
  const intoItself = await runBackside(['backup', path.join(server.dataDir, 'backups', 'b'), '--data-dir', server.dataDir]);
  assert.equal(intoItself.code, 1);
  assert.match(intoItself.stderr, /is inside the data dir/);
  const notEmptyTarget = await runBackside(['backup', backupDir, '--data-dir', server.dataDir]);
  assert.equal(notEmptyTarget.code, 1);
  assert.match(notEmptyTarget.stderr, /is not empty: a backup goes into a new or empty directory/);
});
