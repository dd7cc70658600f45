"""POST /api/interventions: a text with and without interventions, and every way a request can be refused."""
import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load_file

from app.cells.store import UNITS_FILE
from app.engine.checkpoint import save_tensors
from app.main import create_app
from app.services.interventions import MAX_INTERVENTIONS
from app.settings import Settings
from tests.api_fixtures import build_models_dir, client, models_dir  # noqa: F401 (fixtures)

TEXT = 'He said "hi" twice.\n'  # 20 characters


def _post(client, interventions, model="tiny-lstm", **body):
    return client.post("/api/interventions", json={"model": model, "text": TEXT, "interventions": interventions,
                                                   **body})


def _clamp(**fields):
    return {"layer": 1, "state": "c", "units": [2], "op": "clamp", "value": 0.5, **fields}


def test_both_passes_per_character(client):
    body = _post(client, [_clamp(start=5)], units=[2, 3], topk=3).json()
    n = len(TEXT)
    assert body["chars"] == list(TEXT) and body["unknown"] == []
    assert (body["layer"], body["state"], body["name"], body["units"]) == (1, "c", "layers.1.c", [2, 3])
    for key in ("bits", "base_bits", "delta_bits", "kl", "values", "base_values", "predictions", "base_predictions"):
        assert len(body[key]) == n, key
    assert body["bits"][-1] is None and body["base_bits"][-1] is None and body["delta_bits"][-1] is None
    assert all(abs(d - (b - a)) <= 2e-4 for d, b, a in zip(body["delta_bits"][:-1], body["bits"], body["base_bits"]))
    assert [row[0] for row in body["values"][5:]] == [0.5] * (n - 5)  # the clamped unit reads the value
    assert body["values"][:5] == body["base_values"][:5]
    assert all(v == 0 for v in body["delta_bits"][:5] + body["kl"][:5])  # before the span: exactly the plain pass
    assert max(body["kl"][5:]) > 0 and all(k >= 0 for k in body["kl"])
    assert len(body["predictions"][0]) == 3 and body["predictions"][0][0]["p"] >= body["predictions"][0][1]["p"]


def test_the_plain_pass_is_the_activations_endpoint(client):
    body = _post(client, [_clamp()], layer=0, state="gates.f", units=[1], topk=2).json()
    plain = client.post("/api/activations", json={"model": "tiny-lstm", "text": TEXT, "layer": 0,
                                                  "state": "gates.f", "units": [1], "topk": 2}).json()
    assert body["base_values"] == plain["values"] and body["base_bits"] == plain["bits"]
    assert body["base_predictions"] == plain["predictions"]


def test_no_interventions_change_nothing(client):
    body = _post(client, [], model="tiny-rnn", state="h").json()
    assert body["values"] == body["base_values"] and body["bits"] == body["base_bits"]
    assert set(body["kl"]) == {0.0} and set(body["delta_bits"][:-1]) == {0.0}
    assert "predictions" not in body and "base_predictions" not in body  # topk 0


def test_mean_sets_the_unit_to_its_stored_mean(client, models_dir):
    mean = float(load_file(str(models_dir / "tiny-gru" / UNITS_FILE))["layers.0.gates.z.mean"][4])
    body = _post(client, [{"layer": 0, "state": "gates.z", "units": [4], "op": "mean", "end": 10}], model="tiny-gru",
                 layer=0, state="gates.z", units=[4]).json()
    assert [row[0] for row in body["values"][:10]] == [round(mean, 4)] * 10
    assert body["values"][10:] != [[round(mean, 4)]] * 10


def test_two_interventions_compose(client):
    body = _post(client, [_clamp(end=8), {"layer": 1, "state": "c", "units": [2], "op": "zero", "start": 4}],
                 units=[2]).json()
    assert [row[0] for row in body["values"]] == [0.5] * 4 + [0.0] * (len(TEXT) - 4)  # the later one wins


@pytest.mark.parametrize("intervention, model, message", [
    (_clamp(units=[8]), "tiny-lstm", "interventions[0]: units [8] out of range; the model has units 0 to 7"),
    (_clamp(layer=2), "tiny-lstm", "interventions[0]: layer 2 is out of range; the model has layers 0 to 1"),
    (_clamp(), "tiny-gru", "interventions[0]: unknown state 'c' for a gru model; valid states: h, gates.r, gates.z, "
                           "gates.n"),
    (_clamp(units=[]), "tiny-lstm", "interventions[0]: units is empty; give at least one unit index"),
    (_clamp(value=None), "tiny-lstm", "interventions[0]: clamp needs a value"),
    (_clamp(op="zero"), "tiny-lstm", "interventions[0]: zero takes no value (only clamp does)"),
    (_clamp(op="mean"), "tiny-lstm", "interventions[0]: mean takes no value (only clamp does)"),
    (_clamp(start=20), "tiny-lstm", "interventions[0]: start 20 is outside the text: positions are 0 to 19"),
    (_clamp(end=21), "tiny-lstm", r"interventions[0]: end 21 is outside the text: end is 1 to 20 (the span is "
                                  "[start, end))"),
    (_clamp(start=6, end=6), "tiny-lstm", "interventions[0]: start 6 is not before end 6; the span is [start, end)"),
    ({"layer": 0, "state": "h", "units": [0], "op": "mean"}, "tiny-rnn",
     "interventions[0]: mean needs tiny-rnn's stored cell analysis (the unit means over its held-out sample), and it "
     "has none; build it: python -m app.cells.build models/tiny-rnn; zero and clamp need none"),
])
def test_an_intervention_that_does_not_fit_is_a_422_that_says_what_is_allowed(client, intervention, model, message):
    response = _post(client, [intervention], model=model, state="h")
    assert response.status_code == 422 and response.json()["detail"] == message


