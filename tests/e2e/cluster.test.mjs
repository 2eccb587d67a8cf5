// Several Backside processes as one cluster (docs/cluster.md), end to end: a private PostgreSQL (scripts/postgres.sh)
// and a private RabbitMQ (scripts/rabbitmq.sh) for the whole file, on loopback, stopped by pid; real servers with
// --store postgresql://... --broker amqp://...; the Firebase JS SDK, @stomp/stompjs and curl on different nodes.
// Each test uses a database of its own, so that one test's owner never stands in another's way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { initializeApp, deleteApp } from 'firebase/app';
import { getAuth, connectAuthEmulator, createUserWithEmailAndPassword, signInWithEmailAndPassword, signOut } from 'firebase/auth';
import {
  getDatabase, connectDatabaseEmulator, ref, set, onValue, runTransaction, onDisconnect, query, orderByValue, equalTo,
} from 'firebase/database';

import { startServer, curl, makeTempDir, freePort, waitFor, repoRoot, runBackside } from './lib/server.mjs';
import { openStream } from './lib/stream.mjs';
import { stompClient, sendWithReceipt } from './lib/stompjs.mjs';
import { sdkClient, recordValues } from './lib/fbsdk.mjs';
import { startBalancer } from './lib/balancer.mjs';

const services = {
  postgres: { script: path.join(repoRoot, 'scripts', 'postgres.sh') },
  rabbitmq: { script: path.join(repoRoot, 'scripts', 'rabbitmq.sh') },
};
let skipReason = null;

function run(service, args) {
  return spawnSync(services[service].script, args, { encoding: 'utf8', timeout: 180000 });
}

before(async () => {
  for (const name of ['postgres', 'rabbitmq']) {
    const service = services[name];
    service.dir = makeTempDir(`backside-e2e-cluster-${name}-`);
    service.port = await freePort();
    const started = run(name, ['start', service.dir, String(service.port)]);
    if (started.status === 3) {
      skipReason = `${name} is not installed: ${started.stderr.trim()}`;
      return;
    }
    assert.equal(started.status, 0, `scripts/${name}.sh start: ${started.stdout}${started.stderr}`);
    service.url = started.stdout.trim().split('\n').pop();
    service.running = true;
  }
});

after(() => {
  for (const name of ['rabbitmq', 'postgres']) {
    if (services[name].running) run(name, ['stop', services[name].dir]);
  }
});

/** A node of the cluster, default database `ns`. The first node to open `ns` owns it; the others hold replicas. */
function startNode(t, ns) {
  return startServer({
    t,
    args: ['--store', services.postgres.url, '--broker', services.rabbitmq.url, '--default-namespace', ns],
  });
}

async function getJson(node, p) {
  const res = await curl(node.u(p));
  assert.equal(res.status, 200, `GET ${p} on port ${node.port} → ${res.status} ${res.body.slice(0, 300)}`);
  return res.json;
}

/** The value a STOMP subscription shows, from its put/patch MESSAGEs (docs/protocol.md §5), as JSON text. */
function stompMirror(client, destination) {
  const state = { value: {}, messages: 0 };
  client.subscribe(destination, (message) => {
    const data = JSON.parse(message.body);
    const at = message.headers.path.split('/').filter(Boolean);
    const setAt = (value, segments, replacement) => {
      if (segments.length === 0) return replacement;
      const base = value !== null && typeof value === 'object' ? { ...value } : {};
      base[segments[0]] = setAt(base[segments[0]] ?? null, segments.slice(1), replacement);
      if (base[segments[0]] === null) delete base[segments[0]];
      return base;
    };
    if (message.headers.event === 'put') {
      state.value = setAt(state.value, at, data);
    } else {
      for (const [key, child] of Object.entries(data)) state.value = setAt(state.value, [...at, ...key.split('/')], child);
    }
    state.messages++;
  });
  return state;
}

const sorted = (v) =>
  v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v;
const same = (a, b) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));

