"""The explorer page in a real browser (Debian's Chromium, driven by Playwright).

A module fixture writes tiny random models to a temporary directory and serves them with
uvicorn on a free local port; every test opens a fresh page (fixtures: tests/browser_fixtures.py).
Screenshots go to test-artifacts/ (gitignored).
"""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from app.engine.checkpoint import save_model_dir
from app.engine.vocab import Vocabulary
from app.settings import Settings
from tests.browser_fixtures import browser, watched  # noqa: F401  (fixtures)
from tests.browser_fixtures import (ARTIFACTS, TIMEOUT_MS, WHITE, backgrounds, make_browser_model, open_page, serve_app,
                                    type_text, wait_coloured)

# The vocabulary deliberately lacks "<", ">" and "=", so markup in the text is also "not in vocabulary".
CORPUS = ('It is a truth universally acknowledged, that a single man in possession\n'
          'of a good fortune, must be in want of a wife.\n\n'
          '"My dear Mr. Bennet," said his lady to him one day, "have you heard that\n'
          'Netherfield Park is let at last?"\n\tabcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789'
          " .,;:!?'\"()-/\n")
MAX_TEXT = 3000


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    models_dir = tmp_path_factory.mktemp("browser-models")
    vocab = Vocabulary.from_text(CORPUS)
    for name, arch, layers, hidden, corpus in (("tiny-lstm", "lstm", 2, 16, "tiny"), ("tiny-gru", "gru", 2, 12, "tiny"),
                                               ("tiny-linux", "rnn", 1, 8, "linux")):
        save_model_dir(models_dir / name, make_browser_model(arch, vocab, layers, hidden, seed=1), vocab,
                       {"corpus": {"name": corpus}, "results": {"test_bpc": 2.5, "ngram": {"test_bpc": 2.75}}},
                       card=f"# {name}\nRandom <b>weights</b> for browser tests.\n")
    yield from serve_app(Settings(models_dir=models_dir, max_text_length=MAX_TEXT))


def test_page_loads_without_console_errors_or_csp_violations(server_url, watched):
    page = open_page(watched, server_url)
    expect(page.locator("header h1")).to_have_text("Cell Explorer")
    expect(page.locator("#model option")).to_have_count(3)
    expect(page.locator("#status")).to_contain_text("coloured")
    expect(page.locator("#model-stats")).to_contain_text("2.500 bits/char")
    expect(page.locator("#model-stats")).to_contain_text("2.750 n-gram")
    # drawn from the first selection even where it equals the store's initial one (unit 0, state h)
    expect(page.locator("#line-title")).to_have_text("Unit 0 along the text")
    expect(page.locator("#output-title")).to_have_text("Activations — layer 1 · h · unit 0")
    expect(page.locator("#legend-note")).to_contain_text("Hidden state")
    assert "gradient" in page.locator("#legend-bar").evaluate("e => e.style.background")
    expect(page.locator("#line-chart .main-svg").first).to_be_visible()
    expect(page.locator("#heat-chart .main-svg").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "explorer.png"))
    page.screenshot(path=str(ARTIFACTS / "explorer-full.png"), full_page=True)
    assert watched.errors == []
    assert watched.csp_violations() == []


def test_typing_text_with_quotes_colours_characters(server_url, watched):
    page = open_page(watched, server_url)
    text = 'She said, "It is so," and left.'
    type_text(page, text)
    assert page.locator("#coloured").text_content() == text
    colours = backgrounds(page)
    assert all(colours)
    assert any(c != WHITE for c in colours)
    expect(page.locator("#status")).to_contain_text(f"coloured {len(text)} characters")


def test_spaces_tabs_and_newlines_stay_visible(server_url, watched):
    page = open_page(watched, server_url)
    type_text(page, 'a b\n\t"c"')
    newline = page.locator("#coloured .ch.nl")
    expect(newline).to_have_count(1)
    expect(newline).to_have_text("↵")
    assert page.locator("#coloured").text_content() == 'a b↵\n\t"c"'
    assert page.locator("#coloured").evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"


