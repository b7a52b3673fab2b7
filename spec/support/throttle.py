#!/usr/bin/env python3
"""throttle.py PORT UPSTREAM RATE: a TCP relay on 127.0.0.1:PORT to 127.0.0.1:UPSTREAM that
passes the upstream's answers at RATE bytes a second, so that a download from a real
registry behind it lasts long enough to be interrupted. It prints "ready" once listening.
Once the upstream refuses a connection it stops listening and exits, so that clients meet a
refusal, as they would at the upstream itself."""
import socket
import sys
import threading
import time


def pump(src, dst, rate):
    try:
        while True:
            data = src.recv(16384 if rate else 65536)
            if not data:
                break
            dst.sendall(data)
            if rate:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main():
    port, upstream, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(16)
    print("ready", flush=True)
    while True:
        client, _ = server.accept()
        try:
            up = socket.create_connection(("127.0.0.1", upstream))
        except OSError:
            client.close()
            server.close()
            return
        threading.Thread(target=pump, args=(up, client, rate), daemon=True).start()
        threading.Thread(target=pump, args=(client, up, 0), daemon=True).start()


if __name__ == "__main__":
    main()
