"""The reports in a real browser: headless Chromium with the network off.

Chromium is driven through its DevTools protocol (websocket-client). Where no
Chromium is installed the test is skipped and says why; .ci/run installs Debian's.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import ROOT

from d8lib.ops import runner

pytestmark = pytest.mark.slow
ARTEFACTS = ROOT / "outputs" / "test-artefacts"
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)

GLYPHS = """(() => {
  const font = getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement('canvas'); canvas.width = 40; canvas.height = 40;
  const ctx = canvas.getContext('2d'); ctx.font = '28px ' + font; ctx.textBaseline = 'top';
  const draw = (ch) => { ctx.clearRect(0, 0, 40, 40); ctx.fillText(ch, 4, 4);
                         return Array.from(ctx.getImageData(0, 0, 40, 40).data).join(','); };
  const tofu = draw('\\u0378');
  return Array.from('ạắằẳẵặđươệỹ').filter(ch => draw(ch) === tofu);
})()"""


class Browser:
    """A headless Chromium with no network, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path):
        import websocket

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--proxy-server=127.0.0.1:9",
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--allow-file-access-from-files",
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = profile / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10))
        page = next(t for t in targets if t["type"] == "page")
        # Chromium refuses a DevTools socket that names an origin it was not told to allow.
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.counter, self.events = 0, []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params):
        self.counter += 1
        self.socket.send(json.dumps({"id": self.counter, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.counter:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message.get("result", {})
            self.events.append(message)

    def open(self, page: Path) -> list[dict]:
        self.events = []
        self.call("Page.navigate", url=page.as_uri())
        deadline = time.time() + 30
        while time.time() < deadline and not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(json.loads(self.socket.recv()))
        self.call("Runtime.evaluate", expression="new Promise(r => setTimeout(r, 300))", awaitPromise=True)
        return self.events

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"]["value"]

    def close(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium); .ci/run installs it")
    result = runner.run(
        "midterm", units="province,Sa Pa", jobs=2, out_dir=tmp_path_factory.mktemp("out"), progress=False
    )
    assert result.ok
    return sorted(result.run_dir.glob("[0-9]*.html"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (apt-get install chromium); .ci/run installs it")
    chromium = Browser(tmp_path_factory.mktemp("profile"))
    yield chromium
    chromium.close()


def test_reports_load_offline_with_every_chart_drawn_and_vietnamese_rendered(reports, browser):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    assert len(reports) == 2
    for page in reports:
        events = browser.open(page)
        failed = [e["params"] for e in events if e.get("method") == "Network.loadingFailed"]
        errors = [
            e["params"]
            for e in events
            if e.get("method") in ("Runtime.exceptionThrown",)
            or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
            or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error")
        ]
        assert failed == [] and errors == [], (page.name, failed, errors)
        images = browser.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
        assert len(images) >= 4 and all(done and width > 0 and alt for done, width, alt in images), page.name
        assert browser.evaluate("document.documentElement.lang") == "vi"
        assert "Tiến độ thực hiện các chỉ tiêu" in browser.evaluate("document.body.innerText")
        assert browser.evaluate(GLYPHS) == [], "Vietnamese letters drawn as missing glyphs"
        shot = browser.call("Page.captureScreenshot", format="png")
        (ARTEFACTS / f"{page.stem}.png").write_bytes(base64.b64decode(shot["data"]))
        pdf = browser.call("Page.printToPDF", printBackground=True)
        printed = base64.b64decode(pdf["data"])
        assert printed.startswith(b"%PDF") and printed.count(b"/Type /Page") >= 3
        (ARTEFACTS / f"{page.stem}.pdf").write_bytes(printed)


def test_the_print_stylesheet_keeps_rows_and_figures_whole_on_a4(reports, browser):
    """On paper a long table flows over pages with its header repeated, never splitting a
    row; a chart and a heading's first lines stay together."""
    browser.open(reports[0])
    browser.call("Emulation.setEmulatedMedia", media="print")

    def style(selector: str, name: str) -> str:
        return browser.evaluate(f"getComputedStyle(document.querySelector('{selector}')).{name}")

    assert style("table.d8-table tbody tr", "breakInside") == "avoid"
    assert style("table.d8-table thead", "display") == "table-header-group"
    assert style("figure.d8-figure", "breakInside") == "avoid"
    assert style("h2", "breakAfter") == "avoid"
    browser.call("Emulation.setEmulatedMedia", media="")
