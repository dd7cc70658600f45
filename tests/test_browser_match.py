"""The select-and-match panel in a real browser: dragging over a span of the coloured text lists the units on
across it and the matches in the held-out sample; the keyboard and tap mode select spans too."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from app.cells.match import build_match
from app.engine.checkpoint import save_model_dir
from app.engine.vocab import Vocabulary
from app.settings import Settings
from tests.browser_fixtures import browser, watched  # noqa: F401  (fixtures)
from tests.browser_fixtures import ARTIFACTS, make_browser_model, open_page, serve_app

CORPUS = ('"My dear Mr. Bennet," said his lady to him one day, "have you heard that\n'
          'Netherfield Park is let at last?"\n abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'-\n')
TEXT = '"My dear," said she, "it is so, and very much so."'


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    models_dir = tmp_path_factory.mktemp("match-models")
    vocab = Vocabulary.from_text(CORPUS)
    for name, arch, seed in (("match-lstm", "lstm", 3), ("match-gru", "gru", 4)):
        directory = models_dir / name
        save_model_dir(directory, make_browser_model(arch, vocab, 2, 12, seed=seed), vocab,
                       {"corpus": {"name": "tiny"}}, card=f"# {name}\n")
        (directory / "sample.txt").write_text(CORPUS * 6)
        build_match(directory)
    yield from serve_app(Settings(models_dir=models_dir))


def drag(page, first: int, last: int) -> None:
    """Presses the mouse on character `first`, moves to character `last` and lets go."""
    chars = page.locator("#coloured .ch")
    a, b = chars.nth(first).bounding_box(), chars.nth(last).bounding_box()
    page.mouse.move(a["x"] + 1, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] - 1, b["y"] + b["height"] / 2, steps=5)
    page.mouse.up()


def test_dragging_over_a_span_shows_its_units_and_matches(server_url, watched):
    page = open_page(watched, server_url, f"?model=match-lstm&text={quote(TEXT)}")
    drag(page, 22, 25)  # inside the second quotation
    expect(page.locator("#match-results")).to_have_attribute("data-state", "ready")
    expect(page.locator("#match-units")).to_have_attribute("data-state", "ready")
    expect(page.locator("#match-summary")).to_contain_text("(characters 22–25)")
    assert page.locator("#match-results .match-item").count() >= 1
    expect(page.locator("#match-results .match-item .match-hit").first).to_be_visible()
    expect(page.locator("#match-best")).to_contain_text("best-agreeing hypothesis")
    expect(page.locator("#match-threshold-note")).to_contain_text("units pass")
    expect(page.locator("#coloured .ch.match-selected")).to_have_count(4)
    expect(page.locator("#match-results")).to_have_attribute("data-painted", "1")
    page.locator("#match-panel").screenshot(path=str(ARTIFACTS / "match-panel.png"))
    assert watched.errors == []


def test_a_higher_threshold_counts_fewer_units(server_url, watched):
    page = open_page(watched, server_url, f"?model=match-lstm&text={quote(TEXT)}")
    drag(page, 2, 8)
    expect(page.locator("#match-units")).to_have_attribute("data-state", "ready")
    note = page.locator("#match-threshold-note")
    counts = []
    for threshold in ("56", "99"):
        page.locator("#match-threshold").fill(threshold)  # the count moves with the slider, then a new match
        expect(note).to_contain_text(f"{threshold} · ")
        expect(page.locator("#match-units")).to_have_attribute("data-state", "ready")
        counts.append(int(note.text_content().split("·")[1].split()[0]))
    low, high = counts
    assert high <= low and low > 0


def test_tap_mode_selects_between_two_taps(server_url, watched):
    page = open_page(watched, server_url, f"?model=match-lstm&text={quote(TEXT)}")
    page.locator("#match-tap").click()
    page.locator("#coloured .ch").nth(2).click()
    expect(page.locator("#match-summary")).to_contain_text("tap its last character")
    page.locator("#coloured .ch").nth(8).click()
    expect(page.locator("#match-summary")).to_contain_text("(characters 2–8)")
    expect(page.locator("#match-results")).to_have_attribute("data-state", "ready")


def _compare_the_first_unit(server_url, watched):
    """The page with a span selected and its first unit compared with the other model."""
    page = open_page(watched, server_url, f"?model=match-lstm&text={quote(TEXT)}")
    drag(page, 22, 25)
    expect(page.locator("#match-units")).to_have_attribute("data-state", "ready")
    page.locator("#match-units .match-compare").first.click()
    expect(page.locator("#match-compare")).to_have_attribute("data-state", "ready")
    return page


def test_a_unit_is_compared_with_another_model(server_url, watched):
    page = _compare_the_first_unit(server_url, watched)
    expect(page.locator("#match-compare")).to_contain_text("match-gru's units most like match-lstm")
    expect(page.locator("#match-compare li")).to_have_count(5)
    assert watched.errors == []


def test_shift_arrows_extend_a_span_from_the_pinned_character(server_url, watched):
    page = open_page(watched, server_url, f"?model=match-lstm&text={quote(TEXT)}")
    page.locator("#coloured .ch").nth(5).click()
    for _ in range(3):
        page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#match-summary")).to_contain_text("(characters 5–8)")
    expect(page.locator("#match-results")).to_have_attribute("data-state", "ready")


def test_a_compared_unit_is_shown_side_by_side_on_the_text(server_url, watched):
    page = _compare_the_first_unit(server_url, watched)
    page.locator("#match-compare .match-pair-button").first.click()
    expect(page.locator("#match-pair")).to_have_attribute("data-state", "ready")
    expect(page.locator("#match-pair .match-pair-item")).to_have_count(2)
    expect(page.locator("#match-pair .match-pair-item").nth(1)).to_contain_text("match-gru")
    expect(page.locator("#match-pair .match-pair-item").first.locator(".ch")).to_have_count(len(TEXT))
    assert watched.errors == []
