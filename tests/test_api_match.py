"""POST /api/models/{name}/select, /match and POST /api/compare, end to end on tiny models."""
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.cells.match import DEFAULT_THRESHOLD, build_match
from app.engine.checkpoint import save_model_dir
from app.engine.model import CharRNN, ModelConfig
from app.engine.vocab import Vocabulary
from app.main import create_app
from app.settings import Settings
from tests.api_fixtures import save_tiny_model
from tests.conftest import random_text

BRACKETS = "abcdefgh xyz[]"
QUOTE = '"It is a truth," she said.\n'


def _bracket_sample() -> str:
    """Random words with a bracketed stretch now and then."""
    rng = np.random.default_rng(0)
    pieces = []
    for _ in range(40):
        pieces.append(random_text(int(rng.integers(5, 30)), "abcdefgh xyz", seed=int(rng.integers(1 << 30))))
        pieces.append("[" + random_text(int(rng.integers(2, 12)), "abcdefgh xyz", seed=int(rng.integers(1 << 30))) + "]")
    return "".join(pieces)


def _bracket_rnn(directory: Path) -> Path:
    """A 1 x 4 tanh RNN whose unit 0 is exactly +1 from a '[' up to the ']' and -1 elsewhere: pre-activation
    40 at '[', -40 at ']', -10 always, plus 20 times its own last value (the other units: small random weights)."""
    vocab = Vocabulary.from_text(BRACKETS)
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=vocab.size, arch="rnn", n_layers=1, hidden_size=4)).eval()
    layer = model.layers[0]
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(0.3)
        layer.weight_ih_l0[0] = 0.0
        layer.weight_hh_l0[0] = 0.0
        layer.bias_ih_l0[0], layer.bias_hh_l0[0] = -10.0, 0.0  # the first character starts it at -1 too
        layer.weight_ih_l0[0, vocab.encode("[").ids[0]] = 40.0
        layer.weight_ih_l0[0, vocab.encode("]").ids[0]] = -40.0
        layer.weight_hh_l0[0, 0] = 20.0
    save_model_dir(directory, model, vocab, {"corpus": {"name": "brackets"}}, card="# brackets\n")
    (directory / "sample.txt").write_text(_bracket_sample())
    build_match(directory)
    return directory


@pytest.fixture(scope="module")
def match_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("match-models")
    for arch in ("lstm", "gru"):
        build_match(save_tiny_model(root / f"tiny-{arch}", arch, analysed=True))
    save_tiny_model(root / "tiny-rnn", "rnn", analysed=True)  # analysed, but no match.safetensors
    _bracket_rnn(root / "brackets")
    settings = Settings(models_dir=root, max_text_length=60_000, max_values=300_000)
    with TestClient(create_app(settings)) as client:
        yield client


def _bracket_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end() - 1) for m in re.finditer(r"\[[^\]]*\]", text)]  # '[' on, ']' already off


def test_a_bracket_unit_matches_exactly_the_bracketed_spans_of_the_sample(match_client):
    sample = _bracket_sample()
    body = match_client.post("/api/models/brackets/match", json={
        "units": [{"layer": 0, "state": "h", "unit": 0, "sign": 1}], "top": 50, "length_weight": 0}).json()
    assert sorted((m["start"], m["end"]) for m in body["matches"]) == _bracket_spans(sample)
    assert all(m["source"] == "sample" for m in body["matches"])
    first = body["matches"][0]
    assert first["context"] == sample[first["context_start"] : first["context_start"] + len(first["context"])]
    assert len(first["values"]) == len(first["context"]) and len(first["track"]) == len(first["context"])


def test_selecting_inside_brackets_selects_the_bracket_unit(match_client):
    text = "ab [cdefg] hi"
    body = match_client.post("/api/models/brackets/select", json={"text": text, "start": 3, "end": 9,
                                                                  "before": 1}).json()
    assert {"layer": 0, "state": "h", "name": "layers.0.h", "unit": 0, "sign": 1} in [
        {k: u[k] for k in ("layer", "state", "name", "unit", "sign")} for u in body["units"]]
    assert body["threshold"] == body["suggested_threshold"] == DEFAULT_THRESHOLD
    assert [c["threshold"] for c in body["counts"]] == sorted(c["threshold"] for c in body["counts"])


def test_match_from_a_span_finds_the_text_itself_when_searched(match_client):
    text = "xyz [abcde] gh [bcdef] a"
    body = match_client.post("/api/models/brackets/match", json={
        "text": text, "start": 4, "end": 10, "in_text": True, "top": 50, "length_weight": 0,
        "state": "all", "before": 1}).json()
    in_text = sorted((m["start"], m["end"]) for m in body["matches"] if m["source"] == "text")
    assert in_text == [(15, 21)]  # the other bracket; the selection itself is left out
    assert body["best_hypothesis"] is not None and body["hypotheses"][0]["hypothesis"] == body["best_hypothesis"]


def test_both_signs_are_listed(match_client):
    text = random_text(400, seed=3)
    body = match_client.post("/api/models/tiny-lstm/select", json={"text": text, "start": 100, "end": 104,
                                                                   "state": "all", "threshold": 60}).json()
    assert {u["sign"] for u in body["units"]} == {1, -1}
    assert set(body["states"]) == {"layers.0.h", "layers.0.c", "layers.1.h", "layers.1.c"}


