#!/usr/bin/env python3
"""A small HTTP server for tests/unit/test_fetch.c: serves the files of one
directory on 127.0.0.1 and misbehaves on request.

    server.py [--log FILE] [--lifeline] DIR

Binds an ephemeral port on 127.0.0.1 only and prints it on stdout, alone on
a line, once it accepts connections. Every request is appended to FILE (and
flushed before the answer is sent), one line each, tab-separated:

    METHOD  TARGET  RANGE-or-"-"  AUTHORIZATION-or-"-"

TARGET is the request target as sent (absolute when the client came through
a proxy). With --lifeline the server exits when its stdin reaches EOF, so a
test that dies does not leave it running.

Files are served by the last component of the URL path (no dotfile but
.treeinfo, for install trees), with Range support
(one "bytes=A-" or "bytes=A-B" range: 206 and Content-Range; past the end:
416). The query string chooses a misbehaviour:

    status=N     answer N (e.g. 404, 500) with a short body
    redirect=U   302 to U (relative, http://..., or ftp://... to be refused)
    redirect_scheme=S
                 302 to S://anon:hunter2@127.0.0.1:PORT/PATH (credentials
                 in the target, none in the URL asked for)
    loop=1       302 to this same URL, forever
    norange=1    ignore Range: 200 and the whole file
    cut=N        send N bytes of the body, then close the connection
    stall=N      send N bytes of the body, then send nothing for 60 s
    wrong=1      one byte in the middle of the file flipped
    huge=1       claim a Content-Length of 64 GiB + 1
    slow=1       64 KiB every 20 ms
    once=1       misbehave only on the first request for this exact URL
"""
import http.server
import os
import socket
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024


class State:
    def __init__(self, root, log_path):
        self.root = root
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None
        self.lock = threading.Lock()
        self.seen = {}

    def record(self, method, target, rng, auth):
        with self.lock:
            self.seen[target] = self.seen.get(target, 0) + 1
            if self.log:
                self.log.write("\t".join((method, target, rng, auth)) + "\n")
                self.log.flush()
            return self.seen[target]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "muster-test"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_HEAD(self):
        self.answer(head=True)

    def do_GET(self):
        self.answer(head=False)

    def plain(self, code, text, extra=()):
        body = (text + "\n").encode()
        self.send_response(code)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer(self, head):
        st = self.server.state
        count = st.record(self.command, self.path,
                          self.headers.get("Range", "-"),
                          self.headers.get("Authorization", "-"))
        split = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(split.query))
        if q.get("once") == "1" and count > 1:
            q = {}
        try:
            self.serve(st, split, q, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def serve(self, st, split, q, head):
        if "status" in q:
            code = int(q["status"])
            self.plain(code, "status %d as asked" % code)
            return
        if "redirect" in q:
            self.plain(302, "moved", [("Location", q["redirect"])])
            return
        if "redirect_scheme" in q:
            target = "%s://anon:hunter2@127.0.0.1:%d%s" % (
                q["redirect_scheme"], self.server.server_address[1], split.path)
            self.plain(302, "moved", [("Location", target)])
            return
        if q.get("loop") == "1":
            self.plain(302, "again", [("Location", self.path)])
            return
        name = os.path.basename(urllib.parse.unquote(split.path))
        path = os.path.join(st.root, name)
        if not name or (name.startswith(".") and name != ".treeinfo") or not os.path.isfile(path):
            self.plain(404, "no such file")
            return
        size = os.path.getsize(path)
        if q.get("huge") == "1":
            self.send_response(200)
            self.send_header("Content-Length", str((64 << 30) + 1))
            self.end_headers()
            self.wfile.write(b"\0" * CHUNK)
            self.close_connection = True
            return
        start, end, partial = 0, size, False
        rng = self.headers.get("Range")
        if rng and q.get("norange") != "1":
            spec = rng.strip()
            if spec.startswith("bytes=") and "," not in spec:
                a, _, b = spec[6:].partition("-")
                if a.isdigit() and (b == "" or b.isdigit()):
                    start = int(a)
                    if start >= size:
                        self.plain(416, "range not satisfiable",
                                   [("Content-Range", "bytes */%d" % size)])
                        return
                    end = min(size, int(b) + 1) if b else size
                    partial = True
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start))
        if q.get("norange") != "1":
            self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range",
                             "bytes %d-%d/%d" % (start, end - 1, size))
        self.end_headers()
        if head:
            return
        with open(path, "rb") as f:
            if not any(k in q for k in ("cut", "stall", "wrong", "slow")):
                self.connection.sendfile(f, start, end - start)
                return
            self.send_slowly(f, q, start, end, size)

    def send_slowly(self, f, q, start, end, size):
        limit = end - start
        for k in ("cut", "stall"):
            if k in q:
                limit = min(limit, int(q[k]))
        flip = size // 2 if q.get("wrong") == "1" else -1
        pos = start
        f.seek(start)
        while pos < start + limit:
            data = bytearray(f.read(min(CHUNK, start + limit - pos)))
            if not data:
                break
            if pos <= flip < pos + len(data):
                data[flip - pos] ^= 0xFF
            self.wfile.write(data)
            pos += len(data)
            if q.get("slow") == "1":
                time.sleep(0.02)
        if pos == end:
            return
        if "stall" in q:
            time.sleep(60)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main(argv):
    log_path, lifeline, rest = None, False, []
    it = iter(argv[1:])
    for a in it:
        if a == "--log":
            log_path = next(it)
        elif a == "--lifeline":
            lifeline = True
        else:
            rest.append(a)
    if len(rest) != 1 or not os.path.isdir(rest[0]):
        sys.stderr.write("usage: server.py [--log FILE] [--lifeline] DIR\n")
        return 2
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(rest[0], log_path)
    if lifeline:
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)
        threading.Thread(target=watch, daemon=True).start()
    print(server.server_address[1], flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
