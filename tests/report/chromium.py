"""Open a page in headless Chromium over the DevTools protocol (on a pipe, no network port):
collect what the page logs as errors and take a screenshot, or hold it open in a tab to run
script in it and move the mouse over it. For the report's browser test."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


class DevTools:
    """The browser's end of --remote-debugging-pipe: it reads fd 3 and writes fd 4, one JSON
    message each, ended by a NUL byte."""

    def __init__(self, binary: str, profile: str) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        args = [
            binary,
            "--headless",
            "--no-sandbox",  # tests may run as root in a container
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--window-size=1280,2400",
            "about:blank",
        ]

        def at_3_and_4() -> None:  # in the child, before exec: the pipe ends become fds 3, 4
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)  # out of 3 and 4's way
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)  # dup2's copies are inherited by exec, the pipes' own are not
            os.dup2(high_w, 4)

        self._proc = subprocess.Popen(
            args,
            preexec_fn=at_3_and_4,  # noqa: PLW1509
            close_fds=False,  # keep 3 and 4 (Python's own descriptors close on exec anyway)
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("CHROMIUM_LOG") else subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event
            self.events.append(self._read())
        raise TimeoutError(method)

    def _read(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.send("Browser.close")
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@dataclass
class PageView:
    errors: list[str]  # console errors, uncaught exceptions, failed loads
    screenshot: bytes  # PNG of the whole page, 1 px per CSS px
    images: list[dict]  # each <img>: alt, x, y, width, height (page px), loaded (decoded)


IMAGES_JS = """JSON.stringify([...document.images].map(i => { const r = i.getBoundingClientRect();
  return {alt: i.alt, x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height,
          loaded: i.complete && i.naturalWidth > 0}; }))"""


def open_pages(binary: str, pages: list[Path]) -> list[PageView]:
    """Load each local page in one headless browser, one fresh tab each, and wait for its load
    event; -> what each logged as errors, a screenshot, and where its images are."""
    with tempfile.TemporaryDirectory() as profile:
        tools = DevTools(binary, profile)
        try:
            return [_view(tools, page) for page in pages]
        finally:
            tools.close()


def _load(tools: DevTools, page: Path) -> tuple[str, str]:
    """`page` loaded in a new 1280 x 900 tab; returns the tab's target and session ids."""
    target = tools.send("Target.createTarget", url="about:blank")["targetId"]
    session = tools.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    tools.events.clear()
    for domain in ("Page", "Runtime", "Log"):
        tools.send(f"{domain}.enable", session)
    tools.send(
        "Emulation.setDeviceMetricsOverride",
        session,
        width=1280,
        height=900,
        deviceScaleFactor=1,
        mobile=False,
    )
    tools.send("Page.navigate", session, url=page.resolve().as_uri())
    tools.wait_for("Page.loadEventFired")
    return target, session


def _view(tools: DevTools, page: Path) -> PageView:
    target, session = _load(tools, page)
    size = tools.send("Page.getLayoutMetrics", session)["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = tools.send(
        "Page.captureScreenshot", session, format="png", captureBeyondViewport=True, clip=clip
    )
    found = tools.send("Runtime.evaluate", session, expression=IMAGES_JS, returnByValue=True)
    errors = [_error_text(e) for e in tools.events if _is_error(e)]
    tools.send("Target.closeTarget", targetId=target)
    return PageView(errors, base64.b64decode(shot["data"]), json.loads(found["result"]["value"]))


def _is_error(event: dict) -> bool:
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        return True
    if method == "Runtime.consoleAPICalled":
        return params.get("type") in ("error", "assert")
    if method == "Log.entryAdded":
        return params.get("entry", {}).get("level") == "error"
    return False


def _error_text(event: dict) -> str:
    params = event["params"]
    if event["method"] == "Runtime.exceptionThrown":
        return params["exceptionDetails"].get("text", "exception")
    if event["method"] == "Runtime.consoleAPICalled":
        return " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
    return params["entry"].get("text", "error")


class Tab:
    """One loaded page: evaluate script in it, and press, move and release the mouse on it."""

    def __init__(self, tools: DevTools, session: str) -> None:
        self.tools, self.session = tools, session

    def evaluate(self, expression: str):
        """The JSON value of `expression` (a promise is awaited)."""
        reply = self.tools.send(
            "Runtime.evaluate",
            self.session,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(reply["exceptionDetails"].get("text", "exception"))
        return reply["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 20.0):
        """Poll `expression` until it is truthy; -> its value."""
        deadline = time.monotonic() + timeout
        while (value := self.evaluate(expression)) in (None, False, 0, [], ""):
            if time.monotonic() > deadline:
                raise TimeoutError(expression)
            time.sleep(0.05)
        return value

    def mouse(self, kind: str, x: float, y: float, *, pressed: bool = False) -> None:
        """A mouse event at viewport pixel (x, y): kind mousePressed, mouseMoved or
        mouseReleased, with the left button (held while moving if `pressed`)."""
        self.tools.send(
            "Input.dispatchMouseEvent",
            self.session,
            type=kind,
            x=x,
            y=y,
            button="left" if pressed or kind != "mouseMoved" else "none",
            buttons=1 if pressed or kind == "mousePressed" else 0,
            clickCount=1,
        )

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
        self.mouse("mousePressed", *start)
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i / steps
            y = start[1] + (end[1] - start[1]) * i / steps
            self.mouse("mouseMoved", x, y, pressed=True)
        self.mouse("mouseReleased", *end)

    @property
    def errors(self) -> list[str]:
        return [_error_text(e) for e in self.tools.events if _is_error(e)]


@contextlib.contextmanager
def open_tab(binary: str, page: Path) -> Iterator[Tab]:
    """`page` loaded in a fresh headless browser's tab (1280 x 900), held open meanwhile."""
    with tempfile.TemporaryDirectory() as profile:
        tools = DevTools(binary, profile)
        try:
            yield Tab(tools, _load(tools, page)[1])
        finally:
            tools.close()
