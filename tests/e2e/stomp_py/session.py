"""A STOMP-over-TCP session with Debian's stomp.py (python3-stomp), driven by tests/e2e/stomp-tcp.test.mjs.

Usage: session.py PORT MODE [PASSCODE]. Prints one JSON object with what the client saw; exits non-zero on a
timeout. Modes:
  writes  subscribe to /tcp/room, then set, update, push, remove (with receipts) and a bad body
  denied  a SEND the rules refuse and one they allow (receipt statuses), then a SUBSCRIBE they refuse
  error   an unknown method: the server answers ERROR and closes
  transactions  BEGIN/SEND.../COMMIT (one atomic write, one MESSAGE), ABORT, a COMMIT the rules refuse, a push in
            a transaction
  heartbeat  connect with heart-beats of 300 ms both ways and stay idle for 2 s: count the server's heart-beats
  presence  store on-disconnect writes (set, update, a cancelled one, a refused one), print their receipts, then
            wait to be killed
"""
import json
import sys
import threading
import time

import stomp


class Recorder(stomp.ConnectionListener):
    def __init__(self):
        self.lock = threading.Condition()
        self.messages = []
        self.receipts = {}
        self.errors = []
        self.disconnected = False
        self.heartbeats = 0

    def on_message(self, frame):
        with self.lock:
            self.messages.append({"headers": dict(frame.headers), "body": json.loads(frame.body)})
            self.lock.notify_all()

    def on_receipt(self, frame):
        with self.lock:
            self.receipts[frame.headers["receipt-id"]] = dict(frame.headers)
            self.lock.notify_all()

    def on_error(self, frame):
        with self.lock:
            self.errors.append(dict(frame.headers))
            self.lock.notify_all()

    def on_heartbeat(self):
        with self.lock:
            self.heartbeats += 1

    def on_disconnected(self):
        with self.lock:
            self.disconnected = True
            self.lock.notify_all()

    def wait(self, predicate, what, timeout=10):
        deadline = time.time() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.time()
                if left <= 0:
                    print(json.dumps({"timeout": what, "messages": self.messages, "receipts": self.receipts,
                                      "errors": self.errors}))
                    sys.exit(3)
                self.lock.wait(left)


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    passcode = sys.argv[3] if len(sys.argv) > 3 else None
    beats = (300, 300) if mode == "heartbeat" else (0, 0)
    conn = stomp.Connection12([("127.0.0.1", port)], vhost="default", heartbeats=beats)
    rec = Recorder()
    conn.set_listener("rec", rec)
    conn.connect(username="py", passcode=passcode, wait=True)
    result = {"connected": True}

    def send(destination, body, receipt, **headers):
        conn.send(destination=destination, body=body, headers=dict(headers, receipt=receipt))
        rec.wait(lambda: receipt in rec.receipts, "receipt " + receipt)
        return rec.receipts[receipt]

    if mode == "writes":
        conn.subscribe(destination="/tcp/room", id="s1", ack="auto")
        rec.wait(lambda: len(rec.messages) >= 1, "the initial message")
        result["set"] = send("/tcp/room", json.dumps({"a": 1, "b": {"c": 2}}), "w1")
        result["update"] = send("/tcp/room", json.dumps({"b/c": 3, "d": "x"}), "w2", method="update")
        result["push"] = send("/tcp/room/list", json.dumps({"n": 1}), "w3", method="push")
        result["remove"] = send("/tcp/room/a", "", "w4", method="remove")
        result["bad_json"] = send("/tcp/room", "{not json", "w5")
        rec.wait(lambda: len(rec.messages) >= 5, "five messages")
    elif mode == "denied":
        result["denied"] = send("/users/bob/name", json.dumps("x"), "d1")
        result["allowed"] = send("/users/py/name", json.dumps("Py"), "d2")
        conn.subscribe(destination="/users/bob", id="s2", ack="auto")
        rec.wait(lambda: len(rec.messages) >= 1, "the cancel")
        result["still_connected"] = send("/users/py/age", json.dumps(3), "d3")
    elif mode == "transactions":
        conn.subscribe(destination="/tx", id="s1", ack="auto")
        rec.wait(lambda: len(rec.messages) >= 1, "the initial message")

        def commit(tx, receipt):
            conn.commit(tx, headers={"receipt": receipt})
            rec.wait(lambda: receipt in rec.receipts, "receipt " + receipt)
            return rec.receipts[receipt]

        tx = conn.begin()
        result["t1_sends"] = [
            send("/tx/a", json.dumps(1), "t1", transaction=tx),
            send("/tx", json.dumps({"b": 2, "c/d": 3}), "t2", transaction=tx, method="update"),
            send("/tx/a/x", json.dumps(5), "t3", transaction=tx),
            send("/tx/b", "", "t4", transaction=tx, method="remove"),
        ]
        result["t1_messages_before_commit"] = len(rec.messages)
        result["t1_commit"] = commit(tx, "c1")
        rec.wait(lambda: len(rec.messages) >= 2, "the commit's message")
        tx = conn.begin()
        send("/tx/z", json.dumps(1), "t5", transaction=tx)
        conn.abort(tx)
        tx = conn.begin()
        send("/tx/y", json.dumps(1), "t6", transaction=tx)
        send("/locked/q", json.dumps(1), "t7", transaction=tx)
        result["t3_commit"] = commit(tx, "c3")
        tx = conn.begin()
        result["t4_push"] = send("/tx/list", json.dumps(1), "t8", transaction=tx, method="push")
        result["t4_commit"] = commit(tx, "c4")
        result["after"] = send("/tx/after", json.dumps(True), "t9")
        rec.wait(lambda: len(rec.messages) >= 3, "the last message")
    elif mode == "heartbeat":
        time.sleep(2)
        result["heartbeats"] = rec.heartbeats
        result["still_connected"] = send("/hb", json.dumps(1), "h1")
    elif mode == "presence":
        result["online"] = send("/presence/py", json.dumps(True), "p1")
        result["on_disconnect_set"] = send("/presence/py", json.dumps(False), "p2", **{"on-disconnect": "set"})
        result["on_disconnect_update"] = send("/presence/last", json.dumps({"who": "py", "at": {".sv": "timestamp"}}),
                                              "p3", **{"on-disconnect": "update"})
        result["to_cancel"] = send("/presence/gone", json.dumps("x"), "p4", **{"on-disconnect": "set"})
        result["cancel"] = send("/presence/gone", "", "p5", **{"on-disconnect": "cancel"})
        result["bad"] = send("/presence/bad", "{nope", "p6", **{"on-disconnect": "set"})
        print(json.dumps(result), flush=True)
        time.sleep(600)  # killed by the test
    elif mode == "error":
        conn.send(destination="/tcp/x", body="1", headers={"method": "frobnicate"})
        rec.wait(lambda: rec.errors and rec.disconnected, "ERROR and close")
    result["messages"] = rec.messages
    result["errors"] = rec.errors
    if conn.is_connected():
        conn.disconnect()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