test('three nodes: REST, the Firebase SDK and STOMP on different nodes see each other\'s writes; transactions from every node end exact', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const owner = await startNode(t, 'chat');
  const b = await startNode(t, 'chat');
  const c = await startNode(t, 'chat');
  assert.match(b.log, /this node holds a replica/);
  assert.match(c.log, /this node holds a replica/);

  const sdkOnC = sdkClient(c, { ns: 'chat', t });
  const seenOnC = recordValues(ref(sdkOnC.db, 'messages'));
  const stompOnB = await stompClient(b, 'chat');
  t.after(() => stompOnB.deactivate());
  const seenOnB = stompMirror(stompOnB, '/messages');
  await waitFor(() => seenOnB.messages === 1, { message: 'the STOMP subscription\'s first message' });

  // A write on a replica over REST, one over the SDK on another replica, one over STOMP, one on the owner.
  const rest = await curl(b.u('/messages/m1.json'), { method: 'PUT', body: JSON.stringify({ text: 'REST on b' }) });
  assert.equal(rest.status, 200, rest.body);
  assert.deepEqual(rest.json, { text: 'REST on b' });
  await set(ref(sdkOnC.db, 'messages/m2'), { text: 'SDK on c' });
  await sendWithReceipt(stompOnB, '/messages/m3', { text: 'STOMP on b' });
  const posted = await curl(owner.u('/messages.json'), { method: 'POST', body: JSON.stringify({ text: 'REST on the owner' }) });
  assert.equal(posted.status, 200, posted.body);
  const all = {
    m1: { text: 'REST on b' },
    m2: { text: 'SDK on c' },
    m3: { text: 'STOMP on b' },
    [posted.json.name]: { text: 'REST on the owner' },
  };
  await seenOnC.next((v) => same(v, all), { timeoutMs: 10000, what: 'every write, on the SDK listening on c' });
  await waitFor(() => same(seenOnB.value, all), { timeoutMs: 10000, message: 'every write, over STOMP on b' });
  for (const node of [owner, b, c]) {
    await waitFor(async () => same(await getJson(node, '/messages.json'), all), { timeoutMs: 10000, message: `REST on port ${node.port}` });
  }

  // Concurrent transactions (compare-and-set on the owner) from SDK clients on all three nodes.
  const clients = [owner, b, c].map((node) => sdkClient(node, { ns: 'chat', t }));
  await Promise.all(clients.map(async (client) => {
    for (let i = 0; i < 15; i++) {
      const result = await runTransaction(ref(client.db, 'counter'), (value) => (value ?? 0) + 1);
      assert.equal(result.committed, true);
    }
  }));
  for (const node of [owner, b, c]) {
    await waitFor(async () => (await getJson(node, '/counter.json')) === 45, { timeoutMs: 10000, message: `the counter on port ${node.port}` });
  }
});

test('RabbitMQ stopped and started again: the owner keeps committing, forwarded writes are refused meanwhile, and every replica catches up without a gap or a duplicate', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const owner = await startNode(t, 'outage');
  const replica = await startNode(t, 'outage');
  const sdk = sdkClient(replica, { ns: 'outage', t });
  const seen = recordValues(ref(sdk.db, 'log'));
  await curl(owner.u('/log/0.json'), { method: 'PUT', body: '0' });
  await seen.next((v) => same(v, [0]), { timeoutMs: 10000, what: 'the first entry' });

  assert.equal(run('rabbitmq', ['stop', services.rabbitmq.dir]).status, 0);
  services.rabbitmq.running = false;
  try {
    for (let i = 1; i <= 20; i++) {
      const res = await curl(owner.u(`/log/${i}.json`), { method: 'PUT', body: String(i) });
      assert.equal(res.status, 200, res.body);
    }
    const forwarded = await curl(replica.u('/log/99.json'), { method: 'PUT', body: '99' });
    assert.equal(forwarded.status, 503, forwarded.body);
    // The replica reads what it missed from the change log, with the broker still away.
    const expected = Array.from({ length: 21 }, (_, i) => i);
    await seen.next((v) => same(v, expected), { timeoutMs: 15000, what: 'the entries written while RabbitMQ was away' });
  } finally {
    const restarted = run('rabbitmq', ['start', services.rabbitmq.dir, String(services.rabbitmq.port)]);
    assert.equal(restarted.status, 0, restarted.stderr);
    services.rabbitmq.running = true;
  }
  // Forwarding works again once the nodes have reconnected.
  await waitFor(async () => (await curl(replica.u('/log/21.json'), { method: 'PUT', body: '21' })).status === 200, {
    timeoutMs: 30000,
    intervalMs: 500,
    message: 'a forwarded write after RabbitMQ is back',
  });
  const expected = Array.from({ length: 22 }, (_, i) => i);
  await seen.next((v) => same(v, expected), { timeoutMs: 10000, what: 'the write after the restart' });
  // Each value was seen once, in order: no gap, no duplicate.
  const lengths = seen.values.map((v) => (Array.isArray(v) ? v.length : 0));
  for (let i = 1; i < lengths.length; i++) assert.ok(lengths[i] >= lengths[i - 1], `values went back: ${lengths}`);
  assert.equal(seen.errors.length, 0);
});