@pytest.mark.parametrize("intervention, message", [
    (_clamp(op="double"), "interventions.0.op: Input should be 'zero', 'mean' or 'clamp'"),
    (_clamp(start=-1), "interventions.0.start: Input should be greater than or equal to 0"),
    (_clamp(value="1"), "interventions.0.value: Input should be a valid number"),
    (_clamp(value=True), "interventions.0.value: Input should be a valid number"),
    (_clamp(units=[1.5]), "interventions.0.units.0: Input should be a valid integer"),
    (_clamp(unit=3), "interventions.0.unit: unknown field"),
    ({"layer": 1, "state": "c", "units": [2]}, "interventions.0.op: field required"),
])
def test_a_malformed_intervention_is_a_422_naming_the_field(client, intervention, message):
    response = _post(client, [intervention])
    assert response.status_code == 422 and response.json()["detail"].startswith(message)


def test_too_many_interventions(client):
    response = _post(client, [_clamp()] * (MAX_INTERVENTIONS + 1))
    assert response.status_code == 422
    assert response.json()["detail"] == f"{MAX_INTERVENTIONS + 1} interventions; at most {MAX_INTERVENTIONS} per request"
    assert _post(client, [_clamp()] * MAX_INTERVENTIONS).status_code == 200


def test_the_selection_and_the_model_are_checked_as_everywhere(client):
    assert _post(client, [], model="nope").status_code == 404
    response = _post(client, [], model="tiny-gru", state="c")
    assert response.status_code == 422 and response.json()["detail"].startswith("unknown state 'c' for a gru model")
    assert _post(client, [], units=[9]).status_code == 422


def test_sizes_count_both_passes(client):
    long = client.post("/api/interventions", json={"model": "tiny-lstm", "text": "a" * 60_001, "interventions": []})
    assert long.status_code == 413
    # 20,000 characters x 8 units fits the 300,000-value limit once, not twice
    twice = client.post("/api/interventions", json={"model": "tiny-lstm", "text": "a" * 20_000, "interventions": []})
    assert twice.status_code == 413
    assert twice.json()["detail"] == ("20,000 characters x 8 units x 2 (with and without the interventions) = "
                                      "320,000 values; the limit is 300,000: ask for fewer units or a shorter text")


def test_an_analysis_without_means_says_how_to_add_them(tmp_path):
    root = build_models_dir(tmp_path, analysed=("lstm",))
    path = root / "tiny-lstm" / UNITS_FILE
    save_tensors(path, {k: v for k, v in load_file(str(path)).items() if not k.endswith(".mean")})
    with TestClient(create_app(Settings(models_dir=root))) as old_client:
        response = _post(old_client, [_clamp(op="mean", value=None)])
    assert response.status_code == 422
    assert "its analysis predates unit means; add them: python -m app.cells.means models/tiny-lstm" in \
        response.json()["detail"]


def test_openapi_documents_the_route(client):
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/api/interventions"]["post"]
    assert {"200", "400", "404", "413", "422"} <= set(route["responses"])
    assert all(route["responses"][code]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
               for code in ("400", "404", "413", "422"))
    item = spec["components"]["schemas"]["Intervention"]["properties"]
    assert item["op"]["enum"] == ["zero", "mean", "clamp"]
    assert str(MAX_INTERVENTIONS) in spec["components"]["schemas"]["InterventionsRequest"]["properties"][
        "interventions"]["description"]
    assert all("description" in p for p in item.values())


def test_values_are_what_the_engine_computes(client, models_dir):
    from app.engine.interventions import Intervention, intervene
    from app.registry import ModelRegistry

    loaded = ModelRegistry.load(models_dir).models["tiny-lstm"]
    ids = torch.from_numpy(loaded.vocab.encode(TEXT).ids)
    expected = intervene(loaded.model, ids, [Intervention(0, "h", [1], "zero", start=3)], names=["layers.1.h"],
                         units=[0]).states["layers.1.h"][0, :, 0]
    body = _post(client, [{"layer": 0, "state": "h", "units": [1], "op": "zero", "start": 3}], state="h",
                 units=[0]).json()
    assert [row[0] for row in body["values"]] == [round(float(v), 4) for v in expected]
