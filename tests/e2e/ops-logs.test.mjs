// Logs (docs/operations.md#logs): with --log-format json every line the server writes is one JSON object (time,
// level, message), from the first line to the last; and no log line, in either format and at debug level, holds a
// credential or a password the server was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { curl, runBackside, startServer, makeTempDir } from './lib/server.mjs';
import { stompExchange } from './lib/raw-stomp.mjs';
import { RawClient } from './lib/fbsdk.mjs';

const ACCOUNTS = '/identitytoolkit.googleapis.com/v1/accounts:';
const PASSWORD = 'correct horse battery staple';

// Traffic that makes the server log (at debug level) while it is handed secrets: the admin token over REST and
// STOMP, a password sign-up and sign-in and a wrong password, the ID token over the Firebase protocol and REST.
async function trafficWithSecrets(server) {
  const admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const secrets = [admin, PASSWORD, 'wrong password guess'];
  const auth = async (action, body) => {
    const response = await curl(server.u(`${ACCOUNTS}${action}?key=k`), {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    });
    return response.json;
  };
  const signUp = await auth('signUp', { email: 'log@example.com', password: PASSWORD, returnSecureToken: true });
  assert.ok(signUp.idToken, JSON.stringify(signUp));
  const signIn = await auth('signInWithPassword', { email: 'log@example.com', password: PASSWORD, returnSecureToken: true });
  secrets.push(signUp.idToken, signUp.refreshToken, signIn.idToken, signIn.refreshToken);
  await auth('signInWithPassword', { email: 'log@example.com', password: 'wrong password guess' });
  assert.equal((await curl(server.u(`/logged.json?auth=${admin}`), { method: 'PUT', body: '1' })).status, 200);
  assert.equal((await curl(server.u('/logged.json?auth=not-a-token'), { method: 'PUT', body: '1' })).status, 401);
  await curl(server.u(`/metrics?auth=${admin}`));
  await stompExchange(server.stompPort,
                      `CONNECT\naccept-version:1.2\nhost:default\npasscode:${admin}\n\n\0` +
                      `SEND\ndestination:/logged\nreceipt:r\n\n2\0`, { frames: 2 });
  await stompExchange(server.stompPort,
                      `CONNECT\naccept-version:1.2\nhost:default\nlogin:log@example.com\npasscode:${PASSWORD}\n\n\0`,
                      { frames: 1 });
  const firebase = new RawClient(server, { ns: 'default' });
  await firebase.handshake;
  await firebase.request('auth', { cred: signIn.idToken });
  await firebase.close();
  return secrets;
}

test('--log-format json: every line is a JSON object with time, level and message; no secret is logged', async (t) => {
  const server = await startServer({ t, dev: false, args: ['--log-format', 'json', '--log-level', 'debug'] });
  const secrets = await trafficWithSecrets(server);
  assert.equal((await server.stop()).code, 0);

  const lines = server.log.split('\n');
  assert.equal(lines.pop(), '', 'the log ends with a line feed');
  assert.ok(lines.length >= 5, server.log);
  const messages = lines.map((line) => {
    const entry = JSON.parse(line); // throws on any line that is not JSON
    assert.deepEqual(Object.keys(entry), ['time', 'level', 'message'], line);
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(['trace', 'debug', 'info', 'warn', 'error', 'critical'].includes(entry.level), line);
    assert.equal(typeof entry.message, 'string');
    return entry.message;
  });
  assert.ok(messages.some((m) => m.startsWith('backside listening on http://')));
  assert.ok(messages.some((m) => m.startsWith('received SIGTERM')));
  assert.equal(messages.at(-1), 'stopped cleanly');
  assert.equal(server.stdout, '');
  for (const secret of secrets) assert.ok(!server.log.includes(secret), `a secret is in the log: ${secret.slice(0, 12)}...`);
});

test('text logs hold no secret either', async (t) => {
  const server = await startServer({ t, dev: false, args: ['--log-level', 'debug'] });
  const secrets = await trafficWithSecrets(server);
  assert.equal((await server.stop()).code, 0);
  assert.match(server.log, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info /m);
  for (const secret of secrets) assert.ok(!server.log.includes(secret), `a secret is in the log: ${secret.slice(0, 12)}...`);
});

test('BACKSIDE_LOG_FORMAT=json applies to the errors of the configuration too', async () => {
  const dataDir = makeTempDir();
  const { code, stderr } = await runBackside(['serve', '--data-dir', dataDir, '--port', 'not-a-port'],
                                             { env: { BACKSIDE_LOG_FORMAT: 'json' } });
  assert.equal(code, 2);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, stderr);
  const entry = JSON.parse(lines[0]);
  assert.equal(entry.level, 'error');
  assert.match(entry.message, /--port: Invalid value for port: "not-a-port"/);

  const bad = await runBackside(['serve', '--data-dir', dataDir, '--log-format', 'yaml']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid value for log_format: "yaml" \(use text or json\)/);
});