test('kill -9 the owner under write load: another node takes the database over, no acknowledged write is lost, and listeners on the surviving nodes miss nothing', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const owner = await startNode(t, 'failover');
  const b = await startNode(t, 'failover');
  const c = await startNode(t, 'failover');
  const sdk = sdkClient(c, { ns: 'failover', t });
  const seen = recordValues(ref(sdk.db, 'load'));

  // One writer on b (its writes are forwarded to the owner), recording what was acknowledged.
  const acknowledged = new Set();
  const refused = [];
  let stop = false;
  const writer = (async () => {
    for (let i = 0; !stop; i++) {
      const res = await curl(b.u(`/load/w${i}.json`), { method: 'PUT', body: String(i) });
      if (res.status === 200) {
        acknowledged.add(`w${i}`);
      } else {
        refused.push(res.status);
        assert.equal(res.status, 503, res.body);  // refused clearly while nobody owns the database
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  })();
  await waitFor(() => acknowledged.size >= 30, { timeoutMs: 15000, message: '30 writes before the kill' });
  const killedAt = Date.now();
  await owner.kill();
  const before = acknowledged.size;
  // The lease (10 s) runs out, a replica takes over, and the writer's writes are acknowledged again.
  await waitFor(() => acknowledged.size >= before + 30, { timeoutMs: 40000, intervalMs: 100, message: '30 writes after the kill' });
  stop = true;
  await writer;
  const failover = Date.now() - killedAt;
  assert.ok(refused.length > 0, 'writes were refused while nobody owned the database');
  assert.ok(b.log.includes('took the database over') || c.log.includes('took the database over'));

  // Every acknowledged write is there, on both surviving nodes and on the listener.
  for (const node of [b, c]) {
    await waitFor(async () => {
      const value = await getJson(node, '/load.json');
      return [...acknowledged].every((key) => value && key in value);
    }, { timeoutMs: 10000, message: `every acknowledged write on port ${node.port}` });
  }
  await seen.next((value) => [...acknowledged].every((key) => value && key in value), {
    timeoutMs: 10000,
    what: 'every acknowledged write on the SDK listening on c',
  });
  t.diagnostic(`failover: writes acknowledged again ${failover} ms after kill -9 of the owner`);
});

test('onDisconnect across nodes: a clean disconnect on one node shows on another; kill -9 of a node that is not the owner: its SDK client reconnects on another node through the balancer and its onDisconnect writes run at once, a STOMP client\'s when the node\'s lease runs out, each once', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const owner = await startNode(t, 'presence');
  const b = await startNode(t, 'presence');
  const c = await startNode(t, 'presence');
  // Who is online, as a query listener on c sees it.
  const observer = sdkClient(c, { ns: 'presence', t });
  const online = recordValues(query(ref(observer.db, 'presence'), orderByValue(), equalTo('online')));
  const everyone = recordValues(ref(observer.db, 'presence'));

  // A clean disconnect on the owner's node, seen on c.
  const leaving = sdkClient(owner, { ns: 'presence', t });
  await onDisconnect(ref(leaving.db, 'presence/leaving')).set('offline');
  await set(ref(leaving.db, 'presence/leaving'), 'online');
  await online.next((v) => v?.leaving === 'online', { timeoutMs: 10000, what: 'leaving online, in the query on c' });
  await leaving.close();
  await everyone.next((v) => v?.leaving === 'offline', { timeoutMs: 10000, what: 'leaving offline on c' });

  // On b: an SDK client through a balancer (b first, then c), and a STOMP client.
  const balancer = await startBalancer(() => [b.port, c.port]);
  t.after(() => balancer.close());
  const sdk = sdkClient({ port: balancer.port }, { ns: 'presence', t });
  const connected = recordValues(ref(sdk.db, '.info/connected'));
  await connected.next((v) => v === true, { timeoutMs: 10000, what: 'the SDK connected through the balancer' });
  await onDisconnect(ref(sdk.db, 'presence/sdk')).set('offline');
  await set(ref(sdk.db, 'presence/sdk'), 'online');
  const stomp = await stompClient(b, 'presence');
  t.after(() => stomp.deactivate());
  await sendWithReceipt(stomp, '/presence/stomp', 'gone', { 'on-disconnect': 'set' });
  await sendWithReceipt(stomp, '/presence/stomp', 'online');
  await online.next((v) => v?.sdk === 'online' && v?.stomp === 'online', { timeoutMs: 10000, what: 'both online on c' });
  assert.match(b.log, /this node holds a replica/);

  const killedAt = Date.now();
  await b.kill();
  // The SDK reconnects (to c: b refuses), naming its previous connection (ls): c claims the writes b kept for it
  // in PostgreSQL and runs them before anything of the new connection, long before b's lease runs out.
  await everyone.next((v) => v?.sdk === 'offline', { timeoutMs: 8000, what: 'sdk offline soon after the kill' });
  const sdkOfflineAfter = Date.now() - killedAt;
  await waitFor(() => connected.values.includes(false) && connected.values.at(-1) === true, {
    timeoutMs: 10000,
    message: 'the SDK connected again (through the balancer, to c)',
  });
  // The presence pattern: online again, with a new onDisconnect, on its new node.
  await onDisconnect(ref(sdk.db, 'presence/sdk')).set('offline');
  await set(ref(sdk.db, 'presence/sdk'), 'online');
  // The STOMP client's onDisconnect runs once b's lease (10 s) has run out, on the owner.
  await everyone.next((v) => v?.stomp === 'gone', { timeoutMs: 30000, what: 'stomp gone after the lease' });
  const stompGoneAfter = Date.now() - killedAt;
  // b renewed its lease (10 s) at most a third of it before the kill.
  assert.ok(stompGoneAfter >= 6000, `b's kept writes ran ${stompGoneAfter} ms after the kill, before its lease ran out`);
  // And b's kept write for the SDK client, claimed at the reconnection, never runs again: it stays online.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const final = await getJson(c, '/presence.json');
  assert.deepEqual(final, { leaving: 'offline', sdk: 'online', stomp: 'gone' });
  await online.next((v) => v?.sdk === 'online' && v?.stomp === undefined, { timeoutMs: 5000, what: 'only sdk online' });

  // Its onDisconnect on the new node runs when it leaves.
  await sdk.close();
  await everyone.next((v) => v?.sdk === 'offline', { timeoutMs: 10000, what: 'sdk offline after it left' });
  t.diagnostic(`after kill -9 of a node: its SDK client's onDisconnect ran ${sdkOfflineAfter} ms later (reconnected ` +
    `elsewhere), its STOMP client's ${stompGoneAfter} ms later (lease)`);
});

