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
import shutil
import subprocess
import sys
import time


def threads(pid):
    """What each thread of pid waits in: the kernel's view, and gdb's when it is installed."""
    out = []
    try:
        for tid in sorted(os.listdir("/proc/%d/task" % pid), key=int):
            base = "/proc/%d/task/%s/" % (pid, tid)
            try:
                with open(base + "comm") as f:
                    comm = f.read().strip()
                with open(base + "wchan") as f:
                    wchan = f.read().strip()
                with open(base + "syscall") as f:
                    call = f.read().split()[0]
            except OSError:
                continue
            out.append("thread %s (%s): wchan %s, syscall %s" % (tid, comm, wchan, call))
    except OSError as e:
        out.append("no threads: %s" % e)
    if shutil.which("gdb"):
        r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        out += [l for l in r.stdout.decode("utf-8", "replace").splitlines() if l.startswith(("#", "Thread"))]
    return "\n".join(out) + "\n"


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
    # (the terminal's end comes when muster's files close, a moment before
    # the kernel makes it a zombie: waited for, within the same bound)
    done, status = os.waitpid(pid, os.WNOHANG)
    while not done and time.monotonic() < end:
        time.sleep(0.1)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        sys.stderr.write("muster console did not end after ^]; saw: %r\n" % seen[-600:])
        sys.stderr.write(threads(pid))
        os.kill(pid, 9)
        return 1
    sys.stdout.write(seen.decode("utf-8", "replace"))
    if b"login:" not in seen or b"Detached from VM" not in seen or os.WEXITSTATUS(status) != 0:
        sys.stderr.write("exit %d; saw: %r\n" % (os.WEXITSTATUS(status), seen[-600:]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
