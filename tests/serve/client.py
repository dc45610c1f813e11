#!/usr/bin/env python3
"""Raw HTTP for the daemon's tests, where curl cannot go: bytes as written (pipelined
requests, repeated framing headers), idle and slowloris connections in bulk.

  client.py raw PORT [N|close]   sends stdin as is, prints what came back (Date lines and
                                 carriage returns dropped) until N answers are in, or the
                                 server closes, or else until it closes or is quiet
  client.py abuse PORT ...       idle and slowloris connections: see abuse() below
Every wait is bounded; loopback addresses only."""
import os
import resource
import selectors
import socket
import sys
import time


def answers(out):
    """How many whole HTTP answers (headers and Content-Length body) out holds."""
    n, at = 0, 0
    while True:
        end = out.find(b"\r\n\r\n", at)
        if end < 0:
            return n
        length = 0
        for line in out[at:end].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if len(out) < end + 4 + length:
            return n
        n, at = n + 1, end + 4 + length


def raw(port, want=0):
    """want: the answers expected on a kept-alive connection, read till they are all in;
    -1: read till the server closes (both bounded by 60 s: a loaded server can be slow);
    0: till the server closes or is quiet for 2 s."""
    data = sys.stdin.buffer.read()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    s.settimeout(60 if want else 2)
    out = b""
    try:
        while len(out) < 1 << 20 and not (want > 0 and answers(out) >= want):
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    s.close()
    lines = [l for l in out.replace(b"\r", b"").split(b"\n") if not l.startswith(b"Date: ")]
    sys.stdout.write(b"\n".join(lines).decode("utf-8", "replace") + "\n")


def bind_connect(port, host):
    """A non-blocking connection from host (a loopback address) to the daemon."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s


def abuse(port, idle, slow, hosts, interval, hold_file, ready_file, seconds, mode="headers"):
    """Opens IDLE connections that send nothing and SLOW that send a request line and then
    one header line every INTERVAL seconds (MODE "body": all the headers, then one byte of
    a 1,000-byte body every INTERVAL seconds), spread over HOSTS loopback addresses
    (127.0.1.1, 127.0.1.2, ...). Writes READY_FILE with "open=N" once all are connected,
    keeps them until HOLD_FILE is removed or SECONDS pass, then prints
    "idle=I slow=S closed_by_server=C" and exits."""
    socks, slows = [], []
    n = 0
    for i in range(idle + slow):
        host = "127.0.1.%d" % (1 + i % hosts)
        s = bind_connect(port, host)
        socks.append(s)
        if i >= idle:
            slows.append(s)
        n += 1
        if n % 500 == 0:
            time.sleep(0.01)  # let the listen backlog drain
    deadline = time.monotonic() + 30
    sel = selectors.DefaultSelector()
    pending = set(socks)
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            pending.discard(key.fileobj)
            sel.unregister(key.fileobj)
    for s in pending:
        sel.unregister(s)
    opened = len(socks) - len(pending)
    start = b"POST /hooks/signed HTTP/1.1\r\nHost: x\r\n"
    if mode == "body":
        start += b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    for s in slows:
        try:
            s.send(start)
        except OSError:
            pass
    with open(ready_file + ".tmp", "w") as f:
        f.write("open=%d\n" % opened)
    os.rename(ready_file + ".tmp", ready_file)
    closed = set()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    end = time.monotonic() + seconds
    next_line = time.monotonic() + interval
    k = 0
    while time.monotonic() < end and os.path.exists(hold_file):
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            try:
                b = s.recv(4096)
            except OSError:
                b = b""
            if not b:
                closed.add(s)
                sel.unregister(s)
        if time.monotonic() >= next_line:
            k += 1
            for s in slows:
                if s not in closed:
                    try:
                        s.send(b" " if mode == "body" else b"X-Trickle-%d: %d\r\n" % (k, k))
                    except OSError:
                        pass
            next_line += interval
    print("idle=%d slow=%d open=%d closed_by_server=%d" % (idle, slow, opened, len(closed)))
    for s in socks:
        s.close()


if __name__ == "__main__":
    if sys.argv[1] == "raw":
        a = sys.argv[3] if len(sys.argv) > 3 else "0"
        raw(int(sys.argv[2]), -1 if a == "close" else int(a))
    elif sys.argv[1] == "abuse":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        a = sys.argv[2:]
        abuse(int(a[0]), int(a[1]), int(a[2]), int(a[3]), float(a[4]), a[5], a[6], float(a[7]),
              *a[8:9])
    else:
        sys.exit("usage: client.py raw PORT [ANSWERS|close] | abuse PORT IDLE SLOW HOSTS INTERVAL HOLD READY "
                 "SECONDS [headers|body]")
