"""POST /api/interventions/sample (steering: a sample with and without interventions) and `snapshot` on
POST /api/interventions."""
import json

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.api_fixtures import build_models_dir, client, models_dir  # noqa: F401 (fixtures)

PRIME = 'He said "'
CLAMP = {"layer": 1, "state": "h", "units": [0, 1, 2, 3], "op": "clamp", "value": 5.0}


def _steer(client, interventions, model="tiny-lstm", **body):
    return client.post("/api/interventions/sample", json={"model": model, "prime": PRIME, "length": 40, "seed": 3,
                                                          "interventions": interventions, **body})


def _sample_chars(client, **body):
    lines = client.post("/api/sample", json=body).text.splitlines()
    return [json.loads(line)["char"] for line in lines[1:]]


@pytest.mark.parametrize("model", ["tiny-lstm", "tiny-gru", "tiny-rnn"])
def test_the_plain_sample_is_the_sample_endpoints(client, model):
    body = _steer(client, [CLAMP], model=model, layer=0, state="h", units=[1]).json()
    plain = _sample_chars(client, model=model, prime=PRIME, length=40, seed=3, layer=0, state="h", units=[1])
    assert body["plain"]["chars"] == plain
    assert len(body["steered"]["chars"]) == 40 and len(body["steered"]["values"]) == 40


def test_a_strong_clamp_changes_the_sample_and_says_where(client):
    body = _steer(client, [CLAMP], layer=1, state="h", units=[0]).json()
    steered, plain = body["steered"]["chars"], body["plain"]["chars"]
    assert steered != plain
    first = body["diverged_at"]
    assert steered[:first] == plain[:first] and steered[first] != plain[first]
    assert first >= 1  # the prime is read plainly, so the first character is drawn as without
    assert [row[0] for row in body["steered"]["values"]] == [5.0] * 40  # the clamped unit reads the value


def test_no_interventions_give_the_same_sample_twice(client):
    body = _steer(client, [], model="tiny-gru").json()
    assert body["steered"] == body["plain"] and body["diverged_at"] is None


def test_a_span_counts_generated_positions(client):
    body = _steer(client, [{**CLAMP, "start": 10, "end": 20}], layer=1, state="h", units=[0]).json()
    values = [row[0] for row in body["steered"]["values"]]
    assert values[10:20] == [5.0] * 10 and 5.0 not in values[:10]
    assert body["diverged_at"] is None or body["diverged_at"] >= 11


@pytest.mark.parametrize("intervention, message", [
    ({**CLAMP, "end": 41}, "end 41 is outside the text"),
    ({**CLAMP, "layer": 5}, "layer 5 is out of range"),
    ({"layer": 0, "state": "c", "units": [0], "op": "clamp"}, "clamp needs a value"),
])
def test_an_intervention_that_does_not_fit_is_a_422(client, intervention, message):
    response = _steer(client, [intervention])
    assert response.status_code == 422 and message in response.json()["detail"]


def test_mean_needs_a_stored_analysis(client):
    response = _steer(client, [{"layer": 0, "state": "h", "units": [0], "op": "mean"}], model="tiny-rnn")
    assert response.status_code == 422 and "python -m app.cells.build" in response.json()["detail"]


def test_sizes_count_both_samples(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir, max_values=100))) as small:
        response = _steer(small, [CLAMP], units=[0, 1])  # 40 x 2 x 2 = 160 values
    assert response.status_code == 413 and "x 2 samples" in response.json()["detail"]


def test_openapi_documents_the_route(client):
    route = client.get("/openapi.json").json()["paths"]["/api/interventions/sample"]["post"]
    assert {"200", "400", "404", "413", "422", "503"} <= set(route["responses"])


@pytest.fixture(scope="module")
def trained_client(trained_dir):
    with TestClient(create_app(Settings(models_dir=trained_dir.parent, snapshot_cache=2))) as test_client:
        yield test_client


def _intervene(client, **body):
    return client.post("/api/interventions", json={"model": "tiny-trained", "text": PRIME * 3, "layer": 0,
                                                   "state": "c", "interventions": [{**CLAMP, "layer": 0}], **body})


def test_interventions_at_a_snapshot_use_its_weights(trained_client):
    early = _intervene(trained_client, snapshot=0).json()
    plain = trained_client.post("/api/activations", json={"model": "tiny-trained", "text": PRIME * 3, "layer": 0,
                                                           "state": "c", "snapshot": 0}).json()
    assert early["base_values"] == plain["values"] and early["base_bits"] == plain["bits"]
    assert early["base_values"] != _intervene(trained_client).json()["base_values"]


def test_a_snapshot_the_model_lacks_lists_its_steps(trained_client):
    response = _intervene(trained_client, snapshot=999_999)
    assert response.status_code == 422 and "its steps are" in response.json()["detail"]


def test_mean_is_refused_with_a_snapshot(trained_client):
    response = _intervene(trained_client, snapshot=0,
                          interventions=[{"layer": 0, "state": "c", "units": [0], "op": "mean"}])
    assert response.status_code == 422 and "final model's stored unit means" in response.json()["detail"]


def test_the_stream_gives_the_same_pairs_as_the_document(client):
    body = {"model": "tiny-lstm", "prime": PRIME, "length": 30, "seed": 3, "layer": 1, "state": "h", "units": [0],
            "interventions": [CLAMP]}
    whole = client.post("/api/interventions/sample", json=body).json()
    lines = [json.loads(line) for line in client.post("/api/interventions/sample/stream", json=body).text.splitlines()]
    assert lines[0]["name"] == "layers.1.h" and lines[0]["length"] == 30 and lines[0]["prime"] == PRIME
    assert [line["i"] for line in lines[1:]] == list(range(30))
    for key in ("steered", "plain"):
        assert [line[key]["char"] for line in lines[1:]] == whole[key]["chars"]
        assert [line[key]["values"] for line in lines[1:]] == whole[key]["values"]


def test_the_stream_refuses_before_its_first_line(client):
    response = client.post("/api/interventions/sample/stream", json={"model": "tiny-lstm", "length": 5,
                                                                     "interventions": [{**CLAMP, "end": 6}]})
    assert response.status_code == 422 and "end 6 is outside the text" in response.json()["detail"]
