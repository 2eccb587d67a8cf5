// A Firebase SDK client in its own process, for tests that kill a client (SIGKILL) or need real parallelism.
// argv: port ns mode. Prints "ready" when its work is acknowledged by the server, then waits to be killed
// (mode "ondisconnect") or exits when done (mode "increments:<path>:<n>").
import { initializeApp } from 'firebase/app';
import { getDatabase, connectDatabaseEmulator, ref, onDisconnect, set, serverTimestamp, runTransaction }
  from 'firebase/database';

const [port, ns, mode] = process.argv.slice(2);
const app = initializeApp({ projectId: 'demo-child', databaseURL: `http://127.0.0.1:${port}?ns=${ns}` });
const db = getDatabase(app);
connectDatabaseEmulator(db, '127.0.0.1', Number(port));

if (mode === 'ondisconnect') {
  const me = ref(db, 'killed/presence');
  await onDisconnect(me).set({ state: 'offline', at: serverTimestamp() });
  await onDisconnect(ref(db, 'killed/room/member')).remove();
  await set(me, { state: 'online' });
  await set(ref(db, 'killed/room/member'), true);
  process.stdout.write('ready\n');
  setInterval(() => {}, 1000);
} else if (mode.startsWith('transactions:')) {
  const [, path, count] = mode.split(':');
  let maxretries = 0;
  for (let i = 0; i < Number(count); i++) {
    for (;;) {
      try {
        const result = await runTransaction(ref(db, path), (v) => (v ?? 0) + 1);
        if (!result.committed) throw new Error('transaction not committed');
        break;
      } catch (error) {
        // 25 datastale rounds in a row under heavy contention: nothing was written, so trying again is safe.
        if (error.message !== 'maxretry') throw error;
        maxretries++;
      }
    }
  }
  process.stdout.write(`done ${maxretries}\n`);
  process.exit(0);
}
