// Header values built from input are validated or encoded: ?download= (RFC 6266), the CORS
// preflight's echo, and STOMP headers that quote client text (a raw LF or NUL would forge headers or frames).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { startServer, curlBatch, rawExchange, parseRawResponse } from './lib/server.mjs';
import { stompExchange, frameHeaders } from './lib/raw-stomp.mjs';

describe('headers from input', () => {
  let server;
  let admin;
  before(async () => {
    server = await startServer({ dev: false });
    admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  });
  after(async () => {
    assert.equal((await server.stop()).code, 0);
  });

  test('REST ?download=: CR/LF and control characters are refused; quotes and UTF-8 are encoded', async () => {
    const at = (name) => ({ url: server.u(`/x.json?auth=${admin}&download=${name}`) });
    const [injected, nul, quoted, unicode, long] = await curlBatch([
      at('a%0D%0ASet-Cookie:%20stolen=1'),
      at('a%00b'),
      at('re%22port%22%3B%20x=%5C.json'),
      at('%C3%BCber%20data.json'),
      at('x'.repeat(256)),
    ]);
    for (const reply of [injected, nul, long]) {
      assert.equal(reply.status, 400, reply.body);
      assert.match(reply.json.error, /download must be a file name/);
      assert.equal(reply.headers['set-cookie'], undefined);
      assert.equal(reply.headers['content-disposition'], undefined);
    }
    assert.equal(quoted.status, 200);
    assert.equal(
      quoted.headers['content-disposition'],
      `attachment; filename="re_port_;_x=_.json"; filename*=UTF-8''re%22port%22%3B%20x%3D%5C.json`,
    );
    assert.equal(unicode.headers['content-disposition'],
      `attachment; filename="__ber_data.json"; filename*=UTF-8''%C3%BCber%20data.json`);
  });

  test('the CORS preflight echoes Access-Control-Request-Headers only when it is a list of header names', async () => {
    const preflight = (value) =>
      rawExchange(
        server.port,
        `OPTIONS /x.json HTTP/1.1\r\nHost: x\r\nOrigin: http://a\r\nAccess-Control-Request-Headers: ${value}\r\n` +
          'Connection: close\r\n\r\n',
      ).then(({ data }) => parseRawResponse(data));
    const named = await preflight('X-Custom, Authorization');
    assert.equal(named.headers['access-control-allow-headers'], 'X-Custom, Authorization');
    const odd = await preflight('x"<script>; y=1');
    assert.equal(odd.headers['access-control-allow-headers'],
      'Content-Type, Authorization, X-Firebase-ETag, If-Match, X-HTTP-Method-Override');
  });

  // An update key with a newline and a NUL is refused; the refusal quotes it in a `message` header.
  const forged = JSON.stringify({ 'k\nreceipt-id:forged\0MESSAGE': 1 });
  const connectAndSend = (version) =>
    `CONNECT\naccept-version:${version}\nhost:default\npasscode:${admin}\n\n\0` +
    `SEND\ndestination:/x\nmethod:update\nreceipt:r1\n\n${forged}\0`;

  for (const version of ['1.2', '1.0']) {
    test(`STOMP ${version}: client text in a header cannot end the line or the frame`, async () => {
      // Wait for a third frame that must not come: a NUL let through would end the RECEIPT early and start another.
      const { frames } = await stompExchange(server.stompPort, connectAndSend(version), { frames: 3, timeoutMs: 1000 });
      assert.equal(frames.length, 2, JSON.stringify(frames));
      assert.match(frames[0], /^CONNECTED\n/);
      assert.match(frames[1], /^RECEIPT\n/);
      const headers = frameHeaders(frames[1]);
      assert.deepEqual(headers.filter(([name]) => name === 'receipt-id'), [['receipt-id', 'r1']]);
      const message = headers.find(([name]) => name === 'message')[1];
      // 1.2 escapes the LF; 1.0 has no escapes: a space. NUL is U+FFFD either way (latin1 view of its UTF-8).
      assert.match(message, /^Invalid update key/);
      if (message.includes('forged')) {
        assert.ok(message.includes(version === '1.2' ? 'k\\nreceipt-id\\cforged\u00ef\u00bf\u00bdMESSAGE' :
          'k receipt-id:forged\u00ef\u00bf\u00bdMESSAGE'), message);
      }
    });
  }
});
