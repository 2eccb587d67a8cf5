// TLS on every door (docs/operations.md#tls), with certificates this test makes with the openssl tool: HTTPS with
// curl, WSS with the official Firebase SDK (an https:// database URL), the eventsource package, STOMP over TLS with
// stomp.py and client certificates, a certificate reload on SIGHUP under open connections, and what the server says
// to clients that get TLS wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

import { curl, makeTempDir, rawExchange, runBackside, startServer, waitFor } from './lib/server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A CA and what it signs: server certificates for localhost and 127.0.0.1, and client certificates.
function makeCertificates() {
  const dir = makeTempDir('backside-tls-');
  const key = (name) => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  const ca = (name, cn) => {
    key(name);
    openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`], dir);
  };
  const sign = (name, cn, caName, extensions) => {
    key(name);
    openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`], dir);
  };
  ca('ca', 'Backside Test CA');
  const serverExtensions = 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n';
  sign('server', 'backside-one', 'ca', serverExtensions);
  sign('server2', 'backside-two', 'ca', serverExtensions);
  ca('devices', 'Backside Devices CA');
  sign('device7', 'device-7', 'devices', 'extendedKeyUsage=clientAuth\n');
  ca('rogue', 'Someone Else CA');
  sign('rogue7', 'device-7', 'rogue', 'extendedKeyUsage=clientAuth\n');
  const file = (name) => path.join(dir, name);
  return { dir, file, ca: file('ca.pem') };
}

const certs = makeCertificates();

// The server's certificate files, copied so that the reload test can replace them.
function serverFiles(name = 'server') {
  const dir = makeTempDir('backside-tls-live-');
  fs.copyFileSync(certs.file(`${name}.pem`), path.join(dir, 'cert.pem'));
  fs.copyFileSync(certs.file(`${name}.key`), path.join(dir, 'key.pem'));
  return { cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
}

async function startTlsServer(t, extra = [], options = {}) {
  const files = serverFiles();
  const server = await startServer({ t, args: ['--tls-cert', files.cert, '--tls-key', files.key, ...extra], ...options });
  server.tlsFiles = files;
  server.httpsUrl = `https://localhost:${server.port}`;
  return server;
}

// The subject CN of the certificate a new connection to `port` is shown.
function peerCommonName(port) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: fs.readFileSync(certs.ca) }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(cn);
    });
    socket.on('error', reject);
  });
}

function nodeClients(mode, url) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(here, 'tls', 'clients.mjs'), mode, url],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.ca }, timeout: 30000 }, (error, stdout, stderr) => {
        const line = stdout.trim().split('\n').pop();
        try {
          resolve(JSON.parse(line));
        } catch {
          reject(new Error(`clients.mjs ${mode}: ${error?.message ?? ''} ${stdout} ${stderr}`));
        }
      });
  });
}

function stompPy(port, ...certificate) {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', [path.join(here, 'stomp_py', 'tls_session.py'), String(port), certs.ca, ...certificate],
      { timeout: 30000 }, (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop()));
        } catch {
          reject(new Error(`tls_session.py: ${error?.message ?? ''} ${stdout} ${stderr}`));
        }
      });
  });
}

test('HTTPS with curl: REST reads and writes, TLS 1.2 and 1.3 only, ALPN http/1.1', async (t) => {
  const server = await startTlsServer(t);
  assert.equal(server.scheme, 'https');
  assert.match(server.log, /TLS on every port: CN=backside-one, expires /);
  const ca = ['--cacert', certs.ca];
  const put = await curl(`${server.httpsUrl}/tls/a.json`, { method: 'PUT', body: '{"x":1}', args: ca });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json, { x: 1 });
  const get = await curl(`https://127.0.0.1:${server.port}/tls.json`, { args: ca });
  assert.deepEqual(get.json, { a: { x: 1 } });
  // A large answer crosses many records and socket writes.
  const big = 'y'.repeat(3 << 20);
  assert.equal((await curl(`${server.httpsUrl}/tls/big.json`, { method: 'PUT', body: JSON.stringify(big), args: ca })).status, 200);
  assert.equal((await curl(`${server.httpsUrl}/tls/big.json`, { args: ca })).json, big);

  const versions = await curl(`${server.httpsUrl}/tls/a.json`, { args: [...ca, '--tlsv1.2', '--tls-max', '1.2', '-v'] });
  assert.equal(versions.status, 200);
  await assert.rejects(curl(`${server.httpsUrl}/tls/a.json`, { args: [...ca, '--tlsv1.1', '--tls-max', '1.1'] }));
  // Only forward-secret AEAD suites (Mozilla intermediate): plain RSA key exchange with CBC is refused.
  await assert.rejects(curl(`${server.httpsUrl}/tls/a.json`,
    { args: [...ca, '--tls-max', '1.2', '--ciphers', 'AES128-SHA'] }));
  const alpn = await new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: fs.readFileSync(certs.ca),
      ALPNProtocols: ['h2', 'http/1.1'] }, () => {
      resolve(socket.alpnProtocol);
      socket.end();
    });
    socket.on('error', reject);
  });
  assert.equal(alpn, 'http/1.1');
});

