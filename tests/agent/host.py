#!/usr/bin/env python3
"""tests/agent/host.py: a fake muster host for the agent's tests.

    host.py SOCKET STEP...

Listens on the unix socket SOCKET (as QEMU's channel would, the agent
connects) and runs the steps in order. Every line read from the agent is
printed as "c<N> <line>" (N counts connections from 1); a failed step prints
"FAIL <why>" and exits 1. Steps:

    accept          wait for the agent to connect (closes the previous one)
    send:TEXT       send TEXT and a newline
    hello           send {"v":1,"type":"hello"}
    long:N          send N bytes of 'x' and a newline
    junk            send bytes that are not JSON, nor UTF-8, and a newline
    expect:TYPE     read lines until one of "type" TYPE arrives
    touch:PATH      create PATH
    write:PATH:TEXT write TEXT to PATH
    close           close the connection
"""
import json
import os
import socket
import sys
import time

TIMEOUT = 15.0


def main():
    path, steps = sys.argv[1], sys.argv[2:]
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    srv.settimeout(TIMEOUT)
    conn, nconn, buf = None, 0, b""

    def fail(why):
        print("FAIL " + why, flush=True)
        sys.exit(1)

    def send(data):
        if conn is None:
            fail("send without a connection")
        conn.sendall(data)

    for step in steps:
        op, _, arg = step.partition(":")
        if op == "accept":
            if conn is not None:
                conn.close()
            try:
                conn, _ = srv.accept()
            except socket.timeout:
                fail("no connection")
            nconn += 1
            buf = b""
        elif op == "send":
            send(arg.encode() + b"\n")
        elif op == "hello":
            send(b'{"v":1,"type":"hello"}\n')
        elif op == "long":
            send(b"x" * int(arg) + b"\n")
        elif op == "junk":
            send(b'\x00\xff\xfe{"v":1,"type":\n]]]\n{"v":2,"type":"hello"}\n'
                 b'{"v":1,"type":"hello","v":"x"}\n{"v":1,"type":"bogus"}\n')
        elif op == "expect":
            deadline = time.monotonic() + TIMEOUT
            found = False
            while not found:
                while b"\n" not in buf:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        fail("timed out waiting for " + arg)
                    conn.settimeout(left)
                    try:
                        chunk = conn.recv(65536)
                    except socket.timeout:
                        fail("timed out waiting for " + arg)
                    if not chunk:
                        fail("EOF waiting for " + arg)
                    buf += chunk
                line, buf = buf.split(b"\n", 1)
                print("c%d %s" % (nconn, line.decode("utf-8", "replace")), flush=True)
                try:
                    found = json.loads(line).get("type") == arg
                except ValueError:
                    pass
        elif op == "touch":
            open(arg, "a").close()
        elif op == "write":
            name, _, text = arg.partition(":")
            with open(name + ".tmp", "w") as f:
                f.write(text)
            os.rename(name + ".tmp", name)
        elif op == "close":
            if conn is not None:
                conn.close()
            conn = None
        else:
            fail("unknown step " + step)
    if conn is not None:
        conn.close()
    srv.close()


if __name__ == "__main__":
    main()
