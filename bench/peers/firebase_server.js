// The npm firebase-server (the existing open-source Firebase Realtime Database server, in memory, single-threaded
// Node) on 127.0.0.1:PORT, for the benchmarks' side-by-side runs. Usage: node bench/peers/firebase_server.js PORT
const FirebaseServer = require('firebase-server');

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node bench/peers/firebase_server.js PORT');
  process.exit(2);
}
// Its log is by the debug package, off unless DEBUG is set; errors still reach stderr.
new FirebaseServer({ port, address: '127.0.0.1' }, 'bench');
console.log(`firebase-server listening on 127.0.0.1:${port}`);
