// STOMP over raw TCP (--stomp-port) with Debian's stomp.py (python3-stomp), run by /usr/bin/python3: connect,
// subscribe, every write method with receipts, per-operation failures, rules, protocol errors. The STOMP logic is
// the same session as over WebSocket (stomp-ws.test.mjs); these tests check the TCP transport with a real client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { startServer, curl, makeTempDir, waitFor, within } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.join(here, 'stomp_py', 'session.py');

function python(server, mode, passcode) {
  const args = [script, String(server.stompPort), mode];
  if (passcode) args.push(passcode);
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', args, { timeout: 30000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`stomp.py ${mode} failed: ${error.message}\n${stdout}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

test('stomp.py over TCP: subscribe, set/update/push/remove with receipts after durability', async (t) => {
  const server = await startServer({ t });
  assert.ok(server.stompPort > 0, server.log);
  const seen = await python(server, 'writes');
  assert.equal(seen.set.status, 'ok');
  assert.equal(seen.update.status, 'ok');
  assert.equal(seen.push.status, 'ok');
  assert.match(seen.push.key, /^[-0-9A-Za-z_]{20}$/);
  assert.equal(seen.remove.status, 'ok');
  assert.equal(seen.bad_json.status, 'invalid_argument');
  const events = seen.messages.map((m) => [m.headers.event, m.headers.path, m.body]);
  assert.deepEqual(events.slice(0, 5), [
    ['put', '/', null],
    ['put', '/', { a: 1, b: { c: 2 } }],
    ['patch', '/', { 'b/c': 3, d: 'x' }],
    ['put', `/list/${seen.push.key}`, { n: 1 }],
    ['put', '/a', null],
  ]);
  const stored = (await curl(server.u('/tcp/room.json'))).json;
  assert.deepEqual(stored, { b: { c: 3 }, d: 'x', list: { [seen.push.key]: { n: 1 } } });
});

test('stomp.py over TCP: the passcode is the credential; refusals are statuses, not disconnects', async (t) => {
  const server = await startServer({ t });
  const admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const rules = '{"rules": {"users": {"$uid": {".read": "auth.uid == $uid", ".write": "auth.uid == $uid"}}}}';
  assert.equal((await curl(server.u(`/.settings/rules.json?auth=${admin}`), { method: 'PUT', body: rules })).status, 200);
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const token = `${b64({ alg: 'none' })}.${b64({ sub: 'py' })}.`; // accepted with --dev
  const seen = await python(server, 'denied', token);
  assert.equal(seen.denied.status, 'permission_denied');
  assert.equal(seen.allowed.status, 'ok');
  assert.equal(seen.messages[0].headers.event, 'cancel');
  assert.equal(seen.messages[0].headers.status, 'permission_denied');
  assert.equal(seen.still_connected.status, 'ok');
  assert.deepEqual((await curl(server.u(`/users.json?auth=${admin}`))).json, { py: { name: 'Py', age: 3 } });
});

test('stomp.py over TCP: protocol errors get ERROR and a close; the server carries on', async (t) => {
  const server = await startServer({ t });
  const seen = await python(server, 'error');
  assert.match(seen.errors[0].message, /unknown method frobnicate/);
  assert.equal((await curl(server.u('/tcp/x.json'))).json, null);
  const again = await python(server, 'writes');
  assert.equal(again.set.status, 'ok');
});

test('stomp.py transactions: COMMIT applies every SEND as one atomic write; ABORT and refusals apply none', async (t) => {
  const server = await startServer({ t });
  const admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const rules = '{"rules": {"tx": {".read": true, ".write": true}, "locked": {".read": true, ".write": false}}}';
  assert.equal((await curl(server.u(`/.settings/rules.json?auth=${admin}`), { method: 'PUT', body: rules })).status, 200);
  const seen = await python(server, 'transactions');
  assert.deepEqual(seen.t1_sends.map((r) => r.status), ['ok', 'ok', 'ok', 'ok']);
  assert.equal(seen.t1_messages_before_commit, 1, 'nothing is applied before COMMIT');
  assert.equal(seen.t1_commit.status, 'ok');
  assert.equal(seen.t3_commit.status, 'permission_denied');
  assert.equal(seen.t4_push.status, 'invalid_argument');
  assert.equal(seen.t4_commit.status, 'invalid_argument');
  assert.equal(seen.after.status, 'ok');
  // One MESSAGE per commit (atomic), none for the aborted and refused transactions.
  const events = seen.messages.map((m) => [m.headers.event, m.headers.path, m.body]);
  assert.equal(events.length, 3, JSON.stringify(events));
  assert.deepEqual(events[2], ['put', '/after', true]);
  assert.deepEqual((await curl(server.u('/tx.json'))).json, { a: { x: 5 }, c: { d: 3 }, after: true });
  assert.equal((await curl(server.u('/locked.json'))).json, null);
});

test('stomp.py killed with SIGKILL: its on-disconnect writes run (presence)', async (t) => {
  const server = await startServer({ t });
  const child = spawn('/usr/bin/python3', [script, String(server.stompPort), 'presence']);
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  await waitFor(() => out.includes('\n'), { timeoutMs: 15000, message: 'the presence receipts' });
  const seen = JSON.parse(out.split('\n')[0]);
  for (const key of ['online', 'on_disconnect_set', 'on_disconnect_update', 'to_cancel', 'cancel']) {
    assert.equal(seen[key].status, 'ok', key);
  }
  assert.equal(seen.bad.status, 'invalid_argument');
  // Stored, not written.
  assert.deepEqual((await curl(server.u('/presence.json'))).json, { py: true });
  const before = Date.now();
  child.kill('SIGKILL');
  await waitFor(async () => (await curl(server.u('/presence/py.json'))).json === false, { message: 'the disconnect' });
  const presence = (await curl(server.u('/presence.json'))).json;
  assert.equal(presence.last.who, 'py');
  assert.ok(presence.last.at >= before - 1000, 'the timestamp is the time of the disconnect');
  assert.equal(presence.gone, undefined, 'the cancelled write did not run');
});

test('heart-beats: the server sends them, and closes a connection that stops sending them', async (t) => {
  const server = await startServer({ t, args: ['--stomp-heartbeat-ms', '200'] });
  const seen = await python(server, 'heartbeat');
  assert.ok(seen.heartbeats >= 3, `heart-beats received in 2 s: ${seen.heartbeats}`);
  assert.equal(seen.still_connected.status, 'ok');
  // A client that promises a heart-beat every 100 ms and then says nothing is closed (after 2 x 200 ms).
  const socket = net.connect(server.stompPort, '127.0.0.1');
  let received = '';
  socket.on('data', (chunk) => {
    received += chunk;
  });
  const closed = new Promise((resolve) => socket.on('close', resolve));
  socket.write('CONNECT\naccept-version:1.2\nhost:default\nheart-beat:100,0\n\n\0');
  const started = Date.now();
  assert.notEqual(await within(closed, 5000), 'timeout', 'the server closed the silent connection');
  assert.match(received, /^CONNECTED\n/);
  assert.match(received, /heart-beat:200,200/);
  assert.ok(Date.now() - started >= 300, 'not before the tolerance');
  assert.match(server.log, /silent for more than 400 ms/);
});

test('--stomp-port 0 turns STOMP over TCP off', async (t) => {
  const server = await startServer({ t, exactArgs: true, args: ['--dev', '--port', '0', '--stomp-port', '0',
    '--data-dir', makeTempDir()] });
  assert.equal(server.stompPort, null);
  assert.doesNotMatch(server.log, /STOMP listening/);
});
