#!/usr/bin/env python3
"""mute.py LISTEN MODE: a unix socket at LISTEN standing in for an engine that is stuck.

MODE "silent" takes each connection and its request, and never answers.
MODE "trickle" answers every request with a response head that never ends: one header
byte every 0.2 s, for as long as the client listens.
MODE "logs" answers an inspect as an engine would for a container with a tty, and a request
for its logs with a head and then nothing, never ending them.
MODE "short" answers every request with a head whose Content-Length promises 100 bytes, and
its fields oddly spaced and one given twice, then 10 of them, and closes the connection; and
"whole" the same with all 100, the connection held open after them.

It ends by itself after 120 s, or when its parent is gone."""
import os
import socket
import sys
import threading
import time


def serve(conn, mode):
    try:
        req = conn.recv(65536)
        if mode == "logs":
            while b"/logs" not in req.split(b"\r\n", 1)[0]:
                body = b'{"Id":"0123abc","Config":{"Tty":true}}'
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                req = conn.recv(65536)
                if not req:
                    return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nsome")
            while conn.recv(65536):
                pass
        elif mode in ("short", "whole"):
            body = b'{"a":"' + b"x" * 92 + b'"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type:  application/json \r\nX-Twice: one\r\n"
                         b"X-Twice: two\r\nContent-Length: 100\r\n\r\n")
            conn.sendall(body if mode == "whole" else body[:10])
            while mode == "whole" and conn.recv(65536):
                pass
        elif mode == "trickle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while True:
                conn.sendall(b"a")
                time.sleep(0.2)
        else:
            while conn.recv(65536):
                pass
    except OSError:
        pass
    finally:
        conn.close()


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    srv.settimeout(0.5)
    parent, start = os.getppid(), time.time()
    print("listening", flush=True)
    while time.time() - start < 120 and os.getppid() == parent:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(conn, mode), daemon=True).start()
    os.unlink(path)


main()
