// Live sessions of an account that ends: when a user is deleted, disabled or its sessions are
// revoked, the connections that authenticated with its ID tokens end at once on every door — the Firebase protocol
// (`ac` invalid_token; the official SDK then loses its listens), STOMP (an ERROR frame), REST streaming
// (`auth_revoked`) — and nothing written afterwards reaches them. Changes made by `backside users` from another
// process end them within about a second. Beyond Firebase, which lets such sessions run until their token expires.
// Production configuration: no --dev, rules, the admin token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';
import { initializeApp, deleteApp } from 'firebase/app';
import { getAuth, connectAuthEmulator, createUserWithEmailAndPassword, signOut } from 'firebase/auth';
import { getDatabase, connectDatabaseEmulator, ref, onValue } from 'firebase/database';

import { startServer, curl, within, waitFor, runBackside, sleep } from './lib/server.mjs';
import { openStream } from './lib/stream.mjs';
import { RawClient } from './lib/fbsdk.mjs';

const ACCOUNTS = '/identitytoolkit.googleapis.com/v1/accounts:';
const RULES = {
  rules: { users: { $uid: { '.read': 'auth != null && auth.uid == $uid', '.write': 'auth != null && auth.uid == $uid' } } },
};

let server;
let admin;
before(async () => {
  server = await startServer({ dev: false });
  admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const put = await curl(server.u(`/.settings/rules.json?auth=${admin}`), { method: 'PUT', body: JSON.stringify(RULES) });
  assert.equal(put.status, 200, put.body);
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
});

async function signUp(email) {
  const response = await fetch(server.u(`${ACCOUNTS}signUp?key=k`), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: `${email} secret`, returnSecureToken: true }),
  });
  const json = await response.json();
  assert.equal(response.status, 200, JSON.stringify(json));
  return { uid: json.localId, idToken: json.idToken };
}
const adminUpdate = (body) => curl(server.u(`/identitytoolkit.googleapis.com/v1/projects/p/accounts:update`), {
  method: 'POST', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});
const adminWrite = (uid, value) => curl(server.u(`/users/${uid}/n.json?auth=${admin}`), {
  method: 'PUT', body: JSON.stringify(value),
});

