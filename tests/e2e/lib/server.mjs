// End-to-end test support: real `backside` server processes, the real curl binary, raw sockets.
//
// Every server started here is registered in a process-wide set and SIGKILLed when the test process exits,
// whatever happened to the test; `startServer({ t })` also stops it when the test `t` ends.
import { spawn, execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const backsideBin = process.env.BACKSIDE_BIN || path.join(repoRoot, 'build', 'backside');

const liveProcesses = new Set();
const tempDirs = new Set();

process.on('exit', () => {
  for (const child of liveProcesses) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (!process.env.BACKSIDE_E2E_KEEP_DATA) {
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => process.exit(130));
}

/** A fresh temporary directory, removed when the test process exits. */
export function makeTempDir(prefix = 'backside-e2e-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves like `promise`, or to `fallback` after `ms` (the timer is cleared either way). */
export function within(promise, ms, fallback = 'timeout') {
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` until it returns a truthy value (returned) or `timeoutMs` passes (throws `message`). */
export async function waitFor(predicate, { timeoutMs = 5000, intervalMs = 10, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${message}`);
    await sleep(intervalMs);
  }
}

const LISTENING = /backside listening on (https?):\/\/([0-9.]+|\[[0-9a-f:]+\]):(\d+)/;
const STOMP_LISTENING = /backside STOMP listening on (?:tcp|tls):\/\/[^\s]+:(\d+)/;

/** A TCP port that is free right now (bound to port 0, then released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * A running `backside serve`. Fields: port, host, url (base, no trailing slash), stompPort (STOMP over TCP, or
 * null), dataDir, args, env, log (all
 * stderr so far), pid. Use stop() (SIGTERM, resolves to the exit code), kill() (SIGKILL), restart().
 */
export class Server {
  constructor({ dataDir, args, env, exactArgs = false, dev = true }) {
    this.dataDir = dataDir;
    this.args = dev && !exactArgs ? ['--dev', ...args] : args;
    this.exactArgs = exactArgs;
    this.env = env;
    this.log = '';
    this.stdout = '';
    this.child = null;
    this.exit = null; // Promise<{code, signal}> of the current process
    this.exitInfo = null;
  }

  get pid() {
    return this.child?.pid;
  }

  get running() {
    return this.child !== null && this.exitInfo === null;
  }

  /** Spawns the process and waits until it logs the listening line. */
  async start(options = {}) {
    for (let attempt = 1; ; attempt++) {
      const portChosenNow = !this.exactArgs && this.stompPortArg === undefined;
      try {
        return await this.startOnce(options);
      } catch (error) {
        // The STOMP port was free when probed but another process (a test run beside this one) bound it first:
        // another port, if this start chose it (a restart keeps its port).
        const taken = /STOMP port: Cannot listen on .*Address already in use/.test(error.message);
        if (!portChosenNow || !taken || attempt >= 3) throw error;
        this.stompPortArg = undefined;
      }
    }
  }

  async startOnce({ timeoutMs = 15000 } = {}) {
    // STOMP over TCP needs a port of its own (0 turns it off): a free one, kept across restarts.
    if (!this.exactArgs && this.stompPortArg === undefined) this.stompPortArg = await freePort();
    const args = this.exactArgs
      ? ['serve', ...this.args]
      : ['serve', '--port', '0', '--stomp-port', String(this.stompPortArg), '--data-dir', this.dataDir, ...this.args];
    const child = spawn(backsideBin, args, {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exitInfo = null;
    liveProcesses.add(child);
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        liveProcesses.delete(child);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      this.stdout += chunk;
    });
    child.stderr.setEncoding('utf8');
    let logSinceStart = '';
    const listening = new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`backside did not report listening within ${timeoutMs} ms; stderr:\n${logSinceStart}`));
      }, timeoutMs);
      child.stderr.on('data', (chunk) => {
        this.log += chunk;
        logSinceStart += chunk;
        if (process.env.BACKSIDE_E2E_VERBOSE) process.stderr.write(chunk);
        const match = LISTENING.exec(logSinceStart);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        }
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${backsideBin}: ${error.message}`));
      });
      this.exit.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`backside exited (code ${code}, signal ${signal}) before listening; stderr:\n${logSinceStart}`));
      });
    });
    const match = await listening;
    this.scheme = match[1];
    this.host = match[2];
    this.port = Number(match[3]);
    this.url = `${this.scheme}://${this.host}:${this.port}`;
    const stomp = STOMP_LISTENING.exec(logSinceStart);
    this.stompPort = stomp ? Number(stomp[1]) : null;
    return this;
  }

  /** SIGTERM, then waits for the exit; resolves to {code, signal}. SIGKILLs after `timeoutMs`. */
  async stop({ timeoutMs = 10000 } = {}) {
    if (!this.running) return this.exitInfo;
    this.child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.exit, timeout]);
    clearTimeout(timer);
    if (result === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exit;
      throw new Error(`backside did not exit within ${timeoutMs} ms of SIGTERM; stderr:\n${this.log}`);
    }
    return result;
  }

  /** SIGKILL (a crash), waits for the process to be gone. */
  async kill() {
    if (!this.running) return this.exitInfo;
    this.child.kill('SIGKILL');
    return this.exit;
  }

  /** Starts a new process on the same data dir, args and env (the previous one must have exited). */
  async restart(options) {
    if (this.running) throw new Error('restart() while the server is still running; stop() or kill() it first');
    return this.start(options);
  }

  /** Base URL + path, e.g. u('/a/b.json?print=pretty'). */
  u(pathAndQuery) {
    return this.url + pathAndQuery;
  }
}

