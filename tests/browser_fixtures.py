"""Shared pieces of the browser tests (tests/test_browser*.py): Chromium, a served app, a watched page.

Each test module builds its own models directory and serves it with `serve_app`; every test
opens a fresh page through the `watched` fixture. Screenshots go to test-artifacts/ (gitignored).
Importing this module skips the importing test module when Debian's Chromium is missing.
"""
from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)

import torch  # noqa: E402
import uvicorn  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from app.engine.model import CharRNN, ModelConfig  # noqa: E402
from app.engine.vocab import Vocabulary  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
TIMEOUT_MS = 20_000  # generous: the machine is shared with training jobs
WHITE = "rgb(255, 255, 255)"
expect.set_options(timeout=TIMEOUT_MS)


def make_browser_model(arch: str, vocab: Vocabulary, layers: int, hidden: int, seed: int) -> CharRNN:
    torch.manual_seed(seed)
    model = CharRNN(ModelConfig(vocab_size=vocab.size, arch=arch, n_layers=layers, hidden_size=hidden))
    with torch.no_grad():  # larger than the default init, so the colours are clearly visible
        for p in model.parameters():
            p.mul_(4.0)
    return model.eval()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(settings: Settings) -> Iterator[str]:
    """Serves the app on a free local port in a thread; yields its base URL (use with `yield from`)."""
    app = create_app(settings)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watched:
    """A page plus what it reported: console errors, uncaught exceptions, dialogs, stream requests."""

    def __init__(self, page: Page):
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.stream_requests = 0
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("dialog", self._dialog)
        page.on("request", self._request)
        # CSP violations (an inline script, eval, ...) are also recorded in the page itself
        page.add_init_script("window.__csp = [];"
                             "document.addEventListener('securitypolicyviolation',"
                             " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));")

    def _console(self, message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        status = re.match(r"Failed to load resource: the server responded with a status of (\d+)", message.text)
        if status:  # Chromium logs every 4xx/5xx fetch; keep the URL so the test can tell which
            self.errors.append(f"{message.text} ({url})")
        else:
            self.errors.append(message.text)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _request(self, request):
        if request.url.endswith("/api/activations/stream"):
            self.stream_requests += 1

    def csp_violations(self) -> list[str]:
        return self.page.evaluate("window.__csp")


@pytest.fixture
def watched(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield Watched(page)
    context.close()


def open_page(w: Watched, base: str, query: str = "") -> Page:
    w.page.goto(base + "/" + query)
    wait_coloured(w.page)
    return w.page


def wait_coloured(page: Page, unit: int | None = None) -> None:
    expect(page.locator("#coloured")).to_have_attribute("data-ready", "1", timeout=TIMEOUT_MS)
    if unit is not None:
        expect(page.locator("#coloured")).to_have_attribute("data-unit", str(unit))


def type_text(page: Page, text: str) -> None:
    page.locator("#text").fill(text)
    expect(page.locator("#coloured .ch")).to_have_count(len(text), timeout=TIMEOUT_MS)
    wait_coloured(page)


def backgrounds(page: Page, selector: str = "#coloured .ch") -> list[str]:
    return page.locator(selector).evaluate_all("spans => spans.map(s => s.style.backgroundColor)")
