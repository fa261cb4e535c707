"""Headless Chromium driven over the DevTools pipe: load a report page with the network off and see what it shows
(console errors, requests, charts and their drawn elements, the page's text), and take a screenshot."""

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# headless, and no way out: a proxy that refuses and a resolver that finds nothing, besides DevTools' offline mode
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update", "--disable-extensions",
    "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1000,900",
]  # fmt: skip
REPORT_SECTIONS = (
    "Descriptive", "Diagnostic", "Predictive", "Prescriptive", "Cognitive", "Diurnal rhythm", "Repetitiveness",
    "Low-valence persistence", "Favourites", "Late-night listening", "Against my own baseline", "Year in review",
    "Provenance",
)  # fmt: skip


def require_chromium() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Headless Chromium is missing: install Debian's chromium package (as root: make chromium)")


class Browser:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile: Path, flags: list[str] = CHROMIUM_FLAGS) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_pipes() -> None:
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *flags, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            preexec_fn=wire_pipes,
            close_fds=False,  # the pipe ends are non-inheritable; only fds 3 and 4 reach Chromium
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read()
            if reply.get("id") == self._next_id:
                assert "error" not in reply, f"{method}: {reply['error']}"
                return reply.get("result", {})
            self.events.append(reply)
        raise TimeoutError(method)

    def attach_page(self) -> str:
        """Attach to the blank page Chromium opened, with the Runtime, Log, Network and Page events on; returns the
        session id the page's commands go to."""
        target = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        session = self.send("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable", session=session)
        return session

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(event.get("method") == method for event in self.events):
                return next(event for event in self.events if event.get("method") == method)
            self.events.append(self._read())
        raise TimeoutError(method)

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


CHART_PROBE = """JSON.stringify([...document.querySelectorAll('svg[data-chart]')].map(svg => ({
  name: svg.dataset.chart,
  drawn: svg.querySelectorAll('rect,circle,path,line,polyline,text').length,
  width: svg.getBoundingClientRect().width, height: svg.getBoundingClientRect().height})))"""


def inspect_page(path: Path, profile: Path, screenshot: Path, height: int | None = None) -> dict[str, Any]:
    """Load ``path`` with the network offline; return console errors, requests, charts and page text. The
    screenshot shows the whole page, or its top ``height`` pixels."""
    browser = Browser(profile)
    try:
        session = browser.attach_page()
        browser.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            session=session,
        )
        browser.events.clear()
        browser.send("Page.navigate", {"url": path.as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        charts = json.loads(
            browser.send("Runtime.evaluate", {"expression": CHART_PROBE}, session=session)["result"]["value"]
        )
        text = browser.send("Runtime.evaluate", {"expression": "document.body.innerText"}, session=session)
        size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
        shot = browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True,
             "clip": {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], height or size["height"]),
                      "scale": 1}},
            session=session,
        )  # fmt: skip
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        events = list(browser.events)
    finally:
        browser.close()
    return {
        "errors": [
            event["params"]
            for event in events
            if event.get("method") == "Runtime.exceptionThrown"
            or (event.get("method") == "Runtime.consoleAPICalled" and event["params"]["type"] in ("error", "assert"))
            or (event.get("method") == "Log.entryAdded" and event["params"]["entry"]["level"] == "error")
        ],
        "requests": [e["params"]["request"]["url"] for e in events if e.get("method") == "Network.requestWillBeSent"],
        "charts": charts,
        "text": text["result"]["value"],
    }