test('a client that speaks plain HTTP to the TLS port is told so in plain HTTP; garbage ends only its connection', async (t) => {
  const server = await startTlsServer(t);
  const plain = await curl(`http://127.0.0.1:${server.port}/tls.json`);
  assert.equal(plain.status, 400);
  assert.match(plain.json.error, /This port speaks HTTPS/);
  const garbage = await rawExchange(server.port, Buffer.from('\x16\x03\x01\x00\x05hello-not-tls', 'latin1'), { timeoutMs: 3000 });
  assert.equal(garbage.closed, true, 'the server closes the connection');
  assert.ok(garbage.data.length < 64, 'at most an alert comes back');
  // An untrusted certificate is the client's decision: curl without the CA refuses the server.
  await assert.rejects(curl(`${server.httpsUrl}/tls.json`), /certificate/);
  const after = await curl(`${server.httpsUrl}/tls.json`, { args: ['--cacert', certs.ca] });
  assert.equal(after.status, 200);
});

test('the Firebase SDK with an https:// database URL (WSS) and eventsource streaming over HTTPS', async (t) => {
  const server = await startTlsServer(t);
  const sdk = await nodeClients('sdk', server.httpsUrl);
  assert.deepEqual(sdk.read, { n: 7, text: 'over wss' });
  assert.deepEqual(sdk.seen.at(-1), { n: 7, text: 'over wss' });

  const child = spawn(process.execPath, [path.join(here, 'tls', 'clients.mjs'), 'eventsource', server.httpsUrl],
    { env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.ca } });
  let out = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await waitFor(() => out.includes('"open":true'), { timeoutMs: 10000, message: 'the stream to open' });
  const put = await curl(`${server.httpsUrl}/tls/es.json`, { method: 'PUT', body: '{"live":true}', args: ['--cacert', certs.ca] });
  assert.equal(put.status, 200);
  assert.equal(await exited, 0, out);
  const { events } = JSON.parse(out.trim().split('\n').pop());
  assert.deepEqual(events[1], { path: '/', data: { live: true } });
});

test('STOMP over TLS with stomp.py: a verified client certificate is the uid; no certificate, no uid; a foreign CA is refused', async (t) => {
  const rules = path.join(makeTempDir('backside-tls-rules-'), 'rules.json');
  fs.writeFileSync(rules, JSON.stringify({ rules: { devices: { $device: { '.write': 'auth != null && auth.uid === $device && auth.provider === "tls_certificate"' } } } }));
  const server = await startTlsServer(t, ['--tls-client-ca', certs.file('devices.pem'), '--tls-client-certificates', 'optional', '--rules', rules], { dev: false });
  assert.ok(server.stompPort);

  const device = await stompPy(server.stompPort, certs.file('device7.pem'), certs.file('device7.key'));
  assert.equal(device.connected, true, JSON.stringify(device));
  assert.equal(device.own?.status, 'ok', JSON.stringify(device));
  assert.equal(device.other?.status, 'permission_denied', JSON.stringify(device));

  const anonymous = await stompPy(server.stompPort);
  assert.equal(anonymous.connected, true, JSON.stringify(anonymous));
  assert.equal(anonymous.own?.status, 'permission_denied', JSON.stringify(anonymous));

  const rogue = await stompPy(server.stompPort, certs.file('rogue7.pem'), certs.file('rogue7.key'));
  assert.ok(rogue.connect_error, JSON.stringify(rogue));

  const admin = fs.readFileSync(path.join(server.dataDir, 'admin-token'), 'utf8').trim();
  const stored = await curl(`${server.httpsUrl}/devices.json`, { headers: { Authorization: `Bearer ${admin}` }, args: ['--cacert', certs.ca] });
  assert.deepEqual(stored.json, { 'device-7': { state: { on: true } } });
});

