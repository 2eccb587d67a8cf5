// End-to-end support for the Firebase front door: unmodified Firebase JS SDK clients (modular API) pointed at a
// backside server with connectDatabaseEmulator, a raw WebSocket speaking the wire protocol, and
// small promise helpers for listeners.
import { initializeApp, deleteApp } from 'firebase/app';
import { getDatabase, connectDatabaseEmulator, onValue } from 'firebase/database';
import WebSocket from 'ws';

let appCounter = 0;

/**
 * A new SDK client (its own app, hence its own connection) on database `ns` of `server`. With `t`, the app is
 * deleted (connection closed) when the test ends. `mockUserToken` ({sub, ...claims} or 'owner') sets the
 * identity the emulator way. Returns {app, db, close()}.
 */
export function sdkClient(server, { ns = 'demo-e2e', t, mockUserToken } = {}) {
  const name = `client-${process.pid}-${++appCounter}`;
  const app = initializeApp({ projectId: 'demo-e2e', databaseURL: `http://127.0.0.1:${server.port}?ns=${ns}` }, name);
  const db = getDatabase(app);
  // mockUserToken: the SDK sends an unsigned token with these claims (accepted by servers in --dev mode).
  connectDatabaseEmulator(db, '127.0.0.1', server.port, mockUserToken ? { mockUserToken } : {});
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await deleteApp(app);
  };
  if (t) t.after(close);
  return { app, db, close };
}

/**
 * Records every snapshot value of onValue(refOrQuery) in `values`; `next(predicate)` resolves with the first
 * recorded value (past or future) matching the predicate. `off()` unsubscribes.
 */
export function recordValues(refOrQuery) {
  const values = [];
  const waiters = [];
  const errors = [];
  const off = onValue(
    refOrQuery,
    (snapshot) => {
      const value = snapshot.val();
      values.push(value);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(value)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(value);
        }
      }
    },
    (error) => errors.push(error),
  );
  const next = (predicate, { timeoutMs = 5000, what = 'a matching value' } = {}) => {
    const found = values.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`timed out waiting for ${what}; values so far: ${JSON.stringify(values)}`));
      }, timeoutMs);
      waiters.push({ predicate, resolve: (v) => { clearTimeout(timer); resolve(v); } });
    });
  };
  return { values, errors, next, off };
}

/** Deep equality predicate for next(). */
export const equals = (expected) => (value) => JSON.stringify(sortKeys(value)) === JSON.stringify(sortKeys(expected));

function sortKeys(value) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys(value[k])]));
}

/**
 * A raw protocol client: a WebSocket to /.ws that reassembles counted frames into messages (as the SDK does).
 * Fields: messages (parsed, in order), frames (raw text frames), closed (a promise of {code, reason}).
 * Methods: send(obj or text), request(action, body) → promise of the reply body (pushes stay in `messages`),
 * waitFor(predicate), handshake (promise of the `h` control data).
 */
export class RawClient {
  constructor(server, { ns = 'demo-raw', query = '' } = {}) {
    this.url = `ws://127.0.0.1:${server.port}/.ws?v=5&ns=${ns}${query}`;
    this.messages = [];
    this.frames = [];
    this.nextR = 1;
    this.waiters = [];
    this.pendingFrames = 0;
    this.buffer = [];
    this.ws = new WebSocket(this.url, { maxPayload: 512 * 1024 * 1024 });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => this.onFrame(isBinary ? data : data.toString('utf8')));
    this.handshake = this.waitFor((m) => m.t === 'c' && m.d.t === 'h').then((m) => m.d.d);
    this.handshake.catch(() => {}); // a refused connection never gets one; tests that await it still see the error
  }

  onFrame(text) {
    this.frames.push(text);
    if (this.pendingFrames > 0) {
      this.buffer.push(text);
      if (--this.pendingFrames === 0) {
        const whole = this.buffer.join('');
        this.buffer = [];
        this.onMessage(JSON.parse(whole));
      }
      return;
    }
    if (text.length <= 6 && !Number.isNaN(Number(text))) {
      this.pendingFrames = Number(text);
      return;
    }
    this.onMessage(JSON.parse(text));
  }

  onMessage(message) {
    this.messages.push(message);
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(message)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  }

  /** Resolves with the first message (already received or future) matching `predicate`. */
  waitFor(predicate, { timeoutMs = 5000, from = 0 } = {}) {
    const found = this.messages.slice(from).find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`raw client: timed out; messages: ${JSON.stringify(this.messages).slice(0, 2000)}`)), timeoutMs);
      this.waiters.push({ predicate, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  async send(message) {
    await this.opened;
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends a data request; resolves to {reply: body of the response, index: its position in messages}. */
  async request(action, body) {
    const r = this.nextR++;
    await this.send({ t: 'd', d: { r, a: action, b: body } });
    const reply = await this.waitFor((m) => m.t === 'd' && m.d.r === r);
    return { reply: reply.d.b, index: this.messages.indexOf(reply), r };
  }

  /** Data pushes (no `r`) received so far, as their `d` objects ({a, b}). */
  pushes() {
    return this.messages.filter((m) => m.t === 'd' && m.d.r === undefined).map((m) => m.d);
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}
