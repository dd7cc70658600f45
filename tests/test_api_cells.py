import pytest

from app.cells.hypotheses import HYPOTHESES
from app.engine.checkpoint import load_model_dir
from tests.api_fixtures import SAMPLE, client, models_dir  # noqa: F401 (fixtures)


def test_hypotheses_list_every_builtin_feature(client):
    listed = client.get("/api/hypotheses").json()
    assert [h["name"] for h in listed] == list(HYPOTHESES)
    assert all(h["value_type"] in ("binary", "numeric") and h["description"] for h in listed)


def test_stored_ranking_is_best_first_within_each_hypothesis(client):
    cells = client.get("/api/models/tiny-lstm/cells").json()
    by_hypothesis = {}
    for cell in cells:
        by_hypothesis.setdefault(cell["hypothesis"], []).append(cell["score"])
    assert "inside_double_quotes" in by_hypothesis
    assert all(scores == sorted(scores, reverse=True) for scores in by_hypothesis.values())


def test_stored_ranking_entries_have_the_documented_fields(client):
    cell = client.get("/api/models/tiny-lstm/cells", params={"hypothesis": "position_in_line"}).json()[0]
    assert set(cell) >= {"hypothesis", "layer", "state", "unit", "metric", "score", "sign"}
    assert cell["metric"] == "pearson" and cell["sign"] in (1, -1) and "spearman" in cell


def test_stored_ranking_of_an_analysis_without_ablation_figures_has_none(client):
    cells = client.get("/api/models/tiny-lstm/cells").json()
    assert cells and not any("ablation" in cell for cell in cells)


def test_stored_ranking_limit_applies_per_hypothesis(client):
    cells = client.get("/api/models/tiny-lstm/cells", params={"limit": 2}).json()
    counts = {}
    for cell in cells:
        counts[cell["hypothesis"]] = counts.get(cell["hypothesis"], 0) + 1
    assert max(counts.values()) == 2


def test_model_without_analysis_says_how_to_build_it(client):
    response = client.get("/api/models/tiny-rnn/cells")
    assert response.status_code == 404 and "python -m app.cells.build" in response.json()["detail"]


def test_ranking_a_regex_on_the_fly(client):
    response = client.post("/api/models/tiny-gru/cells", json={"regex": r'"[^"\n]*"', "limit": 3})
    body = response.json()
    assert response.status_code == 200 and len(body) == 3
    assert all(c["hypothesis"] == "regex" and c["metric"] == "auroc" and 0.5 <= c["score"] <= 1 for c in body)


def test_ranking_a_builtin_hypothesis_on_user_text(client):
    text = "if (a) { b(); }\n" * 30
    body = client.post("/api/models/tiny-lstm/cells", json={"hypothesis": "brace_depth", "text": text}).json()
    assert body[0]["hypothesis"] == "brace_depth" and body[0]["metric"] == "pearson"


@pytest.mark.parametrize("body, needle", [
    ({"regex": "("}, "invalid regular expression"),
    ({"regex": "(a|aa)+$", "text": "a" * 40 + "b"}, "took longer than"),
    ({"regex": "x", "hypothesis": "digit"}, "exactly one"),
    ({}, "exactly one"),
    ({"hypothesis": "telepathy"}, "unknown hypothesis"),
    ({"regex": "zzz_never"}, "cannot separate units"),
    ({"regex": "a" * 1001}, "regex"),
    ({"regex": "a", "limit": True}, "limit: Input should be a valid integer"),
    ({"regex": "a", "limit": "3"}, "limit: Input should be a valid integer"),
    ({"regex": 1}, "regex: Input should be a valid string"),
])
def test_bad_ranking_requests_get_a_clear_422(client, body, needle):
    response = client.post("/api/models/tiny-lstm/cells", json=body)
    assert response.status_code == 422 and needle in response.json()["detail"]


def test_unit_report_has_scores_examples_and_no_saturation_for_c(client):
    report = client.get("/api/models/tiny-lstm/units/1/c/3").json()
    assert report["name"] == "layers.1.c" and report["saturation"] is None
    assert len(report["top"]) == 4 and len(report["bottom"]) == 4
    example = report["top"][0]
    assert len(example["values"]) == len(example["context"])
    assert example["context"][example["peak"]] == SAMPLE[example["position"]]
    assert example["values"][example["peak"]] == pytest.approx(example["value"], abs=1e-3)


def test_top_examples_are_sorted_and_bottom_ones_are_lower(client):
    report = client.get("/api/models/tiny-lstm/units/0/h/5").json()
    top = [e["value"] for e in report["top"]]
    assert top == sorted(top, reverse=True) and report["bottom"][0]["value"] <= top[-1]


def test_unit_report_of_a_gate_includes_saturation(client):
    saturation = client.get("/api/models/tiny-gru/units/0/gates.z/2").json()["saturation"]
    assert 0 <= saturation["left"] <= 1 and 0 <= saturation["right"] <= 1


