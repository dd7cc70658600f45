"""Accessibility in a real browser: an axe-core audit (axe-playwright-python bundles axe) of the explorer
with the found-cells panel open, and the page used with the keyboard alone.

Serves the same two tiny models as tests/test_browser_cells.py: one with a stored cell analysis,
one without.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.settings import Settings
from tests.browser_fixtures import browser, watched  # noqa: F401  (fixtures)
from tests.browser_fixtures import ARTIFACTS, open_page, serve_app, wait_coloured
from tests.test_browser_cells import ANALYSED, build_models

axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="the audit needs the axe-playwright-python test dependency")
BLOCKING = {"serious", "critical"}
# label-content-name-mismatch is one of axe's experimental rules, off unless asked for: the audit that
# found the found-cell rows' names differing from their visible text had it on
AXE_OPTIONS = {"resultTypes": ["violations"], "rules": {"label-content-name-mismatch": {"enabled": True}}}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    root = build_models(tmp_path_factory.mktemp("a11y-models"))
    yield from serve_app(Settings(models_dir=root, max_text_length=3000))


def open_everything(page) -> None:
    """The cells panel with a selected row, a group's hidden rows, the folded hypotheses and the model card open."""
    expect(page.locator("#cells-panel")).to_have_attribute("data-state", "ready")
    row = page.locator("#cells-list a.cell-row:not(.current)").first
    unit = row.get_attribute("data-unit")
    row.click()
    wait_coloured(page, unit=int(unit))
    expect(page.locator("#cells-list a.cell-row.current").first).to_be_visible()
    page.locator("#cells-list .cells-more").first.click()
    if page.locator("#cells-list details.cells-fold").count():
        page.locator("#cells-list details.cells-fold summary").click()
    page.locator("#model-details summary").click()
    expect(page.locator("#unit-panel")).to_have_attribute("data-ready", "1")
    expect(page.locator("#saturation-panel")).to_have_attribute("data-ready", "1")


def describe(violations: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. "
                     f"{v['nodes'][0]['target']}: {v['nodes'][0].get('failureSummary', '')})" for v in violations)


def test_axe_finds_no_serious_or_critical_violation(server_url, watched):
    page = open_page(watched, server_url)
    open_everything(page)
    results = axe_playwright.Axe().run(page, options=AXE_OPTIONS)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
    page.screenshot(path=str(ARTIFACTS / "a11y-audited.png"), full_page=True)
    assert blocking == [], describe(blocking)


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.className")


def test_every_control_is_reachable_with_tab(server_url, watched):
    page = open_page(watched, server_url)
    expect(page.locator("#cells-panel")).to_have_attribute("data-state", "ready")
    wanted = {"model", "layer", "state", "unit-dec", "unit", "unit-inc", "auto-contrast", "text", "coloured",
              "cells-regex", "cells-regex-go", "cells-mytext", "cells-hyp", "cells-hyp-go", "heat-units",
              "gen-prime", "gen-temp", "gen-length", "gen-seed", "gen-go", "sample"}
    reached, rows = set(), 0
    page.locator("body").focus()
    for _ in range(200):
        page.keyboard.press("Tab")
        node = page.evaluate("(() => { const e = document.activeElement; "
                             "return [e.id, e.classList.contains('cell-row'), e.tagName]; })()")
        reached.add(node[0])
        rows += node[1]
        if wanted <= reached and rows:
            break
    assert wanted - reached == set()
    assert rows > 0, "no found-cell row was reachable"


def test_the_keyboard_moves_the_inspected_character_and_selects_units(server_url, watched):
    page = open_page(watched, server_url)
    text = page.locator("#text").input_value()
    page.locator("#coloured").focus()
    page.keyboard.press("ArrowRight")  # the first character, pinned
    tip = page.locator("#tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("position 0")
    expect(page.locator("#coloured .ch.hl")).to_have_count(1)
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(tip).to_contain_text("position 3")
    assert page.locator("#coloured .ch.hl").evaluate("s => s.idx") == 3
    page.keyboard.press("ArrowLeft")
    expect(tip).to_contain_text("position 2")
    page.keyboard.press("End")
    expect(tip).to_contain_text(f"position {len(text) - 1}")
    page.keyboard.press("ArrowUp")  # up and down still step the unit, and the box follows it
    expect(page.locator("#unit")).to_have_value("1")
    expect(tip).to_contain_text("unit 1")
    page.keyboard.press("Escape")
    expect(tip).to_be_hidden()
    expect(page.locator("#coloured .ch.hl")).to_have_count(0)
    # a found-cell row is a link: Enter selects its unit
    row = page.locator("#cells-list a.cell-row:not(.current)").first
    unit = row.get_attribute("data-unit")
    row.focus()
    page.keyboard.press("Enter")
    wait_coloured(page, unit=int(unit))
    expect(page.locator("#unit")).to_have_value(unit)
    assert watched.errors == []
