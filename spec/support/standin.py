#!/usr/bin/env python3
"""standin.py LISTEN MODE [STOP_TIMEOUT]: a unix socket at LISTEN standing in for an engine.

MODE "hostile" answers a container list and an inspect whose strings (ids, names, images,
statuses, commands) carry terminal escapes, as a compromised or buggy engine could send them.
MODE "stuck" answers an inspect of any container with Config.StopTimeout = STOP_TIMEOUT (null
when not given), and takes a stop or a restart without ever answering it.

It prints "listening PID" once ready, and ends by itself after 120 s, or when its parent is gone."""
import json
import os
import socket
import sys
import threading
import time

ESC = "\x1b]0;PWN\x07"
HOSTILE = [{
    "Id": "ab" + ESC + "cdef0123456789",
    "Names": ["/evil" + ESC + "name"],
    "Image": "img\x1b[5n",
    "Command": "sh\x1b]2;CMD\x07",
    "Created": 0,
    "State": "running",
    "Status": "Up\r\n\u009b31m",
    "Labels": {},
}]


def answer(conn, body, status="200 OK"):
    data = json.dumps(body).encode()
    conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (status.encode(), len(data), data))


def requests(conn):
    """Each request's line, its body read past, for as long as the connection lasts."""
    buf = b""
    while True:
        while b"\r\n\r\n" not in buf:
            more = conn.recv(65536)
            if not more:
                return
            buf += more
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = 0
        for h in lines[1:]:
            name, _, value = h.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(buf) < length:
            more = conn.recv(65536)
            if not more:
                return
            buf += more
        buf = buf[length:]
        yield lines[0].decode("latin-1")


def serve(conn, mode, stop_timeout):
    try:
        for line in requests(conn):
            method, target = line.split(" ")[:2]
            path = target.split("?")[0]
            if path.endswith("/_ping"):
                answer(conn, "OK")
            elif mode == "hostile" and path.endswith("/containers/json"):
                answer(conn, HOSTILE)
            elif path.endswith("/json") and "/containers/" in path:
                c = dict(HOSTILE[0]) if mode == "hostile" else {"Id": "0123abc", "Name": "/stuck"}
                c["Config"] = {"Tty": False, "StopTimeout": stop_timeout}
                c["State"] = {"Running": True, "Status": "running"}
                answer(conn, c)
            elif mode == "stuck" and method == "POST" and path.endswith(("/stop", "/restart")):
                while conn.recv(65536):
                    pass
                return
            else:
                answer(conn, {"message": "not here: " + path}, "404 Not Found")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    path, mode = sys.argv[1], sys.argv[2]
    stop_timeout = int(sys.argv[3]) if len(sys.argv) > 3 else None
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.5)
    parent, start = os.getppid(), time.time()
    print("listening %d" % os.getpid(), flush=True)
    while time.time() - start < 120 and os.getppid() == parent:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, mode, stop_timeout), daemon=True).start()
    os.unlink(path)


main()
