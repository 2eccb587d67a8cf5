// A TCP load balancer for end-to-end tests of a cluster, as a deployment puts one in front of its nodes: each
// accepted connection goes to the first backend, in the order given, that accepts a connection now; bytes are
// copied both ways, and when either side ends, so does the other. A dead node's clients reconnect through it and
// land on a live one.
import net from 'node:net';

/** Listens on a free loopback port; `backends()` gives the ports to try, in order. Returns {port, close()}. */
export async function startBalancer(backends) {
  const sockets = new Set();
  const connectTo = (ports, index, client) => {
    if (index >= ports.length) return client.destroy();
    const upstream = net.connect({ host: '127.0.0.1', port: ports[index] });
    upstream.once('error', () => connectTo(ports, index + 1, client));
    upstream.once('connect', () => {
      upstream.removeAllListeners('error');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      client.pipe(upstream);
      upstream.pipe(client);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.resume();
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    connectTo(backends(), 0, client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
