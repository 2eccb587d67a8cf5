// Firebase Auth compatibility: the official firebase@12 Auth SDK against Backside (connectAuthEmulator), its ID
// tokens accepted by the database on every door (Firebase protocol, REST, STOMP) as the rules' `auth`, and bad
// credentials refused. Servers here run WITHOUT --dev: only tokens this server signed are identities.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';
import { initializeApp, deleteApp } from 'firebase/app';
import {
  getAuth, connectAuthEmulator, createUserWithEmailAndPassword, signInWithEmailAndPassword, signInAnonymously,
  onAuthStateChanged, updatePassword, deleteUser, signOut, signInWithCustomToken,
} from 'firebase/auth';
import { getDatabase, connectDatabaseEmulator, ref, set, get } from 'firebase/database';

import { startServer, curl, within, waitFor, runBackside } from './lib/server.mjs';
import { openStream } from './lib/stream.mjs';
import { RawClient } from './lib/fbsdk.mjs';

const RULES = JSON.stringify({
  rules: {
    users: { $uid: { '.read': 'auth != null && auth.uid == $uid', '.write': 'auth != null && auth.uid == $uid' } },
    signedIn: { '.read': 'auth != null', '.write': 'auth != null && auth.provider == "password"' },
    admins: { '.read': 'auth.token.admin === true', '.write': 'auth.token.admin === true' },
  },
});

let server; // default ID token lifetime (1 h)
let shortLived; // --id-token-seconds 5, for expiry and refresh
let apps = 0;
// One Firebase app with Auth and Database pointed at `on`. close() signs out first: that stops the Auth SDK's
// proactive token refresh (started while the Database SDK listens for tokens), whose timer would keep Node alive.
// `ns`: another database of the server (same Auth); `tenant`: the app signs in a tenant's users (auth.tenantId).
function client(on = server, { ns, tenant } = {}) {
  const app = initializeApp(
    { apiKey: 'fake-api-key', projectId: 'demo-auth', databaseURL: `http://127.0.0.1:${on.port}?ns=${ns ?? 'default'}` },
    `auth-${++apps}`,
  );
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://127.0.0.1:${on.port}`, { disableWarnings: true });
  if (tenant) auth.tenantId = tenant;
  let db;
  return {
    app,
    auth,
    get db() {
      if (!db) {
        db = getDatabase(app);
        connectDatabaseEmulator(db, '127.0.0.1', on.port);
      }
      return db;
    },
    close: async () => {
      await signOut(auth);
      await deleteApp(app);
    },
  };
}

async function deployRules(on, ns = 'default') {
  const admin = fs.readFileSync(path.join(on.dataDir, 'admin-token'), 'utf8').trim();
  const put = await curl(on.u(`/.settings/rules.json?ns=${ns}&auth=${admin}`), { method: 'PUT', body: RULES });
  assert.equal(put.status, 200, put.body);
}

before(async () => {
  [server, shortLived] = await Promise.all([
    startServer({ dev: false }),
    startServer({ dev: false, args: ['--id-token-seconds', '5'] }),
  ]);
  await Promise.all([deployRules(server), deployRules(shortLived)]);
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
  assert.equal((await shortLived.stop()).code, 0);
});

