"""The attribution panel in a real browser: clicking a character colours the text before it by what its
prediction depended on; another target, and the memory-reach chart."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from app.cells.memory import build_memory
from app.engine.checkpoint import save_model_dir
from app.engine.vocab import Vocabulary
from app.settings import Settings
from tests.browser_fixtures import browser, watched  # noqa: F401  (fixtures)
from tests.browser_fixtures import WHITE, backgrounds, make_browser_model, open_page, serve_app

CORPUS = ('"My dear Mr. Bennet," said his lady to him one day, "have you heard that\n'
          'Netherfield Park is let at last?"\n abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'-\n')
TEXT = '"My dear," said she, "it is so."'
CLICKED = 25


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    models_dir = tmp_path_factory.mktemp("attribution-models")
    vocab = Vocabulary.from_text(CORPUS)
    directory = models_dir / "attr-lstm"
    save_model_dir(directory, make_browser_model("lstm", vocab, 2, 12, seed=3), vocab, {"corpus": {"name": "tiny"}},
                   card="# attr-lstm\n")
    (directory / "sample.txt").write_text(CORPUS * 4)
    build_memory(directory, window=20, positions=16, gradient_positions=4)
    yield from serve_app(Settings(models_dir=models_dir))


def click_and_wait(page, index: int = CLICKED) -> None:
    page.locator("#coloured .ch").nth(index).click()
    expect(page.locator("#attr-occlusion")).to_have_attribute("data-ready", "1")


def test_clicking_a_character_colours_the_text_before_it(server_url, watched):
    page = open_page(watched, server_url, f"?model=attr-lstm&text={quote(TEXT)}")
    expect(page.locator("#attr-summary")).to_contain_text("click a character")
    click_and_wait(page)
    expect(page.locator("#attr-occlusion .ch")).to_have_count(CLICKED + 1)  # the window covers the text up to it
    expect(page.locator("#attr-gradient .ch")).to_have_count(CLICKED + 1)
    occluded = backgrounds(page, "#attr-occlusion .ch")
    assert sum(c != WHITE for c in occluded) >= 3  # the earlier text is coloured by its effect
    assert backgrounds(page, "#attr-gradient .ch") != occluded
    expect(page.locator("#attr-occlusion .ch.hl")).to_have_text(TEXT[CLICKED])
    expect(page.locator("#attr-summary")).to_contain_text(f"position {CLICKED}")
    expect(page.locator("#attr-agreement")).to_contain_text("rank correlation (Spearman)")
    expect(page.locator("#attr-strongest li")).to_have_count(3)
    assert watched.errors == []


def test_another_target_is_explained_on_request(server_url, watched):
    page = open_page(watched, server_url, f"?model=attr-lstm&text={quote(TEXT)}")
    click_and_wait(page)
    first = backgrounds(page, "#attr-occlusion .ch")
    buttons = page.locator("#attr-targets .attr-target")
    expect(buttons.first).to_have_attribute("aria-pressed", "true")  # the actual next character
    other = buttons.nth(1)
    wanted = other.text_content()
    other.click()
    expect(other).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#attr-occlusion")).to_have_attribute("data-ready", "1")
    expect(page.locator("#attr-summary")).to_contain_text(f"“{wanted}”")
    assert backgrounds(page, "#attr-occlusion .ch") != first
    assert watched.errors == []


def test_typing_forgets_the_explanation(server_url, watched):
    page = open_page(watched, server_url, f"?model=attr-lstm&text={quote(TEXT)}")
    click_and_wait(page)
    page.locator("#text").fill(TEXT + " yes")
    expect(page.locator("#attr-occlusion .ch")).to_have_count(0)
    expect(page.locator("#attr-summary")).to_contain_text("click a character")


def test_the_memory_reach_chart_draws_the_stored_curves(server_url, watched):
    page = open_page(watched, server_url, f"?model=attr-lstm&text={quote(TEXT)}")
    page.locator("#memory-details summary").click()
    expect(page.locator("#memory-chart")).to_have_attribute("data-ready", "1")
    expect(page.locator("#memory-chart")).to_have_attribute("data-models", "1")
    expect(page.locator("#memory-chart .main-svg").first).to_be_visible()
    assert watched.errors == []
