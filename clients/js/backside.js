// Backside JavaScript client: a Firebase-like API (refs, set/update/push/remove, once/on/off, transactions,
// onDisconnect) over Backside's STOMP protocol (docs/protocol.md) on WebSocket, built on @stomp/stompjs.
// Works in browsers and in Node (pass `WebSocket` from the `ws` package on Node < 22).
//
// Model: one STOMP subscription per path that has listeners (a "view"); the view keeps a local copy of the value
// from the subscription's put/patch messages and derives value and child events from successive copies. After a
// reconnect every view subscribes again; its first message brings the current value and only real differences
// are reported.
import { Client } from '@stomp/stompjs';

// ---------------------------------------------------------------------------------------------------------------
// Paths and values

function splitPath(path) {
  return String(path).split('/').filter((s) => s.length > 0);
}

function joinPath(segments) {
  return '/' + segments.join('/');
}

const INTEGER_KEY = /^-?(0|[1-9][0-9]*)$/;
function isIntegerKey(key) {
  if (!INTEGER_KEY.test(key)) return false;
  const n = Number(key);
  return n >= -2147483648 && n <= 2147483647;
}

/** Firebase key order: 32-bit integer keys first, numerically; then the others as strings. */
export function compareKeys(a, b) {
  if (a === b) return 0;
  const ai = isIntegerKey(a);
  const bi = isIntegerKey(b);
  if (ai && bi) return Number(a) - Number(b);
  if (ai) return -1;
  if (bi) return 1;
  return a < b ? -1 : 1;
}

// Firebase value order: null < false < true < numbers < strings < objects; ties broken by key.
function rankOf(v) {
  if (v === null || v === undefined) return [0, 0];
  if (v === false) return [1, 0];
  if (v === true) return [2, 0];
  if (typeof v === 'number') return [3, v];
  if (typeof v === 'string') return [4, v];
  return [5, 0];
}
function compareValues(a, b) {
  const [ra, va] = rankOf(a);
  const [rb, vb] = rankOf(b);
  if (ra !== rb) return ra - rb;
  if (va === vb) return 0;
  return va < vb ? -1 : 1;
}

// The local copy uses plain objects (arrays become integer-keyed objects) with no empty objects and no nulls.
function normalize(value) {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) value = Object.fromEntries(value.map((v, i) => [String(i), v]));
  if (typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    const child = normalize(v);
    if (child !== null) out[k] = child;
  }
  return Object.keys(out).length ? out : null;
}

function childOf(value, segments) {
  let node = value;
  for (const s of segments) {
    if (node === null || typeof node !== 'object' || !(s in node)) return null;
    node = node[s];
  }
  return node;
}

function setAt(value, segments, replacement) {
  if (segments.length === 0) return normalize(replacement);
  // Removing something below a leaf (or below nothing) changes nothing: the leaf stays.
  if ((replacement === null || replacement === undefined) && (value === null || typeof value !== 'object')) {
    return value;
  }
  const base = value !== null && typeof value === 'object' ? { ...value } : {};
  const [head, ...rest] = segments;
  const child = setAt(head in base ? base[head] : null, rest, replacement);
  if (child === null) delete base[head];
  else base[head] = child;
  return Object.keys(base).length ? base : null;
}

function deepEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => k in b && deepEqual(a[k], b[k]));
}