// The three doors, each listening to the user's own data with the user's ID token.
async function openSessions(user) {
  assert.equal((await adminWrite(user.uid, 0)).status, 200);
  const stream = await openStream(server.u(`/users/${user.uid}.json?auth=${user.idToken}`));
  assert.deepEqual(stream.first.data, { path: '/', data: { n: 0 } });

  const raw = new RawClient(server, { ns: 'default' });
  await raw.handshake;
  assert.equal((await raw.request('auth', { cred: user.idToken })).reply.s, 'ok');
  assert.equal((await raw.request('q', { p: `/users/${user.uid}`, h: '' })).reply.s, 'ok');

  const stompMessages = [];
  const stompErrors = [];
  const stomp = new Client({
    webSocketFactory: () => new WebSocket(`${server.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
    connectHeaders: { host: 'default', passcode: user.idToken },
    reconnectDelay: 0,
    onStompError: (f) => stompErrors.push(f.headers.message),
  });
  const stompUp = new Promise((resolve) => { stomp.onConnect = resolve; });
  stomp.activate();
  assert.notEqual(await within(stompUp, 5000), 'timeout', 'STOMP connected');
  stomp.subscribe(`/users/${user.uid}/n`, (m) => stompMessages.push(JSON.parse(m.body)));

  assert.equal((await adminWrite(user.uid, 1)).status, 200);
  await raw.waitFor((m) => m.t === 'd' && m.d.a === 'd' && m.d.b.d === 1);
  await waitFor(() => stompMessages.includes(1), { message: 'STOMP MESSAGE before the end' });
  await stream.waitUntil(() => stream.events.some((e) => e.event === 'put' && e.data.data === 1),
    { what: 'the stream before the end', timeoutMs: 5000 });
  return { stream, raw, stomp, stompMessages, stompErrors };
}

// Every door ends within `ms` of the account's end, says why, and gets nothing written afterwards.
async function expectEnded(user, sessions, why, ms) {
  const { stream, raw, stomp, stompMessages, stompErrors } = sessions;
  const ac = await raw.waitFor((m) => m.t === 'd' && m.d.a === 'ac', { timeoutMs: ms });
  assert.equal(ac.d.b.s, 'invalid_token');
  assert.match(ac.d.b.d, why);
  assert.notEqual(await within(raw.closed, ms), 'timeout', 'the Firebase connection closes');
  await stream.waitUntil(() => stream.events.some((e) => e.event === 'auth_revoked'), { what: 'auth_revoked', timeoutMs: ms });
  assert.match(stream.events.find((e) => e.event === 'auth_revoked').data, why);
  await stream.waitUntil(() => stream.errors.length > 0, { what: 'the stream to end', timeoutMs: ms });
  await waitFor(() => stompErrors.length > 0, { message: 'STOMP ERROR', timeoutMs: ms });
  assert.match(stompErrors[0], /^authentication revoked: /);
  assert.match(stompErrors[0], why);

  assert.equal((await adminWrite(user.uid, 2)).status, 200);
  await sleep(300);
  assert.ok(!raw.messages.some((m) => m.t === 'd' && m.d.a === 'd' && m.d.b.d === 2), 'no data after the end');
  assert.ok(!stream.events.some((e) => e.event === 'put' && e.data.data === 2), 'no stream data after the end');
  assert.ok(!stompMessages.includes(2), 'no STOMP data after the end');
  await stomp.deactivate();
  stream.close();
}

test('disabled by the admin: every door ends at once', async () => {
  const user = await signUp('off@example.com');
  const sessions = await openSessions(user);
  const started = Date.now();
  assert.equal((await adminUpdate({ localId: user.uid, disableUser: true })).status, 200);
  await expectEnded(user, sessions, /disabled/, 2000);
  assert.ok(Date.now() - started < 4000);
});

test('revoked (validSince): every door ends; a session signed in afterwards stays', async () => {
  const user = await signUp('revoked@example.com');
  const sessions = await openSessions(user);
  await sleep(1100); // validSince has a granularity of one second
  const revoke = await adminUpdate({ localId: user.uid, validSince: String(Math.floor(Date.now() / 1000)) });
  assert.equal(revoke.status, 200, revoke.body);
  await expectEnded(user, sessions, /revoked/, 2000);
  // A new sign-in of the same user is not affected.
  const again = await fetch(server.u(`${ACCOUNTS}signInWithPassword?key=k`), {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: 'revoked@example.com', password: 'revoked@example.com secret', returnSecureToken: true }),
  }).then((r) => r.json());
  const stream = await openStream(server.u(`/users/${user.uid}.json?auth=${again.idToken}`));
  assert.equal((await adminWrite(user.uid, 3)).status, 200);
  await stream.waitUntil(() => stream.events.some((e) => e.event === 'put' && e.data.data === 3),
    { what: 'the new session live', timeoutMs: 5000 });
  stream.close();
});

test('deleted by the user itself: every door ends', async () => {
  const user = await signUp('gone@example.com');
  const sessions = await openSessions(user);
  const response = await fetch(server.u(`${ACCOUNTS}delete?key=k`), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ idToken: user.idToken }),
  });
  assert.equal(response.status, 200);
  await expectEnded(user, sessions, /no longer exists/, 2000);
});

test('`backside users disable` from another process: every door ends within seconds', async () => {
  const user = await signUp('cli@example.com');
  const sessions = await openSessions(user);
  const disabled = await runBackside(['users', 'disable', user.uid, '--data-dir', server.dataDir]);
  assert.equal(disabled.code, 0, disabled.stderr);
  await expectEnded(user, sessions, /disabled/, 5000);
});

test('the official SDKs: a signed-in app that is disabled loses its listens and gets no more data', async () => {
  const app = initializeApp(
    { apiKey: 'fake-api-key', projectId: 'demo-sessions', databaseURL: `http://127.0.0.1:${server.port}?ns=default` },
    'account-sessions');
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://127.0.0.1:${server.port}`, { disableWarnings: true });
  const db = getDatabase(app);
  connectDatabaseEmulator(db, '127.0.0.1', server.port);
  try {
    const { user } = await createUserWithEmailAndPassword(auth, 'sdk@example.com', 'sdk secret');
    assert.equal((await adminWrite(user.uid, 0)).status, 200);
    const values = [];
    let cancelled = null;
    onValue(ref(db, `users/${user.uid}/n`), (snap) => values.push(snap.val()), (error) => { cancelled = error; });
    await waitFor(() => values.includes(0), { message: 'the first value' });
    assert.equal((await adminWrite(user.uid, 1)).status, 200);
    await waitFor(() => values.includes(1), { message: 'a live value' });

    assert.equal((await adminUpdate({ localId: user.uid, disableUser: true })).status, 200);
    // The SDK drops its token on `ac`, cannot refresh it (USER_DISABLED), reconnects without it, and the rules
    // refuse its listen: the listener is cancelled.
    await waitFor(() => cancelled !== null, { message: 'the listener to be cancelled', timeoutMs: 15000 });
    assert.match(String(cancelled.message ?? cancelled), /permission_denied/i);
    assert.equal((await adminWrite(user.uid, 2)).status, 200);
    await sleep(300);
    assert.ok(!values.includes(2), 'no data after the account was disabled');
  } finally {
    await signOut(auth).catch(() => {});
    await deleteApp(app);
  }
});