test('a production cluster (no --dev) shares which databases exist and their rules: the admin creates a database and deploys rules on one node, and the other nodes serve it under them', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const adminToken = 'the-cluster-admin-token-0123456789';
  const startProductionNode = () => startServer({
    t,
    dev: false,
    args: ['--store', services.postgres.url, '--broker', services.rabbitmq.url, '--default-namespace', 'front',
           '--admin-token', adminToken],
  });
  const a = await startProductionNode();
  const b = await startProductionNode();
  const admin = { authorization: `Bearer ${adminToken}` };

  // Unknown on every node until the admin creates it.
  const before = await curl(b.u('/public/hello.json?ns=shop'));
  assert.equal(before.status, 404, before.body);

  const rules = { rules: { public: { '.read': true }, orders: { '$id': { '.write': "newData.child('qty').isNumber()" } } } };
  const deployed = await curl(a.u('/.settings/rules.json?ns=shop'), { method: 'PUT', headers: admin, body: JSON.stringify(rules) });
  assert.equal(deployed.status, 200, deployed.body);
  const seeded = await curl(a.u('/public/hello.json?ns=shop'), { method: 'PUT', headers: admin, body: '"world"' });
  assert.equal(seeded.status, 200, seeded.body);

  // On b: the database exists, and its rules are a's deploy (within a second or so).
  await waitFor(async () => (await curl(b.u('/public/hello.json?ns=shop'))).body === '"world"', {
    timeoutMs: 10000, message: 'the public read on b',
  });
  const onB = await curl(b.u('/.settings/rules.json?ns=shop'), { headers: admin });
  assert.equal(onB.status, 200, onB.body);
  assert.deepEqual(JSON.parse(onB.body), rules);
  const good = await curl(b.u('/orders/o1.json?ns=shop'), { method: 'PUT', body: JSON.stringify({ qty: 2 }) });
  assert.equal(good.status, 200, good.body);
  const bad = await curl(b.u('/orders/o2.json?ns=shop'), { method: 'PUT', body: JSON.stringify({ qty: 'two' }) });
  assert.equal(bad.status, 401, bad.body);
  const secret = await curl(b.u('/orders.json?ns=shop'));
  assert.equal(secret.status, 401, secret.body);

  // A redeploy on b reaches a; a node started later opens the database with the latest rules.
  const tighter = { rules: { public: { '.read': false } } };
  assert.equal((await curl(b.u('/.settings/rules.json?ns=shop'), { method: 'PUT', headers: admin, body: JSON.stringify(tighter) })).status, 200);
  await waitFor(async () => (await curl(a.u('/public/hello.json?ns=shop'))).status === 401, {
    timeoutMs: 10000, message: 'the tighter rules on a',
  });
  const c = await startProductionNode();
  assert.equal((await curl(c.u('/public/hello.json?ns=shop'))).status, 401);
  assert.equal((await curl(c.u('/public/hello.json?ns=shop'), { headers: admin })).body, '"world"');
});

