// The rules playground's API (issue 19; docs/security.md "Simulating a request"): POST
// /.console/api/rules/simulate decides a read or a write as the database would, with the trace of every rule met,
// and never writes. Admin only.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, curl } from './lib/server.mjs';

const RULES = `{
  // Each user owns /users/$uid; admins (a claim) read every user.
  "rules": {
    "users": {
      ".read": "auth != null && auth.token.admin == true",
      "$uid": {
        ".read": "auth != null && auth.uid == $uid",
        ".write": "auth != null && auth.uid == $uid",
        ".validate": "newData.hasChildren(['name'])",
        "name": { ".validate": "newData.isString() && newData.val().length <= 20" },
        "age": { ".validate": "newData.isNumber() && newData.val() >= 0" }
      }
    },
    "open": { ".read": "auth.uid == 'x'" }
  }
}`;

const ACCOUNTS = '/identitytoolkit.googleapis.com/v1/accounts:';

describe('POST /.console/api/rules/simulate', () => {
  let server;
  let admin;
  const simulate = (body, { token = admin, ns = 'default', method = 'POST', raw } = {}) =>
    curl(server.u(`/.console/api/rules/simulate?ns=${ns}`), {
      method,
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  const asAdmin = (p, options = {}) => curl(server.u(`${p}${p.includes('?') ? '&' : '?'}auth=${admin}`), options);

  before(async () => {
    server = await startServer({ dev: false });
    admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
    const put = await asAdmin('/.settings/rules.json', { method: 'PUT', body: RULES });
    assert.equal(put.status, 200, put.body);
    const seed = await asAdmin('/users/alice.json', { method: 'PUT', body: '{"name":"Alice","age":30}' });
    assert.equal(seed.status, 200, seed.body);
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  test('admin only: no credential and a wrong one are 401, a user is 403, other methods 405', async () => {
    const body = { operation: 'read', path: '/users/alice', auth: null };
    const none = await simulate(body, { token: null });
    assert.equal(none.status, 401, none.body);
    assert.match(none.json.error, /admin credential/);
    const wrong = await simulate(body, { token: `${admin}x` });
    assert.equal(wrong.status, 401, wrong.body);
    assert.equal(typeof wrong.json.error, 'string');

    const signUp = await fetch(server.u(`${ACCOUNTS}signUp?key=k`), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'sim@example.com', password: 'sim secret 123', returnSecureToken: true }),
    });
    const user = await signUp.json();
    assert.equal(signUp.status, 200, JSON.stringify(user));
    const asUser = await simulate(body, { token: user.idToken });
    assert.equal(asUser.status, 403, asUser.body);
    assert.match(asUser.json.error, /admin/);

    const get = await simulate(undefined, { method: 'GET' });
    assert.equal(get.status, 405, get.body);
    assert.equal(get.headers.allow, 'POST');
    const unknown = await curl(server.u('/.console/api/nothing'), { headers: { Authorization: `Bearer ${admin}` } });
    assert.equal(unknown.status, 404, unknown.body);
  });

  test('a read allowed by the user\'s own rule, and one allowed by the parent\'s cascading .read', async () => {
    const own = await simulate({ operation: 'read', path: '/users/alice', auth: { uid: 'alice' } });
    assert.equal(own.status, 200, own.body);
    assert.equal(own.json.allowed, true);
    assert.equal(own.json.message, 'Read allowed by /rules/users/$uid/.read');
    assert.deepEqual(own.json.trace, [
      { rule_path: '/rules/users/.read', path: '/users', kind: '.read',
        expression: 'auth != null && auth.token.admin == true', result: 'deny' },
      { rule_path: '/rules/users/$uid/.read', path: '/users/alice', kind: '.read',
        expression: 'auth != null && auth.uid == $uid', result: 'allow' },
    ]);

    const claims = await simulate({ operation: 'read', path: '/users/alice', auth: { uid: 'root', token: { admin: true } } });
    assert.equal(claims.status, 200, claims.body);
    assert.equal(claims.json.allowed, true);
    assert.equal(claims.json.trace[0].rule_path, '/rules/users/.read');
    assert.equal(claims.json.trace[0].result, 'allow');
    assert.equal(claims.json.trace[1].result, 'skipped');
  });

  test('a denied read names every rule that said no; no rule at all is denied by default; errors are shown', async () => {
    const other = await simulate({ operation: 'read', path: '/users/alice', auth: { uid: 'bob' } });
    assert.equal(other.status, 200, other.body);
    assert.equal(other.json.allowed, false);
    assert.deepEqual(other.json.trace.map((e) => [e.rule_path, e.result]),
      [['/rules/users/.read', 'deny'], ['/rules/users/$uid/.read', 'deny']]);
    assert.match(other.json.message, /^Permission denied/);

    const nothing = await simulate({ operation: 'read', path: '/posts/1', auth: { uid: 'bob' } });
    assert.equal(nothing.json.allowed, false);
    assert.deepEqual(nothing.json.trace, []);
    assert.match(nothing.json.message, /no \.read rule applies to \/posts\/1/);

    // auth.uid of a signed-out request: an error, shown as such (and a denial).
    const error = await simulate({ operation: 'read', path: '/open', auth: null });
    assert.equal(error.json.allowed, false);
    assert.equal(error.json.trace.length, 1);
    assert.equal(error.json.trace[0].result, 'error');
    assert.equal(error.json.trace[0].error, 'cannot read "uid" of null');
  });

  test('a write denied by a .validate on a child of the new data, and nothing is written', async () => {
    const before = await asAdmin('/.json');
    const denied = await simulate({ operation: 'write', path: '/users/alice', auth: { uid: 'alice' },
      data: { name: 'Alice', age: 'old' } });
    assert.equal(denied.status, 200, denied.body);
    assert.equal(denied.json.allowed, false);
    const last = denied.json.trace.at(-1);
    assert.deepEqual(last, { rule_path: '/rules/users/$uid/age/.validate', path: '/users/alice/age', kind: '.validate',
      expression: 'newData.isNumber() && newData.val() >= 0', result: 'deny' });
    assert.equal(denied.json.trace[0].rule_path, '/rules/users/$uid/.write');
    assert.equal(denied.json.trace[0].result, 'allow');
    assert.match(denied.json.message, /\/rules\/users\/\$uid\/age\/\.validate refused the new data at \/users\/alice\/age/);

    const allowed = await simulate({ operation: 'write', path: '/users/alice', auth: { uid: 'alice' },
      data: { name: 'Changed', age: 31 } });
    assert.equal(allowed.json.allowed, true, allowed.body);
    assert.match(allowed.json.message, /^Write allowed by \/rules\/users\/\$uid\/\.write/);
    const removal = await simulate({ operation: 'write', path: '/users/alice', auth: { uid: 'alice' }, data: null });
    assert.equal(removal.json.allowed, true, removal.body);  // deletes are not validated
    const notHers = await simulate({ operation: 'write', path: '/users/bob', auth: { uid: 'alice' }, data: { name: 'B' } });
    assert.equal(notHers.json.allowed, false);

    // Nothing changed: not the allowed write, not the delete.
    const afterAll = await asAdmin('/.json');
    assert.deepEqual(afterAll.json, before.json);
    assert.deepEqual(afterAll.json, { users: { alice: { name: 'Alice', age: 30 } } });
  });

  test('rules given in the request are used instead of the deployed ones (comments allowed)', async () => {
    const rules = `{
      // open for reading, writes of numbers only
      "rules": { ".read": true, "n": { ".write": true, ".validate": "newData.isNumber()" } }
    }`;
    const read = await simulate({ operation: 'read', path: '/users/alice', auth: null, rules });
    assert.equal(read.json.allowed, true, read.body);
    assert.deepEqual(read.json.trace.map((e) => [e.rule_path, e.result]), [['/rules/.read', 'allow']]);
    const write = await simulate({ operation: 'write', path: '/n', auth: null, data: 'text', rules });
    assert.equal(write.json.allowed, false, write.body);
    assert.equal(write.json.trace.at(-1).rule_path, '/rules/n/.validate');
    // The deployed rules are untouched.
    const deployed = await asAdmin('/.settings/rules.json');
    assert.equal(deployed.body, RULES);
    assert.equal((await asAdmin('/n.json')).body, 'null');
  });

  test('malformed bodies, paths and rules are 400 with a specific message', async () => {
    const cases = [
      [undefined, '', /must be a JSON object/],
      [undefined, '{"operation":', /Invalid JSON body/],
      [[1, 2], undefined, /must be a JSON object/],
      [{ operation: 'delete', path: '/a' }, undefined, /"operation" must be "read" or "write"/],
      [{ operation: 'read' }, undefined, /"path" must be a string/],
      [{ operation: 'read', path: '/a/b.c' }, undefined, /Invalid path "\/a\/b\.c"/],
      [{ operation: 'read', path: '/a', extra: 1 }, undefined, /Unknown field "extra"/],
      [{ operation: 'read', path: '/a', auth: 'alice' }, undefined, /"auth" must be null/],
      [{ operation: 'read', path: '/a', auth: { token: {} } }, undefined, /"auth.uid" must be a non-empty string/],
      [{ operation: 'read', path: '/a', auth: { uid: 'a', token: { sub: 'b' } } }, undefined, /auth.token.sub/],
      [{ operation: 'read', path: '/a', data: 1 }, undefined, /"data" is for writes/],
      [{ operation: 'write', path: '/a' }, undefined, /A write needs "data"/],
      [{ operation: 'write', path: '/a', data: { 'b.c': 1 }, rules: '{"rules": {".write": true}}' }, undefined, /b\.c/],
      [{ operation: 'read', path: '/a', rules: { rules: {} } }, undefined, /"rules" must be the rules source/],
      [{ operation: 'read', path: '/a', rules: '{\n  "rules": {\n    ".read": "auth.uid =="\n  }\n}' }, undefined,
        /invalid rules at \/rules\/\.read \(line 3, column \d+\)/],
    ];
    for (const [body, raw, message] of cases) {
      const res = await simulate(body, { raw });
      assert.equal(res.status, 400, `${raw ?? JSON.stringify(body)}: ${res.body}`);
      assert.equal(typeof res.json?.error, 'string', res.body);
      assert.match(res.json.error, message, `${raw ?? JSON.stringify(body)}: ${res.body}`);
    }
    const missing = await simulate({ operation: 'read', path: '/a' }, { ns: 'nosuchdb' });
    assert.equal(missing.status, 404, missing.body);
  });
});