test('client certificates required: a client without one does not get past the handshake', async (t) => {
  const server = await startTlsServer(t, ['--tls-client-ca', certs.file('devices.pem'), '--tls-client-certificates', 'required']);
  const none = await stompPy(server.stompPort);
  assert.ok(none.connect_error, JSON.stringify(none));
  const device = await stompPy(server.stompPort, certs.file('device7.pem'), certs.file('device7.key'));
  assert.equal(device.connected, true, JSON.stringify(device));
  // The HTTP port does not ask for client certificates.
  const rest = await curl(`${server.httpsUrl}/.json`, { args: ['--cacert', certs.ca] });
  assert.equal(rest.status, 200);
});

test('SIGHUP reloads the certificate for new connections; open connections go on; a broken file changes nothing', async (t) => {
  const server = await startTlsServer(t);
  assert.equal(await peerCommonName(server.port), 'backside-one');
  // A stream opened before the reload.
  const events = [];
  const request = https.get(`${server.httpsUrl}/reload.json`, { ca: fs.readFileSync(certs.ca), headers: { Accept: 'text/event-stream' } });
  const response = await new Promise((resolve, reject) => {
    request.on('response', resolve);
    request.on('error', reject);
  });
  response.setEncoding('utf8');
  response.on('data', (chunk) => events.push(chunk));
  t.after(() => request.destroy());
  await waitFor(() => events.join('').includes('event: put'), { message: 'the initial event' });

  fs.copyFileSync(certs.file('server2.pem'), server.tlsFiles.cert);
  fs.copyFileSync(certs.file('server2.key'), server.tlsFiles.key);
  process.kill(server.pid, 'SIGHUP');
  await waitFor(() => /TLS reloaded for new connections: CN=backside-two/.test(server.log), { message: 'the reload' });
  assert.equal(await peerCommonName(server.port), 'backside-two');
  assert.equal(server.running, true);

  const put = await curl(`${server.httpsUrl}/reload.json`, { method: 'PUT', body: '"after the reload"', args: ['--cacert', certs.ca] });
  assert.equal(put.status, 200);
  await waitFor(() => events.join('').includes('after the reload'), { message: 'the event on the stream opened before' });

  fs.writeFileSync(server.tlsFiles.key, 'not a key\n');
  process.kill(server.pid, 'SIGHUP');
  await waitFor(() => /TLS not reloaded, the certificate in use stays/.test(server.log), { message: 'the refused reload' });
  assert.equal(await peerCommonName(server.port), 'backside-two');
});

test('unusable TLS settings stop the start with a clear message', async () => {
  const dataDir = makeTempDir();
  const mismatched = await runBackside(['serve', '--port', '0', '--stomp-port', '0', '--data-dir', dataDir,
    '--tls-cert', certs.file('server.pem'), '--tls-key', certs.file('server2.key')]);
  assert.notEqual(mismatched.code, 0);
  assert.match(mismatched.stderr, /does not belong to the certificate/);
  const keyless = await runBackside(['serve', '--port', '0', '--stomp-port', '0', '--data-dir', dataDir,
    '--tls-cert', certs.file('server.pem')]);
  assert.notEqual(keyless.code, 0);
  assert.match(keyless.stderr, /TLS needs both tls_cert and tls_key/);
  const caless = await runBackside(['serve', '--port', '0', '--stomp-port', '0', '--data-dir', dataDir,
    '--tls-cert', certs.file('server.pem'), '--tls-key', certs.file('server.key'), '--tls-client-certificates', 'required']);
  assert.notEqual(caless.code, 0);
  assert.match(caless.stderr, /client certificates need a CA file/);
});

