"""tests/page/cdp.py: headless Chromium driven over the DevTools protocol
through --remote-debugging-pipe (Python's standard library only, no npm):
the browser reads commands from its fd 3 and writes answers and events
to its fd 4, each a JSON object ended by a NUL byte.

    b = Browser(profile_dir)
    tab = b.new_tab()
    tab.goto("http://127.0.0.1:8080/")
    tab.eval("document.title")
    tab.screenshot("page.png")
    b.close()

Everything has a deadline: a browser that stops answering is an error,
never a hang.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import time


class CDPError(Exception):
    pass


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, profile_dir, binary=None, width=1280, height=900, log=None):
        binary = binary or find_chromium()
        if not binary:
            raise CDPError("chromium is not installed (make deps)")
        cmd_r, cmd_w = os.pipe()      # we write commands, it reads fd 3
        ans_r, ans_w = os.pipe()      # it writes fd 4, we read answers
        # (away from 3 and 4, so that the child's dup2 cannot clobber one with the other)
        cmd_r2, ans_w2 = fcntl_dup(cmd_r), fcntl_dup(ans_w)
        os.close(cmd_r)
        os.close(ans_w)

        def child():
            os.dup2(cmd_r2, 3)
            os.dup2(ans_w2, 4)

        args = [binary, "--headless", "--remote-debugging-pipe", "--no-sandbox",
                "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--hide-scrollbars", "--mute-audio",
                "--user-data-dir=" + profile_dir, "--window-size=%d,%d" % (width, height),
                "about:blank"]
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=self.log, preexec_fn=child, close_fds=False)
        os.close(cmd_r2)
        os.close(ans_w2)
        self.w = cmd_w
        self.r = ans_r
        self.buf = b""
        self.next_id = 0
        self.events = []        # (sessionId, method, params), in arrival order
        self.width, self.height = width, height
        self.call("Browser.getVersion", timeout=30)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.w, data)
            data = data[n:]
        return self.next_id

    def _read_one(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("the browser did not answer in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise CDPError("the browser closed its pipe (exit %s)" % self.proc.poll())
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=20):
        want = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_one(deadline)
            if msg.get("id") == want:
                if "error" in msg:
                    raise CDPError("%s: %s" % (method, msg["error"].get("message")))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append((msg.get("sessionId"), msg["method"], msg.get("params", {})))

    def pump(self, seconds):
        """Read events for a while (without a command)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                msg = self._read_one(deadline)
                if "method" in msg:
                    self.events.append((msg.get("sessionId"), msg["method"], msg.get("params", {})))
        except CDPError as e:
            if "in time" not in str(e):
                raise

    def new_tab(self):
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return Tab(self, session)

    def close(self):
        try:
            self.send("Browser.close")
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.log is not subprocess.DEVNULL:
            self.log.close()


def fcntl_dup(fd):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC if hasattr(fcntl, "F_DUPFD_CLOEXEC") else fcntl.F_DUPFD, 10)


class Tab:
    def __init__(self, browser, session):
        self.b = browser
        self.s = session
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": browser.width, "height": browser.height, "deviceScaleFactor": 1,
                   "mobile": False})

    def call(self, method, params=None, timeout=20):
        return self.b.call(method, params, self.s, timeout)

    def events(self, method=None):
        return [p for s, m, p in self.b.events if s == self.s and (method is None or m == method)]

    def _wait_event(self, method, since, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, (s, m, p) in enumerate(self.b.events[since:], since):
                if s == self.s and m == method:
                    return p
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("no %s within %s s" % (method, timeout))
            self.b.pump(min(left, 0.2))

    def goto(self, url, timeout=30):
        since = len(self.b.events)
        res = self.call("Page.navigate", {"url": url})
        if res.get("errorText"):
            raise CDPError("navigating to %s: %s" % (url, res["errorText"]))
        self._wait_event("Page.loadEventFired", since, timeout)

    def reload(self, timeout=30):
        since = len(self.b.events)
        self.call("Page.reload", {})
        self._wait_event("Page.loadEventFired", since, timeout)

    def eval(self, expr, timeout=20):
        res = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                             "awaitPromise": True}, timeout)
        if "exceptionDetails" in res:
            raise CDPError("evaluating %r: %s" % (expr[:80], res["exceptionDetails"]))
        return res["result"].get("value")

    def wait_for(self, expr, timeout=15):
        """Until expr (JavaScript) is true; its last value."""
        deadline = time.monotonic() + timeout
        while True:
            v = self.eval(expr)
            if v or time.monotonic() > deadline:
                return v
            self.b.pump(0.2)

    def screenshot(self, path, full_page=True):
        params = {"format": "png"}
        if full_page:
            m = self.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": max(size["width"], 1),
                              "height": min(max(size["height"], 1), 16000), "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params, timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