test('users and tenants are the cluster\'s: a user signed up on one node signs in and refreshes on another, and disabling it on one node ends its sessions on every node; tenants likewise', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const adminToken = 'the-cluster-admin-token-0123456789';
  const cluster = ['--store', services.postgres.url, '--broker', services.rabbitmq.url];
  const startProductionNode = () => startServer({
    t, dev: false, args: [...cluster, '--default-namespace', 'members', '--admin-token', adminToken],
  });
  const a = await startProductionNode();
  const b = await startProductionNode();
  const admin = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
  const rules = { rules: { users: { $uid: { '.read': 'auth != null && auth.uid == $uid', '.write': 'auth != null && auth.uid == $uid' } } } };
  assert.equal((await curl(a.u('/.settings/rules.json'), { method: 'PUT', headers: admin, body: JSON.stringify(rules) })).status, 200);
  await waitFor(async () => (await curl(b.u('/.settings/rules.json'), { headers: admin })).body === JSON.stringify(rules), {
    timeoutMs: 10000, message: 'the rules deployed on a, on b',
  });
  const accounts = (node, call) => node.u(`/identitytoolkit.googleapis.com/v1/accounts:${call}?key=k`);
  const post = (url, body, headers = { 'content-type': 'application/json' }) =>
    curl(url, { method: 'POST', headers, body: JSON.stringify(body) });

  // The official SDK signs up on node a, and signs in with the same password on node b.
  const email = `member-${Date.now()}@example.com`;
  const apps = [];
  const sdkOn = (node, name) => {
    const app = initializeApp({ apiKey: 'fake-api-key', projectId: 'demo-cluster', databaseURL: `http://127.0.0.1:${node.port}?ns=members` }, name);
    apps.push(app);
    const auth = getAuth(app);
    connectAuthEmulator(auth, `http://127.0.0.1:${node.port}`, { disableWarnings: true });
    const db = getDatabase(app);
    connectDatabaseEmulator(db, '127.0.0.1', node.port);
    return { auth, db };
  };
  t.after(async () => { for (const app of apps) await deleteApp(app).catch(() => {}); });
  const onA = sdkOn(a, 'cluster-users-a');
  const onB = sdkOn(b, 'cluster-users-b');
  const { user } = await createUserWithEmailAndPassword(onA.auth, email, 'member secret');
  const signedIn = await signInWithEmailAndPassword(onB.auth, email, 'member secret');
  assert.equal(signedIn.user.uid, user.uid);
  const wrong = await post(accounts(b, 'signInWithPassword'), { email, password: 'wrong', returnSecureToken: true });
  assert.equal(wrong.status, 400, wrong.body);
  // An email is the cluster's: taken on b once a has it.
  const again = await post(accounts(b, 'signUp'), { email, password: 'other secret', returnSecureToken: true });
  assert.equal(again.status, 400);
  assert.match(again.body, /EMAIL_EXISTS/);

  // A refresh token from a's sign-up is good on b.
  const refreshed = await curl(b.u('/securetoken.googleapis.com/v1/token?key=k'), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(user.refreshToken)}`,
  });
  assert.equal(refreshed.status, 200, refreshed.body);
  assert.equal(refreshed.json.user_id, user.uid);

  // Sessions of the user on b: the SDK signed in on b listens; a REST stream with a's token.
  const idTokenFromA = await user.getIdToken();
  const values = [];
  let cancelled = null;
  onValue(ref(onB.db, `users/${user.uid}/n`), (snap) => values.push(snap.val()), (error) => { cancelled = error; });
  await set(ref(onA.db, `users/${user.uid}/n`), 1);
  await waitFor(() => values.includes(1), { message: `the write on a, live on b (${cancelled})`, timeoutMs: 10000 });
  const stream = await openStream(b.u(`/users/${user.uid}.json?auth=${idTokenFromA}`));
  t.after(() => stream.close());

  // The admin disables the user on node a: node b ends its sessions at its next sweep (within about a second).
  const started = Date.now();
  const disabled = await post(a.u('/identitytoolkit.googleapis.com/v1/projects/p/accounts:update'), { localId: user.uid, disableUser: true }, admin);
  assert.equal(disabled.status, 200, disabled.body);
  await stream.waitUntil(() => stream.events.some((e) => e.event === 'auth_revoked'), { what: 'auth_revoked on b', timeoutMs: 5000 });
  assert.match(stream.events.find((e) => e.event === 'auth_revoked').data, /disabled/);
  const revokedAfter = Date.now() - started;
  await waitFor(() => cancelled !== null, { message: 'the SDK listener on b to be cancelled', timeoutMs: 15000 });
  t.diagnostic(`b ended the disabled user's stream ${revokedAfter} ms after a disabled it`);
  const refused = await post(accounts(b, 'signInWithPassword'), { email, password: 'member secret', returnSecureToken: true });
  assert.equal(refused.status, 400);
  assert.match(refused.body, /USER_DISABLED/);
  await signOut(onA.auth).catch(() => {});
  await signOut(onB.auth).catch(() => {});

  // The admin's command line reaches the same users through PostgreSQL.
  const listed = await runBackside(['users', 'list', '--store', services.postgres.url]);
  assert.equal(listed.code, 0, listed.stderr);
  const shown = listed.stdout.trim().split('\n').map((line) => JSON.parse(line)).find((u) => u.localId === user.uid);
  assert.equal(shown?.email, email);
  assert.equal(shown?.disabled, true);
  assert.ok(!listed.stdout.includes('passwordHash'));

  // Tenants: created with the command line, its users sign up on one node and sign in on another; deleted on one
  // node, its users' sessions end on the other.
  const created = await runBackside(['tenants', 'create', '--display-name', 'Club', '--store', services.postgres.url]);
  assert.equal(created.code, 0, created.stderr);
  const tenantId = JSON.parse(created.stdout.trim()).tenantId;
  const onTenantAdmin = await curl(b.u(`/identitytoolkit.googleapis.com/v2/projects/p/tenants/${tenantId}`), { headers: admin });
  assert.equal(onTenantAdmin.status, 200, onTenantAdmin.body);
  assert.equal(onTenantAdmin.json.displayName, 'Club');
  const member = await post(accounts(a, 'signUp'), { email, password: 'club secret', tenantId, returnSecureToken: true });
  assert.equal(member.status, 200, member.body);
  assert.notEqual(member.json.localId, user.uid, 'the same email is another user in the tenant');
  const memberOnB = await post(accounts(b, 'signInWithPassword'), { email, password: 'club secret', tenantId, returnSecureToken: true });
  assert.equal(memberOnB.status, 200, memberOnB.body);
  // Which pools a database accepts is the cluster's too: limited on b, node a refuses the tenant's tokens.
  const memberRead = () => curl(a.u(`/users/${member.json.localId}.json?auth=${memberOnB.json.idToken}`));
  assert.equal((await memberRead()).status, 200);
  const limited = await curl(b.u('/.settings/tenants.json'), { method: 'PUT', headers: admin, body: JSON.stringify({ accept: ['@project'] }) });
  assert.equal(limited.status, 200, limited.body);
  await waitFor(async () => (await memberRead()).status === 401, { timeoutMs: 5000, message: 'the tenant\'s token refused on a' });
  assert.equal((await curl(b.u('/.settings/tenants.json'), { method: 'DELETE', headers: admin })).status, 200);
  await waitFor(async () => (await memberRead()).status === 200, { timeoutMs: 5000, message: 'the tenant\'s token accepted again on a' });
  const clubStream = await openStream(a.u(`/users/${member.json.localId}.json?auth=${memberOnB.json.idToken}`));
  t.after(() => clubStream.close());
  const deleted = await curl(b.u(`/identitytoolkit.googleapis.com/v2/projects/p/tenants/${tenantId}`), { method: 'DELETE', headers: admin });
  assert.equal(deleted.status, 200, deleted.body);
  await clubStream.waitUntil(() => clubStream.events.some((e) => e.event === 'auth_revoked'), { what: 'the tenant user\'s stream on a to end', timeoutMs: 5000 });
  assert.match(clubStream.events.find((e) => e.event === 'auth_revoked').data, /tenant/);
  const gone = await post(accounts(a, 'signInWithPassword'), { email, password: 'club secret', tenantId, returnSecureToken: true });
  assert.equal(gone.status, 400);
  assert.match(gone.body, /TENANT_NOT_FOUND/);
});

