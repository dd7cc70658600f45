"""Screenshot of the intervention panel for the README: austen-lstm's quote cell mean-ablated, the text
coloured by the change of surprisal, a closing quote's predictions before and after.

    python docs/interventions_screenshot.py [--model austen-lstm] [--unit 378] [--out docs/interventions.png]

Serves models/ on a free 127.0.0.1 port, opens the explorer in Debian's Chromium on a piece of
dialogue with layer 1 c and the unit selected, runs the panel's mean ablation, hovers the last
closing quote and saves the panel's top (the controls, the coloured copy and the hovered character).
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
    parser.add_argument("--unit", type=int, default=378)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "interventions.png")
    args = parser.parse_args()
    with served() as base:
        query = {"model": args.model, "layer": 1, "state": "c", "unit": args.unit, "text": EXAMPLE}
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(f"{base}/?{urllib.parse.urlencode(query)}")
            expect(page.locator("#coloured")).to_have_attribute("data-ready", "1", timeout=120_000)
            page.evaluate("document.querySelector('.controls').style.position = 'static'")  # not over the panel
            page.locator("#iv-run").click()
            expect(page.locator("#iv-effect")).to_have_attribute("data-ready", "1", timeout=120_000)
            page.locator("#iv-effect .ch").nth(EXAMPLE.rindex('"')).hover()
            expect(page.locator("#iv-detail")).to_contain_text("predicted before")
            panel = page.locator("#interventions-panel")
            box = panel.bounding_box()
            bottom = page.locator("#iv-detail").bounding_box()
            page.screenshot(path=str(args.out), clip={"x": box["x"], "y": box["y"], "width": box["width"],
                                                      "height": bottom["y"] + bottom["height"] - box["y"] + 8})
            browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
