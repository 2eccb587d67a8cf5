// A server on the shared store (--store postgresql://..., docs/cluster.md), end to end: one private PostgreSQL for
// the whole file (scripts/postgres.sh, loopback), real servers, REST through curl and fetch, the Firebase SDK.
// Each test uses a database (namespace) of its own, so that one test's lease never stands in another's way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { ref, set, get, update } from 'firebase/database';

import { startServer, curl, makeTempDir, runBackside, freePort, sleep, repoRoot } from './lib/server.mjs';
import { sdkClient, recordValues, equals } from './lib/fbsdk.mjs';

const script = path.join(repoRoot, 'scripts', 'postgres.sh');
let pgDir = null;
let storeUrl = null;
let skipReason = null;
let stopped = false;

before(async () => {
  pgDir = makeTempDir('backside-e2e-postgresql-');
  const started = spawnSync(script, ['start', pgDir, String(await freePort())], { encoding: 'utf8' });
  if (started.status === 3) {
    skipReason = `PostgreSQL is not installed: ${started.stderr.trim()}`;
    return;
  }
  assert.equal(started.status, 0, `scripts/postgres.sh start: ${started.stdout}${started.stderr}`);
  storeUrl = started.stdout.trim().split('\n').pop();
  // Should this process end without running after() (a crash, a signal), the server still goes: SIGQUIT is
  // PostgreSQL's immediate shutdown, sent to the postmaster's pid from its data directory.
  const postmaster = Number(fs.readFileSync(path.join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  process.on('exit', () => {
    if (stopped) return;  // its pid may belong to another process by now
    try {
      process.kill(postmaster, 'SIGQUIT');
    } catch {
      // already gone
    }
  });
});

after(() => {
  if (!pgDir || !storeUrl) return;
  const result = spawnSync(script, ['stop', pgDir], { encoding: 'utf8' });
  stopped = result.status === 0;
});

/** A server of its own on the shared store, default database `ns`. */
function startOnPostgres(t, ns, { args = [], env = {}, dataDir } = {}) {
  return startServer({ t, dataDir, args: ['--store', storeUrl, '--default-namespace', ns, ...args], env });
}

async function getJson(server, p) {
  const res = await curl(server.u(p));
  assert.equal(res.status, 200, `GET ${p} → ${res.status} ${res.body.slice(0, 300)}`);
  return res.json;
}

async function put(server, p, value, { expect = 200 } = {}) {
  const res = await curl(server.u(p), { method: 'PUT', body: JSON.stringify(value) });
  assert.equal(res.status, expect, `PUT ${p} → ${res.status} ${res.body.slice(0, 300)}`);
  return res;
}

const longKey = 'k'.repeat(700);
const DATA = {
  users: { alice: { name: 'Alice', age: 31, '.priority': 1 }, bob: { name: 'Bob', tags: { 0: 'a', 1: 'b' } } },
  scores: { x: { '.value': 10, '.priority': 2.5 }, y: -0.25, z: 1e21 },
  'ünïcødé ключ 😀': { ok: true },
  long: { [longKey]: { leaf: 'deep and long' } },
  big: 'b'.repeat(2 << 20),
};

test('REST and SDK writes survive a restart; another node takes over after a clean stop', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const server = await startOnPostgres(t, 'persist');
  assert.match(server.log, /kept in PostgreSQL/);
  await put(server, '/.json', DATA);
  const sdk = sdkClient(server, { ns: 'persist', t });
  await set(ref(sdk.db, 'sdk/written'), { by: 'sdk', n: 1 });
  await update(ref(sdk.db, 'sdk'), { more: true, 'written/n': 2 });
  await sdk.close();
  const before = await getJson(server, '/.json?format=export');
  assert.equal((await server.stop()).code, 0);

  // The same node, restarted: the tree comes back from PostgreSQL.
  await server.restart();
  assert.deepEqual(await getJson(server, '/.json?format=export'), before);
  const reader = sdkClient(server, { ns: 'persist', t });
  assert.deepEqual((await get(ref(reader.db, 'sdk'))).val(), { written: { by: 'sdk', n: 2 }, more: true });
  assert.equal((await get(ref(reader.db, 'big'))).val().length, 2 << 20);
  await reader.close();

  // A second node (its own data directory, so another node id) cannot open the database while the first owns it...
  const other = makeTempDir();
  const refused = await runBackside(['serve', '--port', '0', '--stomp-port', '0', '--data-dir', other, '--dev',
    '--store', storeUrl, '--default-namespace', 'persist'], { timeoutMs: 20000 });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /is owned by node/);
  // ...and opens it, with everything in it, once the first has stopped (a clean stop releases the lease).
  assert.equal((await server.stop()).code, 0);
  const second = await startOnPostgres(t, 'persist', { dataDir: other });
  assert.deepEqual(await getJson(second, '/.json?format=export'), before);
});

