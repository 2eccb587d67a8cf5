// The console's only way to the server: the admin token from sessionStorage in an Authorization header. The token
// never goes into a URL (no ?auth=): URLs end up in proxies' access logs and the browser's history.
const TOKEN_KEY = 'backside.console.adminToken';

export class ApiError extends Error {
  constructor(status, message, body, response) {
    super(message);
    this.status = status;
    this.body = body;
    this.response = response;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
  onSignedOut: () => {},
};

function authHeaders(extra = {}) {
  return { Authorization: `Bearer ${session.token}`, ...extra };
}

/** fetch() with the admin token; JSON bodies in and out. Throws ApiError with the server's message. */
export async function request(url, { method = 'GET', body, headers = {}, raw = false, signal } = {}) {
  const init = { method, headers: authHeaders(headers), signal, cache: 'no-store' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(url, init);
  if (raw) return response;
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    const message = messageOf(parsed) || `${response.status} ${response.statusText}`;
    if (response.status === 401 && isConsoleApi(url)) session.onSignedOut(message);
    throw new ApiError(response.status, message, parsed, response);
  }
  return { body: parsed, response };
}

function messageOf(body) {
  if (!body) return '';
  if (typeof body === 'string') return body;
  if (typeof body.error === 'string') return body.error;
  if (body.error && typeof body.error.message === 'string') return body.error.message; // the Auth API's form
  return '';
}

function isConsoleApi(url) {
  return String(url).startsWith('/.console/api/');
}

/** A REST URL: /<path>.json?ns=DB&... (path segments encoded one by one). */
export function restUrl(db, path, params = {}) {
  const segments = splitPath(path).map(encodeURIComponent).join('/');
  const query = new URLSearchParams({ ns: db, ...params });
  return `/${segments}.json?${query}`;
}

export function splitPath(path) {
  return String(path).split('/').filter((s) => s.length > 0);
}

export function joinPath(parent, key) {
  return parent === '/' ? `/${key}` : `${parent}/${key}`;
}

export function parentOf(path) {
  const segments = splitPath(path);
  segments.pop();
  return segments.length ? `/${segments.join('/')}` : '/';
}

export function keyOf(path) {
  const segments = splitPath(path);
  return segments.length ? segments[segments.length - 1] : '/';
}

/**
 * Reads a Server-Sent Events stream with fetch() (EventSource cannot send the Authorization header). Calls
 * onEvent(name, data) per event until `signal` aborts; resolves when the stream ends.
 */
export async function readEventStream(url, { signal, onEvent, onOpen }) {
  const response = await fetch(url, { headers: authHeaders({ Accept: 'text/event-stream' }), signal, cache: 'no-store' });
  if (!response.ok) {
    const text = await response.text();
    let message = text;
    try {
      message = JSON.parse(text).error || text;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, message);
  }
  if (onOpen) onOpen();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      let parsed = null;
      try {
        parsed = JSON.parse(data.join('\n'));
      } catch {
        parsed = data.join('\n');
      }
      onEvent(name, parsed);
    }
  }
}

/**
 * An upload with progress (fetch() reports none): XMLHttpRequest with the token in its header.
 * onProgress(fraction). Resolves to {status, body, etag}.
 */
export function upload(url, { method, body, headers = {}, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(authHeaders({ 'Content-Type': 'application/json', ...headers }))) {
      xhr.setRequestHeader(name, value);
    }
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let parsed = null;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        parsed = xhr.responseText;
      }
      resolve({ status: xhr.status, body: parsed, etag: xhr.getResponseHeader('ETag') });
    };
    xhr.onerror = () => reject(new Error('The upload failed: the server could not be reached'));
    xhr.send(body);
  });
}

/** A download with progress: the response body read chunk by chunk (Content-Length gives the total). */
export async function download(url, { onProgress, headers = {} } = {}) {
  const response = await request(url, { raw: true, headers });
  if (!response.ok) {
    let message = `${response.status}`;
    try {
      message = (await response.json()).error || message;
    } catch {
      // not JSON
    }
    throw new ApiError(response.status, message);
  }
  const total = Number(response.headers.get('Content-Length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    if (onProgress && total) onProgress(received / total);
  }
  if (onProgress) onProgress(1);
  return new Blob(chunks, { type: 'application/json' });
}
