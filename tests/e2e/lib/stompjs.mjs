// End-to-end support for STOMP over WebSocket with the published @stomp/stompjs client.
import WebSocket from 'ws';
import { Client } from '@stomp/stompjs';

import { within } from './server.mjs';

/** A connected @stomp/stompjs client on `server`'s /stomp, database `host`; no reconnects, no heart-beats. */
export async function stompClient(server, host = 'default') {
  const client = new Client({
    webSocketFactory: () => new WebSocket(`${server.url.replace('http://', 'ws://')}/stomp`, ['v12.stomp']),
    connectHeaders: { host },
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
  });
  const connected = new Promise((resolve, reject) => {
    client.onConnect = resolve;
    client.onStompError = (frame) => reject(new Error(frame.headers.message));
  });
  client.activate();
  await within(connected, 5000);
  return client;
}

/** SENDs `body` as JSON with a receipt; resolves once the RECEIPT arrives (at most 10 s). */
export function sendWithReceipt(client, destination, body, headers = {}) {
  const receipt = `r-${Math.random().toString(36).slice(2)}`;
  const done = new Promise((resolve) => client.watchForReceipt(receipt, resolve));
  client.publish({ destination, body: JSON.stringify(body), headers: { ...headers, receipt } });
  return within(done, 10000);
}