def test_unit_report_of_top_layer_h_has_its_direct_output_effect(client, models_dir):
    effect = client.get("/api/models/tiny-lstm/units/1/h/3").json()["direct_effect"]
    column = load_model_dir(models_dir / "tiny-lstm").model.head.weight[1:, 3]  # known characters' logits
    assert effect["raises"][0]["logit"] == pytest.approx(float(column.max()), abs=1e-4)
    assert effect["lowers"][0]["logit"] == pytest.approx(float(column.min()), abs=1e-4)


@pytest.mark.parametrize("path", ["/api/models/tiny-lstm/units/0/h/3", "/api/models/tiny-lstm/units/1/c/3"])
def test_unit_report_has_no_direct_effect_below_the_top_layers_h(client, path):
    assert client.get(path).json()["direct_effect"] is None


@pytest.mark.parametrize("path, needle", [
    ("/api/models/tiny-lstm/units/2/c/0", "layers 0 to 1"),
    ("/api/models/tiny-lstm/units/0/gates.r/0", "valid states"),
    ("/api/models/tiny-lstm/units/0/c/8", "units 0 to 7"),
])
def test_unit_report_rejects_out_of_range_selections(client, path, needle):
    response = client.get(path)
    assert response.status_code == 422 and needle in response.json()["detail"]


def test_saturation_lists_every_sigmoid_gate_per_layer(client):
    body = client.get("/api/models/tiny-lstm/saturation").json()
    assert [(g["layer"], g["gate"]) for g in body["gates"]] == [
        (0, "gates.i"), (0, "gates.f"), (0, "gates.o"), (1, "gates.i"), (1, "gates.f"), (1, "gates.o")]
    assert all(len(g["left"]) == 8 for g in body["gates"])


def test_ranking_waits_for_a_slot_and_then_answers_503(models_dir):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(models_dir=models_dir, rank_slots=1, rank_wait_s=0.1))
    with TestClient(app) as c:
        app.state.rank_slots.acquire()  # another ranking is running
        busy = c.post("/api/models/tiny-lstm/cells", json={"regex": "a"})
        app.state.rank_slots.release()
        free = c.post("/api/models/tiny-lstm/cells", json={"regex": "a"})
    assert busy.status_code == 503 and "busy" in busy.json()["detail"] and free.status_code == 200


def test_a_busy_slot_does_not_delay_the_422_of_a_malformed_request(models_dir):
    import time

    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(models_dir=models_dir, rank_slots=1, rank_wait_s=5))
    with TestClient(app) as c:
        app.state.rank_slots.acquire()
        try:
            start = time.monotonic()
            response = c.post("/api/models/tiny-lstm/cells", json={"regex": "a", "limit": 0})
            elapsed = time.monotonic() - start
        finally:
            app.state.rank_slots.release()
    assert response.status_code == 422 and elapsed < 2


def test_a_method_not_served_lists_every_method_of_the_path(client):
    response = client.options("/api/models/tiny-lstm/cells")
    assert response.status_code == 405 and response.headers["allow"] == "GET, POST"
    assert response.json()["detail"] == ("method OPTIONS is not allowed on /api/models/tiny-lstm/cells; "
                                         "allowed: GET, POST")
    assert client.delete("/api/activations").headers["allow"] == "POST"


def test_probes_cover_every_state_best_first_within_each_hypothesis(client):
    probes = client.get("/api/models/tiny-lstm/probes").json()
    position = [p for p in probes if p["hypothesis"] == "position_in_line"]
    assert {(p["layer"], p["state"]) for p in position} == {(layer, state) for layer in (0, 1)
                                                            for state in ("h", "c", "gates.i", "gates.f", "gates.g", "gates.o")}
    assert [p["score"] for p in position] == sorted((p["score"] for p in position), reverse=True)
    assert all(0 <= p["score"] <= 1 and 0 <= p["best_unit"] < 8 and p["metric"] == "pearson" for p in position)


def test_probes_filter_by_hypothesis_and_reject_unknown_ones(client):
    probes = client.get("/api/models/tiny-lstm/probes", params={"hypothesis": "inside_double_quotes"}).json()
    assert probes and {p["hypothesis"] for p in probes} == {"inside_double_quotes"} and probes[0]["metric"] == "auroc"
    response = client.get("/api/models/tiny-lstm/probes", params={"hypothesis": "nope"})
    assert response.status_code == 422 and "inside_double_quotes" in response.json()["detail"]


def test_probes_of_an_analysis_built_before_probes_say_to_rebuild(client):
    store = client.app.state.registry.cells["tiny-gru"]
    saved = store.summary.pop("probes")
    try:
        response = client.get("/api/models/tiny-gru/probes")
        assert response.status_code == 404 and "python -m app.cells.build models/tiny-gru" in response.json()["detail"]
    finally:
        store.summary["probes"] = saved
