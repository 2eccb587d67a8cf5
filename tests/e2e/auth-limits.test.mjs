// Auth under a hostile client: password guesses sent in parallel cannot pass the
// lockout, sign-ups are limited per address, password hashes in flight are bounded server-wide, and the ID tokens of
// a deleted, disabled or revoked user are refused. Production configuration: no --dev, rules, the admin token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, curl } from './lib/server.mjs';

const ACCOUNTS = '/identitytoolkit.googleapis.com/v1/accounts:';

// One Auth REST call with fetch (which opens as many connections as there are requests in flight).
async function call(server, action, body) {
  const response = await fetch(server.u(`${ACCOUNTS}${action}?key=k`), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}
const errorOf = (reply) => reply.json?.error?.message ?? '';
const adminToken = (server) => fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();

test('40 wrong passwords in parallel: exactly 10 are checked, the rest and then the right one are refused', async (t) => {
  const server = await startServer({ t, dev: false, args: ['--auth-max-failed-sign-ins', '10'] });
  const up = await call(server, 'signUp', { email: 'victim@example.com', password: 'the right one' });
  assert.equal(up.status, 200, JSON.stringify(up.json));
  const guesses = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    call(server, 'signInWithPassword', { email: 'victim@example.com', password: `guess ${i}` })));
  const checked = guesses.filter((g) => errorOf(g) === 'INVALID_PASSWORD');
  const refused = guesses.filter((g) => errorOf(g).startsWith('TOO_MANY_ATTEMPTS_TRY_LATER'));
  assert.equal(checked.length, 10, 'only the limit of guesses get their hash checked');
  assert.equal(refused.length, 30);
  assert.ok(refused.every((g) => g.status === 400));
  const right = await call(server, 'signInWithPassword', { email: 'victim@example.com', password: 'the right one' });
  assert.equal(right.status, 400);
  assert.match(errorOf(right), /^TOO_MANY_ATTEMPTS_TRY_LATER/, 'locked: the right password is refused too');
  assert.equal((await server.stop()).code, 0);
});

test('sign-ups per address: anonymous and email sign-ups past the limit get TOO_MANY_ATTEMPTS_TRY_LATER', async (t) => {
  const server = await startServer({ t, dev: false, args: ['--auth-max-sign-ups-per-address', '3'] });
  const made = [
    await call(server, 'signUp', {}),
    await call(server, 'signUp', { email: 'a@example.com', password: 'secret a' }),
    await call(server, 'signUp', {}),
  ];
  for (const reply of made) assert.equal(reply.status, 200, JSON.stringify(reply.json));
  const anonymous = await call(server, 'signUp', {});
  assert.equal(anonymous.status, 400);
  assert.match(errorOf(anonymous), /^TOO_MANY_ATTEMPTS_TRY_LATER : Too many accounts/);
  const email = await call(server, 'signUp', { email: 'b@example.com', password: 'secret b' });
  assert.match(errorOf(email), /^TOO_MANY_ATTEMPTS_TRY_LATER/);
  // Refused sign-ups made nothing: the email is still free (EMAIL_NOT_FOUND), and sign-in is not limited by it.
  const missing = await call(server, 'signInWithPassword', { email: 'b@example.com', password: 'secret b' });
  assert.equal(errorOf(missing), 'EMAIL_NOT_FOUND');
  const signIn = await call(server, 'signInWithPassword', { email: 'a@example.com', password: 'secret a' });
  assert.equal(signIn.status, 200, JSON.stringify(signIn.json));
  assert.equal((await server.stop()).code, 0);
});