def test_changing_the_unit_recolours_from_cache(server_url, watched):
    page = open_page(watched, server_url)
    requests = watched.stream_requests
    before = backgrounds(page)
    page.locator("#unit-inc").click()
    wait_coloured(page, unit=1)
    expect(page.locator("#unit")).to_have_value("1")
    after = backgrounds(page)
    assert after != before
    page.locator("header h1").click()  # focus outside the text box: arrow keys sweep units
    page.keyboard.press("ArrowRight")
    wait_coloured(page, unit=2)
    page.keyboard.press("ArrowLeft")
    wait_coloured(page, unit=1)
    assert backgrounds(page) == after
    assert watched.stream_requests == requests  # all units were cached: no new request


def test_markup_in_the_text_is_shown_literally(server_url, watched):
    page = open_page(watched, server_url)
    payload = "<img src=x onerror=alert(1)>"
    type_text(page, payload)
    assert payload in page.locator("#coloured").text_content()
    assert page.locator("img").count() == 0
    expect(page.locator("#coloured .ch.unk")).to_have_count(4)  # "<", "=", "=", ">" are not in the vocabulary
    page.locator("#coloured .ch.unk").first.hover()
    expect(page.locator("#tip")).to_contain_text("not in vocabulary")
    assert watched.dialogs == []
    assert watched.csp_violations() == []


