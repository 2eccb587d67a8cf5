// GET /metrics (docs/operations.md#metrics) on a real server: the counters move by exactly the load the test makes
// through each door (REST with curl, STOMP over TCP, the Firebase wire protocol over WebSocket), denials are
// counted, the connection gauges follow WebSockets opening and closing, and the scrape is admin-only unless
// metrics_public. Every scrape is parsed by a strict text-format parser (lib/prometheus.mjs), not grepped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

import { curl, curlBatch, startServer, waitFor } from './lib/server.mjs';
import { stompExchange } from './lib/raw-stomp.mjs';
import { RawClient } from './lib/fbsdk.mjs';
import { StreamClient } from './lib/stream.mjs';
import { parsePrometheusText, sampleValue, scrape } from './lib/prometheus.mjs';

const adminToken = (server) => fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();

const RULES = JSON.stringify({
  rules: {
    open: { '.read': true, '.write': true },
    locked: { '.read': true, '.write': false },
  },
});

// The change of every series of `names` between two scrapes, as {"name{labels}": delta} for the ones that moved.
function deltas(before, after, names) {
  const moved = {};
  for (const name of names) {
    for (const sample of after.get(name).samples) {
      const previous = before.get(name).samples.find(
        (s) => s.name === sample.name && JSON.stringify(s.labels) === JSON.stringify(sample.labels),
      );
      const delta = sample.value - (previous ? previous.value : 0);
      if (delta !== 0) moved[`${sample.name}${JSON.stringify(sample.labels)}`] = delta;
    }
  }
  return moved;
}

test('writes, denials and fan-out are counted by door and result, exactly', async (t) => {
  const server = await startServer({ t });
  const token = adminToken(server);
  const deployed = await curl(server.u(`/.settings/rules.json?auth=${token}`), { method: 'PUT', body: RULES });
  assert.equal(deployed.status, 200, deployed.body);
  // One listener on /open: each accepted write below it is one event delivered to one subscriber.
  const stream = new StreamClient(server.u('/open.json'));
  t.after(() => stream.close());
  await stream.initial();
  const firebase = new RawClient(server, { ns: 'default' });
  t.after(() => firebase.close());
  await firebase.handshake;

  const before = await scrape(server, token);
  assert.equal(sampleValue(before, 'backside_database_listens', { database: 'default' }), 1);

  // REST: 7 accepted, 1 refused by the rules, 1 invalid (a key with a '.').
  const N = 7;
  const rest = await curlBatch([
    ...Array.from({ length: N }, (_, i) => ({ url: server.u(`/open/rest/${i}.json`), method: 'PUT', body: `${i}` })),
    { url: server.u('/locked/rest.json'), method: 'PUT', body: '1' },
    { url: server.u('/open/bad.json'), method: 'PUT', body: '{"a.b": 1}' },
  ]);
  assert.deepEqual(rest.map((r) => r.status), [...Array(N).fill(200), 401, 400]);

  // STOMP over TCP: 5 accepted, 1 refused by the rules; each answered by its RECEIPT.
  const M = 5;
  let frames = 'CONNECT\naccept-version:1.2\nhost:default\n\n\0';
  for (let i = 0; i < M; i++) frames += `SEND\ndestination:/open/stomp/${i}\nreceipt:s${i}\n\n${i}\0`;
  frames += 'SEND\ndestination:/locked/stomp\nreceipt:denied\n\n1\0';
  const stomp = await stompExchange(server.stompPort, frames, { frames: M + 2 });
  assert.equal(stomp.frames.length, M + 2, stomp.data);
  assert.equal(stomp.frames.filter((f) => /^RECEIPT\n/.test(f) && /\nstatus:ok\n/.test(f)).length, M, stomp.data);
  assert.match(stomp.frames.at(-1), /status:permission_denied/);

  // The Firebase wire protocol: 3 accepted puts.
  const F = 3;
  for (let i = 0; i < F; i++) {
    const { reply } = await firebase.request('p', { p: `/open/firebase/${i}`, d: i });
    assert.equal(reply.s, 'ok');
  }
  await stream.waitUntil(() => stream.events.filter((e) => e.event === 'put').length === 1 + N + M + F, {
    what: 'every accepted write delivered to the stream',
  });

  const after = await scrape(server, token);
  assert.deepEqual(
    deltas(before, after, ['backside_writes_total', 'backside_rules_denials_total', 'backside_fanout_deliveries_total']),
    {
      'backside_writes_total{"door":"rest","result":"ok"}': N,
      'backside_writes_total{"door":"rest","result":"denied"}': 1,
      'backside_writes_total{"door":"rest","result":"invalid"}': 1,
      'backside_writes_total{"door":"stomp","result":"ok"}': M,
      'backside_writes_total{"door":"stomp","result":"denied"}': 1,
      'backside_writes_total{"door":"firebase","result":"ok"}': F,
      'backside_rules_denials_total{"operation":"write"}': 2,
      'backside_fanout_deliveries_total{}': N + M + F,
    },
  );
  // Every accepted write went through a group commit (several may share one).
  const commits = sampleValue(after, 'backside_commit_duration_seconds_count') -
    sampleValue(before, 'backside_commit_duration_seconds_count');
  assert.ok(commits >= 1 && commits <= N + M + F, `commits: ${commits}`);
  const committed = sampleValue(after, 'backside_commit_writes_sum') - sampleValue(before, 'backside_commit_writes_sum');
  assert.equal(committed, N + M + F);
  // Exactly the two refusals were 4xx answers (the 401 and the 400); the scrapes themselves are 2xx.
  assert.equal(deltas(before, after, ['backside_http_responses_total'])['backside_http_responses_total{"code":"4xx"}'], 2);

  // A refused read is a rules denial too.
  await curl(server.u('/.json'));  // the root has no .read
  const afterRead = await scrape(server, token);
  assert.equal(sampleValue(afterRead, 'backside_rules_denials_total', { operation: 'read' }) -
    sampleValue(after, 'backside_rules_denials_total', { operation: 'read' }), 1);
});

