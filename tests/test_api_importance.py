"""POST /api/models/{name}/importance: units ranked by the estimated effect of their ablation on a target."""
import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load_file

from app.cells.store import UNITS_FILE, load_store
from app.engine.checkpoint import load_model_dir, save_tensors
from app.engine.importance import exact
from app.engine.names import StateName
from app.main import create_app
from app.schemas import MAX_CONFIRM
from app.settings import Settings
from tests.api_fixtures import SAMPLE, build_models_dir, client, models_dir  # noqa: F401 (fixtures)


def _post(client, model="tiny-lstm", **body):
    return client.post(f"/api/models/{model}/importance", json={"target": {"regex": '"'}, "confirm": 3, **body})


def test_every_unit_ranked_and_the_best_confirmed(client, models_dir):
    body = _post(client).json()
    assert (body["layer"], body["state"], body["name"]) == (1, "c", "layers.1.c")
    assert body["chars"] == len(SAMPLE) and body["target_chars"] == SAMPLE[1:].count('"')
    estimates = [u["estimate"] for u in body["units"]]
    assert sorted(u["unit"] for u in body["units"]) == list(range(8)) and estimates == sorted(estimates, reverse=True)
    assert [c["unit"] for c in body["confirmed"]] == [u["unit"] for u in body["units"][:3]]
    directory = models_dir / "tiny-lstm"
    loaded, store = load_model_dir(directory), load_store(directory)
    ids = torch.from_numpy(loaded.vocab.encode(SAMPLE).ids)
    target = torch.tensor([c == '"' for c in SAMPLE[1:]])
    measured = exact(loaded.model, ids, StateName(1, "c"), [c["unit"] for c in body["confirmed"]], store.means,
                     target)
    for entry, (effect, at_target, at_others) in zip(body["confirmed"], measured):
        assert (entry["effect"], entry["target_change"], entry["other_change"]) == \
            (round(effect, 4), round(at_target, 4), round(at_others, 4))
    assert body["spearman"] is None or -1 <= body["spearman"] <= 1
    assert set(body["timing_s"]) == {"estimate", "confirm"}


def test_a_hypothesis_target_on_a_given_text(client):
    text = 'He said "no" and "yes" and left.\n' * 3
    body = _post(client, model="tiny-gru", target={"hypothesis": "inside_double_quotes"}, text=text, layer=0,
                 state="gates.z", confirm=0).json()
    assert body["chars"] == len(text) and body["name"] == "layers.0.gates.z" and body["confirmed"] == []
    assert body["spearman"] is None and len(body["units"]) == 8


@pytest.mark.parametrize("body, status, message", [
    ({"target": {"regex": '"', "hypothesis": "digit"}}, 422, 'give exactly one of "hypothesis" (a built-in id) or '
                                                             '"regex"'),
    ({"target": {}}, 422, 'give exactly one of "hypothesis"'),
    ({"target": {"hypothesis": "nope"}}, 422, "unknown hypothesis 'nope'"),
    ({"target": {"hypothesis": "position_in_line"}}, 422, "hypothesis 'position_in_line' is numeric"),
    ({"target": {"regex": "("}}, 422, "invalid regular expression"),
    ({"target": {"regex": "Z"}}, 422, "no character after the first is a target character in this text"),
    ({"target": {"regex": "(?s)."}}, 422, "every character after the first is a target character"),
    ({"state": "gates.r"}, 422, "unknown state 'gates.r' for a lstm model"),
    ({"layer": 2}, 422, "layer 2 is out of range"),
    ({"text": "ab"}, 422, "text needs at least 3 characters"),
    ({"confirm": MAX_CONFIRM + 1}, 422, f"confirm: Input should be less than or equal to {MAX_CONFIRM}"),
    ({"target": {"regex": '"'}, "units": [1]}, 422, "units: unknown field"),
    ({"text": "a" * 50_001}, 413, "text has 50,001 characters; the limit is 50,000"),
])
def test_refusals_say_what_is_allowed(client, body, status, message):
    response = client.post("/api/models/tiny-lstm/importance", json={"target": {"regex": '"'}, **body})
    assert response.status_code == status and message in response.json()["detail"], response.json()


def test_a_model_without_an_analysis_or_means(client, tmp_path):
    assert _post(client, model="nope").status_code == 404
    response = _post(client, model="tiny-rnn", state="h")
    assert response.status_code == 404 and "python -m app.cells.build models/tiny-rnn" in response.json()["detail"]
    root = build_models_dir(tmp_path, analysed=("lstm",))
    path = root / "tiny-lstm" / UNITS_FILE
    save_tensors(path, {k: v for k, v in load_file(str(path)).items() if not k.endswith(".mean")})
    with TestClient(create_app(Settings(models_dir=root))) as old_client:
        response = _post(old_client)
    assert response.status_code == 422 and "python -m app.cells.means models/tiny-lstm" in response.json()["detail"]


def test_openapi_documents_the_route(client):
    route = client.get("/openapi.json").json()["paths"]["/api/models/{name}/importance"]["post"]
    assert {"200", "400", "404", "413", "422", "503"} <= set(route["responses"])