def test_a_higher_threshold_passes_fewer_units(match_client):
    text = random_text(300, seed=4)
    counts = match_client.post("/api/models/tiny-gru/select", json={"text": text, "start": 10, "end": 14,
                                                                    "layer": 0}).json()["counts"]
    numbers = [c["units"] for c in counts]
    assert numbers == sorted(numbers, reverse=True)


def test_the_track_is_the_hypothesis_on_the_text(match_client):
    body = match_client.post("/api/models/tiny-lstm/select", json={"text": QUOTE, "start": 1, "end": 14,
                                                                   "track": "inside_double_quotes"}).json()
    assert body["track"]["values"] == [1.0] * 16 + [0.0] * (len(QUOTE) - 16)


@pytest.mark.parametrize("body, words", [
    ({"start": 5, "end": 40}, "outside the text"),
    ({"start": 5, "end": 5}, "empty span"),
    ({"start": 0, "end": 3, "threshold": 50}, "threshold"),
    ({"start": 0, "end": 3, "threshold": 100}, "threshold"),
    ({"start": 0, "end": 3, "state": "gates.f"}, "valid for a lstm model: h, c or all"),
    ({"start": 0, "end": 3, "layer": 7}, "layers 0 to 1"),
    ({"start": 0, "end": 3, "track": "nope"}, "unknown hypothesis"),
])
def test_select_refusals_say_what_is_allowed(match_client, body, words):
    response = match_client.post("/api/models/tiny-lstm/select", json={"text": QUOTE, **body})
    assert response.status_code == 422 and words in response.json()["detail"]


@pytest.mark.parametrize("body, words", [
    ({"text": QUOTE}, "either a span"),
    ({"text": QUOTE, "start": 0, "end": 3, "units": [{"layer": 0, "state": "h", "unit": 0, "sign": 1}]},
     "not both"),
    ({"units": [{"layer": 0, "state": "h", "unit": 99, "sign": 1}]}, "units 0 to 7"),
    ({"units": [{"layer": 0, "state": "gates.i", "unit": 0, "sign": 1}]}, "not searched"),
    ({"units": [{"layer": 0, "state": "h", "unit": 0, "sign": 1}], "in_text": True}, "send \"text\""),
    ({"start": 0, "end": 3}, "needs \"text\""),
])
def test_match_refusals_say_what_is_allowed(match_client, body, words):
    response = match_client.post("/api/models/tiny-lstm/match", json=body)
    assert response.status_code == 422 and words in response.json()["detail"]


def test_a_model_without_thresholds_says_how_to_build_them(match_client):
    response = match_client.post("/api/models/tiny-rnn/select", json={"text": QUOTE, "start": 0, "end": 3})
    assert response.status_code == 404 and "python -m app.cells.match models/tiny-rnn" in response.json()["detail"]


def test_compare_finds_a_unit_itself_in_the_same_model(match_client):
    body = match_client.post("/api/compare", json={"model_a": "tiny-lstm", "model_b": "tiny-lstm", "layer": 1,
                                                   "state": "c", "unit": 3, "top": 3}).json()
    assert body["units"][0] == {"layer": 1, "state": "c", "name": "layers.1.c", "unit": 3, "pearson": 1.0}
    assert body["cka"] == pytest.approx(1.0) and (body["cka_a"], body["cka_b"]) == ("layers.1.c", "layers.1.c")


def test_compare_across_architectures_takes_h_for_the_cka(match_client):
    body = match_client.post("/api/compare", json={"model_a": "tiny-lstm", "model_b": "tiny-gru", "layer": 1,
                                                   "state": "c", "unit": 0, "text": random_text(300)}).json()
    assert body["cka_b"] == "layers.1.h" and 0 <= body["cka"] <= 1 and body["chars"] == 300
    assert [abs(u["pearson"]) for u in body["units"]] == sorted((abs(u["pearson"]) for u in body["units"]),
                                                                reverse=True)


def test_compare_refuses_a_text_outside_a_vocabulary(match_client):
    response = match_client.post("/api/compare", json={"model_a": "tiny-lstm", "model_b": "brackets", "layer": 0,
                                                       "state": "h", "unit": 0, "text": "It is [so]."})
    detail = response.json()["detail"]
    assert response.status_code == 422 and "'I'" in detail and "same vocabulary: tiny-gru" in detail


def test_compare_refuses_a_state_the_model_lacks(match_client):
    response = match_client.post("/api/compare", json={"model_a": "tiny-gru", "model_b": "tiny-lstm", "layer": 0,
                                                       "state": "c", "unit": 0})
    assert response.status_code == 422 and "layers.0.h" in response.json()["detail"]


def test_a_text_over_the_limit_is_refused_with_the_limit(match_client):
    response = match_client.post("/api/models/tiny-lstm/select", json={"text": "a" * 60_001, "start": 0, "end": 3})
    assert response.status_code == 413 and "60,000" in response.json()["detail"]