/**
 * Starts `backside serve --port 0 --data-dir DIR ...args` (DIR: a fresh temp dir unless given) and waits until it
 * listens. Servers run with --dev (open rules, emulator tokens) unless `dev: false`. With `exactArgs`, runs `backside serve ...args` only (the test controls port and data dir). With `t`
 * (a node:test context) the server is SIGKILLed when that test ends if still running.
 */
export async function startServer({ t, dataDir, args = [], env = {}, exactArgs = false, dev = true } = {}) {
  const server = new Server({ dataDir: dataDir ?? makeTempDir(), args, env, exactArgs, dev });
  if (t) {
    t.after(async () => {
      await server.kill();
    });
  }
  await server.start();
  return server;
}

/** Runs the backside binary with `args` to completion: {code, signal, stdout, stderr}. */
export function runBackside(args, { env = {}, timeoutMs = 20000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    execFile(
      backsideBin,
      args,
      { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', cwd },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number' && !error.signal) return reject(error);
        resolve({ code: error ? error.code ?? null : 0, signal: error?.signal ?? null, stdout, stderr });
      },
    );
  });
}

function parseCurlOutput(buffer) {
  // `curl -i` output: one header block per response (1xx interim blocks first), then the body.
  let rest = buffer;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) throw new Error(`cannot parse curl output: ${rest.toString('utf8').slice(0, 500)}`);
    const head = rest.subarray(0, end).toString('latin1');
    const lines = head.split('\r\n');
    const statusMatch = /^HTTP\/[\d.]+ (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!statusMatch) throw new Error(`cannot parse status line: ${lines[0]}`);
    const status = Number(statusMatch[1]);
    rest = rest.subarray(end + 4);
    if (status >= 100 && status < 200) continue;
    const headers = {};
    const headerList = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headerList.push([name, value]);
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    return { status, statusText: statusMatch[2] ?? '', headers, headerList, bodyBuffer: rest };
  }
}

/**
 * Performs one HTTP request with the real curl binary (`curl -s -S -i`). Options: method, headers (object),
 * body (string/Buffer, sent byte for byte), extra curl args. Resolves to {status, statusText, headers (lowercase
 * names), headerList, body (utf8 text), json (parsed body or undefined), bodyBuffer}.
 */
