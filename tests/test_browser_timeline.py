"""The training timeline in a real browser: the step slider recolours the text with that step's weights."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.cells.build import build
from app.cells.timeline import build_timeline
from app.engine.checkpoint import save_model_dir
from app.engine.snapshots import save_snapshot
from app.engine.vocab import Vocabulary
from app.settings import Settings
from tests.browser_fixtures import browser, watched  # noqa: F401  (fixtures)
from tests.browser_fixtures import TIMEOUT_MS, backgrounds, make_browser_model, open_page, serve_app, wait_coloured

CORPUS = ('"My dear Mr. Bennet," said his lady to him one day, "have you heard that\n'
          'Netherfield Park is let at last?"\n abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'-\n')
STEPS = (0, 10, 40)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    models_dir = tmp_path_factory.mktemp("timeline-models")
    vocab = Vocabulary.from_text(CORPUS)
    directory = models_dir / "tiny-timeline"
    final = make_browser_model("lstm", vocab, 1, 12, seed=STEPS[-1])
    save_model_dir(directory, final, vocab, {"corpus": {"name": "tiny"}}, card="# tiny-timeline\n")
    for step in STEPS:  # each step's weights differ, as a training run's would
        save_snapshot(directory, make_browser_model("lstm", vocab, 1, 12, seed=step), step, step * 64, 4.0 - step / 20)
    (directory / "sample.txt").write_text(CORPUS * 8)
    build(directory, corpus_root=models_dir, sample_chars=0, resample=False, top=3, k=4)
    build_timeline(directory)
    save_model_dir(models_dir / "tiny-plain", make_browser_model("gru", vocab, 1, 8, seed=2), vocab,
                   {"corpus": {"name": "tiny"}})
    yield from serve_app(Settings(models_dir=models_dir))


def open_timeline(w, base):
    page = open_page(w, base, f"?model=tiny-timeline&layer=0&state=c&unit=3&text={'%22My%20dear%22%20said%20she.'}")
    expect(page.locator("#timeline-panel")).to_be_visible()
    return page


def test_slider_moves_recolour_the_text_with_that_steps_weights(server_url, watched):
    page = open_timeline(watched, server_url)
    final = backgrounds(page)
    slider = page.locator("#snapshot-slider")
    slider.focus()
    page.keyboard.press("Home")  # the first snapshot: step 0
    expect(page.locator("#snapshot-label")).to_contain_text("step 0")
    page.wait_for_function("() => document.querySelector('#coloured').dataset.ready === '1'")
    wait_coloured(page)
    page.wait_for_function("(final) => [...document.querySelectorAll('#coloured .ch')]"
                           ".some((s, i) => s.style.backgroundColor !== final[i])", arg=final, timeout=TIMEOUT_MS)
    page.keyboard.press("End")  # back to the final model
    expect(page.locator("#snapshot-label")).to_contain_text("final model")
    page.wait_for_function("(final) => [...document.querySelectorAll('#coloured .ch')]"
                           ".every((s, i) => s.style.backgroundColor === final[i])", arg=final, timeout=TIMEOUT_MS)


def test_timeline_chart_and_its_sentences_are_shown(server_url, watched):
    page = open_timeline(watched, server_url)
    expect(page.locator("#timeline-chart .main-svg").first).to_be_attached()
    expect(page.locator("#timeline-summary p").first).to_contain_text(":")


def test_a_model_without_snapshots_hides_the_timeline(server_url, watched):
    page = open_page(watched, server_url, "?model=tiny-plain&text=abc")
    expect(page.locator("#timeline-panel")).to_be_hidden()
