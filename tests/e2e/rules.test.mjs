// Security rules enforced on every front door: secure by default, the admin credential, --dev, --rules,
// GET/PUT /.settings/rules.json, `backside rules check`, and the rules themselves through curl (REST), eventsource
// (streaming) and the Firebase JS SDK.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { ref, set, get, update, onValue, onDisconnect, query, orderByChild, equalTo } from 'firebase/database';

import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';
import { connect as connectJs } from '../../clients/js/backside.js';
import { initializeTestEnvironment, assertSucceeds, assertFails } from '@firebase/rules-unit-testing';

import { startServer, curl, makeTempDir, runBackside, waitFor, within } from './lib/server.mjs';
import { sdkClient } from './lib/fbsdk.mjs';
import { StreamClient } from './lib/stream.mjs';

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** An unsigned (alg: none) ID token with these claims: what the Firebase emulators and mockUserToken use. */
const unsignedToken = (claims) =>
  `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ iat: Math.floor(Date.now() / 1000), ...claims })}.`;

const USER_RULES = `{
  // Each user owns /users/$uid; messages are validated.
  "rules": {
    "users": {
      "$uid": {
        ".read": "auth != null && auth.uid == $uid",
        ".write": "auth != null && auth.uid == $uid",
        "name": { ".validate": "newData.isString() && newData.val().length <= 20" },
        "age": { ".validate": "newData.isNumber() && newData.val() >= 0" }
      }
    },
    "public": { ".read": true, ".write": "auth != null" },
    // Query-based rules: only a query for one's own items may read the list.
    "items": {
      ".read": "auth != null && query.orderByChild == 'owner' && query.equalTo == auth.uid",
      ".write": "auth != null"
    },
    "admins_only": { ".read": "auth.token.admin == true", ".write": "auth.token.admin == true" },
    // matches() counts characters, not UTF-8 bytes; /i ignores case.
    "names": { "$id": { ".read": true, ".write": true, ".validate": "newData.val().matches(/^.{1,10}$/)" } },
    "cities": { "$id": { ".write": true, ".validate": "newData.val().matches(/^(istanbul|izmir)$/i)" } }
  }
}`;