/**
 * Checks a history of compare-and-set operations on one register for linearizability. Every successful write
 * stores a value no other write stores, so the order of the writes is the chain of their expected values: `init`,
 * then the write that expected `init`, and so on. Operations: {ok: true, expected, value, start, end} (a CAS that
 * took effect) and {ok: false, expected, current, start, end} (a CAS refused: the register held `current`, not
 * `expected`). Returns the violations found (none: linearizable).
 */
function casViolations(history, initial) {
  const problems = [];
  const writes = history.filter((op) => op.ok);
  const byValue = new Map([[initial, { value: initial, start: -Infinity, end: -Infinity }]]);
  for (const w of writes) {
    if (byValue.has(w.value)) problems.push(`two writes of ${w.value}`);
    byValue.set(w.value, w);
  }
  const successor = new Map();
  for (const w of writes) {
    if (!byValue.has(w.expected)) problems.push(`${w.value} expected ${w.expected}, which was never written`);
    if (successor.has(w.expected)) problems.push(`both ${successor.get(w.expected).value} and ${w.value} replaced ${w.expected}`);
    successor.set(w.expected, w);
  }
  // The chain from the initial value must hold every write: its order is the only possible linearization.
  const chain = [byValue.get(initial)];
  while (successor.has(chain[chain.length - 1].value)) chain.push(successor.get(chain[chain.length - 1].value));
  if (chain.length !== writes.length + 1) problems.push(`the chain from ${initial} holds ${chain.length - 1} of ${writes.length} writes`);
  const position = new Map(chain.map((w, i) => [w.value, i]));
  // Real time: a write that finished before another began comes first.
  for (const a of writes) {
    for (const b of writes) {
      if (a.end < b.start && position.get(a.value) > position.get(b.value)) {
        problems.push(`${a.value} ended before ${b.value} began, but comes after it`);
      }
    }
  }
  // A refused CAS saw `current` at some moment inside its own interval: written before it ended, and not yet
  // replaced by a write that ended before it began; and `expected` had been replaced before it ended.
  for (const f of history.filter((op) => !op.ok)) {
    const seen = byValue.get(f.current);
    if (!seen) {
      problems.push(`a refused CAS saw ${f.current}, which was never written`);
      continue;
    }
    if (seen.start > f.end) problems.push(`a refused CAS saw ${f.current} before it was written`);
    for (let i = position.get(f.current) + 1; i < chain.length; i++) {
      if (chain[i].end < f.start) problems.push(`a refused CAS saw ${f.current}, already replaced by ${chain[i].value}`);
    }
    const replaced = successor.get(f.expected);
    if (byValue.has(f.expected) && !(replaced && replaced.start < f.end)) {
      problems.push(`a CAS expecting ${f.expected} was refused though nothing had replaced it`);
    }
  }
  return problems;
}