describe('Firebase Auth SDK against Backside', () => {
  test('sign up, sign in, state changes; the same session is allowed its own data and denied others', async () => {
    const alice = client();
    try {
      const states = [];
      onAuthStateChanged(alice.auth, (user) => states.push(user ? user.uid : null));
      const created = await createUserWithEmailAndPassword(alice.auth, 'alice@example.com', 'correct horse');
      const uid = created.user.uid;
      assert.equal(created.user.email, 'alice@example.com');
      await set(ref(alice.db, `users/${uid}/name`), 'Alice');
      await assert.rejects(set(ref(alice.db, 'users/someone-else/name'), 'x'), /permission_denied/i);
      assert.equal((await get(ref(alice.db, `users/${uid}/name`))).val(), 'Alice');
      await set(ref(alice.db, 'signedIn/note'), 'by a password user');

      await signOut(alice.auth);
      await assert.rejects(createUserWithEmailAndPassword(alice.auth, 'alice@example.com', 'whatever1'),
        (e) => e.code === 'auth/email-already-in-use');
      await assert.rejects(signInWithEmailAndPassword(alice.auth, 'alice@example.com', 'wrong password'),
        (e) => e.code === 'auth/wrong-password' || e.code === 'auth/invalid-credential');
      await assert.rejects(signInWithEmailAndPassword(alice.auth, 'nobody@example.com', 'whatever1'),
        (e) => e.code === 'auth/user-not-found' || e.code === 'auth/invalid-credential');
      await assert.rejects(createUserWithEmailAndPassword(alice.auth, 'short@example.com', '123'),
        (e) => e.code === 'auth/weak-password');
      const again = await signInWithEmailAndPassword(alice.auth, 'alice@example.com', 'correct horse');
      assert.equal(again.user.uid, uid);
      assert.equal((await get(ref(alice.db, `users/${uid}/name`))).val(), 'Alice');
      assert.ok(states.includes(uid) && states.includes(null), `auth state changes: ${states}`);

      // The ID token over REST (?auth= and Bearer) and STOMP (passcode).
      const token = await again.user.getIdToken();
      assert.deepEqual((await curl(server.u(`/users/${uid}.json?auth=${token}`))).json, { name: 'Alice' });
      const bearer = await curl(server.u(`/users/${uid}.json`), { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(bearer.status, 200);
      assert.equal((await curl(server.u(`/users/other.json?auth=${token}`))).status, 401);
      const stomp = new Client({
        webSocketFactory: () => new WebSocket(`${server.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
        connectHeaders: { host: 'default', passcode: token },
        reconnectDelay: 0,
      });
      const connected = new Promise((resolve, reject) => {
        stomp.onConnect = resolve;
        stomp.onStompError = (f) => reject(new Error(f.headers.message));
      });
      stomp.activate();
      await within(connected, 5000);
      const receipt = (id, destination) => {
        const done = new Promise((resolve) => stomp.watchForReceipt(id, resolve));
        stomp.publish({ destination, body: '"over stomp"', headers: { receipt: id } });
        return within(done, 5000);
      };
      assert.equal((await receipt('a', `/users/${uid}/stomp`)).headers.status, 'ok');
      assert.equal((await receipt('b', '/users/other/stomp')).headers.status, 'permission_denied');
      await stomp.deactivate();

      // A new password works, the old one no longer does.
      await updatePassword(again.user, 'a better password');
      await signOut(alice.auth);
      await assert.rejects(signInWithEmailAndPassword(alice.auth, 'alice@example.com', 'correct horse'));
      await signInWithEmailAndPassword(alice.auth, 'alice@example.com', 'a better password');
    } finally {
      await alice.close();
    }
  });

  test('anonymous users; deleteUser', async () => {
    const anon = client();
    try {
      const { user } = await signInAnonymously(anon.auth);
      assert.ok(user.isAnonymous);
      await set(ref(anon.db, `users/${user.uid}`), { anonymous: true });
      // The rule wants a password user: the anonymous session is refused.
      await assert.rejects(set(ref(anon.db, 'signedIn/anon'), 1), /permission_denied/i);
      const token = await user.getIdToken();
      await deleteUser(user);
      assert.equal((await curl(server.u(`/users/${user.uid}.json?auth=${token}`))).status, 401,
        'a deleted user\'s unexpired token is refused (beyond Firebase, which leaves that check to servers)');
      const refresh = await curl(server.u('/securetoken.googleapis.com/v1/token?key=fake-api-key'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(user.refreshToken)}`,
      });
      assert.equal(refresh.status, 400, 'a deleted user\'s refresh token is gone');
    } finally {
      await anon.close();
    }
  });

  test('an expired ID token is refused; the SDK refreshes it and keeps its refresh token', async () => {
    // Auth only here: with the Database SDK listening, the SDK refreshes 5-second tokens continuously.
    const c = client(shortLived);
    try {
      const { user } = await createUserWithEmailAndPassword(c.auth, 'carol@example.com', 'carol secret');
      const admin = fs.readFileSync(path.join(shortLived.dataDir, 'admin-token'), 'utf8').trim();
      assert.equal((await curl(shortLived.u(`/users/${user.uid}.json?auth=${admin}`),
        { method: 'PUT', body: '{"carol":true}' })).status, 200);
      const first = await user.getIdToken();
      const refreshToken = user.refreshToken;
      assert.deepEqual((await curl(shortLived.u(`/users/${user.uid}.json?auth=${first}`))).json, { carol: true });
      await new Promise((resolve) => setTimeout(resolve, 5500)); // --id-token-seconds 5
      assert.equal((await curl(shortLived.u(`/users/${user.uid}.json?auth=${first}`))).status, 401, 'expired');
      const refreshed = await user.getIdToken();
      assert.notEqual(refreshed, first);
      assert.equal(user.refreshToken, refreshToken);
      assert.deepEqual((await curl(shortLived.u(`/users/${user.uid}.json?auth=${refreshed}`))).json, { carol: true });
    } finally {
      await c.close();
    }
  });

  test('brute force: wrong passwords lock the account (auth/too-many-requests), other accounts still sign in', async () => {
    const limited = await startServer({ dev: false, args: ['--auth-max-failed-sign-ins', '3'] });
    const c = client(limited);
    try {
      await createUserWithEmailAndPassword(c.auth, 'dave@example.com', 'dave secret');
      await createUserWithEmailAndPassword(c.auth, 'erin@example.com', 'erin secret');
      await signOut(c.auth);
      for (let i = 0; i < 3; ++i) {
        await assert.rejects(signInWithEmailAndPassword(c.auth, 'dave@example.com', `guess ${i}`),
          (e) => e.code === 'auth/wrong-password' || e.code === 'auth/invalid-credential', `guess ${i}`);
      }
      // Locked: even the right password is refused until the window passes.
      await assert.rejects(signInWithEmailAndPassword(c.auth, 'dave@example.com', 'dave secret'),
        (e) => e.code === 'auth/too-many-requests', 'locked');
      await assert.rejects(signInWithEmailAndPassword(c.auth, 'DAVE@example.com', 'guess 4'),
        (e) => e.code === 'auth/too-many-requests', 'the same account, however the email is spelled');
      const erin = await signInWithEmailAndPassword(c.auth, 'erin@example.com', 'erin secret');
      assert.equal(erin.user.email, 'erin@example.com');
      assert.ok(!limited.log.includes('dave secret') && !limited.log.includes('guess 0'), 'no passwords in the log');
    } finally {
      await c.close();
      assert.equal((await limited.stop()).code, 0);
    }
  });

  test('custom tokens: `backside token create` signs a user in with its uid and claims; not a database credential', async () => {
    const created = await runBackside(['token', 'create', '--uid', 'backend-user-1', '--claims', '{"plan":"pro"}',
      '--data-dir', server.dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const customToken = created.stdout.trim();
    assert.equal((await curl(server.u(`/users/backend-user-1.json?auth=${customToken}`))).status, 401,
      'a custom token is exchanged, not used directly');
    const c = client();
    try {
      const { user } = await signInWithCustomToken(c.auth, customToken);
      assert.equal(user.uid, 'backend-user-1');
      const result = await user.getIdTokenResult();
      assert.equal(result.claims.plan, 'pro');
      assert.equal(result.signInProvider, 'custom');
      await set(ref(c.db, 'users/backend-user-1/from'), 'custom token');
      await assert.rejects(set(ref(c.db, 'users/backend-user-2/from'), 'x'), /permission_denied/i);
      // Signing in again finds the same user.
      await signOut(c.auth);
      assert.equal((await signInWithCustomToken(c.auth, customToken)).user.uid, 'backend-user-1');
      // A token minted with another server's key, and garbage, are refused.
      const other = await runBackside(['token', 'create', '--uid', 'mallory', '--data-dir', shortLived.dataDir]);
      assert.equal(other.code, 0, other.stderr);
      await assert.rejects(signInWithCustomToken(c.auth, other.stdout.trim()),
        (e) => e.code === 'auth/invalid-custom-token', 'another key');
      await assert.rejects(signInWithCustomToken(c.auth, 'garbage'), (e) => e.code === 'auth/invalid-custom-token');
    } finally {
      await c.close();
    }
    const bad = await runBackside(['token', 'create', '--uid', 'u', '--claims', '{"sub":"x"}', '--data-dir',
      server.dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /reserved/);

    // The same over HTTP for the admin (a backend that does not share the data directory).
    const adminToken = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
    const mint = (credential, body) => curl(server.u('/identitytoolkit.googleapis.com/v1/projects/p/customTokens'), {
      method: 'POST', headers: { Authorization: `Bearer ${credential}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const minted = await mint(adminToken, { uid: 'backend-user-3', claims: { plan: 'free' } });
    assert.equal(minted.status, 200, minted.body);
    const c3 = client();
    try {
      const { user } = await signInWithCustomToken(c3.auth, minted.json.token);
      assert.equal(user.uid, 'backend-user-3');
      assert.equal((await user.getIdTokenResult()).claims.plan, 'free');
    } finally {
      await c3.close();
    }
    assert.equal((await mint('not-the-admin-token', { uid: 'x' })).status, 401);
    assert.equal((await mint(adminToken, { uid: '' })).status, 400);
  });

  test('--dev: firebase-admin createCustomToken (emulator mode, unsigned) signs in; refused without --dev', async () => {
    const dev = await startServer({ dev: true });
    const previous = process.env.FIREBASE_AUTH_EMULATOR_HOST;
    process.env.FIREBASE_AUTH_EMULATOR_HOST = `127.0.0.1:${dev.port}`;
    const admin = (await import('firebase-admin')).default;
    const adminApp = admin.initializeApp({ projectId: 'demo-custom' }, `custom-admin-${++apps}`);
    const devClient = client(dev);
    const strictClient = client();
    try {
      const token = await adminApp.auth().createCustomToken('from-admin', { team: 'blue' });
      const { user } = await signInWithCustomToken(devClient.auth, token);
      assert.equal(user.uid, 'from-admin');
      assert.equal((await user.getIdTokenResult()).claims.team, 'blue');
      await assert.rejects(signInWithCustomToken(strictClient.auth, token),
        (e) => e.code === 'auth/invalid-custom-token', 'unsigned custom tokens need --dev');
    } finally {
      await devClient.close();
      await strictClient.close();
      await adminApp.delete();
      if (previous === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
      else process.env.FIREBASE_AUTH_EMULATOR_HOST = previous;
      assert.equal((await dev.stop()).code, 0);
    }
  });

  test('firebase-admin manages users (--dev): create, get, custom claims the rules use, disable, list, delete', async () => {
    const dev = await startServer({ dev: true });
    await deployRules(dev);
    const previous = process.env.FIREBASE_AUTH_EMULATOR_HOST;
    process.env.FIREBASE_AUTH_EMULATOR_HOST = `127.0.0.1:${dev.port}`;
    const admin = (await import('firebase-admin')).default;
    const adminApp = admin.initializeApp({ projectId: 'demo-users' }, `users-admin-${++apps}`);
    const adminAuth = adminApp.auth();
    const c = client(dev);
    try {
      const created = await adminAuth.createUser({ uid: 'frank', email: 'Frank@Example.com', password: 'frank secret',
        displayName: 'Frank' });
      assert.equal(created.uid, 'frank');
      assert.equal(created.email, 'frank@example.com');
      assert.equal((await adminAuth.getUserByEmail('frank@example.com')).displayName, 'Frank');
      await assert.rejects(adminAuth.createUser({ uid: 'frank' }), (e) => e.code === 'auth/uid-already-exists');
      await assert.rejects(adminAuth.getUser('nobody'), (e) => e.code === 'auth/user-not-found');

      // The same SDK session: denied, then the admin grants a claim, the token is refreshed, allowed.
      const { user } = await signInWithEmailAndPassword(c.auth, 'frank@example.com', 'frank secret');
      await assert.rejects(set(ref(c.db, 'admins/note'), 'x'), /permission_denied/i);
      await adminAuth.setCustomUserClaims('frank', { admin: true });
      assert.deepEqual((await adminAuth.getUser('frank')).customClaims, { admin: true });
      await user.getIdToken(true);
      await set(ref(c.db, 'admins/note'), 'by frank');
      assert.equal((await get(ref(c.db, 'admins/note'))).val(), 'by frank');
      // firebase-admin checks reserved claims itself; the server does too, for other clients.
      const reserved = await curl(dev.u('/identitytoolkit.googleapis.com/v1/projects/p/accounts:update'), {
        method: 'POST', headers: { Authorization: 'Bearer owner', 'Content-Type': 'application/json' },
        body: JSON.stringify({ localId: 'frank', customAttributes: '{"sub":"someone"}' }),
      });
      assert.equal(reserved.status, 400);
      assert.match(reserved.json.error.message, /INVALID_CLAIMS.*reserved/);

      // Disabled: no new sign-in, no refresh.
      await adminAuth.updateUser('frank', { disabled: true });
      assert.equal((await adminAuth.getUser('frank')).disabled, true);
      await assert.rejects(user.getIdToken(true), (e) => e.code === 'auth/user-disabled' ||
        e.code === 'auth/user-token-expired' || e.code === 'auth/invalid-refresh-token', 'refresh after disable');
      await assert.rejects(signInWithEmailAndPassword(c.auth, 'frank@example.com', 'frank secret'),
        (e) => e.code === 'auth/user-disabled');
      await adminAuth.updateUser('frank', { disabled: false, password: 'new frank secret' });
      await signInWithEmailAndPassword(c.auth, 'frank@example.com', 'new frank secret');

      // Listing pages through everyone.
      for (let i = 0; i < 5; ++i) await adminAuth.createUser({ uid: `bulk-${i}` });
      const first = await adminAuth.listUsers(4);
      assert.equal(first.users.length, 4);
      assert.ok(first.pageToken);
      const second = await adminAuth.listUsers(100, first.pageToken);
      const uids = [...first.users, ...second.users].map((u) => u.uid);
      for (const uid of ['frank', 'bulk-0', 'bulk-4']) assert.ok(uids.includes(uid), uid);
      assert.equal(new Set(uids).size, uids.length, 'no user twice');

      // A tenant's users: firebase-admin's tenant-aware auth addresses them, apart from the project's.
      const { tenantId: shop } = await adminAuth.tenantManager().createTenant({ displayName: 'Shop' });
      const shopAdmin = adminAuth.tenantManager().authForTenant(shop);
      await shopAdmin.createUser({ uid: 'frank', email: 'frank@shop.example', password: 'shop frank secret' });
      assert.equal((await shopAdmin.getUser('frank')).email, 'frank@shop.example');
      assert.equal((await shopAdmin.getUser('frank')).tenantId, shop);
      assert.equal((await adminAuth.getUser('frank')).email, 'frank@example.com', 'the default directory\'s frank');
      await assert.rejects(adminAuth.getUserByEmail('frank@shop.example'), (e) => e.code === 'auth/user-not-found');
      assert.deepEqual((await shopAdmin.listUsers()).users.map((u) => u.uid), ['frank']);
      const shopToken = await shopAdmin.createCustomToken('shop-user');
      const shopClient = client(dev, { tenant: shop });
      try {
        assert.equal((await signInWithCustomToken(shopClient.auth, shopToken)).user.tenantId, shop);
      } finally {
        await shopClient.close();
      }

      await adminAuth.deleteUser('bulk-0');
      await assert.rejects(adminAuth.getUser('bulk-0'), (e) => e.code === 'auth/user-not-found');
      // Only the admin: a user's ID token gets 401.
      const idToken = await c.auth.currentUser.getIdToken();
      const denied = await curl(dev.u('/identitytoolkit.googleapis.com/v1/projects/p/accounts:batchGet?maxResults=10'),
        { headers: { Authorization: `Bearer ${idToken}` } });
      assert.equal(denied.status, 401);
    } finally {
      await c.close();
      await adminApp.delete();
      if (previous === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
      else process.env.FIREBASE_AUTH_EMULATOR_HOST = previous;
      assert.equal((await dev.stop()).code, 0);
    }
  });

  test('backside users add|list|get|disable|enable|delete, beside the running server', async () => {
    const users = (...args) => runBackside(['users', ...args, '--data-dir', server.dataDir]);
    const added = await users('add', '--email', 'Hana@Example.com', '--password', 'hana secret', '--uid', 'hana');
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual({ ...JSON.parse(added.stdout), createdAt: undefined },
      { localId: 'hana', email: 'hana@example.com', provider: 'password', disabled: false, lastLoginAt: '',
        createdAt: undefined });
    assert.ok(!added.stdout.includes('passwordHash'));
    assert.equal((await users('add', '--email', 'hana@example.com', '--password', 'other secret')).code, 2, 'taken');
    const c = client();
    try {
      assert.equal((await signInWithEmailAndPassword(c.auth, 'hana@example.com', 'hana secret')).user.uid, 'hana');
      await signOut(c.auth);
      const listed = (await users('list')).stdout.trim().split('\n').map((line) => JSON.parse(line));
      assert.ok(listed.some((u) => u.localId === 'hana' && u.email === 'hana@example.com'));
      assert.equal(JSON.parse((await users('get', 'hana@example.com')).stdout).localId, 'hana');
      assert.equal((await users('disable', 'hana')).code, 0);
      await assert.rejects(signInWithEmailAndPassword(c.auth, 'hana@example.com', 'hana secret'),
        (e) => e.code === 'auth/user-disabled');
      assert.equal((await users('enable', 'hana')).code, 0);
      await signInWithEmailAndPassword(c.auth, 'hana@example.com', 'hana secret');
      await signOut(c.auth);
      assert.equal((await users('delete', 'hana')).code, 0);
      assert.equal((await users('get', 'hana')).code, 3);
      await assert.rejects(signInWithEmailAndPassword(c.auth, 'hana@example.com', 'hana secret'),
        (e) => e.code === 'auth/user-not-found' || e.code === 'auth/invalid-credential');
    } finally {
      await c.close();
    }
  });

  test('when an ID token expires: the stream gets auth_revoked, a Firebase connection ac, STOMP an ERROR; all end', async () => {
    const c = client(shortLived);
    try {
      const { user } = await createUserWithEmailAndPassword(c.auth, 'ivan@example.com', 'ivan secret');
      const token = await user.getIdToken();
      const admin = fs.readFileSync(path.join(shortLived.dataDir, 'admin-token'), 'utf8').trim();
      const write = (value) => curl(shortLived.u(`/users/${user.uid}/n.json?auth=${admin}`), { method: 'PUT',
        body: JSON.stringify(value) });
      assert.equal((await write(0)).status, 200);

      const stream = await openStream(shortLived.u(`/users/${user.uid}.json?auth=${token}`));
      assert.deepEqual(stream.first.data, { path: '/', data: { n: 0 } });
      const raw = new RawClient(shortLived, { ns: 'default' });
      await raw.handshake;
      const authed = await raw.request('auth', { cred: token });
      assert.equal(authed.reply.s, 'ok');
      assert.equal(authed.reply.d.auth.uid, user.uid);
      assert.ok(Math.abs(authed.reply.d.expires - JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).exp) <= 1);
      assert.equal((await raw.request('q', { p: `/users/${user.uid}`, h: '' })).reply.s, 'ok');
      const stompMessages = [];
      const stompErrors = [];
      const stomp = new Client({
        webSocketFactory: () => new WebSocket(`${shortLived.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
        connectHeaders: { host: 'default', passcode: token },
        reconnectDelay: 0,
        onStompError: (f) => stompErrors.push(f.headers.message),
      });
      const stompUp = new Promise((resolve) => { stomp.onConnect = resolve; });
      stomp.activate();
      await within(stompUp, 5000);
      stomp.subscribe(`/users/${user.uid}/n`, (m) => stompMessages.push(JSON.parse(m.body)));
      assert.equal((await write(1)).status, 200);
      await raw.waitFor((m) => m.t === 'd' && m.d.a === 'd' && m.d.b.d === 1);
      await waitFor(() => stompMessages.includes(1), { message: 'STOMP MESSAGE before expiry' });

      // --id-token-seconds 5: past the expiry, the next change is not delivered to either.
      await new Promise((resolve) => setTimeout(resolve, 5500));
      assert.equal((await write(2)).status, 200);
      await stream.waitUntil(() => stream.events.some((e) => e.event === 'auth_revoked'),
        { what: 'auth_revoked', timeoutMs: 5000 });
      assert.ok(stream.events.some((e) => e.event === 'put' && e.data.data === 1), 'data before expiry');
      await stream.waitUntil(() => stream.errors.length > 0, { what: 'the stream to end', timeoutMs: 5000 });
      assert.ok(!stream.events.some((e) => e.event === 'put' && e.data.data === 2), 'no data after expiry');
      const ac = await raw.waitFor((m) => m.t === 'd' && m.d.a === 'ac');
      assert.equal(ac.d.b.s, 'expired_token');
      assert.ok(!raw.messages.some((m) => m.t === 'd' && m.d.a === 'd' && m.d.b.d === 2), 'no data after expiry');
      await within(raw.closed, 5000);
      await waitFor(() => stompErrors.some((m) => /expired/.test(m)), { message: 'STOMP ERROR at expiry' });
      assert.ok(!stompMessages.includes(2), 'no STOMP data after expiry');
      await stomp.deactivate();
      stream.close();
    } finally {
      await c.close();
    }
  });

  test('STOMP CONNECT with login = email and passcode = password; frames sent before CONNECTED wait for it', async () => {
    const c = client();
    let uid;
    try {
      uid = (await createUserWithEmailAndPassword(c.auth, 'jane@example.com', 'jane secret')).user.uid;
    } finally {
      await c.close();
    }
    const connectWith = async (login, passcode) => {
      const errors = [];
      const stomp = new Client({
        webSocketFactory: () => new WebSocket(`${server.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
        connectHeaders: { host: 'default', login, passcode },
        reconnectDelay: 0,
        onStompError: (f) => errors.push(f.headers.message),
      });
      const up = new Promise((resolve) => { stomp.onConnect = () => resolve(true); });
      stomp.activate();
      const connected = await within(up, 5000, false);
      return { stomp, connected, errors };
    };
    const ok = await connectWith('jane@example.com', 'jane secret');
    assert.ok(ok.connected);
    const done = new Promise((resolve) => ok.stomp.watchForReceipt('w1', resolve));
    ok.stomp.publish({ destination: `/users/${uid}/via`, body: '"stomp password"', headers: { receipt: 'w1' } });
    assert.equal((await within(done, 5000)).headers.status, 'ok');
    const denied = new Promise((resolve) => ok.stomp.watchForReceipt('w2', resolve));
    ok.stomp.publish({ destination: '/users/someone-else/via', body: '1', headers: { receipt: 'w2' } });
    assert.equal((await within(denied, 5000)).headers.status, 'permission_denied');
    await ok.stomp.deactivate();

    const bad = await connectWith('jane@example.com', 'not her password');
    assert.equal(bad.connected, false);
    await waitFor(() => bad.errors.length > 0, { message: 'ERROR frame' });
    assert.match(bad.errors[0], /authentication failed: INVALID_LOGIN_CREDENTIALS/);
    await bad.stomp.deactivate();
    assert.ok(!server.log.includes('jane secret') && !server.log.includes('not her password'), 'no passwords logged');

    // Raw TCP: CONNECT and a SUBSCRIBE with a receipt in one write; the SUBSCRIBE is handled after CONNECTED.
    const socket = net.connect(server.stompPort, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => { received += d.toString('utf8'); });
    socket.write(`CONNECT\naccept-version:1.2\nhost:default\nlogin:jane@example.com\npasscode:jane secret\n\n\0` +
      `SUBSCRIBE\nid:0\ndestination:/users/${uid}/via\nreceipt:r1\n\n\0`);
    await waitFor(() => received.includes('"stomp password"'), { message: `a MESSAGE; got ${received}` });
    assert.ok(received.indexOf('CONNECTED') < received.indexOf('RECEIPT'), received);
    socket.destroy();
  });

  test('users belong to the project: one token opens every database; a tenant\'s user of the same email is another', async () => {
    await deployRules(server, 'shop');
    const shopApp = client(server, { ns: 'shop' });
    const created = await runBackside(['tenants', 'create', '--display-name', 'Club', '--id', 'club', '--data-dir',
      server.dataDir]);
    assert.equal(created.code, 0, created.stderr);
    const club = client(server, { tenant: 'club' });
    try {
      const { user } = await createUserWithEmailAndPassword(shopApp.auth, 'kim@example.com', 'kim project secret');
      assert.equal(user.tenantId, null);
      await set(ref(shopApp.db, `users/${user.uid}/name`), 'Kim');
      const token = await user.getIdToken();
      for (const ns of ['shop', 'default']) {
        assert.equal((await curl(server.u(`/users/${user.uid}.json?ns=${ns}&auth=${token}`))).status, 200, ns);
      }
      // The tenant does not know kim; the same email there is another user, whose tokens name the tenant.
      await assert.rejects(signInWithEmailAndPassword(club.auth, 'kim@example.com', 'kim project secret'),
        (e) => e.code === 'auth/user-not-found' || e.code === 'auth/invalid-credential');
      const other = (await createUserWithEmailAndPassword(club.auth, 'kim@example.com', 'kim club secret')).user;
      assert.notEqual(other.uid, user.uid);
      assert.equal(other.tenantId, 'club');
      assert.equal((await other.getIdTokenResult()).claims.firebase.tenant, 'club');
      // Its token is not the project user's: the rules keyed by uid keep them apart.
      const clubToken = await other.getIdToken();
      assert.equal((await curl(server.u(`/users/${user.uid}.json?ns=shop&auth=${clubToken}`))).status, 401);
      assert.equal((await curl(server.u(`/users/${other.uid}.json?ns=shop&auth=${clubToken}`))).status, 200);
    } finally {
      await shopApp.close();
      await club.close();
    }
  });

  test('forged tokens are refused: alg none, another key, tampered claims; JWKS is published', async () => {
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const claims = { iss: 'https://securetoken.google.com/backside', aud: 'backside', sub: 'mallory',
      user_id: 'mallory', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 };
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const header = b64({ alg: 'RS256', kid: 'not-ours', typ: 'JWT' });
    const input = `${header}.${b64(claims)}`;
    const otherKey = `${input}.${crypto.sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    const c = client();
    let real;
    try {
      real = await (await createUserWithEmailAndPassword(c.auth, 'bob@example.com', 'bob secret')).user.getIdToken();
    } finally {
      await c.close();
    }
    const [h, p, s] = real.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    const tampered = `${h}.${b64({ ...payload, sub: 'mallory', user_id: 'mallory' })}.${s}`;
    for (const [name, token] of [['alg none', none], ['another key', otherKey], ['tampered', tampered]]) {
      const res = await curl(server.u(`/users/mallory.json?auth=${token}`));
      assert.equal(res.status, 401, name);
      assert.ok(res.json.error, name);
    }
    const jwks = (await curl(server.u('/.well-known/jwks.json'))).json;
    assert.equal(jwks.keys[0].kty, 'RSA');
    assert.equal(jwks.keys[0].kid, JSON.parse(Buffer.from(h, 'base64url')).kid);
    const key = crypto.createPublicKey({ key: jwks.keys[0], format: 'jwk' });
    assert.ok(crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')), 'JWKS verifies');
    // Key files are private.
    assert.equal(fs.statSync(path.join(server.dataDir, 'auth', 'signing-key.pem')).mode & 0o777, 0o600);
    assert.ok(!server.log.includes('bob secret') && !server.log.includes(real), 'no secrets in the log');
  });
});
