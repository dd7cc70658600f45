"""POST /api/attribution and GET /api/models/{name}/memory: answers, and every way a request is refused."""
import pytest
from fastapi.testclient import TestClient

from app.cells.memory import build_memory
from app.main import create_app
from app.settings import Settings
from tests.api_fixtures import build_models_dir, client, models_dir  # noqa: F401 (fixtures)

TEXT = 'He said "hi" twice.\n'  # 20 characters


def _post(client, **body):
    return client.post("/api/attribution", json={"model": "tiny-lstm", "text": TEXT, "position": 10, **body})


@pytest.mark.parametrize("method", ["occlusion", "gradient"])
def test_every_character_of_the_window_gets_an_effect(client, method):
    body = _post(client, method=method, window=6).json()
    assert (body["model"], body["method"], body["position"], body["start"]) == ("tiny-lstm", method, 10, 5)
    assert body["target"] == TEXT[11] and body["chars"] == list(TEXT[5:11])
    assert len(body["effects"]) == 6 and body["unknown"] == []
    assert body["target_bits"] > 0


def test_the_plain_surprisal_is_the_activations_endpoints(client):
    body = _post(client).json()
    plain = client.post("/api/activations", json={"model": "tiny-lstm", "text": TEXT, "units": [0]}).json()
    assert body["target_bits"] == pytest.approx(plain["bits"][10], abs=2e-4)
    assert body["start"] == 0 and len(body["effects"]) == 11  # the default window covers the whole text


def test_a_chosen_target_is_explained_also_at_the_last_position(client):
    body = _post(client, position=19, target='"').json()
    assert body["target"] == '"' and len(body["effects"]) == 20


def test_unknown_characters_are_listed(client):
    body = _post(client, text="ab\u4e00cd", position=3).json()
    assert body["unknown"] == [2] and body["effects"][2] == 0.0


@pytest.mark.parametrize("body, words", [
    ({"position": 20}, "positions are 0 to 19"),
    ({"position": 19}, "give a target"),
    ({"target": "\u4e00"}, "not in tiny-lstm's vocabulary"),
    ({"text": "ab\u4e00", "position": 1}, "the next character"),
    ({"window": 1001}, "less than or equal to 1000"),
    ({"window": 0}, "greater than or equal to 1"),
    ({"target": "ab"}, "at most 1 character"),
    ({"method": "saliency"}, "'occlusion' or 'gradient'"),
    ({"snapshot": 5}, "has no training snapshots"),
])
def test_refusals_say_what_is_allowed(client, body, words):
    response = _post(client, **body)
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_an_unknown_model_is_a_404(client):
    response = _post(client, model="nope")
    assert response.status_code == 404 and "tiny-lstm" in response.json()["detail"]


def test_a_text_over_the_limit_is_a_413(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir, max_text_length=30))) as small:
        response = _post(small, text="a" * 31, position=3)
    assert response.status_code == 413 and "30" in response.json()["detail"]


def test_memory_without_a_stored_curve_says_how_to_build_it(client):
    response = client.get("/api/models/tiny-gru/memory")
    assert response.status_code == 404
    assert "python -m app.cells.memory models/tiny-gru" in response.json()["detail"]


def test_memory_serves_the_stored_curves(tmp_path):
    root = build_models_dir(tmp_path, analysed=("lstm",))
    build_memory(root / "tiny-lstm", window=8, positions=10, gradient_positions=4)
    with TestClient(create_app(Settings(models_dir=root))) as fresh:
        body = fresh.get("/api/models/tiny-lstm/memory").json()
    assert body["model"] == "tiny-lstm" and body["window"] == 8 and body["positions"] == 10
    assert len(body["occlusion"]["median"]) == 8
    assert set(body["gradient"]) == {"layers.0.h", "layers.0.c", "layers.1.h", "layers.1.c"}


def test_a_broken_memory_file_is_a_503(tmp_path):
    root = build_models_dir(tmp_path, analysed=())
    (root / "tiny-rnn" / "memory.json").write_text('{"window": 8}')
    with TestClient(create_app(Settings(models_dir=root))) as fresh:
        response = fresh.get("/api/models/tiny-rnn/memory")
    assert response.status_code == 503 and "memory.json cannot be read" in response.json()["detail"]
