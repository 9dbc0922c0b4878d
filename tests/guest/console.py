#!/usr/bin/env python3
"""Drive `muster console` as an operator would, for tests/guest/run.

    console.py TIMEOUT MUSTER ARGS...

Runs MUSTER ARGS (muster console FILE VM ...) on a pseudo-terminal, presses
Enter until the guest's getty answers with "login:" (its console as muster
shows it is written to stdout), then types ^] and waits for muster to end.
Exit 0 when the prompt came, muster detached on ^] with exit 0 and said so;
1 otherwise, saying why on stderr.
"""
import os
import pty
import select
import sys
import time


def main(argv):
    timeout = float(argv[1])
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(argv[2], argv[2:])
    seen = b""
    deadline = time.monotonic() + timeout
    next_enter = 0.0
    while b"login:" not in seen:
        now = time.monotonic()
        if now > deadline:
            sys.stderr.write("no login prompt within %ss; saw: %r\n" % (timeout, seen[-600:]))
            os.kill(pid, 9)
            return 1
        if now >= next_enter:
            os.write(fd, b"\r")
            next_enter = now + 5
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            seen += data
    os.write(fd, b"\x1d")
    end = time.monotonic() + 30
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                data = b""
            if not data:
                break
            seen += data
    done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, 9)
        sys.stderr.write("muster console did not end after ^]\n")
        return 1
    sys.stdout.write(seen.decode("utf-8", "replace"))
    if b"login:" not in seen or b"Detached from VM" not in seen or os.WEXITSTATUS(status) != 0:
        sys.stderr.write("exit %d; saw: %r\n" % (os.WEXITSTATUS(status), seen[-600:]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
