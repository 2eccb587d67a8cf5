// One Auth for every database of a server, as Firebase shares a project's users across its Realtime Database
// instances: the official firebase@12 Auth + Database SDKs on two databases with one Auth (sign-up, rules with
// auth.uid on both, custom tokens, refresh, STOMP). Identity Platform tenants as separate pools: the same email in the
// project and a tenant is two users, a tenant's tokens carry firebase.tenant (auth.token.firebase.tenant in rules), a
// database limited to a tenant refuses the project's tokens on every door; firebase-admin's tenantManager() creates,
// lists, updates and deletes tenants and authForTenant() manages their users. docs/auth.md.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';
import { initializeApp, deleteApp } from 'firebase/app';
import {
  getAuth, connectAuthEmulator, createUserWithEmailAndPassword, signInWithEmailAndPassword, signOut,
  signInWithCustomToken,
} from 'firebase/auth';
import { getDatabase, connectDatabaseEmulator, ref, set, get } from 'firebase/database';

import { startServer, curl, within, waitFor, runBackside } from './lib/server.mjs';
import { RawClient } from './lib/fbsdk.mjs';

const RULES = JSON.stringify({
  rules: {
    users: { $uid: { '.read': 'auth != null && auth.uid == $uid', '.write': 'auth != null && auth.uid == $uid' } },
    kidsOnly: {
      '.read': "auth != null && auth.token.firebase.tenant == 'kids'",
      '.write': "auth != null && auth.token.firebase.tenant == 'kids'",
    },
  },
});

let apps = 0;
/** A Firebase app whose databaseURL names `ns`, with Auth on the same server; `tenant` sets auth.tenantId. */
function client(server, { ns = 'default', tenant } = {}) {
  const app = initializeApp(
    { apiKey: 'fake-api-key', projectId: 'demo-project-users', databaseURL: `http://127.0.0.1:${server.port}?ns=${ns}` },
    `project-users-${++apps}`,
  );
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://127.0.0.1:${server.port}`, { disableWarnings: true });
  if (tenant) auth.tenantId = tenant;
  const databases = new Map();
  return {
    app,
    auth,
    /** The app's database (its databaseURL), or another database of the same server with the same Auth. */
    db(name = ns) {
      if (!databases.has(name)) {
        const db = name === ns ? getDatabase(app) : getDatabase(app, `http://127.0.0.1:${server.port}?ns=${name}`);
        connectDatabaseEmulator(db, '127.0.0.1', server.port);
        databases.set(name, db);
      }
      return databases.get(name);
    },
    close: async () => {
      await signOut(auth);
      await deleteApp(app);
    },
  };
}

const adminToken = (server) => fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
const claimsOf = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url'));

async function deployRules(server, ns) {
  const put = await curl(server.u(`/.settings/rules.json?ns=${ns}&auth=${adminToken(server)}`), { method: 'PUT', body: RULES });
  assert.equal(put.status, 200, put.body);
}

