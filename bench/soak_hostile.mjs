// The hostile and the checking half of bench/soak_bench.sh (node built-ins only). For --seconds S, against a
// production-configured server, it keeps up, all at once:
//   slow readers      STOMP subscribers of the written path that never read (their socket paused), 20 at a time,
//                     each replaced after 60 s (the server must drop them, not buffer for them without bound);
//   silent sockets    connections to the HTTP and STOMP ports that never send a byte, re-opened when closed;
//   oversized input   a PUT declaring 300 MB (over max_body_bytes: 413), a 16 MB PUT to a path the rules deny
//                     (401, or 503 when its parsed JSON does not fit the budget), a body that stops after 1 MB of its declared 10 MB (held until the server gives up);
//   acknowledged writes  an admin REST client writing /soak/acked/k<n> = n one after the other, recording every n the
//                     server acknowledged (200) in --acked FILE, so the script can check them after a SIGKILL.
// Prints one line of key=value counts at the end.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith('--') ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const port = Number(args.port);
const stompPort = Number(args['stomp-port']);
const token = args.token;
const seconds = Number(args.seconds);
const ackedFile = args.acked;
const endAt = Date.now() + seconds * 1000;
const running = () => Date.now() < endAt;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const counts = { slow_readers: 0, slow_readers_dropped: 0, silent: 0, too_large: 0, denied: 0, over_budget: 0, partial: 0, acked: 0, write_errors: 0 };

function request(method, path, { headers = {}, body, declaredLength } = {}) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: { ...headers, ...(declaredLength ? { 'Content-Length': declaredLength } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(120000, () => req.destroy());
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

async function slowReaders() {
  const frame = 'CONNECT\naccept-version:1.2\nhost:default\nheart-beat:0,0\n\n\0SUBSCRIBE\nid:0\ndestination:/bench\n\n\0';
  const open = new Set();
  while (running()) {
    while (open.size < 20) {
      const socket = net.connect(stompPort, '127.0.0.1');
      const entry = { socket, opened: Date.now() };
      open.add(entry);
      counts.slow_readers++;
      socket.on('connect', () => {
        socket.write(frame);
        setTimeout(() => socket.pause(), 200); // read the CONNECTED frame, then never again
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        if (Date.now() - entry.opened < 59000) counts.slow_readers_dropped++;
        open.delete(entry);
      });
    }
    for (const entry of open) if (Date.now() - entry.opened > 60000) entry.socket.destroy();
    await sleep(1000);
  }
  for (const entry of open) entry.socket.destroy();
}

async function silentSockets() {
  const open = new Set();
  while (running()) {
    while (open.size < 50) {
      const socket = net.connect(open.size % 2 ? stompPort : port, '127.0.0.1');
      open.add(socket);
      counts.silent++;
      socket.on('error', () => {});
      socket.on('close', () => open.delete(socket));
    }
    await sleep(1000);
  }
  for (const socket of open) socket.destroy();
}

async function oversized() {
  const denied = Buffer.from(`[${Array.from({ length: 8_000_000 }, (_, i) => i % 10).join(',')}]`);
  while (running()) {
    if ((await request('PUT', '/bench/huge.json', { declaredLength: 300_000_000, body: '' })) === 413) counts.too_large++;
    const status = await request('PUT', '/private/x.json', { body: denied });
    if (status === 401) counts.denied++;
    if (status === 503) counts.over_budget++; // its parsed JSON did not fit the memory budget beside the rest
    // Declares 10 MB, sends 1 MB, then stalls: the server holds it until its request timeout.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.on('connect', () => {
      socket.write('PUT /bench/partial.json HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n');
      socket.write(Buffer.alloc(1_000_000, 0x31));
      counts.partial++;
    });
    setTimeout(() => socket.destroy(), 90000);
    await sleep(2000);
  }
}

async function acknowledgedWrites() {
  const acked = fs.createWriteStream(ackedFile);
  for (let n = 1; running(); n++) {
    const status = await request('PUT', `/soak/acked/k${n}.json`, { headers: { Authorization: `Bearer ${token}` }, body: String(n) });
    if (status === 200) {
      acked.write(`${n}\n`);
      counts.acked++;
    } else {
      counts.write_errors++;
    }
    await sleep(20);
  }
  await new Promise((resolve) => acked.end(resolve));
}

await Promise.all([slowReaders(), silentSockets(), oversized(), acknowledgedWrites()]);
console.log(Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' '));
process.exit(0);
