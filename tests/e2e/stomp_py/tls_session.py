"""STOMP over TLS with Debian's stomp.py, driven by tests/e2e/tls.test.mjs.

Usage: tls_session.py PORT CA_FILE [CERT_FILE KEY_FILE]. Connects over TLS (trusting CA_FILE; presenting the client
certificate if given) without a passcode, then writes /devices/device-7/state and /devices/other/state with
receipts (a refused write gets an ERROR, which ends the connection, so it goes last). Prints one JSON object; a
failed connection prints {"connect_error": ...}.
"""
import json
import sys
import threading
import time

import stomp


class Recorder(stomp.ConnectionListener):
    def __init__(self):
        self.lock = threading.Condition()
        self.receipts = {}
        self.errors = []

    def on_receipt(self, frame):
        with self.lock:
            self.receipts[frame.headers["receipt-id"]] = dict(frame.headers)
            self.lock.notify_all()

    def on_error(self, frame):
        with self.lock:
            self.errors.append({"headers": dict(frame.headers), "body": frame.body})
            self.lock.notify_all()

    def wait(self, predicate, timeout=10):
        deadline = time.time() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.lock.wait(left)
        return True


def main():
    port, ca = int(sys.argv[1]), sys.argv[2]
    cert, key = (sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else (None, None)
    conn = stomp.Connection12([("localhost", port)], vhost="default")
    conn.set_ssl(for_hosts=[("localhost", port)], ca_certs=ca, cert_file=cert, key_file=key)
    rec = Recorder()
    conn.set_listener("rec", rec)
    try:
        conn.connect(wait=True)
    except Exception as error:  # the handshake refused, or the connection closed
        print(json.dumps({"connect_error": type(error).__name__ + ": " + str(error)}))
        return
    result = {"connected": True}
    for receipt, destination in (("own", "/devices/device-7/state"), ("other", "/devices/other/state")):
        conn.send(destination=destination, body=json.dumps({"on": True}), headers={"receipt": receipt})
        rec.wait(lambda: receipt in rec.receipts or rec.errors)
        result[receipt] = rec.receipts.get(receipt)
        if rec.errors:
            break
    result["errors"] = rec.errors
    print(json.dumps(result))
    try:
        conn.disconnect()
    except Exception:
        pass


if __name__ == "__main__":
    main()