/** STOMP over WebSocket with these CONNECT headers: whether it connected, and the ERROR messages. */
async function stompConnect(server, headers) {
  const errors = [];
  let settle;
  const outcome = new Promise((resolve) => { settle = resolve; });  // true: CONNECTED; false: an ERROR frame
  const stomp = new Client({
    webSocketFactory: () => new WebSocket(`${server.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
    connectHeaders: headers,
    reconnectDelay: 0,
    onConnect: () => settle(true),
    onStompError: (f) => {
      errors.push(f.headers.message);
      settle(false);
    },
  });
  stomp.activate();
  const connected = await within(outcome, 5000, false);
  if (!connected) await waitFor(() => errors.length > 0, { message: 'a STOMP ERROR frame' });
  await stomp.deactivate();
  return { connected, errors };
}

describe('one Auth for every database of the server', () => {
  let server;
  before(async () => {
    server = await startServer({ dev: false, args: ['--databases', 'shop,kidsdb'] });
    await Promise.all(['default', 'shop', 'kidsdb'].map((ns) => deployRules(server, ns)));
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  test('an app on ?ns=shop signs up with the default Auth, then reads and writes both databases under auth.uid', async () => {
    const c = client(server, { ns: 'shop' });
    try {
      const { user } = await createUserWithEmailAndPassword(c.auth, 'sam@example.com', 'sam secret');
      assert.equal(user.tenantId, null);
      assert.equal(claimsOf(await user.getIdToken()).firebase.tenant, undefined, 'a project user');
      for (const ns of ['shop', 'default']) {
        await set(ref(c.db(ns), `users/${user.uid}/name`), `Sam in ${ns}`);
        assert.equal((await get(ref(c.db(ns), `users/${user.uid}/name`))).val(), `Sam in ${ns}`);
        await assert.rejects(set(ref(c.db(ns), 'users/someone-else/name'), 'x'), /permission_denied/i, ns);
      }
      // REST with the same ID token, on each database.
      const token = await user.getIdToken();
      for (const ns of ['shop', 'default']) {
        assert.equal((await curl(server.u(`/users/${user.uid}/name.json?ns=${ns}&auth=${token}`))).json, `Sam in ${ns}`);
        assert.equal((await curl(server.u(`/users/other.json?ns=${ns}&auth=${token}`))).status, 401);
      }
      // Refreshed (a second later, so that its iat differs): a new ID token, the same refresh token, still valid on
      // both.
      const refreshToken = user.refreshToken;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const refreshed = await user.getIdToken(true);
      assert.notEqual(refreshed, token);
      assert.equal(user.refreshToken, refreshToken);
      for (const ns of ['shop', 'default']) {
        assert.equal((await curl(server.u(`/users/${user.uid}/name.json?ns=${ns}&auth=${refreshed}`))).json, `Sam in ${ns}`);
      }
      // STOMP's email/password sign-in finds the project's user on any database.
      assert.ok((await stompConnect(server, { host: 'shop', login: 'sam@example.com', passcode: 'sam secret' })).connected);
      assert.ok((await stompConnect(server, { host: 'default', passcode: refreshed })).connected);
    } finally {
      await c.close();
    }
  });

  test('a custom token signs the same user in for every database', async () => {
    const minted = await runBackside(['token', 'create', '--uid', 'backend-7', '--data-dir', server.dataDir]);
    assert.equal(minted.code, 0, minted.stderr);
    const c = client(server);
    try {
      const { user } = await signInWithCustomToken(c.auth, minted.stdout.trim());
      assert.equal(user.uid, 'backend-7');
      await set(ref(c.db('default'), 'users/backend-7/via'), 'custom');
      await set(ref(c.db('shop'), 'users/backend-7/via'), 'custom');
      assert.equal((await get(ref(c.db('shop'), 'users/backend-7/via'))).val(), 'custom');
      await assert.rejects(set(ref(c.db('shop'), 'users/backend-8/via'), 'x'), /permission_denied/i);
    } finally {
      await c.close();
    }
    // --ns no longer names whose users: it says what to use instead.
    const retired = await runBackside(['users', 'list', '--ns', 'shop', '--data-dir', server.dataDir]);
    assert.equal(retired.code, 2);
    assert.match(retired.stderr, /--tenant shop/);
  });

  test('a tenant is another pool: the same email is another user, its tokens name the tenant, rules tell them apart', async () => {
    const created = await runBackside(['tenants', 'create', '--display-name', 'Kids', '--id', 'kids', '--data-dir',
      server.dataDir]);
    assert.equal(created.code, 0, created.stderr);
    assert.deepEqual({ ...JSON.parse(created.stdout), createdAt: undefined },
      { tenantId: 'kids', displayName: 'Kids', createdAt: undefined });
    const project = client(server);
    const kids = client(server, { tenant: 'kids' });
    try {
      const adult = (await createUserWithEmailAndPassword(project.auth, 'lee@example.com', 'lee project secret')).user;
      const child = (await createUserWithEmailAndPassword(kids.auth, 'lee@example.com', 'lee kids secret')).user;
      assert.notEqual(child.uid, adult.uid);
      assert.equal(child.tenantId, 'kids');
      assert.equal((await child.getIdTokenResult()).claims.firebase.tenant, 'kids');
      // Each password belongs to its own pool.
      await signOut(project.auth);
      await assert.rejects(signInWithEmailAndPassword(project.auth, 'lee@example.com', 'lee kids secret'),
        (e) => e.code === 'auth/wrong-password' || e.code === 'auth/invalid-credential');
      await signInWithEmailAndPassword(project.auth, 'lee@example.com', 'lee project secret');
      // The rules read the tenant: kidsOnly is the tenant's.
      await set(ref(kids.db(), 'kidsOnly/drawing'), 'by a kid');
      await assert.rejects(set(ref(project.db(), 'kidsOnly/drawing'), 'x'), /permission_denied/i);
      await assert.rejects(get(ref(project.db(), 'kidsOnly/drawing')), /permission[_ ]denied/i);
      // Refreshing keeps the tenant.
      assert.equal(claimsOf(await child.getIdToken(true)).firebase.tenant, 'kids');

      // The CLI per pool.
      const list = async (...args) => (await runBackside(['users', 'list', ...args, '--data-dir', server.dataDir]))
        .stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line).localId);
      assert.ok((await list('--tenant', 'kids')).includes(child.uid));
      assert.ok(!(await list('--tenant', 'kids')).includes(adult.uid));
      assert.ok((await list()).includes(adult.uid) && !(await list()).includes(child.uid));
      assert.equal((await runBackside(['users', 'list', '--tenant', 'ghost', '--data-dir', server.dataDir])).code, 2);

      // STOMP: CONNECT's `tenant` header names the pool of login/passcode.
      assert.ok((await stompConnect(server, { host: 'default', tenant: 'kids', login: 'lee@example.com',
        passcode: 'lee kids secret' })).connected);
      const wrongPool = await stompConnect(server, { host: 'default', login: 'lee@example.com', passcode: 'lee kids secret' });
      assert.equal(wrongPool.connected, false);
      assert.match(wrongPool.errors[0], /INVALID_LOGIN_CREDENTIALS/);
      const ghost = await stompConnect(server, { host: 'default', tenant: 'ghost', login: 'lee@example.com', passcode: 'x' });
      assert.match(ghost.errors[0], /TENANT_NOT_FOUND/);

      // A custom token for the tenant's user names the tenant; the project's Auth refuses it.
      const minted = await runBackside(['token', 'create', '--uid', 'kid-backend', '--tenant', 'kids', '--data-dir',
        server.dataDir]);
      assert.equal(minted.code, 0, minted.stderr);
      await signOut(kids.auth);
      assert.equal((await signInWithCustomToken(kids.auth, minted.stdout.trim())).user.tenantId, 'kids');
      await assert.rejects(signInWithCustomToken(project.auth, minted.stdout.trim()),
        (e) => e.code === 'auth/tenant-id-mismatch');
      assert.equal((await runBackside(['token', 'create', '--uid', 'x', '--tenant', 'ghost', '--data-dir',
        server.dataDir])).code, 2);

      // An unknown tenant is TENANT_NOT_FOUND, a malformed one INVALID_TENANT_ID.
      const ghostApp = client(server, { tenant: 'ghost' });
      try {
        await assert.rejects(createUserWithEmailAndPassword(ghostApp.auth, 'g@example.com', 'ghost secret'),
          (e) => e.code === 'auth/tenant-not-found');
      } finally {
        await ghostApp.close();
      }
      const malformed = await curl(server.u('/identitytoolkit.googleapis.com/v1/accounts:signUp?key=k'), {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'm@example.com', password: 'secret password', tenantId: 'no/such' }),
      });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.error.message, 'INVALID_TENANT_ID');
    } finally {
      await project.close();
      await kids.close();
    }
  });

  test('a database limited to a tenant refuses the project\'s tokens on every door; the admin widens it again', async () => {
    const admin = adminToken(server);
    const settings = (method, body) => curl(server.u(`/.settings/tenants.json?ns=kidsdb&auth=${admin}`),
      { method, body: body === undefined ? undefined : JSON.stringify(body) });
    assert.deepEqual((await settings('GET')).json, { accept: null }, 'every pool by default');
    const limited = await settings('PUT', { accept: ['kids'] });
    assert.equal(limited.status, 200, limited.body);
    assert.deepEqual(limited.json, { accept: ['kids'] });
    assert.equal((await settings('PUT', { accept: ['ghost'] })).status, 404);
    assert.equal((await settings('PUT', { accept: 'kids' })).status, 400);
    assert.equal((await curl(server.u('/.settings/tenants.json?ns=kidsdb'), { method: 'PUT', body: '{"accept":null}' }))
      .status, 401, 'the admin only');

    const project = client(server, { ns: 'kidsdb' });
    const kids = client(server, { ns: 'kidsdb', tenant: 'kids' });
    try {
      const adult = (await createUserWithEmailAndPassword(project.auth, 'max@example.com', 'max secret')).user;
      const child = (await createUserWithEmailAndPassword(kids.auth, 'max@example.com', 'max kid secret')).user;
      // The tenant's user is accepted there ...
      await set(ref(kids.db(), `users/${child.uid}/name`), 'Max (kid)');
      // ... the project's is not, on any door: the Firebase protocol's auth request, REST, STOMP.
      const adultToken = await adult.getIdToken();
      const raw = new RawClient(server, { ns: 'kidsdb' });
      await raw.handshake;
      const authed = await raw.request('auth', { cred: adultToken });
      assert.equal(authed.reply.s, 'invalid_token');
      assert.match(authed.reply.d, /project's users, which database "kidsdb" does not accept/);
      raw.close();
      const rest = await curl(server.u(`/users/${adult.uid}.json?ns=kidsdb&auth=${adultToken}`));
      assert.equal(rest.status, 401);
      assert.equal(rest.json.error, 'Auth token is for the project\'s users, which database "kidsdb" does not accept.');
      assert.equal((await curl(server.u(`/users/${adult.uid}.json?ns=shop&auth=${adultToken}`))).status, 200,
        'other databases still accept it');
      const stompToken = await stompConnect(server, { host: 'kidsdb', passcode: adultToken });
      assert.equal(stompToken.connected, false);
      assert.match(stompToken.errors[0], /authentication failed: Auth token is for the project's users, which database "kidsdb" does not accept/);
      const stompPassword = await stompConnect(server, { host: 'kidsdb', login: 'max@example.com', passcode: 'max secret' });
      assert.equal(stompPassword.connected, false);
      assert.match(stompPassword.errors[0], /does not accept/);
      assert.ok((await stompConnect(server, { host: 'kidsdb', tenant: 'kids', login: 'max@example.com',
        passcode: 'max kid secret' })).connected);

      // Widened to every pool again: the project's token opens it.
      const widened = await settings('DELETE');
      assert.deepEqual(widened.json, { accept: null });
      assert.equal((await curl(server.u(`/users/${adult.uid}.json?ns=kidsdb&auth=${adultToken}`))).status, 200);
    } finally {
      await project.close();
      await kids.close();
    }
  });
});

test('firebase-admin tenantManager (--dev): create, get, list, update, authForTenant users, delete ends their sessions', async (t) => {
  const dev = await startServer({ t, dev: true });
  const previous = process.env.FIREBASE_AUTH_EMULATOR_HOST;
  process.env.FIREBASE_AUTH_EMULATOR_HOST = `127.0.0.1:${dev.port}`;
  const admin = (await import('firebase-admin')).default;
  const adminApp = admin.initializeApp({ projectId: 'demo-tenants' }, `tenants-admin-${++apps}`);
  const manager = adminApp.auth().tenantManager();
  let c;
  try {
    const acme = await manager.createTenant({ displayName: 'Acme' });
    assert.match(acme.tenantId, /^acme-[a-z0-9]{5}$/);
    assert.equal(acme.displayName, 'Acme');
    assert.equal(acme.anonymousSignInEnabled, true);
    const beta = await manager.createTenant({ displayName: 'Beta-2' });
    assert.equal((await manager.getTenant(acme.tenantId)).displayName, 'Acme');
    const listed = await manager.listTenants();
    assert.deepEqual(listed.tenants.map((x) => x.tenantId), [acme.tenantId, beta.tenantId], 'oldest first');
    const paged = await manager.listTenants(1);
    assert.equal(paged.tenants.length, 1);
    assert.deepEqual((await manager.listTenants(1, paged.pageToken)).tenants.map((x) => x.tenantId), [beta.tenantId]);
    assert.equal((await manager.updateTenant(beta.tenantId, { displayName: 'Beta-3' })).displayName, 'Beta-3');
    await assert.rejects(manager.createTenant({ displayName: 'x' }), (e) => e.code === 'auth/invalid-display-name');
    await assert.rejects(manager.updateTenant(beta.tenantId, { multiFactorConfig: { state: 'ENABLED', factorIds: ['phone'] } }),
      (e) => /cannot be set/.test(e.message));

    // The tenant's users, through authForTenant: another pool than the project's.
    const acmeAuth = manager.authForTenant(acme.tenantId);
    const created = await acmeAuth.createUser({ uid: 'wile', email: 'wile@acme.example', password: 'wile secret' });
    assert.equal(created.tenantId, acme.tenantId);
    assert.equal((await acmeAuth.getUserByEmail('wile@acme.example')).uid, 'wile');
    await assert.rejects(adminApp.auth().getUser('wile'), (e) => e.code === 'auth/user-not-found');
    c = client(dev, { tenant: acme.tenantId });
    const { user } = await signInWithEmailAndPassword(c.auth, 'wile@acme.example', 'wile secret');
    assert.equal(user.uid, 'wile');
    const token = await user.getIdToken();
    assert.equal((await curl(dev.u(`/x.json?auth=${token}`))).status, 200);

    // Deleted: the tenant, its users and their sessions.
    await manager.deleteTenant(acme.tenantId);
    await assert.rejects(manager.getTenant(acme.tenantId), (e) => e.code === 'auth/tenant-not-found');
    await assert.rejects(acmeAuth.getUser('wile'), (e) => e.code === 'auth/tenant-not-found');
    const refused = await curl(dev.u(`/x.json?auth=${token}`));
    assert.equal(refused.status, 401);
    assert.match(refused.json.error, /tenant no longer exists/);
    assert.deepEqual((await manager.listTenants()).tenants.map((x) => x.tenantId), [beta.tenantId]);
    const cli = await runBackside(['tenants', 'list', '--data-dir', dev.dataDir]);
    assert.deepEqual(cli.stdout.trim().split('\n').map((line) => JSON.parse(line).displayName), ['Beta-3']);
  } finally {
    if (c) await c.close();
    await adminApp.delete();
    if (previous === undefined) delete process.env.FIREBASE_AUTH_EMULATOR_HOST;
    else process.env.FIREBASE_AUTH_EMULATOR_HOST = previous;
    assert.equal((await dev.stop()).code, 0);
  }
});
