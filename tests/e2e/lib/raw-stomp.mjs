// A raw STOMP session over TCP, for tests that must see the exact bytes the server writes (headers, escapes).
import net from 'node:net';

/**
 * Connects to `port`, writes `bytes`, and resolves once `frames` NUL-terminated frames have arrived (or the
 * connection closed, or `timeoutMs` passed): {data (latin1 text), frames (array of frame texts, NUL stripped),
 * closed}.
 */
export function stompExchange(port, bytes, { frames = 1, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    let settled = false;
    const finish = (closed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks).toString('latin1');
      const list = data.split('\0').slice(0, -1).map((frame) => frame.replace(/^\n+/, ''));
      resolve({ data, frames: list, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const nuls = Buffer.concat(chunks).toString('latin1').split('\0').length - 1;
      if (nuls >= frames) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', (error) => {
      if (!settled && chunks.length === 0) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
  });
}

/** The headers of a frame text as [name, value] pairs (values as written, escapes kept). */
export function frameHeaders(frame) {
  const head = frame.slice(0, frame.indexOf('\n\n'));
  return head
    .split('\n')
    .slice(1)
    .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]);
}
