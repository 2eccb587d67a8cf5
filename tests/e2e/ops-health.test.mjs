// The health probes (docs/operations.md#health): /livez and /readyz, terse and ?verbose, as Kubernetes serves them:
// unauthenticated, plain text, never cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { curl, curlBatch, startServer } from './lib/server.mjs';

test('/livez and /readyz answer ok, and list their checks with ?verbose', async (t) => {
  const server = await startServer({ t, dev: false, args: ['--databases', 'shop'] });
  const [live, liveVerbose, ready, readyVerbose, readyNotVerbose] = await curlBatch([
    { url: server.u('/livez') },
    { url: server.u('/livez?verbose') },
    { url: server.u('/readyz') },
    { url: server.u('/readyz?verbose=1') },
    { url: server.u('/readyz?verbose=false') },
  ]);
  const head = await curl(server.u('/readyz'), { args: ['--head'] });
  for (const response of [live, liveVerbose, ready, readyVerbose, readyNotVerbose]) {
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(response.headers['cache-control'], 'no-store');
  }
  assert.equal(live.body, 'ok');
  assert.equal(liveVerbose.body, '[+]ping ok\nlivez check passed\n');
  assert.equal(ready.body, 'ok');
  assert.equal(readyNotVerbose.body, 'ok');
  assert.equal(readyVerbose.body, '[+]shutdown ok\n[+]store default ok\n[+]store shop ok\nreadyz check passed\n');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(head.headers['content-length'], '2');

  const post = await curl(server.u('/readyz'), { method: 'POST', body: '' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('/readyz lists a database created while the server runs', async (t) => {
  const server = await startServer({ t });
  assert.equal((await curl(server.u('/x.json?ns=later'), { method: 'PUT', body: '1' })).status, 200);
  const ready = await curl(server.u('/readyz?verbose'));
  assert.equal(ready.status, 200);
  assert.match(ready.body, /^\[\+\]store later ok$/m);
});
