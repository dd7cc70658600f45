import json

import pytest
import torch

from app.engine.capture import capture
from tests.api_fixtures import client, models_dir  # noqa: F401 (fixtures)
from app.registry import ModelRegistry


def _post(client, **body):
    return client.post("/api/activations", json={"model": "tiny-lstm", "text": 'He said "hi".\n', **body})


def test_one_row_of_values_per_character(client):
    body = _post(client, units=[0, 3]).json()
    assert body["chars"] == list('He said "hi".\n')
    assert len(body["values"]) == 14 and all(len(row) == 2 for row in body["values"])


def test_defaults_are_last_layer_and_cell_state_for_lstm(client):
    body = _post(client).json()
    assert (body["layer"], body["state"], body["name"], body["units"]) == (1, "c", "layers.1.c", list(range(8)))


def test_default_state_for_gru_is_h(client):
    body = client.post("/api/activations", json={"model": "tiny-gru", "text": "ab"}).json()
    assert body["state"] == "h"


def test_values_equal_the_engine_capture_rounded(client, models_dir):
    registry = ModelRegistry.load(models_dir)
    loaded = registry.models["tiny-lstm"]
    text = 'He said "hi".\n'
    expected = capture(loaded.model, torch.from_numpy(loaded.vocab.encode(text).ids), ["layers.0.gates.f"], [2])
    body = _post(client, layer=0, state="gates.f", units=[2]).json()
    assert body["values"] == [[round(float(v), 4)] for v in expected.states["layers.0.gates.f"][0, :, 0]]


def test_unknown_characters_are_listed_not_dropped(client):
    body = client.post("/api/activations", json={"model": "tiny-lstm", "text": "a€b\u00e9"}).json()
    assert body["chars"] == ["a", "€", "b", "é"] and body["unknown"] == [1, 3] and len(body["values"]) == 4


def test_topk_predictions_are_sorted_probabilities(client):
    body = _post(client, topk=3).json()
    first = body["predictions"][0]
    assert len(first) == 3 and first[0]["p"] >= first[1]["p"] >= first[2]["p"]
    assert len(body["predictions"]) == 14


def test_bits_are_surprisal_of_the_next_character(client):
    body = _post(client, topk=10).json()
    assert body["bits"][-1] is None and all(b > 0 for b in body["bits"][:-1])


def test_streaming_equals_non_streaming(client):
    text = 'She said "yes" (twice).\n' * 40
    request = {"model": "tiny-gru", "text": text, "layer": 0, "state": "gates.z", "units": [1, 5], "topk": 2}
    plain = client.post("/api/activations", json=request).json()
    lines = [json.loads(line) for line in client.post("/api/activations/stream", json=request).text.splitlines()]
    meta, rows = lines[0], lines[1:]
    assert (meta["length"], meta["name"], meta["units"]) == (len(text), "layers.0.gates.z", [1, 5])
    assert [r["values"] for r in rows] == plain["values"]
    assert [r["top"] for r in rows] == plain["predictions"]
    assert [r["bits"] for r in rows] == plain["bits"]
    assert "".join(r["char"] for r in rows) == text


def test_same_request_gives_same_numbers(client):
    assert _post(client, topk=2).json() == _post(client, topk=2).json()


