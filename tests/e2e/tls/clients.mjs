// Real clients over TLS, run as a child process of tls.test.mjs with NODE_EXTRA_CA_CERTS naming the test's CA (the
// way an application trusts a private CA): the Firebase SDK with an https:// database URL (not the emulator
// call), and the eventsource package. Usage: node clients.mjs MODE URL; prints one JSON line.
//   sdk          two apps: one listens at /tls/sdk, the other sets a value; both read it back
//   eventsource  opens a stream at /tls/es.json, prints the first data event after the initial one
import { initializeApp, deleteApp } from 'firebase/app';
import { getDatabase, ref, set, get, onValue } from 'firebase/database';
import { EventSource } from 'eventsource';

const [mode, url] = process.argv.slice(2);
const fail = (message) => {
  console.log(JSON.stringify({ error: message }));
  process.exit(2);
};
setTimeout(() => fail('timed out'), 15000).unref();

if (mode === 'sdk') {
  const databaseURL = `${url}?ns=default`;
  const reader = initializeApp({ projectId: 'demo-tls', databaseURL }, 'reader');
  const writer = initializeApp({ projectId: 'demo-tls', databaseURL }, 'writer');
  const seen = [];
  const heard = new Promise((resolve) => {
    onValue(ref(getDatabase(reader), 'tls/sdk'), (snapshot) => {
      seen.push(snapshot.val());
      if (snapshot.val()?.n === 7) resolve();
    });
  });
  await set(ref(getDatabase(writer), 'tls/sdk'), { n: 7, text: 'over wss' });
  await heard;
  const read = (await get(ref(getDatabase(reader), 'tls/sdk'))).val();
  await deleteApp(reader);
  await deleteApp(writer);
  console.log(JSON.stringify({ seen, read }));
  process.exit(0);
} else if (mode === 'eventsource') {
  const source = new EventSource(`${url}/tls/es.json`);
  const events = [];
  source.addEventListener('put', (event) => {
    events.push(JSON.parse(event.data));
    if (events.length === 1) console.log(JSON.stringify({ open: true }));
    if (events.length === 2) {
      source.close();
      console.log(JSON.stringify({ events }));
      process.exit(0);
    }
  });
  source.onerror = (error) => fail(`eventsource: ${error.message ?? error.type}`);
} else {
  fail(`unknown mode ${mode}`);
}