test('the connection gauges follow WebSockets and streams as they open and close', async (t) => {
  const server = await startServer({ t });
  const token = adminToken(server);
  const open = async (kind) => sampleValue(await scrape(server, token), 'backside_open_connections', { kind });
  const baseline = {};
  for (const kind of ['firebase_websocket', 'stomp_websocket', 'event_stream', 'stomp_tcp']) baseline[kind] = await open(kind);

  const firebase = [new RawClient(server, { ns: 'default' }), new RawClient(server, { ns: 'default' })];
  await Promise.all(firebase.map((c) => c.handshake));
  const stompUrl = `ws://127.0.0.1:${server.port}/stomp`;
  const stomp = [0, 1, 2].map(() => new WebSocket(stompUrl, ['v12.stomp']));
  await Promise.all(stomp.map((ws) => new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))));
  const stream = new StreamClient(server.u('/x.json'));
  await stream.initial();

  assert.equal(await open('firebase_websocket'), baseline.firebase_websocket + 2);
  assert.equal(await open('stomp_websocket'), baseline.stomp_websocket + 3);
  assert.equal(await open('event_stream'), baseline.event_stream + 1);
  assert.equal(sampleValue(await scrape(server, token), 'backside_database_listens', { database: 'default' }), 1);

  await firebase[0].close();
  await new Promise((resolve) => { stomp[0].once('close', resolve); stomp[0].close(); });
  stream.close();
  await waitFor(async () => (await open('firebase_websocket')) === baseline.firebase_websocket + 1,
                { message: 'the closed Firebase WebSocket no longer counted' });
  await waitFor(async () => (await open('stomp_websocket')) === baseline.stomp_websocket + 2,
                { message: 'the closed STOMP WebSocket no longer counted' });
  await waitFor(async () => (await open('event_stream')) === baseline.event_stream,
                { message: 'the closed stream no longer counted' });
  await waitFor(async () => sampleValue(await scrape(server, token), 'backside_database_listens',
                                        { database: 'default' }) === 0, { message: 'its listen gone' });

  await firebase[1].close();
  await Promise.all(stomp.slice(1).map((ws) => new Promise((resolve) => { ws.once('close', resolve); ws.close(); })));
  await waitFor(async () => (await open('firebase_websocket')) === baseline.firebase_websocket &&
                            (await open('stomp_websocket')) === baseline.stomp_websocket,
                { message: 'every WebSocket closed and no longer counted' });
});

