// Durability, restarts, the export/import CLI and configuration, end to end with real processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';

import {
  startServer,
  curl,
  curlBatch,
  runBackside,
  makeTempDir,
  haveMdbStat,
  sleep,
} from './lib/server.mjs';

const JSON_TYPE = 'application/json; charset=utf-8';

/** GET through curl; asserts 200 and returns the parsed body. */
async function getJson(server, p) {
  const res = await curl(server.u(p));
  assert.equal(res.status, 200, `GET ${p} → ${res.status} ${res.body.slice(0, 300)}`);
  assert.equal(res.headers['content-type'], JSON_TYPE);
  return res.json;
}

/** Writes through one curl process; asserts every reply is 200. */
async function writeAll(server, requests) {
  const responses = await curlBatch(
    requests.map(([method, p, body]) => ({
      url: server.u(p),
      method,
      body: body === undefined ? undefined : JSON.stringify(body),
    })),
  );
  responses.forEach((res, i) => {
    assert.equal(res.status, 200, `${requests[i][0]} ${requests[i][1]} → ${res.status} ${res.body.slice(0, 300)}`);
  });
  return responses;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A data set exercising priorities, arrays, unicode, numbers and long keys (LMDB's key limit is 511 bytes).
const longKey = 'k'.repeat(700);
const DATA = {
  users: {
    alice: { name: 'Alice', age: 31, '.priority': 1 },
    bob: { name: 'Bob', tags: { 0: 'a', 1: 'b', 2: 'c' }, '.priority': 'b' },
  },
  scores: { x: { '.value': 10, '.priority': 2.5 }, y: -0.25, z: 1e21 },
  'ünïcødé ключ 😀': { ok: true },
  long: { [longKey]: { [longKey]: { leaf: 'deep and long' } } },
};
const DATA_PLAIN = {
  users: { alice: { name: 'Alice', age: 31 }, bob: { name: 'Bob', tags: ['a', 'b', 'c'] } },
  scores: { x: 10, y: -0.25, z: 1e21 },
  'ünïcødé ключ 😀': { ok: true },
  long: { [longKey]: { [longKey]: { leaf: 'deep and long' } } },
};

test('data survives a SIGTERM restart, priorities included; SIGTERM exits 0', async (t) => {
  const server = await startServer({ t });
  await writeAll(server, [
    ['PUT', '/.json', DATA],
    ['PUT', '/users/alice/.priority.json', 7],
    ['PUT', '/other.json?ns=second', { in: 'second', '.priority': 3 }],
    ['POST', '/list.json', { pushed: 1 }],
  ]);
  const before = await getJson(server, '/.json?format=export');
  const expected = structuredClone(DATA);
  expected.users.alice['.priority'] = 7;
  const [pushKey] = Object.keys(before.list);
  expected.list = { [pushKey]: { pushed: 1 } };
  assert.deepEqual(before, expected);

  const { code, signal } = await server.stop();
  assert.equal(code, 0, `exit code ${code} (signal ${signal}); log:\n${server.log}`);
  assert.equal(signal, null);
  assert.match(server.log, /stopped cleanly/);

  await server.restart();
  assert.deepEqual(await getJson(server, '/.json?format=export'), expected);
  assert.deepEqual(await getJson(server, '/.json'), { ...DATA_PLAIN, list: { [pushKey]: { pushed: 1 } } });
  assert.deepEqual(await getJson(server, '/.json?ns=second&format=export'), {
    other: { in: 'second', '.priority': 3 },
  });
  assert.deepEqual(await getJson(server, `/long/${longKey}/${longKey}/leaf.json`), 'deep and long');
  // New push IDs after a restart still sort after the old ones.
  const [pushed] = await writeAll(server, [['POST', '/list.json', { pushed: 2 }]]);
  assert.ok(pushed.json.name > pushKey, `${pushed.json.name} > ${pushKey}`);
  const second = await server.stop();
  assert.equal(second.code, 0);
});

test('a second server on the same data dir is refused while the first runs', async (t) => {
  const server = await startServer({ t });
  const other = await runBackside(['serve', '--port', '0', '--data-dir', server.dataDir], { timeoutMs: 10000 });
  assert.notEqual(other.code, 0, `second server exit code; stderr:\n${other.stderr}`);
  assert.match(other.stderr, /in use/i);
  assert.equal(other.signal, null, 'it exited by itself (was not killed by the timeout)');
  // The first one is unaffected.
  await writeAll(server, [['PUT', '/still.json', 'here']]);
  assert.equal(await getJson(server, '/still.json'), 'here');
});

// ---------------------------------------------------------------------------------------------------------------
// SIGKILL under load

/**
 * 16 writers (fetch, keep-alive) doing PUT / PATCH / POST on their own paths under /c<cycle>, until the server is
 * SIGKILLed after `loadMs`. Returns what was acknowledged and what was attempted.
 */
async function loadAndKill(server, cycle, loadMs) {
  const acked = { puts: [], patches: [], posts: [] };
  const attempted = { puts: [], patches: [], posts: [] };
  const unexpected = [];
  let killed = false;
  let inFlight = 0;
  const base = server.url;
  const send = async (method, p, body) => {
    inFlight++;
    try {
      const res = await fetch(`${base}${p}.json`, { method, body: JSON.stringify(body) });
      return { status: res.status, text: await res.text() };
    } finally {
      inFlight--;
    }
  };
  // Each writer runs until its connection fails, which must only happen once the server is killed.
  const writer = async (w) => {
    for (let i = 0; ; i++) {
      const r = Math.floor(Math.random() * 1e9);
      try {
        if (i % 3 === 0) {
          const p = `/c${cycle}/w${w}/put/k${i}`;
          const value = { w, i, r, text: `v${r}` };
          attempted.puts.push({ p, value });
          const { status, text } = await send('PUT', p, value);
          if (status !== 200) unexpected.push(`PUT ${p} → ${status} ${text}`);
          else acked.puts.push({ p, value, reply: JSON.parse(text) });
        } else if (i % 3 === 1) {
          const p = `/c${cycle}/w${w}/patch`;
          attempted.patches.push({ p, i, r });
          const { status, text } = await send('PATCH', p, { [`k${i}/a`]: i, [`k${i}/b`]: r });
          if (status !== 200) unexpected.push(`PATCH ${p} → ${status} ${text}`);
          else acked.patches.push({ p, i, r });
        } else {
          const p = `/c${cycle}/w${w}/push`;
          const value = { i, r };
          attempted.posts.push({ p, value });
          const { status, text } = await send('POST', p, value);
          if (status !== 200) unexpected.push(`POST ${p} → ${status} ${text}`);
          else acked.posts.push({ p, value, name: JSON.parse(text).name });
        }
      } catch (error) {
        if (!killed) unexpected.push(`writer ${w} failed before the kill: ${error.message} ${error.cause?.message ?? ''}`);
        return;
      }
    }
  };
  const writers = Array.from({ length: 16 }, (_, w) => writer(w));
  await sleep(loadMs);
  const inFlightAtKill = inFlight;
  const exited = server.kill(); // sends SIGKILL synchronously
  killed = true;
  const exit = await exited;
  await Promise.all(writers);
  return { acked, attempted, unexpected, inFlightAtKill, exit };
}

/** Checks every acknowledged write of a cycle, and that unacknowledged ones are all-or-nothing. */
function verifyCycle(cycle, tree, { acked, attempted }) {
  const at = (p) => {
    let node = tree;
    for (const segment of p.split('/').filter(Boolean)) {
      if (node === null || typeof node !== 'object' || !(segment in node)) return undefined;
      node = node[segment];
    }
    return node;
  };
  for (const { p, value, reply } of acked.puts) {
    assert.deepEqual(reply, value, `PUT ${p} reply`);
    assert.deepEqual(at(p), value, `acknowledged PUT ${p} lost or changed after the crash (cycle ${cycle})`);
  }
  for (const { p, i, r } of acked.patches) {
    assert.deepEqual(at(`${p}/k${i}`), { a: i, b: r }, `acknowledged PATCH ${p} k${i} lost (cycle ${cycle})`);
  }
  for (const { p, value, name } of acked.posts) {
    assert.equal(name.length, 20);
    assert.deepEqual(at(`${p}/${name}`), value, `acknowledged POST ${p}/${name} lost (cycle ${cycle})`);
  }
  // Unacknowledged writes may or may not be there, but never torn.
  for (const { p, value } of attempted.puts) {
    const got = at(p);
    assert.ok(got === undefined || isDeepStrictEqual(got, value), `torn PUT ${p}: ${JSON.stringify(got)}`);
  }
  for (const { p, i, r } of attempted.patches) {
    const got = at(`${p}/k${i}`);
    assert.ok(got === undefined || (got.a === i && got.b === r && Object.keys(got).length === 2), `torn PATCH ${p}/k${i}: ${JSON.stringify(got)}`);
  }
  // Every pushed child is one of the attempted values, complete.
  const key = ({ i, r }) => JSON.stringify([i, r]);
  const attemptedPosts = new Set(attempted.posts.map(({ p, value }) => `${p}|${key(value)}`));
  for (let w = 0; w < 16; w++) {
    const p = `/c${cycle}/w${w}/push`;
    for (const [name, child] of Object.entries(at(p) ?? {})) {
      assert.equal(name.length, 20, name);
      assert.equal(Object.keys(child).length, 2, `pushed child ${p}/${name}: ${JSON.stringify(child)}`);
      assert.ok(attemptedPosts.has(`${p}|${key(child)}`), `unexpected pushed child ${p}/${name}: ${JSON.stringify(child)}`);
    }
  }
}

test('SIGKILL mid-load, three times: every acknowledged write survives, the store stays sound', async (t) => {
  const server = await startServer({ t });
  const cycles = [];
  const mdbStat = haveMdbStat();
  for (let cycle = 0; cycle < 3; cycle++) {
    const result = await loadAndKill(server, cycle, 1500);
    assert.deepEqual(result.unexpected, [], 'every write before the kill succeeded');
    assert.equal(result.exit.signal, 'SIGKILL');
    const count = result.acked.puts.length + result.acked.patches.length + result.acked.posts.length;
    assert.ok(count >= 48, `only ${count} writes were acknowledged in cycle ${cycle}`);
    assert.ok(result.inFlightAtKill > 0, 'the kill landed while writes were in flight');
    cycles.push(result);

    // The store on disk is a sound LMDB environment, readable without the server.
    const dbDir = path.join(server.dataDir, 'db', 'default');
    assert.ok(fs.existsSync(dbDir), `${dbDir} exists`);
    if (mdbStat) {
      const stat = spawnSync('mdb_stat', ['-e', dbDir], { encoding: 'utf8' });
      assert.equal(stat.status, 0, `mdb_stat -e ${dbDir}: ${stat.stdout}${stat.stderr}`);
      assert.match(stat.stdout, /Environment Info/);
    } else {
      t.diagnostic('mdb_stat (lmdb-utils) not installed: LMDB environment check skipped');
    }
    const exported = await runBackside(['export', '--data-dir', server.dataDir]);
    assert.equal(exported.code, 0, exported.stderr);
    const offline = JSON.parse(exported.stdout);

    await server.restart();
    const tree = await getJson(server, '/.json?format=export');
    assert.deepEqual(tree, offline, 'export without a server equals what the restarted server serves');
    // This cycle and every earlier one.
    for (let c = 0; c <= cycle; c++) verifyCycle(c, tree, cycles[c]);
    t.diagnostic(
      `cycle ${cycle}: ${result.acked.puts.length} PUT, ${result.acked.patches.length} PATCH, ` +
        `${result.acked.posts.length} POST acknowledged; ${result.inFlightAtKill} in flight at the kill`,
    );
  }
  // The restarted server still takes writes normally.
  await writeAll(server, [['PUT', '/after/kills.json', 3]]);
  assert.equal(await getJson(server, '/after/kills.json'), 3);
  const { code } = await server.stop();
  assert.equal(code, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// export / import

test('export/import round trip through the CLI keeps priorities; import replaces; export works live', async (t) => {
  const source = await startServer({ t });
  await writeAll(source, [
    ['PUT', '/.json', DATA],
    ['PUT', '/.json?ns=second', { only: { '.value': 'second', '.priority': 9 } }],
  ]);
  const live = await getJson(source, '/.json?format=export');
  assert.deepEqual(live, DATA);

  // Export while the server runs.
  const exported = await runBackside(['export', '--data-dir', source.dataDir]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(JSON.parse(exported.stdout), DATA);
  const exportedSecond = await runBackside(['export', '--ns', 'second', '--data-dir', source.dataDir]);
  assert.equal(exportedSecond.code, 0, exportedSecond.stderr);
  assert.deepEqual(JSON.parse(exportedSecond.stdout), { only: { '.value': 'second', '.priority': 9 } });
  const missing = await runBackside(['export', '--ns', 'nosuchdb', '--data-dir', source.dataDir]);
  assert.equal(missing.code, 0, missing.stderr);
  assert.equal(JSON.parse(missing.stdout), null);
  assert.equal((await source.stop()).code, 0);

  // Import into a fresh data dir (no server running there).
  const work = makeTempDir('backside-e2e-files-');
  const dump = path.join(work, 'dump.json');
  const dumpSecond = path.join(work, 'second.json');
  fs.writeFileSync(dump, exported.stdout);
  fs.writeFileSync(dumpSecond, exportedSecond.stdout);
  const target = makeTempDir();
  const imported = await runBackside(['import', '--data-dir', target, dump]);
  assert.equal(imported.code, 0, imported.stderr);
  const importedSecond = await runBackside(['import', '--ns', 'second', '--data-dir', target, dumpSecond]);
  assert.equal(importedSecond.code, 0, importedSecond.stderr);

  const restored = await startServer({ t, dataDir: target });
  assert.deepEqual(await getJson(restored, '/.json?format=export'), DATA);
  assert.deepEqual(await getJson(restored, '/.json'), DATA_PLAIN);
  assert.deepEqual(await getJson(restored, '/.json?ns=second&format=export'), {
    only: { '.value': 'second', '.priority': 9 },
  });
  assert.deepEqual(await getJson(restored, '/users/bob/tags.json'), ['a', 'b', 'c']);

  // Import is refused while a server holds the data dir, and changes nothing.
  const small = path.join(work, 'small.json');
  fs.writeFileSync(small, JSON.stringify({ replaced: [1, 2], '.priority': 1 }));
  const refused = await runBackside(['import', '--data-dir', target, small]);
  assert.notEqual(refused.code, 0, 'import must fail while the server runs');
  assert.match(refused.stderr, /in use/i);
  assert.deepEqual(await getJson(restored, '/.json?format=export'), DATA);
  assert.equal((await restored.stop()).code, 0);

  // Import replaces the whole database (plain format accepted too).
  const replaced = await runBackside(['import', '--data-dir', target, small]);
  assert.equal(replaced.code, 0, replaced.stderr);
  // A file that is not JSON is refused and changes nothing.
  const broken = path.join(work, 'broken.json');
  fs.writeFileSync(broken, '{"half":');
  const bad = await runBackside(['import', '--data-dir', target, broken]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /JSON/);
  const invalidKey = path.join(work, 'invalid-key.json');
  fs.writeFileSync(invalidKey, '{"a.b":1}');
  const badKey = await runBackside(['import', '--data-dir', target, invalidKey]);
  assert.notEqual(badKey.code, 0);
  const absentFile = await runBackside(['import', '--data-dir', target, path.join(work, 'nope.json')]);
  assert.notEqual(absentFile.code, 0);

  const after = await startServer({ t, dataDir: target });
  assert.deepEqual(await getJson(after, '/.json?format=export'), { replaced: { 0: 1, 1: 2 }, '.priority': 1 });
  assert.deepEqual(await getJson(after, '/.json'), { replaced: [1, 2] });
  // Other namespaces are untouched by an import into the default one.
  assert.deepEqual(await getJson(after, '/.json?ns=second&format=export'), {
    only: { '.value': 'second', '.priority': 9 },
  });
  assert.equal((await after.stop()).code, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// configuration and command line

test('configuration precedence: config file < environment < flags (port and data dir)', async (t) => {
  const work = makeTempDir('backside-e2e-config-');
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  const dir = (name) => path.join(work, name);
  const configFile = path.join(work, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ port: p1, data_dir: dir('from-file'), log_level: 'info', dev: true, stomp_port: 0 }));
  const clean = {};
  for (const key of Object.keys(process.env)) if (key.startsWith('BACKSIDE_')) clean[key] = undefined;

  const check = async (server, port, dataDir, notDirs) => {
    assert.equal(server.port, port, `listening port; log:\n${server.log}`);
    assert.ok(server.log.includes(`data in ${dataDir}`), server.log);
    const res = await curl(`http://127.0.0.1:${port}/cfg.json`, { method: 'PUT', body: '"x"' });
    assert.equal(res.status, 200);
    assert.ok(fs.existsSync(path.join(dataDir, 'db', 'default')), `${dataDir} holds the database`);
    for (const other of notDirs) assert.ok(!fs.existsSync(other), `${other} must not be created`);
    assert.equal((await server.stop()).code, 0);
  };

  // File only.
  const a = await startServer({ t, exactArgs: true, args: ['--config', configFile], env: clean });
  await check(a, p1, dir('from-file'), [dir('from-env'), dir('from-flag')]);
  // The file named by BACKSIDE_CONFIG.
  fs.rmSync(dir('from-file'), { recursive: true, force: true });
  const b = await startServer({ t, exactArgs: true, args: [], env: { ...clean, BACKSIDE_CONFIG: configFile } });
  await check(b, p1, dir('from-file'), [dir('from-env'), dir('from-flag')]);
  fs.rmSync(dir('from-file'), { recursive: true, force: true });
  // The environment beats the file.
  const env = { ...clean, BACKSIDE_PORT: String(p2), BACKSIDE_DATA_DIR: dir('from-env') };
  const c = await startServer({ t, exactArgs: true, args: ['--config', configFile], env });
  await check(c, p2, dir('from-env'), [dir('from-file'), dir('from-flag')]);
  fs.rmSync(dir('from-env'), { recursive: true, force: true });
  // Flags beat both.
  const d = await startServer({
    t,
    exactArgs: true,
    args: ['--config', configFile, '--port', String(p3), '--data-dir', dir('from-flag')],
    env,
  });
  await check(d, p3, dir('from-flag'), [dir('from-file'), dir('from-env')]);
  fs.rmSync(dir('from-flag'), { recursive: true, force: true });
  // A flag for one option leaves the others to the environment.
  const e = await startServer({ t, exactArgs: true, args: ['--config', configFile, '--port', '0'], env });
  assert.notEqual(e.port, p2);
  assert.ok(e.log.includes(`data in ${dir('from-env')}`), e.log);
  assert.equal((await e.stop()).code, 0);
});

test('bad configuration is refused with a nonzero exit and a message', async () => {
  const work = makeTempDir('backside-e2e-badcfg-');
  const notJson = path.join(work, 'bad.json');
  fs.writeFileSync(notJson, '{"port": ');
  const unknownKey = path.join(work, 'unknown.json');
  fs.writeFileSync(unknownKey, JSON.stringify({ port: 0, bogus_option: 1 }));
  const dataDir = makeTempDir();
  const cases = [
    [['serve', '--bogus-flag'], {}, /bogus-flag/],
    [['serve', '--port', 'abc', '--data-dir', dataDir], {}, /port/],
    [['serve', '--port', '0', '--data-dir', dataDir, '--durability', 'sometimes'], {}, /durability/],
    [['serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'loud'], {}, /log_level|log-level/],
    [['serve', '--config', notJson], {}, /bad\.json/],
    [['serve', '--config', unknownKey, '--data-dir', dataDir], {}, /bogus_option/],
    [['serve', '--config', path.join(work, 'missing.json')], {}, /missing\.json/],
    [['serve', '--data-dir', dataDir], { BACKSIDE_PORT: 'nine' }, /BACKSIDE_PORT/],
    [['frobnicate'], {}, /frobnicate|subcommand/i],
    [[], {}, /subcommand|serve/i],
  ];
  for (const [args, env, message] of cases) {
    const result = await runBackside(args, { env, timeoutMs: 10000 });
    assert.equal(result.signal, null, `backside ${args.join(' ')} exited by itself`);
    assert.notEqual(result.code, 0, `backside ${args.join(' ')} must fail`);
    assert.match(result.stdout + result.stderr, message, `backside ${args.join(' ')}`);
  }
});

test('--help lists the commands and every option with its environment variable', async () => {
  const top = await runBackside(['--help']);
  assert.equal(top.code, 0);
  for (const command of ['serve', 'export', 'import']) assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
  // What the server speaks: every front door.
  const about = top.stdout.replace(/\s+/g, ' ');
  for (const door of [
    'Firebase Realtime Database protocol (WebSocket and long-poll',
    'Firebase REST API with streaming (Server-Sent Events)',
    'STOMP 1.2 over TCP and WebSocket',
    'Firebase Auth API',
  ]) {
    assert.ok(about.includes(door), `--help names ${door}: ${top.stdout.slice(0, 400)}`);
  }
  const serve = await runBackside(['serve', '--help']);
  assert.equal(serve.code, 0);
  const options = [
    ['--config', 'BACKSIDE_CONFIG'],
    ['--host', 'BACKSIDE_HOST'],
    ['--port', 'BACKSIDE_PORT'],
    ['--data-dir', 'BACKSIDE_DATA_DIR'],
    ['--durability', 'BACKSIDE_DURABILITY'],
    ['--default-namespace', 'BACKSIDE_DEFAULT_NAMESPACE'],
    ['--max-body-bytes', 'BACKSIDE_MAX_BODY_BYTES'],
    ['--max-stream-queue-bytes', 'BACKSIDE_MAX_STREAM_QUEUE_BYTES'],
    ['--max-databases', 'BACKSIDE_MAX_DATABASES'],
    ['--io-threads', 'BACKSIDE_IO_THREADS'],
    ['--log-level', 'BACKSIDE_LOG_LEVEL'],
  ];
  for (const [flag, env] of options) {
    assert.ok(serve.stdout.includes(flag), `serve --help mentions ${flag}`);
    assert.ok(serve.stdout.includes(env), `serve --help mentions ${env}`);
  }
  for (const command of ['export', 'import']) {
    const help = await runBackside([command, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--ns/);
    assert.match(help.stdout, /--data-dir/);
  }
});

test('--durability none warns loudly; --default-namespace picks the database used without ?ns=', async (t) => {
  const server = await startServer({ t, args: ['--durability', 'none', '--default-namespace', 'main_db'] });
  assert.match(server.log, /DURABILITY IS OFF/);
  await writeAll(server, [['PUT', '/x.json', 1]]);
  assert.equal(await getJson(server, '/x.json?ns=main_db'), 1);
  assert.equal(await getJson(server, '/x.json?ns=default'), null);
  assert.equal((await server.stop()).code, 0);
  const fsyncServer = await startServer({ t, dataDir: server.dataDir });
  assert.doesNotMatch(fsyncServer.log, /DURABILITY IS OFF/);
  // The default database of that data dir was "main_db" before; now it is "default".
  assert.equal(await getJson(fsyncServer, '/x.json'), null);
  assert.equal(await getJson(fsyncServer, '/x.json?ns=main_db'), 1);
  assert.equal((await fsyncServer.stop()).code, 0);
});
