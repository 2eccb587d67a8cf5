// A data dir written by the version with one user directory per database (tests/e2e/fixtures/per-database-users.*,
// made by d7f9f3f: users in databases "default" and "shop", the same email in both) opens with project users: the
// default database's users are the project's, the shop's are tenant "shop"'s. Their passwords, refresh tokens and
// unexpired ID tokens keep working, each database keeps accepting exactly the users it had until the admin widens
// it, and a second start has nothing left to move. docs/auth.md, "From per-database users".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initializeApp, deleteApp } from 'firebase/app';
import { getAuth, connectAuthEmulator, signInWithEmailAndPassword, signOut } from 'firebase/auth';

import { startServer, curl, makeTempDir, runBackside } from './lib/server.mjs';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = JSON.parse(fs.readFileSync(path.join(fixtures, 'per-database-users.json'), 'utf8'));
const userOf = (database, email) => fixture.users.find((u) => u.database === database && u.email === email);

function refresh(server, refreshToken) {
  return curl(server.u('/securetoken.googleapis.com/v1/token?key=k'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(refreshToken)}`,
  });
}

let apps = 0;
async function signIn(server, { tenant, email, password }) {
  const app = initializeApp({ apiKey: 'k', projectId: 'demo-migration' }, `migration-${++apps}`);
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://127.0.0.1:${server.port}`, { disableWarnings: true });
  if (tenant) auth.tenantId = tenant;
  try {
    const { user } = await signInWithEmailAndPassword(auth, email, password);
    return { uid: user.uid, tenantId: user.tenantId, token: await user.getIdToken() };
  } finally {
    await signOut(auth);
    await deleteApp(app);
  }
}

test('per-database users of an earlier version become the project\'s and tenant "shop"\'s, nothing lost', async (t) => {
  const dataDir = makeTempDir('backside-migration-');
  execFileSync('tar', ['-xzf', path.join(fixtures, 'per-database-users.tar.gz'), '-C', dataDir]);
  const server = await startServer({ t, dataDir, dev: false });
  const anaDefault = userOf('default', 'ana@example.com');
  const kim = userOf('shop', 'kim@example.com');
  const anaShop = userOf('shop', 'ana@example.com');

  assert.match(server.log, /users of the default database "default" are now the project's users/);
  assert.match(server.log, /users of database "shop" are now the users of tenant "shop"/);
  assert.ok(!fs.existsSync(path.join(dataDir, 'db', 'default', 'users')));
  assert.ok(!fs.existsSync(path.join(dataDir, 'db', 'shop', 'users')));

  // Passwords: the default database's user without a tenant, the shop's with auth.tenantId = 'shop'; the same email
  // is two users still.
  const ana = await signIn(server, { email: 'ana@example.com', password: anaDefault.password });
  assert.equal(ana.uid, anaDefault.uid);
  assert.equal(ana.tenantId, null);
  const shopAna = await signIn(server, { tenant: 'shop', email: 'ana@example.com', password: anaShop.password });
  assert.equal(shopAna.uid, anaShop.uid);
  assert.equal(shopAna.tenantId, 'shop');
  const shopKim = await signIn(server, { tenant: 'shop', email: 'kim@example.com', password: kim.password });
  assert.equal(shopKim.uid, kim.uid);
  await assert.rejects(signIn(server, { email: 'kim@example.com', password: kim.password }),
    (e) => e.code === 'auth/user-not-found' || e.code === 'auth/invalid-credential', 'kim is no project user');

  // Refresh tokens of before ("<random>.default", "<random>.shop") refresh, each as its own pool.
  for (const user of [anaDefault, kim, anaShop]) {
    const refreshed = await refresh(server, user.refreshToken);
    assert.equal(refreshed.status, 200, `${user.database} ${user.email}: ${refreshed.body}`);
    assert.equal(refreshed.json.user_id, user.uid);
    assert.equal(refreshed.json.refresh_token, user.refreshToken);
    const claims = JSON.parse(Buffer.from(refreshed.json.id_token.split('.')[1], 'base64url'));
    assert.equal(claims.firebase.tenant, user.database === 'default' ? undefined : 'shop');
  }

  // Old ID tokens (valid until 2036) still open the data their users wrote, on their own database.
  for (const user of [anaDefault, kim, anaShop]) {
    const read = await curl(server.u(`/users/${user.uid}/name.json?ns=${user.database}&auth=${user.idToken}`));
    assert.equal(read.status, 200, read.body);
    assert.equal(read.json, `${user.email} in ${user.database}`);
  }
  // Each database still accepts only the users it had: no one reaches a database who could not before.
  const crossed = await curl(server.u(`/users/${anaDefault.uid}.json?ns=shop&auth=${anaDefault.idToken}`));
  assert.equal(crossed.status, 401);
  assert.match(crossed.json.error, /project's users, which database "shop" does not accept/);
  assert.equal((await curl(server.u(`/users/${kim.uid}.json?ns=default&auth=${kim.idToken}`))).status, 401);
  // The admin widens the shop to the project's users too; the rules decide from then on.
  const settings = await curl(server.u(`/.settings/tenants.json?ns=shop&auth=${fixture.adminToken}`));
  assert.deepEqual(settings.json, { accept: ['shop'] });
  const widened = await curl(server.u(`/.settings/tenants.json?ns=shop&auth=${fixture.adminToken}`),
    { method: 'PUT', body: JSON.stringify({ accept: ['shop', '@project'] }) });
  assert.equal(widened.status, 200, widened.body);
  assert.equal((await curl(server.u(`/users/${anaDefault.uid}.json?ns=shop&auth=${anaDefault.idToken}`))).status, 200);

  // The CLI sees the same pools.
  const listed = await runBackside(['users', 'list', '--tenant', 'shop', '--data-dir', dataDir]);
  assert.deepEqual(listed.stdout.trim().split('\n').map((line) => JSON.parse(line).localId).sort(),
    [kim.uid, anaShop.uid].sort());
  const tenants = await runBackside(['tenants', 'list', '--data-dir', dataDir]);
  assert.deepEqual(tenants.stdout.trim().split('\n').map((line) => JSON.parse(line).tenantId), ['shop']);

  // A second start has nothing to move and says nothing about it; everything still works.
  assert.equal((await server.stop()).code, 0);
  await server.restart();
  const secondStart = server.log.split('stopped cleanly')[1];
  assert.match(secondStart, /backside listening/);
  assert.ok(!/are now the|were not moved/.test(secondStart), 'moved once, and nothing left to say');
  assert.equal((await refresh(server, kim.refreshToken)).status, 200);
  assert.equal((await signIn(server, { email: 'ana@example.com', password: anaDefault.password })).uid, anaDefault.uid);
  assert.equal((await server.stop()).code, 0);
});
