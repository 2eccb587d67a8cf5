// A full disk, on a real filesystem: the data dir lives on a small tmpfs that the test mounts
// (root only; skipped otherwise) and fills. A write the disk refuses is answered with an error by each door (REST
// 503 JSON, STOMP RECEIPT/ERROR with `unavailable`), is never visible, not even after a restart; reads keep
// working; writes are taken again by themselves once space returns, and /readyz fails meanwhile. The Firebase SDK's
// set() is rejected with the protocol status `unavailable`. See docs/reliability.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { curl, makeTempDir, startServer, waitFor } from './lib/server.mjs';
import { stompExchange } from './lib/raw-stomp.mjs';
import { sdkClient } from './lib/fbsdk.mjs';
import { get as sdkGet, ref, set as sdkSet } from 'firebase/database';

function mountTmpfs(t, megabytes) {
  if (process.getuid?.() !== 0) return null;
  const dir = makeTempDir('backside-full-disk-');
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mounted.status !== 0) return null;
  t.after(() => spawnSync('umount', ['-l', dir]));
  return dir;
}

// Fills the filesystem of `dir` with one file until ENOSPC; returns the file.
function fill(dir) {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    assert.equal(error.code, 'ENOSPC');
  }
  // The last bytes too.
  try {
    for (;;) fs.writeSync(fd, Buffer.alloc(512, 1));
  } catch (error) {
    assert.equal(error.code, 'ENOSPC');
  }
  fs.closeSync(fd);
  return file;
}

const get = async (server, at) => (await curl(server.u(`${at}.json`))).json;

test('a full disk refuses writes without showing them, serves reads, and recovers by itself', async (t) => {
  const mount = mountTmpfs(t, 24);
  if (!mount) {
    t.skip('needs root to mount a tmpfs');
    return;
  }
  const dataDir = path.join(mount, 'data');
  const server = await startServer({ t, dataDir });
  assert.equal((await curl(server.u('/a.json'), { method: 'PUT', body: '1' })).status, 200);
  const firebase = sdkClient(server, { ns: 'default', t });
  assert.equal((await sdkGet(ref(firebase.db, 'a'))).val(), 1); // connected
  const filler = fill(mount);

  // 2 MB does not fit in the log's allocated room: the log must grow, and cannot.
  const big = JSON.stringify('b'.repeat(2 << 20));
  const refused = await curl(server.u('/b.json'), { method: 'PUT', body: big });
  assert.equal(refused.status, 503, refused.body.slice(0, 300));
  assert.match(refused.json.error, /Storage failure: .*No space left on device/);
  assert.equal(await get(server, '/b'), null, 'the refused write is not visible');
  assert.equal(await get(server, '/a'), 1, 'reads keep working');
  // Not ready while the store refuses commits: a load balancer sends clients elsewhere (docs/operations.md#health).
  const notReady = await curl(server.u('/readyz'));
  assert.equal(notReady.status, 503);
  assert.match(notReady.body, /^\[-\]store default failed: writes are refused/m);

  // Later writes, even small ones, are refused at once with the reason, through every door.
  const small = await curl(server.u('/c.json'), { method: 'PUT', body: '2' });
  assert.equal(small.status, 503);
  assert.match(small.json.error, /refused until the store recovers/);
  const { frames } = await stompExchange(
    server.stompPort,
    'CONNECT\naccept-version:1.2\nhost:default\n\n\0SEND\ndestination:/d\nreceipt:r1\ncontent-type:application/json\n\n3\0',
    { frames: 2 },
  );
  assert.match(frames[0], /^CONNECTED\n/);
  assert.match(frames[1], /^(RECEIPT|ERROR)\n/);
  assert.match(frames[1], /unavailable/);
  const sdkError = await sdkSet(ref(firebase.db, 'e'), 4).then(() => null, (error) => error);
  assert.ok(sdkError, 'the SDK write is rejected');
  assert.match(`${sdkError.code} ${sdkError.message}`, /unavailable/i);
  await firebase.close();
  assert.deepEqual(await get(server, '/'), { a: 1 });

  // Space returns: writes are accepted again without a restart (the store is probed at most once a second).
  fs.rmSync(filler);
  await waitFor(async () => (await curl(server.u('/c.json'), { method: 'PUT', body: '2' })).status === 200,
                { timeoutMs: 10000, intervalMs: 200, message: 'writes accepted again' });
  assert.deepEqual(await get(server, '/'), { a: 1, c: 2 });
  assert.equal((await curl(server.u('/readyz'))).status, 200, 'ready again');

  // And after a restart: exactly what was acknowledged.
  assert.equal((await server.stop()).code, 0);
  await server.restart();
  assert.deepEqual(await get(server, '/'), { a: 1, c: 2 });

  // Starting on a full disk: the server starts and serves reads.
  await server.kill();
  const again = fill(mount);
  await server.restart();
  assert.deepEqual(await get(server, '/'), { a: 1, c: 2 });
  fs.rmSync(again);
});
