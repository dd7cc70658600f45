"""The intervention panel in a real browser: ablating or clamping a unit recolours the text by the change."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from app.cells.build import build
from app.engine.checkpoint import save_model_dir
from app.engine.vocab import Vocabulary
from app.settings import Settings
from tests.browser_fixtures import browser, watched  # noqa: F401  (fixtures)
from tests.browser_fixtures import WHITE, backgrounds, make_browser_model, open_page, serve_app

CORPUS = ('"My dear Mr. Bennet," said his lady to him one day, "have you heard that\n'
          'Netherfield Park is let at last?"\n abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'-\n')
TEXT = '"My dear," said she, "it is so."'
EFFECT = "#iv-effect .ch"


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    models_dir = tmp_path_factory.mktemp("intervention-models")
    vocab = Vocabulary.from_text(CORPUS)
    directory = models_dir / "iv-lstm"
    save_model_dir(directory, make_browser_model("lstm", vocab, 2, 12, seed=5), vocab, {"corpus": {"name": "tiny"}},
                   card="# iv-lstm\n")
    (directory / "sample.txt").write_text(CORPUS * 8)
    build(directory, corpus_root=models_dir, sample_chars=0, resample=False, top=3, k=4)
    yield from serve_app(Settings(models_dir=models_dir))


def open_unit(w, base, unit=3):
    page = open_page(w, base, f"?model=iv-lstm&layer=1&state=c&unit={unit}&text={quote(TEXT)}")
    expect(page.locator("#interventions-panel")).to_be_visible()
    return page


def clamp_to(page, value: float) -> None:
    page.locator("#iv-op-clamp").check()
    page.locator("#iv-value").evaluate(f"(el) => {{ el.value = '{value}'; el.dispatchEvent(new Event('input')); }}")


def run_and_wait(page, mode="delta"):
    page.locator("#iv-run").click()
    expect(page.locator("#iv-effect")).to_have_attribute("data-ready", "1")
    expect(page.locator("#iv-effect")).to_have_attribute("data-mode", mode)


def test_clamping_a_unit_recolours_the_text_by_the_change(server_url, watched):
    page = open_unit(watched, server_url)
    clamp_to(page, 8)
    run_and_wait(page)
    expect(page.locator(EFFECT)).to_have_count(len(TEXT))
    colours = backgrounds(page, EFFECT)
    assert colours[0] == WHITE  # the first character is read, not predicted: no change
    assert any(c != WHITE for c in colours[1:])
    expect(page.locator("#iv-status")).to_contain_text("clamped to +8.0000 at every position")
    expect(page.locator("#iv-summary")).to_contain_text("mean change of surprisal")
    page.locator("#iv-mode-activation").check()
    expect(page.locator("#iv-effect")).to_have_attribute("data-mode", "activation")
    assert backgrounds(page, EFFECT) != colours  # tanh(8) everywhere: one deep red
    assert watched.errors == []


def test_a_mean_ablation_over_a_span_leaves_the_text_before_it_unchanged(server_url, watched):
    page = open_unit(watched, server_url)
    page.locator("#iv-span-on").check()
    page.locator("#iv-from").fill("10")
    page.locator("#iv-to").fill("20")
    run_and_wait(page)
    expect(page.locator("#iv-status")).to_contain_text("mean-ablated at characters 10-20")
    colours = backgrounds(page, EFFECT)
    assert set(colours[:10]) == {WHITE}  # the first change is in the prediction made at character 10


def test_hovering_a_character_shows_its_predictions_before_and_after(server_url, watched):
    page = open_unit(watched, server_url)
    clamp_to(page, -8)
    run_and_wait(page)
    page.locator(EFFECT).nth(5).hover()
    detail = page.locator("#iv-detail")
    expect(detail).to_contain_text("position 5")
    expect(detail).to_contain_text("predicted before")
    expect(detail.locator(".tip-preds")).to_have_count(2)


def test_steering_shows_the_sample_with_and_without(server_url, watched):
    page = open_unit(watched, server_url)
    clamp_to(page, 8)
    page.locator("#iv-length").fill("40")
    page.locator("#iv-steer-go").click()
    for side in ("#iv-steered", "#iv-plain"):
        expect(page.locator(side)).to_have_attribute("data-ready", "1")
        expect(page.locator(f"{side} .ch")).to_have_count(40)
    assert backgrounds(page, "#iv-steered .ch") != backgrounds(page, "#iv-plain .ch")


def test_what_does_this_unit_do_lists_units_and_selects_one(server_url, watched):
    page = open_unit(watched, server_url)
    page.locator("#iv-importance-go").click()
    results = page.locator("#iv-importance-results")
    expect(results).to_have_attribute("data-state", "ready")
    expect(results).to_contain_text("unit 3 is")
    rows = results.locator("button.iv-unit-row")
    expect(rows).to_have_count(10)
    unit = rows.nth(1).get_attribute("data-unit")
    rows.nth(1).click()
    expect(page.locator("#unit")).to_have_value(unit)
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")


def test_the_selected_text_becomes_the_span(server_url, watched):
    page = open_unit(watched, server_url)
    page.evaluate("""() => {
        const spans = document.querySelectorAll('#coloured .ch');
        const range = document.createRange();
        range.setStart(spans[4].firstChild, 0);
        range.setEnd(spans[8].firstChild, 1);
        getSelection().removeAllRanges();
        getSelection().addRange(range);
    }""")
    page.locator("#iv-use-selection").click()
    expect(page.locator("#iv-from")).to_have_value("5")
    expect(page.locator("#iv-to")).to_have_value("9")
    expect(page.locator("#iv-span-on")).to_be_checked()
