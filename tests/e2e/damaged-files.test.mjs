// Damaged files on disk, through the real server and the real CLI: a write-ahead log with a
// flipped byte in the middle and a truncated data.mdb are refused with the file and what is wrong, the other
// databases still serve, nothing is overwritten, and `backside check` names the damage. A damaged default
// database stops the start-up with a message (docs/reliability.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { curl, runBackside, startServer } from './lib/server.mjs';

const dbDir = (server, name) => path.join(server.dataDir, 'db', name);

async function put(server, ns, at, value) {
  const response = await curl(server.u(`${at}.json?ns=${ns}`), { method: 'PUT', body: JSON.stringify(value) });
  assert.equal(response.status, 200, `PUT ${at} in ${ns}: ${response.body}`);
}

// A data dir with databases default, alpha, bravo, charlie: each checkpointed into data.mdb by a clean stop, then
// three more writes each left in its write-ahead log by a SIGKILL.
async function populated(t) {
  const server = await startServer({ t });
  for (const ns of ['default', 'alpha', 'bravo', 'charlie']) {
    for (let i = 0; i < 50; i++) await put(server, ns, `/base/k${i}`, 'x'.repeat(500));
  }
  assert.equal((await server.stop()).code, 0);
  await server.restart();
  for (const ns of ['default', 'alpha', 'bravo', 'charlie']) {
    for (const key of ['one', 'two', 'three']) await put(server, ns, `/logged/${key}`, key);
  }
  await server.kill();
  return server;
}

function flipByte(file, offset) {
  const fd = fs.openSync(file, 'r+');
  const byte = Buffer.alloc(1);
  fs.readSync(fd, byte, 0, 1, offset);
  byte[0] ^= 0x20;
  fs.writeSync(fd, byte, 0, 1, offset);
  fs.closeSync(fd);
}

test('a flipped log byte and a truncated data.mdb are refused by name; the other databases serve', async (t) => {
  const server = await populated(t);
  const bravoWal = path.join(dbDir(server, 'bravo'), 'wal');
  flipByte(bravoWal, 4096 + 16 + 4); // inside the first record's payload: two valid records follow it
  const walBefore = fs.readFileSync(bravoWal);
  const charlieData = path.join(dbDir(server, 'charlie'), 'data.mdb');
  const fullSize = fs.statSync(charlieData).size;
  fs.truncateSync(charlieData, Math.floor(fullSize / 2 / 4096) * 4096);
  const cutSize = fs.statSync(charlieData).size;

  await server.restart();
  assert.match(server.log, /database bravo NOT OPENED: .*write-ahead log .*bravo\/wal is damaged: the record at byte offset 4096 is invalid but a valid record follows at byte offset \d+/);
  assert.match(server.log, /database charlie NOT OPENED: .*charlie\/data\.mdb is damaged: .*truncated/);

  // The others, the default included, have everything, the log's records too.
  for (const ns of ['default', 'alpha']) {
    const response = await curl(server.u(`/logged.json?ns=${ns}`));
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { one: 'one', two: 'two', three: 'three' });
  }
  await put(server, 'alpha', '/after', 'restart');

  // The damaged ones answer 503 with the reason (REST's JSON error), for reads and writes, and stay as they were.
  for (const ns of ['bravo', 'charlie']) {
    const read = await curl(server.u(`/logged.json?ns=${ns}`));
    assert.equal(read.status, 503, read.body);
    assert.match(read.json.error, /damaged/);
    const write = await curl(server.u(`/x.json?ns=${ns}`), { method: 'PUT', body: '1' });
    assert.equal(write.status, 503, write.body);
  }
  assert.deepEqual(fs.readFileSync(bravoWal), walBefore, 'the damaged log was not written');
  assert.equal(fs.statSync(charlieData).size, cutSize, 'the damaged data file was not written');

  // `backside check` (beside the live server: read-only) names both, and passes the others.
  const check = await runBackside(['check', '--data-dir', server.dataDir]);
  assert.equal(check.code, 1, check.stdout + check.stderr);
  assert.match(check.stdout, /^ok +alpha /m);
  assert.match(check.stdout, /^ok +default /m);
  assert.match(check.stdout, /^DAMAGED +bravo: .*byte offset 4096/m);
  assert.match(check.stdout, /^DAMAGED +charlie: .*data\.mdb is damaged/m);
  assert.match(check.stdout, /4 database\(s\) checked, 2 damaged/);
});

test('backside check passes an intact data dir, a torn log tail included', async (t) => {
  const server = await populated(t);
  // A crash in the middle of an append: the last record loses its end. Normal; cut at the next start.
  const wal = path.join(dbDir(server, 'alpha'), 'wal');
  const bytes = fs.readFileSync(wal);
  let last = 4096;
  for (let at = 4096; ;) {
    const length = bytes.readUInt32LE(at);
    if (length === 0 || bytes.readBigUInt64LE(at + 8) !== bytes.readBigUInt64LE(8)) break;
    last = at;
    at += 16 + length;
  }
  assert.ok(last > 4096, 'the log holds several records');
  fs.writeFileSync(wal, Buffer.concat([bytes.subarray(0, last + 20), Buffer.alloc(bytes.length - last - 20)]));
  const check = await runBackside(['check', '--data-dir', server.dataDir]);
  assert.equal(check.code, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /4 database\(s\) checked, 0 damaged/);
  await server.restart();
  const response = await curl(server.u('/logged.json?ns=alpha'));
  assert.deepEqual(response.json, { one: 'one', two: 'two' }, 'the torn last write is cut, the others kept');
});

test('a damaged default database stops the start-up with a message', async (t) => {
  const server = await populated(t);
  flipByte(path.join(dbDir(server, 'default'), 'wal'), 9); // the log header's epoch
  const run = await runBackside(['serve', '--dev', '--port', '0', '--stomp-port', '0', '--data-dir', server.dataDir],
                                { timeoutMs: 15000 });
  assert.equal(run.signal, null, `it exited by itself; stderr:\n${run.stderr}`);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /default\/wal is damaged: its header/);
  assert.match(run.stderr, /the default database is damaged: the server does not start/);
});