def test_first_streamed_line_arrives_before_the_last_character_is_computed(client, monkeypatch):
    import app.services.batcher as batcher
    from app.services.batcher import FIRST_CHARS

    passes = []
    real_read_rows = batcher.read_rows

    def recording_read_rows(model, ids, *args, **kwargs):
        passes.append(ids.shape[-1])
        return real_read_rows(model, ids, *args, **kwargs)

    monkeypatch.setattr(batcher, "read_rows", recording_read_rows)
    text = "x" * 50_000
    with client.stream("POST", "/api/activations/stream", json={"model": "tiny-lstm", "text": text, "units": [0]}) as response:
        lines = response.iter_lines()
        json.loads(next(lines))  # metadata
        first = json.loads(next(lines))
        assert first["i"] == 0
        assert sum(passes) < len(text)  # the server has not yet processed the whole text
        count = 1 + sum(1 for _ in lines)
    first, chunk = FIRST_CHARS, client.app.state.settings.batch_chars
    assert count == len(text) and passes == [first] + [chunk] * -(-(len(text) - first) // chunk)


@pytest.mark.parametrize("body, status, needle", [
    ({"model": "nope", "text": "a"}, 404, "available models: tiny-gru, tiny-lstm, tiny-rnn"),
    ({"model": "tiny-lstm", "text": "a", "layer": 2}, 422, "layers 0 to 1"),
    ({"model": "tiny-lstm", "text": "a", "layer": -1}, 422, "layers 0 to 1"),
    ({"model": "tiny-lstm", "text": "a", "units": [8]}, 422, "units 0 to 7"),
    ({"model": "tiny-lstm", "text": "a", "units": []}, 422, "at least one unit"),
    ({"model": "tiny-gru", "text": "a", "state": "c"}, 422, "valid states: h, gates.r, gates.z, gates.n"),
    ({"model": "tiny-lstm", "text": ""}, 422, "text"),
    ({"model": "tiny-lstm"}, 422, "text: field required"),
    ({"text": "a"}, 422, "model: field required"),
    ({"model": "tiny-lstm", "text": 5}, 422, "text"),
    ({"model": "tiny-lstm", "text": "a", "units": "all"}, 422, "units"),
    ({"model": "tiny-lstm", "text": "a", "topk": 11}, 422, "topk"),
    ({"model": "tiny-lstm", "text": "a", "colour": "red"}, 422, "colour: unknown field"),
    ({"model": "tiny-lstm", "text": "a", "bits": 0}, 422, "bits: Input should be a valid boolean"),
    ({"model": "tiny-lstm", "text": "a", "bits": "true"}, 422, "bits: Input should be a valid boolean"),
    ({"model": "tiny-lstm", "text": "a", "topk": True}, 422, "topk: Input should be a valid integer"),
    ({"model": "tiny-lstm", "text": "a", "topk": "3"}, 422, "topk: Input should be a valid integer"),
    ({"model": "tiny-lstm", "text": "a", "topk": 2.5}, 422, "topk: Input should be a valid integer"),
    ({"model": "tiny-lstm", "text": "a", "layer": False}, 422, "layer: Input should be a valid integer"),
    ({"model": "tiny-lstm", "text": "a", "units": [True]}, 422, "units.0: Input should be a valid integer"),
    ({"model": "tiny-lstm", "text": "a", "state": 1}, 422, "state: Input should be a valid string"),
    ({"model": "tiny-lstm", "text": "a" * 60_001}, 413, "limit is 60,000"),
    ({"model": "tiny-lstm", "text": "a" * 50_000}, 413, "ask for fewer units"),
])
@pytest.mark.parametrize("path", ["/api/activations", "/api/activations/stream"])
def test_bad_input_gets_a_clear_4xx(client, path, body, status, needle):
    response = client.post(path, json=body)
    assert response.status_code == status
    assert needle in response.json()["detail"]


def test_a_whole_number_written_with_a_fraction_is_an_integer(client):
    # JSON Schema counts 1.0 as an integer, so the documented contract accepts it
    body = _post(client, layer=1.0, units=[3.0], topk=2.0).json()
    assert (body["layer"], body["units"], len(body["predictions"][0])) == (1, [3], 2)


def test_body_that_is_not_json_is_422(client):
    response = client.post("/api/activations", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "not valid JSON" in response.json()["detail"]


def test_body_that_is_not_utf8_is_400(client):
    raw = b'{"model": "tiny-lstm", "text": "\xff\xfe"}'
    response = client.post("/api/activations", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 400 and "UTF-8" in response.json()["detail"]


def test_server_keeps_serving_after_bad_requests(client):
    for body in ({"model": "nope"}, {"model": "tiny-lstm", "text": ""}, {"text": 1}):
        client.post("/api/activations", json=body)
    assert _post(client).status_code == 200


def test_concurrent_requests_get_their_own_answers(client):
    from concurrent.futures import ThreadPoolExecutor

    texts = [f"text number {i} " * (i + 1) for i in range(8)]
    expected = [_post(client, text=t, units=[1]).json()["values"] for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda t: _post(client, text=t, units=[1]).json()["values"], texts * 2))
    assert got == expected * 2


def test_a_failure_mid_stream_is_reported_in_band(client, monkeypatch):
    import app.services.activations as service

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "activation_chunks", broken)
    lines = client.post("/api/activations/stream", json={"model": "tiny-lstm", "text": "ab"}).text.splitlines()
    assert json.loads(lines[-1]) == {"error": "internal error while computing activations: RuntimeError"}


def test_lone_surrogate_in_json_text_is_422_not_500(client):
    raw = b'{"model": "tiny-lstm", "text": "a\\ud800b"}'
    response = client.post("/api/activations", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "text" in response.json()["detail"]


def test_topk_larger_than_a_tiny_vocabulary_returns_every_character(tmp_path):
    from fastapi.testclient import TestClient

    from app.engine.checkpoint import save_model_dir
    from app.engine.vocab import Vocabulary
    from app.main import create_app
    from app.settings import Settings
    from tests.conftest import make_model

    vocab = Vocabulary.from_text("ab")
    save_model_dir(tmp_path / "ab", make_model("gru", vocab.size), vocab)
    with TestClient(create_app(Settings(models_dir=tmp_path))) as c:
        body = c.post("/api/activations", json={"model": "ab", "text": "abba", "topk": 10}).json()
    assert sorted(p["char"] for p in body["predictions"][0]) == ["a", "b"]


class _CountingTurns:
    """Stands in for the app's compute slots: counts the turns taken."""

    def __init__(self):
        import threading

        self.lock, self.turns = threading.Lock(), 0

    def __enter__(self):
        with self.lock:
            self.turns += 1

    def __exit__(self, *exc):
        return None


def test_every_batched_pass_takes_a_turn_at_the_compute_slots(client):
    from concurrent.futures import ThreadPoolExecutor

    turns, batcher = _CountingTurns(), client.app.state.batcher
    original, batcher.compute_slot = batcher.compute_slot, turns
    before = batcher.passes
    try:
        text = "x" * 1000
        with ThreadPoolExecutor(max_workers=3) as pool:
            plain = list(pool.map(lambda _: _post(client, text=text).status_code, range(3)))
        streamed = client.post("/api/activations/stream", json={"model": "tiny-lstm", "text": text})
        sampled = client.post("/api/sample", json={"model": "tiny-lstm", "length": 5})
    finally:
        batcher.compute_slot = original
    assert plain == [200] * 3 and streamed.status_code == 200 and sampled.status_code == 200
    assert turns.turns == batcher.passes - before > 0  # one per batched pass, whatever it holds
