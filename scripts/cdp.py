"""A small Chrome DevTools Protocol client over Chromium's --remote-debugging-pipe (fds 3 and
4, messages of JSON ended by a NUL byte): no websocket library, only Debian's chromium and
python3. Used by the console's browser test (tests/serve/console_browser_test.py) and its
screenshots (scripts/console-screenshots.sh).

    with Browser() as b:
        b.navigate("http://127.0.0.1:8080/ui/#users?user=u1")
        b.wait_for("document.getElementById('page').dataset.ready")
        print(b.eval("document.title"), b.errors)
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


class Browser:
    def __init__(self, width=1280, height=900, chromium="chromium"):
        self._profile = tempfile.mkdtemp(prefix="nudge-cdp-")
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def pipes_as_3_and_4():
            os.dup2(cmd_r, 3)
            os.dup2(res_w, 4)
            # dup2 onto itself (a pipe that already was fd 3) keeps close-on-exec: clear it.
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [chromium, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--no-default-browser-check", "--remote-debugging-pipe", f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}", "about:blank"]
        if os.getuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to sandbox as root
        self._proc = subprocess.Popen(args, preexec_fn=pipes_as_3_and_4, close_fds=False,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(res_w)
        self._buffer = b""
        self._next_id = 0
        self._events = []
        self.errors = []  # console errors and uncaught exceptions of the page, as text
        self.network_errors = []  # requests answered with an error status
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(domain + ".enable", session=True)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=True)

    def _read_message(self, deadline):
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            ready, _, _ = select.select([self._res_r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                continue
            chunk = os.read(self._res_r, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed its pipe (exit status %s)" % self._proc.poll())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def _note(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            d = params["exceptionDetails"]
            self.errors.append("exception: " + d.get("exception", {}).get("description", d.get("text", "")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.errors.append("console.error: " + " ".join(str(a.get("value", a.get("description", "")))
                                                           for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            entry = params["entry"]
            # A failed request (an API answer of 404) is the network's, not a script error.
            (self.network_errors if entry.get("source") == "network" else self.errors).append(
                "log: " + entry.get("text", "") + " " + entry.get("url", ""))
        self._events.append(message)

    def send(self, method, params=None, session=False, timeout=30):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        os.write(self._cmd_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self._note(answer)

    def navigate(self, url, timeout=30):
        self._events.clear()
        self.send("Page.navigate", {"url": url}, session=True)
        deadline = time.monotonic() + timeout
        done = ("Page.loadEventFired", "Page.navigatedWithinDocument")  # a new document, or a new #fragment
        while not any(e.get("method") in done for e in self._events):
            self._note(self._read_message(deadline))

    def eval(self, expression, timeout=30):
        r = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True},
                      session=True, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails'].get('text')}")
        return r.get("result", {}).get("value")

    def wait_for(self, expression, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.eval(expression)
            except RuntimeError:  # the document is still loading (its elements are not there yet)
                value = None
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"waited {timeout} s for {expression}")

    def screenshot(self, path, full_page=True):
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.eval("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
        data = self.send("Page.captureScreenshot", params, session=True)["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 -- already gone
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        os.close(self._cmd_w)
        os.close(self._res_r)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
