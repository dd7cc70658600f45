"""Screenshots of the attribution panel for the README: a closing quote's prediction explained, and the
memory-reach chart of the shipped models.

    python docs/attribution_screenshot.py [--model austen-lstm] [--out docs/attribution.png]
        [--chart-out docs/memory-reach.png]

Serves models/ on a free 127.0.0.1 port, opens the explorer in Debian's Chromium with a piece of
dialogue, clicks the character before its last closing quote, and saves the panel; then opens the
memory-reach box and saves the chart.
"""
from __future__ import annotations

import argparse
import sys
import urllib.parse
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from docs.screenshot import EXAMPLE, launch, served  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="austen-lstm")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "attribution.png")
    parser.add_argument("--chart-out", type=Path, default=ROOT / "docs" / "memory-reach.png")
    args = parser.parse_args()
    with served() as base:
        closing = EXAMPLE.rindex('"')
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{base}/?{urllib.parse.urlencode({'model': args.model, 'text': EXAMPLE})}")
            expect(page.locator("#coloured")).to_have_attribute("data-ready", "1", timeout=120_000)
            page.locator("#coloured .ch").nth(closing - 1).click()
            expect(page.locator("#attr-occlusion")).to_have_attribute("data-ready", "1", timeout=120_000)
            page.mouse.move(0, 0)
            page.keyboard.press("Escape")  # the character box off the shot
            page.evaluate("document.querySelector('.controls').style.position = 'static'")  # not over the panel
            panel = page.locator("#attribution-panel")
            panel.locator("#memory-details summary").click()
            expect(page.locator("#memory-chart")).to_have_attribute("data-ready", "1", timeout=60_000)
            page.wait_for_timeout(1000)
            panel.locator(".attr-memory").screenshot(path=str(args.chart_out))
            panel.locator("#memory-details summary").click()  # closed again for the panel's shot
            page.wait_for_timeout(300)
            panel.screenshot(path=str(args.out))
            browser.close()
        print(f"{args.out}, {args.chart_out}: {args.model}, the prediction of the closing quote at {closing}")


if __name__ == "__main__":
    main()
