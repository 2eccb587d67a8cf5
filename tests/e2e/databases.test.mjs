// Who creates databases: outside --dev only the admin (a write or a rules deploy), the
// `databases` option and the default namespace do. A request naming an unknown database gets a clear error in its
// door's form (REST, Firebase WebSocket and long-poll, STOMP) and leaves nothing under <data_dir>/db; the Auth API's
// tenants are no databases (an unknown one is TENANT_NOT_FOUND).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import WebSocket from 'ws';

import { startServer, curl, curlBatch, rawExchange, makeTempDir } from './lib/server.mjs';

const databasesOn = (server) => fs.readdirSync(path.join(server.dataDir, 'db')).sort();
const adminToken = (server) => fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();

/** The first message of a Firebase protocol WebSocket, and how it closed. */
function firstWebSocketMessage(server, ns) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/.ws?v=5&ns=${ns}`);
    let first;
    socket.on('message', (data) => {
      first ??= JSON.parse(data.toString());
    });
    socket.on('close', (code) => resolve({ first, code }));
    socket.on('error', reject);
  });
}

describe('databases outside --dev', () => {
  let server;
  let admin;
  before(async () => {
    // max_databases 4: default, listed, and room for the admin's two; anonymous names must not take the room.
    server = await startServer({ dev: false, args: ['--databases', 'listed', '--max-databases', '4'] });
    admin = adminToken(server);
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  test('the default database and those of the databases option exist from the start', async () => {
    assert.deepEqual(databasesOn(server), ['default', 'listed']);
    const [listed, missing] = await curlBatch([
      { url: server.u(`/x.json?ns=listed&auth=${admin}`) },
      { url: server.u(`/x.json?ns=ghost&auth=${admin}`) },
    ]);
    assert.equal(listed.status, 200, listed.body);
    assert.equal(missing.status, 404, missing.body);
    assert.match(missing.json.error, /Database "ghost" does not exist/);
  });

  test('REST: an unknown name is 404 with a JSON error, authenticated or not, and creates nothing', async () => {
    const replies = await curlBatch([
      { url: server.u('/x.json?ns=ghost1') },
      { url: server.u('/x.json?ns=ghost2'), method: 'PUT', body: '1' },
      { url: server.u('/x.json?ns=ghost3'), method: 'PATCH', body: '{"a":1}' },
      { url: server.u('/x.json?ns=ghost4'), method: 'POST', body: '1' },
      { url: server.u('/x.json?ns=ghost5&auth=not-a-token'), method: 'PUT', body: '1' },
      { url: server.u('/.settings/rules.json?ns=ghost6') },
      { url: server.u(`/.settings/rules.json?ns=ghost7&auth=${admin}`) },
      { url: server.u('/x.json?ns=ghost8'), headers: { Accept: 'text/event-stream' } },
    ]);
    for (const [i, reply] of replies.entries()) {
      assert.ok(reply.status === 404 || reply.status === 401, `request ${i}: ${reply.status} ${reply.body}`);
      assert.equal(typeof reply.json.error, 'string', `request ${i}: ${reply.body}`);
    }
    for (const i of [0, 1, 2, 3, 6, 7]) assert.match(replies[i].json.error, /does not exist/, `request ${i}`);
    assert.deepEqual(databasesOn(server), ['default', 'listed']);
  });

  test('Firebase protocol: WebSocket and long-poll are refused with a shutdown message naming the database', async () => {
    const ws = await firstWebSocketMessage(server, 'ghostws');
    assert.equal(ws.first.t, 'c');
    assert.equal(ws.first.d.t, 's', JSON.stringify(ws.first));
    assert.match(ws.first.d.d, /Database "ghostws" does not exist/);
    assert.equal(ws.code, 1008);
    const lp = await curl(server.u('/.lp?start=t&ser=1&cb=1&v=5&ns=ghostlp'));
    assert.equal(lp.status, 200);
    assert.match(lp.body, /\{"t":"c","d":\{"t":"s","d":"/);
    assert.match(lp.body, /Database \\"ghostlp\\" does not exist/);
    assert.deepEqual(databasesOn(server), ['default', 'listed']);
  });

  test('STOMP: CONNECT with an unknown host gets an ERROR frame and a close', async () => {
    const { data, closed } = await rawExchange(server.stompPort, 'CONNECT\naccept-version:1.2\nhost:ghoststomp\n\n\0');
    assert.match(data, /^ERROR\n/);
    assert.match(data, /message:cannot open database ghoststomp: Database "ghoststomp" does not exist/);
    assert.ok(closed);
    assert.deepEqual(databasesOn(server), ['default', 'listed']);
  });

  test('Auth API: an unknown tenant is TENANT_NOT_FOUND and creates nothing (tenants are no databases)', async () => {
    const base = '/identitytoolkit.googleapis.com/v1/accounts';
    const replies = await curlBatch([
      {
        url: server.u(`${base}:signUp?key=k`),
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'a@example.com', password: 'secret password', tenantId: 'ghostauth' }),
      },
      {
        url: server.u(`${base}:signInWithPassword?key=k`),
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: 'a@example.com', password: 'secret password', tenantId: 'ghostauth2' }),
      },
    ]);
    for (const reply of replies) {
      assert.equal(reply.status, 400, reply.body);
      assert.equal(reply.json.error.message, 'TENANT_NOT_FOUND');
    }
    assert.deepEqual(databasesOn(server), ['default', 'listed']);
    assert.ok(!fs.existsSync(path.join(server.dataDir, 'auth', 'tenants', 'ghostauth')));
  });

  test('the admin creates a database by writing to it or deploying its rules; it stays after a restart', async () => {
    // Anonymous names did not use up max_databases (4): the admin still has room for two.
    const [write, rules, anonymous, third] = await curlBatch([
      { url: server.u(`/.json?ns=made&auth=${admin}`), method: 'PUT', body: '{"hello":"world"}' },
      {
        url: server.u(`/.settings/rules.json?ns=deployed&auth=${admin}`),
        method: 'PUT',
        body: '{"rules": {"pub": {".read": true}}}',
      },
      { url: server.u('/hello.json?ns=made') },
      { url: server.u(`/.json?ns=third&auth=${admin}`), method: 'PUT', body: '1' },
    ]);
    assert.equal(write.status, 200, write.body);
    assert.equal(rules.status, 200, rules.body);
    assert.equal(anonymous.status, 401, 'an existing database without rules: only the admin');
    assert.equal(third.status, 503, third.body);
    assert.match(third.json.error, /Too many databases: the limit is 4/);
    assert.deepEqual(databasesOn(server), ['default', 'deployed', 'listed', 'made']);

    await server.stop();
    await server.restart();
    const [made, pub] = await curlBatch([
      { url: server.u(`/hello.json?ns=made&auth=${admin}`) },
      { url: server.u('/pub.json?ns=deployed') },
    ]);
    assert.equal(made.json, 'world');
    assert.equal(pub.status, 200, pub.body);
  });
});

test('databases made under --dev keep opening in production; --dev still opens any name', async (t) => {
  const dataDir = makeTempDir();
  const dev = await startServer({ t, dataDir });
  const created = await curl(dev.u('/k.json?ns=fromdev'), { method: 'PUT', body: '"v"' });
  assert.equal(created.status, 200, created.body);
  assert.equal((await dev.stop()).code, 0);

  const production = await startServer({ t, dataDir, dev: false });
  const admin = adminToken(production);
  const [kept, unknown] = await curlBatch([
    { url: production.u(`/k.json?ns=fromdev&auth=${admin}`) },
    { url: production.u('/k.json?ns=other') },
  ]);
  assert.equal(kept.json, 'v');
  assert.equal(unknown.status, 404);
  assert.deepEqual(databasesOn(production), ['default', 'fromdev']);
  assert.equal((await production.stop()).code, 0);
});