// What val() returns: objects whose keys are all small integers become arrays, as the Firebase SDK does.
function exportValue(value) {
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  let max = -1;
  let allIntegers = true;
  for (const k of keys) {
    if (!/^(0|[1-9][0-9]*)$/.test(k)) {
      allIntegers = false;
      break;
    }
    max = Math.max(max, Number(k));
  }
  if (allIntegers && keys.length > 0 && max < 2 * keys.length) {
    const array = new Array(max + 1).fill(null);
    for (const k of keys) array[Number(k)] = exportValue(value[k]);
    return array;
  }
  const out = {};
  for (const k of keys) out[k] = exportValue(value[k]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapshots and errors

export class DataSnapshot {
  constructor(ref, value) {
    this.ref = ref;
    this.key = ref.key;
    this._value = value;
  }
  val() {
    return exportValue(this._value);
  }
  exists() {
    return this._value !== null;
  }
  child(path) {
    return new DataSnapshot(this.ref.child(path), childOf(this._value, splitPath(path)));
  }
  hasChild(path) {
    return childOf(this._value, splitPath(path)) !== null;
  }
  hasChildren() {
    return this._value !== null && typeof this._value === 'object';
  }
  numChildren() {
    return this.hasChildren() ? Object.keys(this._value).length : 0;
  }
  /** Calls fn(childSnapshot) for each child in key order; stops early when fn returns true. */
  forEach(fn) {
    if (!this.hasChildren()) return false;
    for (const key of Object.keys(this._value).sort(compareKeys)) {
      if (fn(this.child(key)) === true) return true;
    }
    return false;
  }
}

/** A refused operation: `code` is the server's status (permission_denied, hash_mismatch, invalid_argument, ...). */
export class BacksideError extends Error {
  constructor(code, message) {
    super(`${code}: ${message || code}`);
    this.code = code;
  }
}

// The current hash and value a refused compare-and-set RECEIPT carries.
function mismatch(receipt) {
  return { etag: receipt.headers.etag, current: receipt.body ? normalize(JSON.parse(receipt.body)) : null };
}

// ---------------------------------------------------------------------------------------------------------------
// References

/**
 * A query: a location plus ordering, bounds and a limit, sent as STOMP query headers (docs/protocol.md §5.1); the
 * server keeps the window live. Listeners and once() work as on a Reference; child events follow the query order.
 */
export class Query {
  constructor(db, segments, params = {}) {
    this._db = db;
    this._segments = segments;
    this._params = params;
    this.path = joinPath(segments);
    this.key = segments.length ? segments[segments.length - 1] : null;
  }
  get ref() {
    return new Reference(this._db, this._segments);
  }
  _with(extra) {
    return new Query(this._db, this._segments, { ...this._params, ...extra });
  }
  orderByChild(path) {
    return this._with({ 'order-by': splitPath(path).join('/') });
  }
  orderByKey() {
    return this._with({ 'order-by': '$key' });
  }
  orderByValue() {
    return this._with({ 'order-by': '$value' });
  }
  orderByPriority() {
    return this._with({ 'order-by': '$priority' });
  }
  startAt(value) {
    return this._with({ 'start-at': JSON.stringify(value) });
  }
  startAfter(value) {
    return this._with({ 'start-after': JSON.stringify(value) });
  }
  endAt(value) {
    return this._with({ 'end-at': JSON.stringify(value) });
  }
  endBefore(value) {
    return this._with({ 'end-before': JSON.stringify(value) });
  }
  equalTo(value) {
    return this._with({ 'equal-to': JSON.stringify(value) });
  }
  limitToFirst(n) {
    return this._with({ 'limit-to-first': String(n) });
  }
  limitToLast(n) {
    return this._with({ 'limit-to-last': String(n) });
  }

  /** Resolves with a snapshot of the current value (one subscription round trip). */
  once(event = 'value') {
    if (event !== 'value') return Promise.reject(new Error('once() supports "value"'));
    return new Promise((resolve, reject) => {
      const cb = (snapshot) => {
        this.off('value', cb);
        resolve(snapshot);
      };
      this.on('value', cb, (error) => reject(error));
    });
  }

  /**
   * Listens for 'value', 'child_added', 'child_changed' or 'child_removed'. Child callbacks get (snapshot,
   * previousChildKey). `cancel(error)` runs if the server refuses or revokes the listen. Returns `callback`.
   */
  on(event, callback, cancel) {
    if (!['value', 'child_added', 'child_changed', 'child_removed'].includes(event)) {
      throw new Error(`unknown event type ${event}`);
    }
    this._db._view(this.path, this._params).add(event, callback, cancel);
    return callback;
  }
  /** Removes one callback, every callback of an event type, or (no arguments) every callback of this query. */
  off(event, callback) {
    const view = this._db._views.get(viewKey(this.path, this._params));
    if (view) view.remove(event, callback);
  }
}

function viewKey(path, params) {
  const entries = Object.entries(params).sort();
  return entries.length ? `${path}?${JSON.stringify(entries)}` : path;
}

export class Reference extends Query {
  constructor(db, segments) {
    super(db, segments, {});
  }
  get parent() {
    return this._segments.length ? new Reference(this._db, this._segments.slice(0, -1)) : null;
  }
  get root() {
    return new Reference(this._db, []);
  }
  child(path) {
    return new Reference(this._db, [...this._segments, ...splitPath(path)]);
  }
  toString() {
    return this.path;
  }

  set(value) {
    return this._db._write(this.path, 'set', value);
  }
  update(values) {
    return this._db._write(this.path, 'update', values);
  }
  remove() {
    return this._db._write(this.path, 'remove', null);
  }
  /** Writes `value` at a new chronological child key; resolves to the new child's reference. */
  async push(value) {
    const receipt = await this._db._write(this.path, 'push', value === undefined ? null : value);
    return this.child(receipt.headers.key);
  }

  /**
   * Atomically replaces the value with update(currentValue), retrying when another client wrote first
   * (compare-and-set on the node hash). update returning undefined aborts. Resolves {committed, snapshot}.
   */
  async transaction(update, { maxRetries = 100 } = {}) {
    // A refused compare-and-set comes back with the current value and its hash together (docs/protocol.md §4),
    // so each retry costs one round trip. The first attempt uses a hash that never matches to learn them.
    let etag = 'unknown';
    let current = null;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (attempt > 0) {
        const next = update(exportValue(current));
        if (next === undefined) return { committed: false, snapshot: new DataSnapshot(this, current) };
        const receipt = await this._db._write(this.path, 'set', next, { 'if-match': etag }, { allowMismatch: true });
        if (receipt.headers.status === 'ok') {
          return { committed: true, snapshot: new DataSnapshot(this, normalize(next)) };
        }
        ({ etag, current } = mismatch(receipt));
        // Contention: back off exponentially with full jitter, so that competing clients stop colliding.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
      } else {
        ({ etag, current } = mismatch(await this._db._write(this.path, 'set', null, { 'if-match': etag },
                                                           { allowMismatch: true })));
      }
    }
    throw new BacksideError('maxretry', `transaction at ${this.path} gave up after ${maxRetries} attempts`);
  }

  /** Writes the server runs when this connection ends (presence). */
  onDisconnect() {
    const write = (method, value) =>
      this._db._write(this.path, method === 'cancel' ? 'set' : method, value, { 'on-disconnect': method });
    return {
      set: (value) => write('set', value),
      update: (values) => write('update', values),
      remove: () => write('remove', null),
      cancel: () => write('cancel', null),
    };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Views: one subscription per listened path

class View {
  constructor(db, path, params = {}) {
    this.db = db;
    this.path = path;
    this.params = params;
    this.key = viewKey(path, params);
    this.ref = new Reference(db, splitPath(path));
    this.callbacks = []; // {event, callback, cancel}
    this.value = null;
    this.loaded = false;
    this.subscription = null;
  }

  add(event, callback, cancel) {
    this.callbacks.push({ event, callback, cancel });
    if (this.loaded) this.initialEvents({ event, callback });
    if (!this.subscription) this.subscribe();
  }

  remove(event, callback) {
    this.callbacks = this.callbacks.filter(
      (c) => !((event === undefined || c.event === event) && (callback === undefined || c.callback === callback)),
    );
    if (this.callbacks.length === 0) this.close();
  }

  close() {
    if (this.subscription && this.db._client.connected) this.subscription.unsubscribe();
    this.subscription = null;
    this.db._views.delete(this.key);
  }

  // Children in the query's order (key order without one).
  sortedKeys(value) {
    if (value === null || typeof value !== 'object') return [];
    const orderBy = this.params['order-by'];
    const keys = Object.keys(value);
    if (!orderBy || orderBy === '$key' || orderBy === '$priority') return keys.sort(compareKeys);
    const of = (k) => (orderBy === '$value' ? value[k] : childOf(value[k], splitPath(orderBy)));
    return keys.sort((a, b) => compareValues(of(a), of(b)) || compareKeys(a, b));
  }

  subscribe() {
    if (!this.db._client.connected) return; // done on (re)connect
    this.subscription = this.db._client.subscribe(this.path, (message) => this.onMessage(message), { ...this.params });
  }

  onMessage(message) {
    if (message.headers.event === 'cancel') {
      // The server ended the subscription (refused or revoked by the rules): tell the cancel callbacks.
      this.subscription = null;
      return this.fail(new BacksideError(message.headers.status || 'cancelled', JSON.parse(message.body || '""')));
    }
    const relative = splitPath(message.headers.path || '/');
    const body = message.body === '' ? null : JSON.parse(message.body);
    let next = this.value;
    if (message.headers.event === 'patch') {
      for (const [key, value] of Object.entries(body || {})) next = setAt(next, [...relative, ...splitPath(key)], value);
    } else {
      next = setAt(next, relative, body);
    }
    const first = !this.loaded;
    const previous = this.value;
    this.value = next;
    this.loaded = true;
    if (first) {
      for (const c of [...this.callbacks]) this.initialEvents(c);
      return;
    }
    this.emitChanges(previous, next);
  }

  initialEvents({ event, callback }) {
    if (event === 'value') return callback(new DataSnapshot(this.ref, this.value));
    if (event !== 'child_added' || this.value === null || typeof this.value !== 'object') return;
    let previousKey = null;
    for (const key of this.sortedKeys(this.value)) {
      callback(new DataSnapshot(this.ref.child(key), this.value[key]), previousKey);
      previousKey = key;
    }
  }

  emitChanges(before, after) {
    if (deepEqual(before, after)) return;
    const oldChildren = before !== null && typeof before === 'object' ? before : {};
    const newChildren = after !== null && typeof after === 'object' ? after : {};
    const sorted = this.sortedKeys(newChildren);
    const previousOf = (key) => {
      const i = sorted.indexOf(key);
      return i > 0 ? sorted[i - 1] : null;
    };
    const emit = (event, ...args) => {
      for (const c of [...this.callbacks]) if (c.event === event) c.callback(...args);
    };
    for (const key of this.sortedKeys(oldChildren)) {
      if (!(key in newChildren)) emit('child_removed', new DataSnapshot(this.ref.child(key), oldChildren[key]));
    }
    for (const key of sorted) {
      const snapshot = new DataSnapshot(this.ref.child(key), newChildren[key]);
      if (!(key in oldChildren)) emit('child_added', snapshot, previousOf(key));
      else if (!deepEqual(oldChildren[key], newChildren[key])) emit('child_changed', snapshot, previousOf(key));
    }
    emit('value', new DataSnapshot(this.ref, after));
  }

  fail(error) {
    const callbacks = this.callbacks;
    this.callbacks = [];
    this.close();
    for (const c of callbacks) if (c.cancel) c.cancel(error);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The connection

export class Database {
  constructor(url, { database = 'default', token, WebSocket: WebSocketImpl, reconnectDelay = 1000, debug } = {}) {
    const WS = WebSocketImpl || globalThis.WebSocket;
    if (!WS) throw new Error('no WebSocket implementation: pass { WebSocket } (e.g. from the "ws" package)');
    this._views = new Map();
    this._receipts = 0;
    this._client = new Client({
      webSocketFactory: () => new WS(url, ['v12.stomp']),
      connectHeaders: token ? { host: database, passcode: token } : { host: database },
      reconnectDelay,
      heartbeatIncoming: 10000,
      heartbeatOutgoing: 10000,
      debug: debug || (() => {}),
    });
    this._readyWaiters = [];
    this._client.onConnect = () => {
      for (const view of this._views.values()) {
        view.subscription = null;
        view.subscribe();
      }
      const waiters = this._readyWaiters;
      this._readyWaiters = [];
      for (const w of waiters) w.resolve();
    };
    this._client.onStompError = (frame) => {
      const error = new BacksideError('error', frame.headers.message);
      const waiters = this._readyWaiters;
      this._readyWaiters = [];
      for (const w of waiters) w.reject(error);
      this.lastError = error;
    };
  }

  /** Connects; resolves once the server accepted the connection. */
  open() {
    const ready = this._ready();
    this._client.activate();
    return ready;
  }

  _ready() {
    if (this._client.connected) return Promise.resolve();
    return new Promise((resolve, reject) => this._readyWaiters.push({ resolve, reject }));
  }

  ref(path = '/') {
    return new Reference(this, splitPath(path));
  }

  /** Closes the connection (the server then runs this connection's onDisconnect writes). */
  close() {
    for (const view of [...this._views.values()]) view.close();
    return this._client.deactivate();
  }

  _view(path, params = {}) {
    const key = viewKey(path, params);
    let view = this._views.get(key);
    if (!view) {
      view = new View(this, path, params);
      this._views.set(key, view);
    }
    return view;
  }

  // Sends a write with a receipt; resolves with the RECEIPT frame, or rejects with the server's status.
  async _write(path, method, value, headers = {}, { allowMismatch = false } = {}) {
    await this._ready();
    const receipt = `w-${++this._receipts}`;
    const got = new Promise((resolve) => this._client.watchForReceipt(receipt, resolve));
    const body = method === 'remove' || value === undefined ? '' : JSON.stringify(value);
    this._client.publish({ destination: path, body, headers: { method, receipt, ...headers } });
    const frame = await got;
    const status = frame.headers.status || 'ok';
    if (status === 'ok' || (allowMismatch && status === 'hash_mismatch')) return frame;
    throw new BacksideError(status, frame.headers.message);
  }
}

/** Opens a connection: `await connect('ws://127.0.0.1:9000/stomp', { database, token })`. */
export async function connect(url, options = {}) {
  const db = new Database(url, options);
  await db.open();
  return db;
}
