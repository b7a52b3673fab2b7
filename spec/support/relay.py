#!/usr/bin/env python3
"""relay.py LISTEN ENGINE [MODE]: a unix socket at LISTEN that relays each connection to
the engine's socket at ENGINE, and breaks it on the way. The engine is the real one; only
the path to it breaks, as when a proxy in between gives up.

MODE "attach" (the default) breaks the way in under an attach: once an attach request has
gone to the engine, the relay stops reading what the client sends on that connection, so
the client's writes fail (EPIPE) while the engine's answer and the container's output still
come through to the end.

MODE "stall" stops reading what the client sends for 4 s once an attach request has gone
to the engine, as an engine or a container busy elsewhere would, then relays it all.

MODE "reset" passes the engine's answer to an attach up to the end of its head, then sends
an engine error frame (stream 3) of its own and closes the connection with what the client
sent after the attach unread, so that the client's next read fails (ECONNRESET): an engine's
last words, and a stream that breaks rather than ends.

MODE "hold=TEXT[,SECONDS]" holds each request whose request line holds TEXT (a container's
id) for SECONDS (6) before it relays it, as an engine busy with that one container would, and says so on
stdout ("holding" and the request line); every other request passes at once.

MODE "inspect" drops the connection, unanswered, when a container is inspected
(GET /containers/ID/json); every other request passes."""
import os
import re
import socket
import sys
import threading
import time


RESET_WORDS = b"relay: the engine has gone away\n"


def engine_to_client(engine, client, mode):
    try:
        while True:
            data = engine.recv(65536)
            if not data:
                break
            head = data.find(b"\r\n\r\n")
            if mode == "reset" and data.startswith(b"HTTP/1.1 101") and head >= 0:
                client.sendall(data[:head + 4])
                client.sendall(b"\x03\0\0\0" + len(RESET_WORDS).to_bytes(4, "big") + RESET_WORDS)
                time.sleep(1)  # the client's input comes meanwhile, and is left unread
                client.close()
                return
            client.sendall(data)
    except OSError:
        pass
    finally:
        try:
            client.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def hold_text(mode):
    return mode[5:].rsplit(",", 1)[0] if "," in mode else mode[5:]


def hold_seconds(mode):
    return float(mode.rsplit(",", 1)[1]) if "," in mode else 6


def client_to_engine(client, engine, mode):
    try:
        while True:
            data = client.recv(65536)
            if not data:
                engine.shutdown(socket.SHUT_WR)
                return
            line = data.split(b"\r\n", 1)[0]
            if mode == "inspect" and re.match(rb"GET /v[\d.]+/containers/[^/?]+/json[ ?]", line):
                for s in (client, engine):
                    s.shutdown(socket.SHUT_RDWR)
                return
            if mode.startswith("hold=") and re.match(rb"[A-Z]+ ", line) and hold_text(mode).encode() in line:
                print("holding", line.decode("latin1"), flush=True)
                time.sleep(hold_seconds(mode))
            if mode == "stall" and data.startswith(b"POST ") and b"/attach?" in line:
                engine.sendall(data)
                time.sleep(4)
                continue
            if mode == "reset" and data.startswith(b"POST ") and b"/attach?" in line:
                engine.sendall(data)
                return
            if mode == "attach" and data.startswith(b"POST ") and b"/attach?" in line:
                head = data.find(b"\r\n\r\n")
                engine.sendall(data if head < 0 else data[:head + 4])
                client.shutdown(socket.SHUT_RD)
                return
            engine.sendall(data)
    except OSError:
        pass


def serve(client, path, mode):
    engine = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    engine.connect(path)
    threads = [threading.Thread(target=engine_to_client, args=(engine, client, mode), daemon=True),
               threading.Thread(target=client_to_engine, args=(client, engine, mode), daemon=True)]
    for t in threads:
        t.start()


def main():
    listen, path = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) > 3 else "attach"
    if os.path.exists(listen):
        os.unlink(listen)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen)
    server.listen(16)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        serve(client, path, mode)


if __name__ == "__main__":
    main()
