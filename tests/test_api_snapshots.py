"""Snapshots through the API: the list, the timeline, and `snapshot` in activations and samples."""
import json

import pytest
from fastapi.testclient import TestClient

from app.engine.checkpoint import save_model_dir
from app.engine.snapshots import snapshot_steps
from app.engine.vocab import Vocabulary
from app.main import create_app
from app.settings import Settings
from tests.conftest import TINY_TEXT, make_model, train_with_snapshots

TEXT = 'She said, "It is so."\n'


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("snapshot-models")
    train_with_snapshots(root)
    vocab = Vocabulary.from_text(TINY_TEXT)
    save_model_dir(root / "models" / "tiny-plain", make_model("gru", vocab.size, layers=1, hidden=8), vocab)
    return root / "models"


@pytest.fixture(scope="module")
def client(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir, snapshot_cache=2))) as test_client:
        yield test_client


def steps_of(client):
    return [s["step"] for s in client.get("/api/models/tiny-trained/snapshots").json()["snapshots"]]


def test_model_list_names_each_models_snapshot_steps(client):
    summaries = {m["name"]: m for m in client.get("/api/models").json()}
    assert summaries["tiny-trained"]["snapshots"] == steps_of(client)
    assert summaries["tiny-plain"]["snapshots"] == []


def test_snapshot_list_gives_steps_characters_and_bits(client):
    snapshots = client.get("/api/models/tiny-trained/snapshots").json()["snapshots"]
    assert [s["step"] for s in snapshots] == snapshot_steps(4, 24)
    assert all(s["chars_seen"] == s["step"] * 4 * 16 and s["val_bpc"] > 0 for s in snapshots)


def test_activations_at_a_snapshot_differ_from_the_final_model(client):
    body = {"model": "tiny-trained", "text": TEXT, "layer": 0, "state": "h", "topk": 2}
    final = client.post("/api/activations", json=body).json()
    early = client.post("/api/activations", json={**body, "snapshot": 0}).json()
    assert early["values"] != final["values"] and early["bits"] != final["bits"]


def test_the_last_snapshot_gives_the_final_models_values(client):
    body = {"model": "tiny-trained", "text": TEXT, "layer": 0, "state": "c"}
    final = client.post("/api/activations", json=body).json()
    last = client.post("/api/activations", json={**body, "snapshot": steps_of(client)[-1]}).json()
    assert last["values"] == final["values"]


def test_stream_at_a_snapshot_equals_the_document(client):
    body = {"model": "tiny-trained", "text": TEXT, "layer": 0, "state": "h", "snapshot": 5}
    document = client.post("/api/activations", json=body).json()
    lines = [json.loads(line) for line in client.post("/api/activations/stream", json=body).text.splitlines()]
    assert [row["values"] for row in lines[1:]] == document["values"]


def test_sample_at_a_snapshot_uses_its_weights(client):
    body = {"model": "tiny-trained", "prime": "She", "length": 40, "seed": 3, "layer": 0, "state": "h"}
    final = client.post("/api/sample", json=body).text
    early = client.post("/api/sample", json={**body, "snapshot": 0}).text
    assert early != final


def test_unknown_step_is_a_422_listing_the_valid_ones(client):
    response = client.post("/api/activations", json={"model": "tiny-trained", "text": TEXT, "snapshot": 7})
    assert response.status_code == 422
    assert "0, 1, 5, 24" in response.json()["detail"]


def test_snapshot_of_a_model_without_snapshots_is_a_422(client):
    response = client.post("/api/sample", json={"model": "tiny-plain", "snapshot": 0})
    assert response.status_code == 422 and "no training snapshots" in response.json()["detail"]


def test_snapshot_must_be_an_integer(client):
    response = client.post("/api/activations", json={"model": "tiny-trained", "text": TEXT, "snapshot": True})
    assert response.status_code == 422


def test_timeline_is_served(client, models_dir):
    served = client.get("/api/models/tiny-trained/timeline").json()
    assert served == json.loads((models_dir / "tiny-trained" / "timeline.json").read_text())


def test_timeline_of_a_model_without_snapshots_is_a_404_that_says_why(client):
    response = client.get("/api/models/tiny-plain/timeline")
    assert response.status_code == 404 and "--snapshots" in response.json()["detail"]


def test_snapshots_are_loaded_lazily_and_the_cache_stays_bounded(client):
    cache = client.app.state.snapshot_cache
    for step in steps_of(client):
        client.post("/api/activations", json={"model": "tiny-trained", "text": TEXT, "snapshot": step})
    assert len(cache) == 2 and cache.loads >= 4
