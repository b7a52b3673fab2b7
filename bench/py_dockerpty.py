#!/usr/bin/python3
"""The Python side of the benchmark: Debian's python3-dockerpty driven the plainest way.

Only what the library offers is used: docker.APIClient for create / wait / remove, and
dockerpty.start / dockerpty.exec_command for the session itself.

    py_dockerpty.py run [-t] [-i] [--label K=V] IMAGE CMD...   as `docker run --rm [-t] [-i]`
    py_dockerpty.py attach CONTAINER                           as `docker attach`
    py_dockerpty.py exec [-t] CONTAINER CMD...                 as `docker exec [-it]`

Python dockerpty's exec_command has one switch, `interactive`, that turns on both the tty and
stdin; `exec -t` sets it, plain `exec` leaves both off.
"""
import sys
import warnings

import docker
import dockerpty

warnings.simplefilter("ignore")


def main(argv):
    client = docker.APIClient(version="auto")
    mode, args = argv[0], argv[1:]
    if mode == "run":
        tty = interactive = False
        labels = {}
        while args and args[0].startswith("-"):
            flag = args.pop(0)
            if flag == "-t":
                tty = True
            elif flag == "-i":
                interactive = True
            elif flag == "--label":
                k, _, v = args.pop(0).partition("=")
                labels[k] = v
            else:
                raise SystemExit("py_dockerpty: unknown flag " + flag)
        image, cmd = args[0], args[1:]
        c = client.create_container(image, cmd, tty=tty, stdin_open=interactive, labels=labels)
        try:
            dockerpty.start(client, c["Id"], logs=0)
            code = client.wait(c["Id"])["StatusCode"]
        finally:
            client.remove_container(c["Id"], force=True)
        return code
    if mode == "attach":
        dockerpty.start(client, args[0], logs=0)
        return 0
    if mode == "exec":
        tty = False
        if args and args[0] == "-t":
            tty = True
            args = args[1:]
        dockerpty.exec_command(client, args[0], args[1:], interactive=tty)
        return 0
    raise SystemExit("py_dockerpty: unknown mode " + mode)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
