"""The /docs page in a real browser (headless Chromium from Debian, `scripts/setup-chromium.sh`):
it renders every operation of /openapi.json, and its "Try it" form calls the API.

Two ways of driving Chromium: `--dump-dom` for the rendered page, and the DevTools protocol
over a WebSocket (the `websocket-client` package) to click like a person and read the result.
Only 127.0.0.1 is contacted; every browser process is stopped at the end of its test."""
import base64
import contextlib
import json
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest
import requests
import websocket

CHROMIUM = pathlib.Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")

# Flags that keep headless Chromium from reaching anything but the page under test.
QUIET_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--window-size=1280,900",
]


@pytest.fixture(scope="session")
def chromium() -> pathlib.Path:
    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: run scripts/setup-chromium.sh"
    return CHROMIUM


@pytest.fixture(scope="session")
def operations(server_url) -> list[tuple[str, str]]:
    document = requests.get(f"{server_url}/openapi.json", timeout=10).json()
    return [(method, path) for path, item in document["paths"].items() for method in item]


def test_every_operation_is_rendered(server_url, chromium, operations, tmp_path):
    # Virtual time runs the page's scripts and its fetch of /openapi.json before the dump.
    process = subprocess.Popen(
        [str(chromium), *QUIET_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=10000", "--dump-dom", f"{server_url}/docs"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        dom, errors = process.communicate(timeout=90)
    finally:
        stop_group(process)
    assert process.returncode == 0, errors[-2000:]
    assert 'data-ready="true"' in dom, f"the page did not finish rendering:\n{dom[:3000]}"
    rendered = re.findall(r'<article class="operation"[^>]*data-method="(\w+)" data-path="([^"]+)"', dom)
    assert len(rendered) >= 20
    assert sorted(rendered) == sorted(operations)
    for path in ["/predict/{model}", "/v2/models/{name}/infer", "/v1/models/{name}:predict", "/health"]:
        assert f">{path}</code>" in dom, f"{path} is not shown"
    # The groups and the schema list are there too.
    assert ">KServe V2</h2>" in dom and ">Schemas</h2>" in dom


class DevTools:
    """A minimal Chrome DevTools protocol client: commands, and the events seen meanwhile."""

    def __init__(self, ws_url: str):
        # Chromium refuses DevTools connections that carry an Origin it was not told about.
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.last_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params):
        self.last_id += 1
        self.ws.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.last_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, f"{expression}: {result['exceptionDetails']}"
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"still false after {timeout} s: {expression}")

    def click(self, selector: str):
        """Clicks the middle of the element as a mouse would (it must be visible to be hit)."""
        box = self.evaluate(
            f"""(() => {{
                const e = document.querySelector({json.dumps(selector)});
                if (!e) return null;
                e.scrollIntoView({{block: 'center'}});
                const r = e.getBoundingClientRect();
                return {{x: r.x + r.width / 2, y: r.y + r.height / 2, w: r.width, h: r.height}};
            }})()"""
        )
        assert box and box["w"] > 0 and box["h"] > 0, f"{selector} is not visible"
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"]:
            self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    def errors(self) -> list[str]:
        """Uncaught exceptions and console errors (a blocked request shows up here too)."""
        out = []
        for event in self.events:
            if event.get("method") == "Runtime.exceptionThrown":
                out.append(event["params"]["exceptionDetails"].get("text", "exception"))
            if event.get("method") == "Log.entryAdded" and event["params"]["entry"]["level"] == "error":
                out.append(event["params"]["entry"]["text"])
        return out


@contextlib.contextmanager
def browser(chromium: pathlib.Path, profile: pathlib.Path):
    """Headless Chromium with the DevTools protocol on a free loopback port; yields a client
    for its page."""
    process = subprocess.Popen(
        [str(chromium), *QUIET_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # Its own process group, so that its helper processes are stopped with it.
        start_new_session=True,
    )
    devtools = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert process.poll() is None, f"chromium exited with {process.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port within 60 s"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(t for t in targets if t["type"] == "page")
        devtools = DevTools(page["webSocketDebuggerUrl"])
        for domain in ["Page", "Runtime", "Log"]:
            devtools.call(f"{domain}.enable")
        yield devtools
    finally:
        if devtools:
            devtools.ws.close()
        stop_group(process)


def stop_group(process: subprocess.Popen):
    """SIGTERM to the browser's process group, SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_try_it_sends_a_request_and_shows_the_answer(server_url, chromium, tmp_path):
    with browser(chromium, tmp_path / "profile") as page:
        page.call("Page.navigate", url=f"{server_url}/docs")
        page.wait_for("document.body?.dataset.ready === 'true'")

        page.click("#op-health > details > summary")
        # The body of an operation is built when it is first opened.
        page.wait_for("!!document.querySelector('#op-health button.send')")
        page.click("#op-health button.send")
        status = page.wait_for("document.querySelector('#op-health .result')?.dataset.status")
        assert status == "200"
        shown = page.evaluate("document.querySelector('#op-health .result').innerText")
        assert "200 OK" in shown
        assert '"status": "healthy"' in shown
        assert "content-type: application/json" in page.evaluate(
            "document.querySelector('#op-health .result .headers pre').textContent")

        # A POST with the prefilled example body, sent from the keyboard.
        page.click("#op-predict > details > summary")
        page.wait_for("!!document.querySelector('#op-predict textarea')")
        page.evaluate("document.querySelector('#op-predict textarea').focus()")
        for kind in ["rawKeyDown", "keyUp"]:
            page.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, modifiers=2)  # 2 = Ctrl
        assert page.wait_for("document.querySelector('#op-predict .result')?.dataset.status") == "200"
        assert '"prediction": "setosa"' in page.evaluate("document.querySelector('#op-predict .result').innerText")

        # The filter keeps the operations whose method, path, summary or group match.
        page.evaluate("""(() => { const f = document.getElementById('filter');
            f.value = 'post infer'; f.dispatchEvent(new Event('input')); })()""")
        visible = page.evaluate(
            "[...document.querySelectorAll('article.operation:not([hidden])')].map(a => a.dataset.path)")
        assert visible == ["/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer"]

        screenshot = page.call("Page.captureScreenshot", format="png")["data"]
        (tmp_path / "docs.png").write_bytes(base64.b64decode(screenshot))
        assert page.errors() == []