test('/metrics needs the admin credential, as a Bearer token or ?auth=', async (t) => {
  const server = await startServer({ t, dev: false });
  const token = adminToken(server);
  const anonymous = await curl(server.u('/metrics'));
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.json.error, /admin credential/);
  assert.match(anonymous.headers['www-authenticate'], /^Bearer /);
  assert.equal((await curl(server.u('/metrics'), { headers: { Authorization: 'Bearer not-the-admin-token' } })).status, 401);
  assert.equal((await curl(server.u('/metrics?auth=not-the-admin-token'))).status, 401);

  for (const response of [
    await curl(server.u('/metrics'), { headers: { Authorization: `Bearer ${token}` } }),
    await curl(server.u(`/metrics?auth=${encodeURIComponent(token)}`)),
  ]) {
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-store');
    const families = parsePrometheusText(response.body);
    assert.equal(sampleValue(families, 'backside_build_info', {}), 1);
    assert.match(families.get('backside_build_info').samples[0].labels.version, /^\d+\.\d+\.\d+/);
    assert.equal(sampleValue(families, 'backside_draining'), 0);
    assert.ok(sampleValue(families, 'backside_memory_budget_limit_bytes') > 0);
    assert.ok(sampleValue(families, 'process_resident_memory_bytes') > 0);
    assert.equal(families.get('backside_commit_duration_seconds').type, 'histogram');
  }
  assert.equal((await curl(server.u(`/metrics?auth=${token}`), { method: 'POST', body: '' })).status, 405);
});

test('metrics_public serves /metrics without a credential (BACKSIDE_METRICS_PUBLIC)', async (t) => {
  const server = await startServer({ t, dev: false, env: { BACKSIDE_METRICS_PUBLIC: 'true' } });
  const response = await curl(server.u('/metrics'));
  assert.equal(response.status, 200);
  assert.ok(parsePrometheusText(response.body).has('backside_writes_total'));
});

test('password sign-ins and lockouts are counted', async (t) => {
  const server = await startServer({ t, args: ['--auth-max-failed-sign-ins', '2'] });
  const token = adminToken(server);
  const auth = (action, body) => curl(server.u(`/identitytoolkit.googleapis.com/v1/accounts:${action}?key=k`), {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal((await auth('signUp', { email: 'm@example.com', password: 'right-password' })).status, 200);
  const before = await scrape(server, token);
  const sign = (password) => auth('signInWithPassword', { email: 'm@example.com', password, returnSecureToken: true });
  assert.equal((await sign('right-password')).status, 200);
  assert.equal((await sign('wrong-1')).status, 400);
  assert.equal((await sign('wrong-2')).status, 400);  // the second failure locks the account
  assert.equal((await sign('right-password')).status, 400);  // refused while locked out
  assert.equal((await auth('signInWithPassword', { email: 'nobody@example.com', password: 'x' })).status, 400);
  const after = await scrape(server, token);
  assert.deepEqual(deltas(before, after, ['backside_password_sign_ins_total', 'backside_sign_in_lockouts_total']), {
    'backside_password_sign_ins_total{"result":"ok"}': 1,
    'backside_password_sign_ins_total{"result":"wrong_password"}': 2,
    'backside_password_sign_ins_total{"result":"locked_out"}': 1,
    'backside_password_sign_ins_total{"result":"unknown_email"}': 1,
    'backside_sign_in_lockouts_total{"scope":"account"}': 1,
  });
});