test('compare-and-set across nodes is linearizable: concurrent REST transactions (ETag, if-match) from clients on three nodes, checked', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const owner = await startNode(t, 'linear');
  const nodes = [owner, await startNode(t, 'linear'), await startNode(t, 'linear')];
  const put = await curl(owner.u('/register.json'), { method: 'PUT', body: '"init"' });
  assert.equal(put.status, 200);

  const history = [];
  const clock = () => Number(process.hrtime.bigint() / 1000n);  // µs
  const client = async (id, node) => {
    for (let n = 0; n < 12; n++) {
      const read = await curl(node.u('/register.json'), { headers: { 'X-Firebase-ETag': 'true' } });
      assert.equal(read.status, 200, read.body);
      const value = `${id}-${n}`;
      const start = clock();
      const res = await curl(node.u('/register.json'), { method: 'PUT', headers: { 'if-match': read.headers.etag }, body: JSON.stringify(value) });
      const end = clock();
      if (res.status === 200) {
        history.push({ ok: true, expected: read.json, value, start, end });
      } else {
        assert.equal(res.status, 412, res.body);
        history.push({ ok: false, expected: read.json, current: res.json, start, end });
      }
    }
  };
  await Promise.all(nodes.flatMap((node, i) => [client(`n${i}a`, node), client(`n${i}b`, node)]));
  const succeeded = history.filter((op) => op.ok).length;
  assert.ok(succeeded >= 6, `only ${succeeded} of ${history.length} compare-and-sets took effect`);
  assert.deepEqual(casViolations(history, 'init'), []);
  // The final value is the end of the chain, on every node.
  const last = history.filter((op) => op.ok).sort((a, b) => b.end - a.end)[0];
  for (const node of nodes) {
    await waitFor(async () => {
      const value = await getJson(node, '/register.json');
      return history.some((op) => op.ok && op.value === value) && !history.some((op) => op.ok && op.expected === value);
    }, { timeoutMs: 10000, message: `the last write on port ${node.port}` });
  }
  t.diagnostic(`${history.length} compare-and-sets, ${succeeded} took effect; last to finish: ${last.value}`);

  // The checker can fail: a history with a lost update and a stale refusal is caught.
  const broken = [
    { ok: true, expected: 'init', value: 'x', start: 0, end: 10 },
    { ok: true, expected: 'init', value: 'y', start: 20, end: 30 },
    { ok: false, expected: 'zz', current: 'init', start: 40, end: 50 },
  ];
  assert.ok(casViolations(broken, 'init').length >= 2);
});

