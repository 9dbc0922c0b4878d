#!/usr/bin/env python3
"""A stand-in for QEMU and the guests' agents, for tests/apply/run.

    fakeguest.py STATE FLEET DIR VM:MODE...

For each VM binds DIR/<FLEET>-<VM>.agent (where MUSTER_TEST_CHANNEL_DIR puts
the channel) and, when muster connects and says hello, answers as the agent
would. MODE: "good" reports ready with the fingerprints of the host keys
muster made (read with ssh-keygen from STATE/keys/FLEET/VM), "badkey" with a
wrong fingerprint (and addresses of which two are not addresses), "silent"
says nothing. Prints "listening" when bound;
exits when its stdin closes.
"""
import os
import socket
import subprocess
import sys
import threading


def fingerprints(state, fleet, vm):
    out = []
    d = os.path.join(state, "keys", fleet, vm)
    for f in sorted(os.listdir(d)):
        if f.endswith(".pub"):
            r = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", os.path.join(d, f)],
                               capture_output=True, text=True, check=True)
            out.append(r.stdout.split()[1])
    return out


def serve(sock, state, fleet, vm, mode):
    while True:
        conn, _ = sock.accept()
        f = conn.makefile("rwb")
        if not f.readline():            # the host's hello
            continue
        if mode == "silent":
            continue
        keys = fingerprints(state, fleet, vm)
        addrs = '"10.20.0.9/24","fd00:0:0::9/64","10.20.0.9/24"'
        if mode == "badkey":
            keys = ["SHA256:" + "A" * 43]
            addrs = '"<script>x</script>","10.20.0.7/24","10.20.0.300/24","\\u001b[31mred"'
        lines = [
            '{"v":1,"type":"hello","agent":"0.1.0","boot_id":"b-%s"}' % vm,
            '{"v":1,"type":"phase","phase":"network","addrs":[%s]}' % addrs,
            '{"v":1,"type":"ready","uptime_ms":1234,"hostkeys":[%s]}'
            % ",".join('"%s"' % k for k in keys),
        ]
        try:
            f.write(("\n".join(lines) + "\n").encode())
            f.flush()
        except OSError:
            pass


def main(argv):
    state, fleet, d = argv[1], argv[2], argv[3]
    for spec in argv[4:]:
        vm, mode = spec.split(":")
        path = os.path.join(d, "%s-%s.agent" % (fleet, vm))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(4)
        threading.Thread(target=serve, args=(s, state, fleet, vm, mode), daemon=True).start()
    print("listening", flush=True)
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
