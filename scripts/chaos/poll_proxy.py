#!/usr/bin/env python3
"""A fault-injecting HTTP proxy for the chaos suite: it sits between one agent and the master
on 127.0.0.1 and loses poll answers on purpose.

    poll_proxy.py LISTEN_PORT UPSTREAM_PORT CONTROL_FILE EVENT_FILE

Each request is relayed on a fresh upstream connection (Connection: close), and the whole
answer is read before it is passed on, so the proxy knows whether the master assigned a job
(a poll answer, POST /api/nodes/ID/poll, with a non-empty "jobs"). CONTROL_FILE holds the mode,
read on every request:

    pass                 relay everything
    drop-once            close the connection instead of relaying the next poll answer that
                         assigns a job (the master has committed it), then relay again
    drop-then-partition  the same, then close every connection at once (a partition) until
                         the mode is changed
    partition            close every connection at once

EVENT_FILE gets one line per dropped answer: "dropped JOB_ID ..." (for the test to wait on).
Stops on SIGTERM. A test tool: plain sockets, since the point is to misbehave on purpose.
"""
import re
import socket
import socketserver
import sys

LISTEN, UPSTREAM, CONTROL, EVENTS = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
JOB_ID = re.compile(rb'"id"\s*:\s*"([^"]+)"')


def mode():
    try:
        with open(CONTROL) as f:
            return f.read().strip() or "pass"
    except OSError:
        return "pass"


def set_mode(m):
    with open(CONTROL, "w") as f:
        f.write(m + "\n")


def event(line):
    with open(EVENTS, "a") as f:
        f.write(line + "\n")


def read_request(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    kept = [l for l in lines[1:] if l.partition(b":")[0].strip().lower() != b"connection"]
    return lines[0], b"\r\n".join([lines[0]] + kept + [b"Connection: close"]) + b"\r\n\r\n" + body


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        client = self.request
        if mode() == "partition":
            return
        req = read_request(client)
        if req is None:
            return
        first, raw = req
        up = socket.create_connection(("127.0.0.1", UPSTREAM), timeout=30)
        up.sendall(raw)
        answer = b""
        while True:
            chunk = up.recv(65536)
            if not chunk:
                break
            answer += chunk
        up.close()
        parts = first.split(b" ")
        is_poll = len(parts) > 1 and parts[0] == b"POST" and parts[1].endswith(b"/poll")
        m = mode()
        if is_poll and m in ("drop-once", "drop-then-partition") and b'"jobs":[]' not in answer.replace(b" ", b""):
            ids = [i.decode() for i in JOB_ID.findall(answer)]
            if ids:
                set_mode("pass" if m == "drop-once" else "partition")
                event("dropped " + " ".join(ids))
                return
        if mode() == "partition":
            return
        head, _, body = answer.partition(b"\r\n\r\n")
        if b"\r\nconnection:" not in head.lower():
            head += b"\r\nConnection: close"
        client.sendall(head + b"\r\n\r\n" + body)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    with Server(("127.0.0.1", LISTEN), Handler) as s:
        s.serve_forever()