test('password hashes in flight are bounded: a sign-up flood is refused at once, sign-ins keep their share', async (t) => {
  // A bound of 2: sign-ups may have 1 hash in flight; sign-ins the rest.
  const server = await startServer({
    t, dev: false, args: ['--auth-max-pending-password-hashes', '2', '--auth-max-sign-ups-per-address', '0'],
  });
  const up = await call(server, 'signUp', { email: 'regular@example.com', password: 'regular secret' });
  assert.equal(up.status, 200, JSON.stringify(up.json));
  const flood = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    call(server, 'signUp', { email: `flood${i}@example.com`, password: `flood secret ${i}` })));
  const busy = flood.filter((r) => r.status === 503);
  assert.ok(flood.every((r) => r.status === 200 || r.status === 503), JSON.stringify(flood.map((r) => r.status)));
  assert.ok(busy.length > 0, 'some sign-ups were refused');
  assert.ok(busy.every((r) => /^TOO_MANY_ATTEMPTS_TRY_LATER : The server is busy/.test(errorOf(r))));
  assert.ok(flood.some((r) => r.status === 200), 'and some went through');
  // Sign-ups never take the whole bound: a sign-in during a flood is served.
  const [signIn] = await Promise.all([
    call(server, 'signInWithPassword', { email: 'regular@example.com', password: 'regular secret' }),
    ...Array.from({ length: 10 }, (_, i) =>
      call(server, 'signUp', { email: `more${i}@example.com`, password: `more secret ${i}` })),
  ]);
  assert.equal(signIn.status, 200, JSON.stringify(signIn.json));
  assert.equal((await server.stop()).code, 0);
});

test('the ID tokens of a deleted, disabled or revoked user are refused on REST', async (t) => {
  const server = await startServer({ t, dev: false });
  const admin = adminToken(server);
  const rules = await curl(server.u(`/.settings/rules.json?auth=${admin}`), {
    method: 'PUT', body: JSON.stringify({ rules: { '.read': 'auth != null', '.write': false } }),
  });
  assert.equal(rules.status, 200, rules.body);
  const read = (idToken) => curl(server.u(`/.json?auth=${idToken}`));
  const adminUpdate = (body) => curl(server.u('/identitytoolkit.googleapis.com/v1/projects/p/accounts:update'), {
    method: 'POST', headers: { Authorization: `Bearer ${admin}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

  // Deleted (by the user itself).
  const gone = await call(server, 'signUp', { email: 'gone@example.com', password: 'gone secret' });
  assert.equal((await read(gone.json.idToken)).status, 200, 'valid while the user exists (and now cached)');
  const deleted = await call(server, 'delete', { idToken: gone.json.idToken });
  assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
  const afterDelete = await read(gone.json.idToken);
  assert.equal(afterDelete.status, 401, afterDelete.body);
  assert.match(afterDelete.body, /no longer exists/);

  // Disabled by the admin: refused on REST, and the Auth endpoints answer USER_DISABLED; enabled again: accepted.
  const off = await call(server, 'signUp', { email: 'off@example.com', password: 'off secret' });
  assert.equal((await read(off.json.idToken)).status, 200);
  assert.equal((await adminUpdate({ localId: off.json.localId, disableUser: true })).status, 200);
  const afterDisable = await read(off.json.idToken);
  assert.equal(afterDisable.status, 401, afterDisable.body);
  assert.match(afterDisable.body, /disabled/);
  assert.equal(errorOf(await call(server, 'lookup', { idToken: off.json.idToken })), 'USER_DISABLED');
  assert.equal((await adminUpdate({ localId: off.json.localId, disableUser: false })).status, 200);
  assert.equal((await read(off.json.idToken)).status, 200);

  // Revoked (firebase-admin's revokeRefreshTokens: validSince = now): tokens of earlier sessions are refused; a
  // new sign-in (after that second) works.
  const old = await call(server, 'signUp', { email: 'old@example.com', password: 'old secret' });
  assert.equal((await read(old.json.idToken)).status, 200);
  await new Promise((resolve) => setTimeout(resolve, 1100)); // validSince has a granularity of one second
  const revoke = await adminUpdate({ localId: old.json.localId, validSince: String(Math.floor(Date.now() / 1000)) });
  assert.equal(revoke.status, 200, revoke.body);
  const afterRevoke = await read(old.json.idToken);
  assert.equal(afterRevoke.status, 401, afterRevoke.body);
  assert.match(afterRevoke.body, /revoked/);
  assert.equal(errorOf(await call(server, 'lookup', { idToken: old.json.idToken })), 'TOKEN_EXPIRED');
  const again = await call(server, 'signInWithPassword', { email: 'old@example.com', password: 'old secret' });
  assert.equal(again.status, 200, JSON.stringify(again.json));
  assert.equal((await read(again.json.idToken)).status, 200);

  // Another user's token is unaffected by all of this.
  const other = await call(server, 'signUp', { email: 'other@example.com', password: 'other secret' });
  assert.equal((await read(other.json.idToken)).status, 200);
  assert.equal((await server.stop()).code, 0);
});