test('PostgreSQL restarted: the owner refuses writes while it is away and takes them again after, and a replica\'s listener gets every write once, in order', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const owner = await startNode(t, 'pgrestart');
  const replica = await startNode(t, 'pgrestart');
  const sdk = sdkClient(replica, { ns: 'pgrestart', t });
  const seen = recordValues(ref(sdk.db, 'seq'));
  const write = (i) => curl(owner.u(`/seq/${i}.json`), { method: 'PUT', body: String(i) });
  for (let i = 0; i < 10; i++) assert.equal((await write(i)).status, 200);
  await seen.next((v) => Array.isArray(v) && v.length === 10, { timeoutMs: 10000, what: 'the first ten' });

  const pg = services.postgres;
  assert.equal(run('postgres', ['stop', pg.dir]).status, 0);
  pg.running = false;
  let refusedWhileAway;
  try {
    refusedWhileAway = await write(10);
  } finally {
    const restarted = run('postgres', ['start', pg.dir, String(pg.port)]);
    assert.equal(restarted.status, 0, restarted.stderr);
    pg.running = true;
  }
  assert.equal(refusedWhileAway.status, 503, refusedWhileAway.body);
  // The store is probed again (at most once a second) and takes writes; the refused one changed nothing.
  await waitFor(async () => (await write(10)).status === 200, { timeoutMs: 20000, intervalMs: 250, message: 'a write after the restart' });
  for (let i = 11; i < 20; i++) assert.equal((await write(i)).status, 200);
  const expected = Array.from({ length: 20 }, (_, i) => i);
  await seen.next((v) => same(v, expected), { timeoutMs: 15000, what: 'every write, on the replica' });
  // Every value the listener saw extends the one before: no gap, no duplicate, nothing undone.
  for (let i = 1; i < seen.values.length; i++) {
    const previous = seen.values[i - 1] ?? [];
    const current = seen.values[i] ?? [];
    assert.ok(current.length >= previous.length && previous.every((v, k) => current[k] === v),
      `the listener went from ${JSON.stringify(previous)} to ${JSON.stringify(current)}`);
  }
  assert.deepEqual(await getJson(replica, '/seq.json'), expected);
});