describe('secure by default', () => {
  let server;
  before(async () => {
    server = await startServer({ dev: false });
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  test('without rules only the admin reads and writes; the token file is 0600 and never logged', async () => {
    const file = path.join(server.dataDir, 'admin-token');
    const token = fs.readFileSync(file, 'utf8').trim();
    assert.ok(token.length >= 32, 'a long random token');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.ok(!server.log.includes(token), 'the token is not in the log');
    assert.match(server.log, /has no rules: only the admin may read or write/);
    assert.match(server.log, /\/\.settings\/rules\.json/);

    for (const [method, body] of [['GET'], ['PUT', '1'], ['PATCH', '{"a":1}'], ['POST', '1'], ['DELETE']]) {
      const res = await curl(server.u('/locked.json'), { method, body });
      assert.equal(res.status, 401, `${method}: ${res.body}`);
      assert.deepEqual(res.json, { error: 'Permission denied' });
    }
    const put = await curl(server.u(`/locked.json?auth=${token}`), { method: 'PUT', body: '{"v":1}' });
    assert.equal(put.status, 200, put.body);
    const got = await curl(server.u('/locked.json'), { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, { v: 1 });
    // A wrong token is not anonymous: it is refused as a bad credential.
    const wrong = await curl(server.u(`/locked.json?auth=${token.slice(0, -1)}x`));
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.json, { error: 'Could not parse auth token.' });
    const badHeader = await curl(server.u('/locked.json'), { headers: { Authorization: `Basic ${token}` } });
    assert.equal(badHeader.status, 401);
    // Outside --dev, the emulator's "owner" token and unsigned tokens are nobody.
    for (const cred of ['owner', unsignedToken({ sub: 'alice' })]) {
      const res = await curl(server.u(`/locked.json?auth=${cred}`));
      assert.equal(res.status, 401, cred);
      assert.deepEqual(res.json, { error: 'Could not parse auth token.' });
    }
    // Streams too.
    const stream = await curl(server.u('/locked.json'), { headers: { Accept: 'text/event-stream' } });
    assert.equal(stream.status, 401);
  });

  test('the Firebase SDK gets permission_denied; with the admin token it may do anything', async () => {
    const token = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
    const anonymous = sdkClient(server, { ns: 'default' });
    try {
      await assert.rejects(set(ref(anonymous.db, 'x'), 1), /permission_denied|PERMISSION_DENIED/i);
      await assert.rejects(get(ref(anonymous.db, 'locked')), /permission/i);
    } finally {
      await anonymous.close();
    }
    const admin = sdkClient(server, { ns: 'default', mockUserToken: token });
    try {
      // mockUserToken given as a string is sent as is (gauth): the admin token.
      await set(ref(admin.db, 'fromsdk'), 'ok');
      assert.equal((await get(ref(admin.db, 'fromsdk'))).val(), 'ok');
    } finally {
      await admin.close();
    }
  });

  test('a configured admin token replaces the generated one; short tokens are refused', async () => {
    const dataDir = makeTempDir();
    const chosen = 'a-chosen-admin-token-0123456789';
    const s = await startServer({ dev: false, dataDir, env: { BACKSIDE_ADMIN_TOKEN: chosen } });
    try {
      assert.ok(!fs.existsSync(path.join(dataDir, 'admin-token')));
      const res = await curl(s.u(`/a.json?auth=${chosen}`), { method: 'PUT', body: '1' });
      assert.equal(res.status, 200);
    } finally {
      await s.stop();
    }
    const short = await runBackside(['serve', '--port', '0', '--data-dir', makeTempDir(), '--admin-token', 'short']);
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /admin_token/);
  });
});

describe('rules through every door (--rules FILE)', () => {
  let server;
  let token;
  const rulesFile = path.join(makeTempDir(), 'database.rules.json');
  fs.writeFileSync(rulesFile, USER_RULES);
  const alice = unsignedToken({ sub: 'alice', user_id: 'alice', firebase: { sign_in_provider: 'password' } });
  const bob = unsignedToken({ sub: 'bob', user_id: 'bob' });
  const boss = unsignedToken({ sub: 'boss', admin: true });

  before(async () => {
    // --dev accepts the unsigned tokens above; configured rules are enforced all the same.
    server = await startServer({ args: ['--rules', rulesFile] });
    token = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
    assert.match(server.log, /rules of database "default" set from/);
  });
  after(async () => {
    const exit = await server.stop();
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}; log:\n${server.log.slice(-2000)}`);
  });

  const rest = (p, { auth, method = 'GET', body, ns } = {}) => {
    const params = [];
    if (auth) params.push(`auth=${auth}`);
    if (ns) params.push(`ns=${ns}`);
    return curl(server.u(`${p}.json${params.length ? `?${params.join('&')}` : ''}`), {
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };

  test('REST: user-owned data, validation, cascading and rules that are not filters', async () => {
    assert.equal((await rest('/users/alice', { auth: alice, method: 'PUT', body: { name: 'Alice', age: 30 } })).status, 200);
    const denied = await rest('/users/alice', { auth: bob, method: 'PUT', body: { name: 'Mallory' } });
    assert.equal(denied.status, 401);
    assert.deepEqual(denied.json, { error: 'Permission denied' });
    assert.equal((await rest('/users/alice', { auth: bob })).status, 401);
    assert.equal((await rest('/users/alice', {})).status, 401);
    assert.deepEqual((await rest('/users/alice', { auth: alice })).json, { name: 'Alice', age: 30 });
    // .validate: wrong type and too long are refused; deletes are not validated.
    assert.equal((await rest('/users/alice/age', { auth: alice, method: 'PUT', body: 'old' })).status, 401);
    assert.equal((await rest('/users/alice/name', { auth: alice, method: 'PUT', body: 'x'.repeat(21) })).status, 401);
    assert.equal((await rest('/users/alice/age', { auth: alice, method: 'DELETE' })).status, 200);
    // Rules are not filters: reading /users is denied even though alice may read her own child.
    assert.equal((await rest('/users', { auth: alice })).status, 401);
    // Public: anyone reads, signed-in users write.
    assert.equal((await rest('/public/note', { method: 'PUT', body: 'x' })).status, 401);
    assert.equal((await rest('/public/note', { auth: bob, method: 'PUT', body: 'hello' })).status, 200);
    assert.equal((await rest('/public/note', {})).json, 'hello');
    // A custom claim.
    assert.equal((await rest('/admins_only/x', { auth: bob, method: 'PUT', body: 1 })).status, 401);
    assert.equal((await rest('/admins_only/x', { auth: boss, method: 'PUT', body: 1 })).status, 200);
    // The admin token bypasses every rule.
    assert.equal((await rest('/users', { auth: token })).status, 200);
    assert.equal((await rest('/elsewhere', { auth: token, method: 'PUT', body: 1 })).status, 200);
  });

  test('REST: matches() counts characters of multi-byte UTF-8 text', async () => {
    const name = 'Ğüşçöıé'; // seven letters, fourteen bytes
    assert.equal(Buffer.byteLength(name), 14);
    const accepted = await rest('/names/a', { method: 'PUT', body: name });
    assert.equal(accepted.status, 200, accepted.body);
    assert.equal((await rest('/names/a', {})).json, name);
    const eleven = 'Ğüşçöıéğüşç';
    assert.equal([...eleven].length, 11);
    assert.equal((await rest('/names/b', { method: 'PUT', body: eleven })).status, 401);
    assert.equal((await rest('/names/c', { method: 'PUT', body: 'x'.repeat(11) })).status, 401);
    assert.equal((await rest('/names/b', {})).json, null);
    assert.equal((await rest('/cities/a', { method: 'PUT', body: 'IzMir' })).status, 200);
    assert.equal((await rest('/cities/b', { method: 'PUT', body: 'ankara' })).status, 401);
  });

  test('query-based rules: REST and the SDK may read only the query the rules allow', async () => {
    const items = { i1: { owner: 'alice', v: 1 }, i2: { owner: 'bob', v: 2 }, i3: { owner: 'alice', v: 3 } };
    assert.equal((await rest('/items', { auth: token, method: 'PUT', body: items })).status, 200);
    const q = (owner) => `orderBy=%22owner%22&equalTo=%22${owner}%22`;
    const mine = await curl(server.u(`/items.json?${q('alice')}&auth=${alice}`));
    assert.equal(mine.status, 200, mine.body);
    assert.deepEqual(mine.json, { i1: items.i1, i3: items.i3 });
    assert.equal((await curl(server.u(`/items.json?${q('bob')}&auth=${alice}`))).status, 401);
    assert.equal((await rest('/items', { auth: alice })).status, 401);
    const client = sdkClient(server, { ns: 'default', mockUserToken: { sub: 'alice', user_id: 'alice' } });
    try {
      const snap = await get(query(ref(client.db, 'items'), orderByChild('owner'), equalTo('alice')));
      assert.deepEqual(snap.val(), { i1: items.i1, i3: items.i3 });
      await assert.rejects(get(query(ref(client.db, 'items'), orderByChild('owner'), equalTo('bob'))), /permission/i);
    } finally {
      await client.close();
    }
  });

  test('REST: a multi-path update is checked per key and applied all or nothing', async () => {
    assert.equal((await rest('/users/alice', { auth: alice, method: 'PUT', body: { name: 'Alice' } })).status, 200);
    const mixed = await rest('/', {
      auth: alice,
      method: 'PATCH',
      body: { 'users/alice/name': 'Changed', 'users/bob/name': 'Hijacked' },
    });
    assert.equal(mixed.status, 401);
    const invalid = await rest('/users/alice', { auth: alice, method: 'PATCH', body: { name: 'Ok', age: 'nope' } });
    assert.equal(invalid.status, 401);
    assert.deepEqual((await rest('/users/alice', { auth: alice })).json, { name: 'Alice' });
    assert.equal((await rest('/users/bob', { auth: token })).json, null);
    const ok = await rest('/users/alice', { auth: alice, method: 'PATCH', body: { name: 'Al', age: 31 } });
    assert.equal(ok.status, 200, ok.body);
  });

  test('Firebase SDK: allowed and denied writes, reads and listens for one user', async () => {
    const client = sdkClient(server, { ns: 'default', mockUserToken: { sub: 'alice', user_id: 'alice' } });
    try {
      await set(ref(client.db, 'users/alice/name'), 'Alice SDK');
      await assert.rejects(set(ref(client.db, 'users/bob/name'), 'x'), /permission_denied/i);
      await assert.rejects(update(ref(client.db), { 'users/alice/name': 'a', 'users/bob/name': 'b' }), /permission/i);
      await assert.rejects(set(ref(client.db, 'users/alice/age'), -1), /permission/i);
      assert.equal((await get(ref(client.db, 'users/alice/name'))).val(), 'Alice SDK');
      const cancelled = await new Promise((resolve) => {
        onValue(ref(client.db, 'users/bob'), () => resolve('value'), (error) => resolve(error.message));
      });
      assert.match(cancelled, /permission_denied/i);
      // onDisconnect operations are checked when they are registered, with the connection's identity.
      await assert.rejects(onDisconnect(ref(client.db, 'users/bob/online')).set(false), /permission_denied/i);
      await assert.rejects(onDisconnect(ref(client.db, 'users/alice/age')).set('x'), /permission_denied/i);
      await onDisconnect(ref(client.db, 'users/alice')).update({ online: false, name: 'Gone' });
    } finally {
      await client.close();
    }
    await waitFor(async () => (await rest('/users/alice/online', { auth: alice })).json === false, {
      message: 'the onDisconnect update',
    });
    assert.equal((await rest('/users/bob/online', { auth: bob })).json, null);
  });

  test('STOMP: the passcode is the credential; forbidden SENDs get a permission_denied RECEIPT', async () => {
    const stomp = async (passcode) => {
      const client = new Client({
        webSocketFactory: () => new WebSocket(`${server.url.replace('http', 'ws')}/stomp`, ['v12.stomp']),
        connectHeaders: passcode ? { host: 'default', passcode } : { host: 'default' },
        reconnectDelay: 0,
        heartbeatIncoming: 0,
        heartbeatOutgoing: 0,
      });
      const outcome = new Promise((resolve) => {
        client.onConnect = () => resolve('connected');
        client.onStompError = (frame) => resolve(`error: ${frame.headers.message}`);
      });
      client.activate();
      return { client, outcome: await within(outcome, 5000) };
    };
    const send = (client, destination, body) => {
      const receipt = `r-${Math.random().toString(36).slice(2)}`;
      const got = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
      client.publish({ destination, body: JSON.stringify(body), headers: { receipt } });
      return within(got, 5000);
    };
    const asAlice = await stomp(alice);
    assert.equal(asAlice.outcome, 'connected');
    assert.equal((await send(asAlice.client, '/users/alice/name', 'Alice STOMP')).headers.status, 'ok');
    const denied = await send(asAlice.client, '/users/bob/name', 'nope');
    assert.equal(denied.headers.status, 'permission_denied');
    assert.equal((await send(asAlice.client, '/users/alice/age', 'old')).headers.status, 'permission_denied');
    // The connection stays usable after a refused write.
    assert.equal((await send(asAlice.client, '/public/stomp', 'hi')).headers.status, 'ok');
    // A SUBSCRIBE the rules refuse ends with event:cancel; the connection stays usable.
    const cancelled = new Promise((resolve) => {
      asAlice.client.subscribe('/users/bob', (message) => resolve(message.headers));
    });
    const cancel = await within(cancelled, 5000);
    assert.equal(cancel.event, 'cancel');
    assert.equal(cancel.status, 'permission_denied');
    assert.equal((await send(asAlice.client, '/public/stomp', 'still here')).headers.status, 'ok');
    await asAlice.client.deactivate();
    const asAdmin = await stomp(token);
    assert.equal((await send(asAdmin.client, '/users/bob/name', 'by admin')).headers.status, 'ok');
    await asAdmin.client.deactivate();
    const anonymous = await stomp();
    assert.equal((await send(anonymous.client, '/public/stomp', 'x')).headers.status, 'permission_denied');
    await anonymous.client.deactivate();
    const forged = await stomp('not-a-token');
    assert.match(forged.outcome, /^error: authentication failed/);
    await forged.client.deactivate();
    assert.equal((await rest('/users/bob/name', { auth: token })).json, 'by admin');
  });

  test('settings: GET and PUT /.settings/rules.json need the admin; invalid rules change nothing', async () => {
    const url = (auth) => server.u(`/.settings/rules.json?ns=other${auth ? `&auth=${auth}` : ''}`);
    assert.equal((await curl(url())).status, 401);
    assert.equal((await curl(url(alice), { method: 'PUT', body: '{"rules":{}}' })).status, 401);
    // A database without rules shows the server default (open, with --dev).
    const initial = await curl(url(token));
    assert.equal(initial.status, 200);
    assert.match(initial.body, /"\.read": true/);

    const rules = '{\n  // comments are kept\n  "rules": {"open": {".read": true, ".write": true}}\n}';
    const put = await curl(url(token), { method: 'PUT', body: rules });
    assert.equal(put.status, 200, put.body);
    assert.equal((await curl(url(token))).body, rules);
    const bad = await curl(url(token), { method: 'PUT', body: '{"rules": {".read": "auth.uid ==="}}' });
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /line 1, column \d+/);
    assert.equal((await curl(url(token))).body, rules, 'the old rules stay');
    assert.equal((await rest('/open/x', { ns: 'other', method: 'PUT', body: 1 })).status, 200);
    assert.equal((await rest('/closed', { ns: 'other', method: 'PUT', body: 1 })).status, 401);
  });

  test('a rules change revokes the listens it no longer allows (stream cancel, SDK cancel)', async () => {
    const ns = 'revoke';
    const settings = server.u(`/.settings/rules.json?ns=${ns}&auth=${token}`);
    const open = '{"rules": {"room": {".read": true, ".write": true}}}';
    assert.equal((await curl(settings, { method: 'PUT', body: open })).status, 200);
    assert.equal((await rest('/room', { ns, method: 'PUT', body: { a: 1 } })).status, 200);

    const stream = new StreamClient(server.u(`/room.json?ns=${ns}`));
    assert.deepEqual((await stream.initial()).data, { path: '/', data: { a: 1 } });
    const client = sdkClient(server, { ns });
    let cancelError = null;
    const values = [];
    onValue(ref(client.db, 'room'), (s) => values.push(s.val()), (error) => {
      cancelError = error;
    });
    await waitFor(() => values.length > 0, { message: 'the SDK value' });

    const js = await connectJs(`${server.url.replace('http', 'ws')}/stomp`, { database: ns, WebSocket });
    let jsCancel = null;
    js.ref('room').on('value', () => {}, (error) => {
      jsCancel = error;
    });
    await waitFor(() => js._views.get('/room')?.loaded, { message: 'the JS client value' });

    const closed = '{"rules": {"room": {".read": false, ".write": true}}}';
    assert.equal((await curl(settings, { method: 'PUT', body: closed })).status, 200);
    const cancel = await stream.next({ what: 'cancel' });
    assert.equal(cancel.event, 'cancel');
    assert.equal(cancel.data, 'Permission denied');
    await waitFor(() => cancelError, { message: 'the SDK cancel callback' });
    assert.match(cancelError.message, /permission_denied/i);
    await waitFor(() => jsCancel, { message: 'the JS client (STOMP) cancel callback' });
    assert.equal(jsCancel.code, 'permission_denied');
    await js.close();
    stream.close();
    await client.close();
  });

  test('rules are stored: they survive a restart', async () => {
    const dataDir = makeTempDir();
    const s = await startServer({ dataDir, dev: false });
    const admin = fs.readFileSync(path.join(dataDir, 'admin-token'), 'utf8').trim();
    const rules = '{"rules": {"pub": {".read": true}}}';
    const put = await curl(s.u(`/.settings/rules.json?auth=${admin}`), { method: 'PUT', body: rules });
    assert.equal(put.status, 200);
    assert.equal((await s.stop()).code, 0);
    await s.restart();
    assert.equal((await curl(s.u(`/.settings/rules.json?auth=${admin}`))).body, rules);
    assert.equal((await curl(s.u('/pub.json'))).status, 200);
    assert.equal((await curl(s.u('/priv.json'))).status, 401);
    assert.doesNotMatch(s.log.split('stopped cleanly').pop(), /database "default" has no rules/);
    await s.stop();
  });
});

describe('@firebase/rules-unit-testing against a --dev server', () => {
  test('rules loaded through the library, contexts per user, rules disabled, clearDatabase', async (t) => {
    const server = await startServer({ t });
    const env = await initializeTestEnvironment({
      projectId: 'demo-rut',
      database: { host: '127.0.0.1', port: server.port, rules: USER_RULES },
    });
    try {
      const alice = env.authenticatedContext('alice').database();
      const bob = env.authenticatedContext('bob', { admin: true }).database();
      const nobody = env.unauthenticatedContext().database();
      await assertSucceeds(set(ref(alice, 'users/alice'), { name: 'Alice', age: 30 }));
      await assertFails(set(ref(alice, 'users/bob/name'), 'x'));
      await assertFails(set(ref(alice, 'users/alice/age'), 'thirty'));
      await assertFails(get(ref(nobody, 'users/alice')));
      await assertSucceeds(get(ref(alice, 'users/alice')));
      await assertFails(get(ref(bob, 'users/alice')));
      await assertSucceeds(set(ref(bob, 'admins_only/flag'), true));
      await assertFails(set(ref(alice, 'admins_only/flag'), false));
      await env.withSecurityRulesDisabled(async (context) => {
        await set(ref(context.database(), 'users/carol'), { name: 'Carol' });
      });
      assert.equal((await get(ref(alice, 'users/alice/name'))).val(), 'Alice');
      await env.clearDatabase();
      await env.withSecurityRulesDisabled(async (context) => {
        assert.equal((await get(ref(context.database(), 'users'))).val(), null);
      });
    } finally {
      await env.cleanup();
    }
  });
});

describe('backside rules check and bad --rules', () => {
  test('prints ok, or the error with rule path, line and column', async () => {
    const dir = makeTempDir();
    const good = path.join(dir, 'good.json');
    fs.writeFileSync(good, USER_RULES);
    const ok = await runBackside(['rules', 'check', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'ok');
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{\n  "rules": {\n    "a": {".read": "data.val() +"}\n  }\n}');
    const res = await runBackside(['rules', 'check', bad]);
    assert.equal(res.code, 1);
    assert.match(res.stdout, /line 3, column \d+/);
    assert.match(res.stdout, /\/a/);
    const serve = await runBackside(['serve', '--port', '0', '--data-dir', makeTempDir(), '--rules', bad]);
    assert.notEqual(serve.code, 0);
    assert.match(serve.stderr, /invalid rules/);
  });
});