def test_hovering_a_character_shows_predictions_and_surprisal(server_url, watched):
    page = open_page(watched, server_url)
    page.locator("#coloured .ch").nth(2).hover()  # the space after "It"
    tip = page.locator("#tip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("position 2")
    expect(tip.locator(".tip-preds li")).to_have_count(5)
    expect(tip.locator(".tip-preds .fill").first).to_be_visible()
    expect(tip).to_contain_text(re.compile(r"surprisal of next .+: \d+\.\d\d bits"))
    page.locator("#coloured .ch").nth(2).hover()
    page.screenshot(path=str(ARTIFACTS / "explorer-hover.png"))


def test_hover_is_linked_between_text_and_chart(server_url, watched):
    page = open_page(watched, server_url)
    expect(page.locator("#line-chart .main-svg").first).to_be_visible()
    page.locator("#coloured .ch").nth(5).hover()
    expect(page.locator("#line-chart .hoverlayer .hovertext")).to_have_count(1)
    page.mouse.move(5, 5)
    expect(page.locator("#coloured .ch.hl")).to_have_count(0)
    # the screen position of point 9 of the line chart, from plotly's own axis mapping
    page.locator("#line-chart").scroll_into_view_if_needed()
    x, y = page.locator("#line-chart").evaluate(
        """gd => { const L = gd._fullLayout, r = gd.getBoundingClientRect(), y = gd.data[0].y[9];
                   return [r.left + L._size.l + L.xaxis.l2p(9), r.top + L._size.t + L.yaxis.l2p(y)]; }""")
    page.mouse.move(x, y)
    expect(page.locator("#coloured .ch.hl")).to_have_count(1)
    assert page.locator("#coloured .ch.hl").evaluate("s => s.idx") == 9


def test_heatmap_rows_select_units_and_columns_find_characters(server_url, watched):
    page = open_page(watched, server_url)
    page.locator("#heat-units").fill("3, 7-9")
    heat = page.locator("#heat-chart")
    page.wait_for_function("() => { const gd = document.getElementById('heat-chart');"
                           " return Boolean(gd.data) && gd.data[0].y.join() === '3,7,8,9'; }")
    heat.scroll_into_view_if_needed()
    # the screen position of row 2 (unit 8), column 6 (character 6), from plotly's own axis mapping
    x, y = heat.evaluate("""gd => { const L = gd._fullLayout, r = gd.getBoundingClientRect(), t = gd.data[0];
        return [r.left + L._size.l + L.xaxis.l2p(t.x0 + 6 * t.dx), r.top + L._size.t + L.yaxis.l2p(2)]; }""")
    page.mouse.move(x, y)
    expect(page.locator("#coloured .ch.hl")).to_have_count(1)
    assert page.locator("#coloured .ch.hl").evaluate("s => s.idx") == 6
    page.mouse.click(x, y)
    wait_coloured(page, unit=8)
    expect(page.locator("#unit")).to_have_value("8")


def test_the_url_restores_the_view(server_url, watched):
    page = open_page(watched, server_url, '?model=tiny-gru&layer=0&state=gates.z&unit=3&text=Hi+%22you%22')
    expect(page.locator("#model")).to_have_value("tiny-gru")
    expect(page.locator("#layer")).to_have_value("0")
    expect(page.locator("#state")).to_have_value("gates.z")
    expect(page.locator("#unit")).to_have_value("3")
    expect(page.locator("#text")).to_have_value('Hi "you"')
    assert page.locator("#coloured").text_content() == 'Hi "you"'
    expect(page.locator("#legend-note")).to_contain_text("Sigmoid gate")
    page.locator("#unit-inc").click()
    expect(page).to_have_url(re.compile(r"unit=4"))
    page.reload()
    wait_coloured(page, unit=4)
    expect(page.locator("#unit")).to_have_value("4")
    expect(page.locator("#state")).to_have_value("gates.z")
    expect(page.locator("#text")).to_have_value('Hi "you"')


def test_select_unit_api_for_other_panels(server_url, watched):
    page = open_page(watched, server_url)
    page.evaluate("import('/static/store/selection.js').then(m => m.select({model: 'tiny-lstm', layer: 0, state: 'h', unit: 5}))")
    wait_coloured(page, unit=5)
    expect(page.locator("#model")).to_have_value("tiny-lstm")
    expect(page.locator("#layer")).to_have_value("0")
    expect(page.locator("#state")).to_have_value("h")
    expect(page.locator("#unit")).to_have_value("5")


def test_the_generate_panel_streams_a_coloured_sample(server_url, watched):
    page = open_page(watched, server_url)
    page.locator("#gen-prime").fill('"My dear')
    page.locator("#gen-length").fill("40")
    page.locator("#gen-go").click()
    expect(page.locator("#sample .ch")).to_have_count(40)
    expect(page.locator("#gen-status")).to_contain_text("generated 40 characters")
    expect(page.locator("#sample .prime")).to_have_text('"My dear')
    colours = page.locator("#sample .ch").evaluate_all("spans => spans.map(s => s.style.backgroundColor)")
    assert any(c and c != WHITE for c in colours)
    page.locator("#sample .ch").nth(0).hover()
    expect(page.locator("#tip")).to_contain_text("drawn with probability")
    expect(page.locator("#gen-go")).to_be_enabled()


def test_stop_aborts_generation(server_url, watched):
    page = open_page(watched, server_url)
    # a tiny model streams 5000 characters faster than the page paints the first one: slow the
    # network so that the stream is still running when Stop is clicked
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions",
                 {"offline": False, "latency": 0, "downloadThroughput": 20_000, "uploadThroughput": -1})
    page.locator("#gen-length").fill("5000")
    page.locator("#gen-go").click()
    expect(page.locator("#sample .ch").first).to_be_attached()
    page.locator("#gen-stop").click()
    expect(page.locator("#gen-status")).to_contain_text("(stopped)")
    assert page.locator("#sample .ch").count() < 5000
    expect(page.locator("#gen-stop")).to_be_disabled()


def test_server_errors_are_shown_to_the_user(server_url, watched):
    page = open_page(watched, server_url)
    page.locator("#text").fill("a" * (MAX_TEXT + 1))
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text(f"the limit is {MAX_TEXT:,}")
    page.locator("#text").fill("all good")
    expect(page.locator("#error")).to_be_hidden()


def stream_failing_after(route, rows: int, message: str) -> None:
    """The real stream's metadata line and first `rows` characters, then the error line the server sends
    when a computation fails after the 200 header."""
    lines = route.fetch().text().splitlines()
    body = "\n".join(lines[: 1 + rows] + [json.dumps({"error": message})]) + "\n"
    route.fulfill(status=200, body=body, headers={"Content-Type": "application/x-ndjson"})