test('the store option as a variable and a config key; bad values and embedded-store commands are refused', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const byEnv = await startServer({ t, args: ['--default-namespace', 'by-env'], env: { BACKSIDE_STORE: storeUrl } });
  assert.match(byEnv.log, /kept in PostgreSQL/);
  await put(byEnv, '/v.json', 'env');
  await byEnv.stop();
  const configFile = path.join(makeTempDir(), 'backside.json');
  fs.writeFileSync(configFile, JSON.stringify({ store: storeUrl, default_namespace: 'by-env' }));
  const byFile = await startServer({ t, args: ['--config', configFile] });
  assert.equal(await getJson(byFile, '/v.json'), 'env');
  await byFile.stop();

  const bad = await runBackside(['serve', '--data-dir', makeTempDir(), '--store', 'mysql://x']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Invalid value for store: "mysql:\/\/x" \(use lmdb, or postgresql:\/\//);
  const exported = await runBackside(['export', '--data-dir', byFile.dataDir, '--store', storeUrl]);
  assert.equal(exported.code, 2);
  assert.match(exported.stderr, /export, import, check, backup and restore work on the embedded store/);
  // Nothing listening at the URL: the server says so and does not start.
  const nowhere = await runBackside(['serve', '--port', '0', '--stomp-port', '0', '--data-dir', makeTempDir(),
    '--store', `postgresql://backside@127.0.0.1:${await freePort()}/backside`]);
  assert.notEqual(nowhere.code, 0);
  assert.match(nowhere.stderr, /cannot connect to PostgreSQL/);
});

test('rules are enforced and a listener sees every write, in order, across doors', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const rulesFile = path.join(makeTempDir(), 'rules.json');
  fs.writeFileSync(rulesFile, JSON.stringify({
    rules: { public: { '.read': true, '.write': true, n: { '.validate': 'newData.isNumber()' } } },
  }));
  const server = await startOnPostgres(t, 'rules-listen', { args: ['--rules', rulesFile] });
  await put(server, '/public/n.json', 1);
  await put(server, '/public/n.json', 'not a number', { expect: 401 });  // .validate refuses as permission denied
  await put(server, '/private.json', 'no', { expect: 401 });

  const listener = sdkClient(server, { ns: 'rules-listen', t });
  const seen = recordValues(ref(listener.db, 'public/n'));
  await seen.next(equals(1));
  const writer = sdkClient(server, { ns: 'rules-listen', t });
  for (let i = 2; i <= 20; i++) {
    if (i % 2) await put(server, '/public/n.json', i);
    else await set(ref(writer.db, 'public/n'), i);
  }
  await seen.next(equals(20));
  const numbers = seen.values.filter((v) => typeof v === 'number');
  assert.deepEqual(numbers, [...numbers].sort((a, b) => a - b), `in order: ${numbers}`);
  await assert.rejects(set(ref(writer.db, 'private'), 1), /permission_denied|PERMISSION_DENIED/i);
  seen.off();

  await server.stop();
  await server.restart();
  assert.equal(await getJson(server, '/public/n.json'), 20);
  assert.equal((await curl(server.u('/private.json'))).status, 401);
});

test('SIGKILL under write load, twice: every acknowledged write is in PostgreSQL after the restart', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const server = await startOnPostgres(t, 'crash');
  const allAcked = [];
  for (let cycle = 0; cycle < 2; cycle++) {
    const acked = [];
    const attempted = [];
    const unexpected = [];
    let killed = false;
    const writer = async (w) => {
      for (let i = 0; ; i++) {
        const p = `/c${cycle}/w${w}/k${i}`;
        const value = { w, i, r: Math.floor(Math.random() * 1e9) };
        attempted.push({ p, value });
        try {
          const res = await fetch(`${server.url}${p}.json`, { method: 'PUT', body: JSON.stringify(value) });
          const text = await res.text();
          if (res.status === 200) acked.push({ p, value });
          else unexpected.push(`PUT ${p} → ${res.status} ${text}`);
        } catch (error) {
          if (!killed) unexpected.push(`writer ${w}: ${error.message}`);
          return;
        }
      }
    };
    const writers = Array.from({ length: 12 }, (_, w) => writer(w));
    await sleep(1500);
    const exit = server.kill();
    killed = true;
    assert.equal((await exit).signal, 'SIGKILL');
    await Promise.all(writers);
    assert.deepEqual(unexpected, []);
    assert.ok(acked.length >= 24, `only ${acked.length} writes acknowledged in cycle ${cycle}`);
    allAcked.push(...acked);

    // Restarted at once: the node takes its own lease back (same node id), no waiting for it to expire.
    await server.restart();
    const tree = await getJson(server, '/.json');
    const at = (p) => p.split('/').filter(Boolean).reduce((node, k) => (node && typeof node === 'object' ? node[k] : undefined), tree);
    for (const { p, value } of allAcked) assert.deepEqual(at(p), value, `acknowledged PUT ${p} lost`);
    for (const { p, value } of attempted) {
      const got = at(p);
      assert.ok(got === undefined || isDeepStrictEqual(got, value), `torn PUT ${p}: ${JSON.stringify(got)}`);
    }
    t.diagnostic(`cycle ${cycle}: ${acked.length} acknowledged, ${attempted.length - acked.length} unanswered`);
  }
});
