"""Screenshot of the explorer for the README: the best unit of a hypothesis on an example text.

    python docs/screenshot.py [--model austen-lstm] [--hypothesis inside_double_quotes] [--out docs/explorer.png]

Serves models/ on a free 127.0.0.1 port, opens the explorer in Debian's Chromium at the
unit that models/<model>/cells.json ranks first for the hypothesis, and saves a 1280x800 shot.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ('"I am sure," said Elizabeth, "that he will not come; and if he does, I shall\n'
           'not be sorry." Mrs. Bennet was silent, and the sisters walked on together.\n'
           '"You are very good," replied Jane, "but you must not expect it."\n')


BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served() -> Iterator[str]:
    """Serves models/ on a free 127.0.0.1 port (no match warm-up) until the block ends; yields the base URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port",
                               str(port), "--log-level", "warning"], cwd=ROOT,
                              env={**os.environ, "CELLX_MATCH_WARM_UP": "false"})
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def launch(playwright):
    """Debian's Chromium, headless: never a downloaded browser."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="austen-lstm")
    parser.add_argument("--hypothesis", default="inside_double_quotes")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "explorer.png")
    args = parser.parse_args()
    cells = json.loads((ROOT / "models" / args.model / "cells.json").read_text())["cells"]
    best = next(c for c in cells if c["hypothesis"] == args.hypothesis)
    with served() as base:
        query = urllib.parse.urlencode({"model": args.model, "layer": best["layer"], "state": best["state"],
                                        "unit": best["unit"], "text": EXAMPLE})
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/?{query}")
            expect(page.locator("#coloured")).to_have_attribute("data-ready", "1", timeout=120_000)
            page.wait_for_timeout(1500)  # let the charts and the cells panel settle
            page.screenshot(path=str(args.out))
            browser.close()
        print(f"{args.out}: {args.model} layer {best['layer']} {best['state']} unit {best['unit']} "
              f"({best['metric']} {best['score']:.3f} for {args.hypothesis})")


if __name__ == "__main__":
    main()