export function curl(url, { method, headers = {}, body, args = [], timeoutMs = 20000 } = {}) {
  const curlArgs = ['-s', '-S', '-i', '-g', '--path-as-is', '--max-time', String(Math.ceil(timeoutMs / 1000))];
  if (method) curlArgs.push('-X', method);
  // No "Expect: 100-continue" round trip, and no implicit form content type.
  curlArgs.push('-H', 'Expect:');
  for (const [name, value] of Object.entries(headers)) curlArgs.push('-H', `${name}: ${value}`);
  if (body !== undefined) curlArgs.push('--data-binary', '@-');
  curlArgs.push(...args, url);
  return new Promise((resolve, reject) => {
    const child = spawn('curl', curlArgs, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (chunk) => out.push(chunk));
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl ${curlArgs.join(' ')} failed (exit ${code}): ${err}`));
      try {
        const parsed = parseCurlOutput(Buffer.concat(out));
        parsed.body = parsed.bodyBuffer.toString('utf8');
        try {
          parsed.json = JSON.parse(parsed.body);
        } catch {
          parsed.json = undefined;
        }
        resolve(parsed);
      } catch (error) {
        reject(error);
      }
    });
    child.stdin.on('error', () => {});
    if (body !== undefined) child.stdin.end(body);
    else child.stdin.end();
  });
}

/**
 * Performs several HTTP requests, strictly one after the other and in order, with ONE real curl process
 * (`curl ... --next ...`, reusing the connection). Each request: {url, method, headers, body (string, sent as is;
 * no NUL bytes)}. Resolves to one response per request, shaped like curl()'s. Starting a process costs tens of
 * milliseconds here, so tests batch their request sequences.
 */
export function curlBatch(requests, { timeoutMs = 30000 } = {}) {
  if (requests.length === 0) return Promise.resolve([]);
  const boundary = `<<backside-e2e-end-${Math.random().toString(36).slice(2)}>>`;
  const args = [];
  requests.forEach((request, i) => {
    if (i > 0) args.push('--next');
    args.push('-s', '-S', '-i', '-g', '--path-as-is', '-w', boundary, '-H', 'Expect:');
    if (request.method) args.push('-X', request.method);
    for (const [name, value] of Object.entries(request.headers ?? {})) args.push('-H', `${name}: ${value}`);
    if (request.body !== undefined) {
      if (request.body.includes('\0')) throw new Error('curlBatch bodies cannot contain NUL bytes');
      args.push('--data-raw', request.body);
    }
    args.push(request.url);
  });
  args.unshift('--max-time', String(Math.ceil(timeoutMs / 1000)));
  return new Promise((resolve, reject) => {
    execFile('curl', args, { encoding: 'buffer', maxBuffer: 512 * 1024 * 1024, timeout: timeoutMs + 5000 },
      (error, stdout, stderr) => {
        const pieces = [];
        const sep = Buffer.from(boundary);
        let rest = stdout;
        for (let at = rest.indexOf(sep); at >= 0; at = rest.indexOf(sep)) {
          pieces.push(rest.subarray(0, at));
          rest = rest.subarray(at + sep.length);
        }
        if (pieces.length !== requests.length) {
          return reject(
            new Error(
              `curl completed ${pieces.length} of ${requests.length} requests` +
                ` (exit ${error?.code ?? 0}): ${stderr.toString('utf8')}`,
            ),
          );
        }
        try {
          resolve(
            pieces.map((piece) => {
              const parsed = parseCurlOutput(piece);
              parsed.body = parsed.bodyBuffer.toString('utf8');
              try {
                parsed.json = JSON.parse(parsed.body);
              } catch {
                parsed.json = undefined;
              }
              return parsed;
            }),
          );
        } catch (parseError) {
          reject(parseError);
        }
      });
  });
}

/**
 * Writes `bytes` to a raw TCP connection and collects everything the server sends until it closes the connection
 * or `timeoutMs` passes. Resolves to {data (latin1 text), closed (bool)}.
 */
export function rawExchange(port, bytes, { host = '127.0.0.1', timeoutMs = 5000, endAfterWrite = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host });
    const chunks = [];
    let settled = false;
    const done = (closed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => {
      socket.write(bytes);
      if (endAfterWrite) socket.end();
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', () => done(true));
    socket.on('close', () => done(true));
    socket.on('error', (error) => {
      if (chunks.length > 0) done(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}

/** Parses a raw HTTP/1.1 response text (first response only): {status, headers, body}. */
export function parseRawResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete HTTP response head in: ${JSON.stringify(text.slice(0, 300))}`);
  const lines = text.slice(0, end).split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!statusMatch) throw new Error(`bad status line: ${lines[0]}`);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(end + 4);
  if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']));
  return { status: Number(statusMatch[1]), headers, body };
}

/** True if the `mdb_stat` tool (lmdb-utils) is on the PATH. */
export function haveMdbStat() {
  const probe = spawnSync('sh', ['-c', 'command -v mdb_stat'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.trim() !== '';
}

/** Percent-encodes every path segment of `p` ("/a b/ü" → "/a%20b/%C3%BC"). */
export function encodePath(p) {
  return p
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}