def test_an_error_line_in_the_text_stream_is_shown(server_url, watched):
    message = "internal error while computing activations: RuntimeError"
    watched.page.route("**/api/activations/stream", lambda route: stream_failing_after(route, 2, message))
    page = watched.page
    page.goto(server_url + "/")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_have_text(message)
    expect(page.locator("#status")).to_have_text("could not colour the text (see the message above)")
    expect(page.locator("#coloured .ch")).to_have_count(0)
    page.unroute("**/api/activations/stream")
    page.locator("#text").fill("all good")
    wait_coloured(page)
    expect(page.locator("#error")).to_be_hidden()
    assert watched.errors == []


def test_an_error_line_in_the_sample_stream_is_shown(server_url, watched):
    message = "internal error while sampling: RuntimeError"
    page = open_page(watched, server_url)
    page.route("**/api/sample", lambda route: stream_failing_after(route, 5, message))
    page.locator("#gen-length").fill("40")
    page.locator("#gen-go").click()
    expect(page.locator("#error")).to_have_text(message)
    expect(page.locator("#gen-status")).to_have_text("generation failed (see the message above)")
    expect(page.locator("#gen-go")).to_be_enabled()
    assert watched.errors == []


def test_a_server_without_models_says_so(server_url, watched):
    page = watched.page
    page.route("**/api/models", lambda route: route.fulfill(json=[]))
    page.goto(server_url + "/")
    expect(page.locator("#error")).to_contain_text("No models are loaded")
    expect(page.locator("#status")).to_have_text("no models")
    for control in ("#model", "#unit-inc", "#gen-go"):
        expect(page.locator(control)).to_be_disabled()
    assert watched.errors == []


def test_the_model_list_is_fetched_once(server_url, watched):
    listed = []
    watched.page.on("request", lambda r: listed.append(r.url) if r.url.endswith("/api/models") else None)
    open_page(watched, server_url)
    watched.page.wait_for_timeout(500)  # the panels that read the list have asked for it by now
    assert len(listed) == 1


def example_for(page, corpus: str) -> str:
    return page.evaluate("c => import('/static/lib/examples.js').then(m => m.exampleFor(c))", corpus)


def test_a_model_of_another_corpus_replaces_an_unedited_example(server_url, watched):
    page = open_page(watched, server_url)
    austen = page.locator("#text").input_value()
    assert austen.startswith("It is a truth universally acknowledged")
    page.locator("#model").select_option("tiny-linux")
    linux = example_for(page, "linux")
    expect(page.locator("#text")).to_have_value(linux)
    wait_coloured(page)
    assert page.locator("#coloured").text_content() == linux.replace("\n", "↵\n")
    page.locator("#model").select_option("tiny-lstm")  # "tiny" has no example of its own: the default
    expect(page.locator("#text")).to_have_value(austen)
    wait_coloured(page)
    type_text(page, "my own words")
    page.locator("#model").select_option("tiny-linux")
    wait_coloured(page)
    expect(page.locator("#text")).to_have_value("my own words")


def test_phone_sized_viewport_has_no_horizontal_overflow(server_url, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(server_url + "/")
        wait_coloured(page)
        expect(page.locator("#heat-chart .main-svg").first).to_be_visible()
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px viewport"
        page.screenshot(path=str(ARTIFACTS / "explorer-phone.png"), full_page=True)
        page.locator("#coloured .ch").nth(4).tap()  # tapping a character pins its info box
        expect(page.locator("#tip")).to_be_visible()
        expect(page.locator("#tip .tip-preds li")).to_have_count(5)
        page.screenshot(path=str(ARTIFACTS / "explorer-phone-tap.png"))
    finally:
        context.close()


def test_api_docs_render_offline_from_local_assets(server_url, watched):
    requested = []
    watched.page.on("request", lambda request: requested.append(request.url))
    watched.page.goto(f"{server_url}/docs")
    expect(watched.page.locator(".opblock-summary-path").first).to_be_visible(timeout=TIMEOUT_MS)
    expect(watched.page.get_by_text("/api/activations/stream").first).to_be_visible()
    assert all(url.startswith(server_url) for url in requested), [u for u in requested if not u.startswith(server_url)]
    assert watched.errors == []
