"""The batcher (app/services/batcher.py): the same answers alone and amid other requests, a dropped
stream stops computing, a full server answers 503 with Retry-After, /healthz reports the load."""
import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from fastapi.testclient import TestClient

from app.engine.checkpoint import save_model_dir
from app.engine.interventions import Intervention
from app.engine.streams import Want, pad_ids, read_rows, stack_states
from app.engine.vocab import Vocabulary
from app.main import create_app
from app.settings import Settings
from tests.conftest import TINY_TEXT, make_model, random_text

HIDDEN = 96  # wide enough that the products take the kernels' blocked paths, not just a few scalar loops


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("batched")
    vocab = Vocabulary.from_text(TINY_TEXT)
    for arch in ("lstm", "gru"):
        save_model_dir(root / f"b-{arch}", make_model(arch, vocab.size, layers=2, hidden=HIDDEN), vocab)
    return root


@pytest.fixture(scope="module")
def client(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir, batch_chars=32))) as test_client:
        yield test_client


class _Gate:
    """Stands in for the compute slot: shut, every batched pass waits at it, so requests pile up."""

    def __init__(self):
        self.open = threading.Event()

    def __enter__(self):
        self.open.wait()

    def __exit__(self, *exc):
        return None


def _wait_for(condition, limit_s: float = 60.0) -> None:
    """Polls until condition() holds; a bound on the wait, not a timing assertion: fails instead of hanging."""
    for _ in range(int(limit_s / 0.01)):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("the requests never all reached the batcher")


def _amid_others(client, send, mine, others, streams=None):
    """send(body) for mine and every other body at once, the passes held until all have arrived (`streams`:
    how many streams they make, by default one each): mine's answer, and how many streams were in the
    batcher together."""
    batcher = client.app.state.batcher
    gate, original = _Gate(), batcher.compute_slot
    batcher.compute_slot = gate
    try:
        with ThreadPoolExecutor(max_workers=len(others) + 1) as pool:
            futures = [pool.submit(send, body) for body in [mine, *others]]
            try:
                expected = len(futures) if streams is None else streams
                _wait_for(lambda: sum(batcher.depth().values()) == expected)  # every request is in the batcher
                waiting = sum(batcher.depth().values())
            finally:
                gate.open.set()  # also when the wait failed: the requests must end for the pool to close
            answers = [f.result() for f in futures]
    finally:
        batcher.compute_slot = original
    return answers[0], waiting


def _activations(client, path):
    def send(body):
        return client.post(path, json=body).content
    return send


BODY = {"model": "b-lstm", "text": random_text(150, seed=1), "layer": 0, "state": "c", "units": [3, 7], "topk": 5}
OTHERS = [{"model": "b-lstm", "text": random_text(40 + 37 * k, seed=10 + k), "layer": k % 2,
           "state": ["h", "gates.f", "c"][k % 3], "topk": k % 4, "bits": k % 2 == 0} for k in range(9)]


@pytest.mark.parametrize("path", ["/api/activations", "/api/activations/stream"])
def test_activations_are_the_same_alone_and_amid_other_requests(client, path):
    alone = client.post(path, json=BODY).content
    amid, waiting = _amid_others(client, _activations(client, path), BODY, OTHERS)
    assert waiting == 1 + len(OTHERS)  # they really were computed side by side
    assert amid == alone


def test_a_sample_is_the_same_alone_and_amid_other_requests(client):
    body = {"model": "b-lstm", "prime": random_text(70, seed=2), "length": 60, "seed": 5, "state": "gates.o"}
    others = [{"model": "b-lstm", "prime": random_text(45 * k, seed=20 + k), "length": 30 + k, "seed": k,
               "layer": k % 2, "state": ["h", "gates.i", "c"][k % 3]} for k in range(6)]
    send = _activations(client, "/api/sample")
    alone = send(body)
    amid, waiting = _amid_others(client, send, body, others)
    assert waiting == 1 + len(others) and amid == alone


def _clamp(layer, state, units, value, start=None, end=None):
    return {"layer": layer, "state": state, "units": units, "op": "clamp", "value": value, "start": start, "end": end}


INTERVENED = {"model": "b-lstm", "text": random_text(170, seed=6), "layer": 1, "state": "h", "units": [0, 5],
              "topk": 3, "interventions": [_clamp(0, "c", [3], 2.0, 40, 77), _clamp(1, "gates.f", [1, 5], 0.0, 70)]}
OTHER_INTERVENED = [{"model": "b-lstm", "text": random_text(60 + 31 * k, seed=30 + k), "layer": k % 2,
                     "state": ["c", "h", "gates.o"][k % 3], "topk": k % 3,
                     "interventions": [] if k == 2 else [_clamp(k % 2, "h", [k, k + 1], -1.5, 5 * k, 20 + 9 * k)]}
                    for k in range(5)]


def test_interventions_are_the_same_alone_and_amid_other_requests(client):
    send = _activations(client, "/api/interventions")
    alone = send(INTERVENED)
    others = OTHER_INTERVENED + OTHERS[:3]  # other interventions, and plain activations
    amid, waiting = _amid_others(client, lambda body: client.post(
        "/api/interventions" if "interventions" in body else "/api/activations", json=body).content,
        INTERVENED, others, streams=2 * (1 + len(OTHER_INTERVENED)) + 3)
    assert waiting == 2 * (1 + len(OTHER_INTERVENED)) + 3  # a plain and an intervened stream per request
    assert amid == alone and json.loads(alone)["values"] != json.loads(alone)["base_values"]


def test_an_intervened_text_is_cut_at_its_own_span_edges_only():
    from app.services.interventions import InterventionStream

    stream = InterventionStream.__new__(InterventionStream)  # the chunking alone: no model, no event loop
    stream.interventions, stream.values = (Intervention(0, "h", (1,), "zero", start=40, end=77),
                                           Intervention(1, "c", (0,), "zero", start=70)), {}
    stream.values = {iv: torch.zeros(1) for iv in stream.interventions}
    cuts = [0]
    while cuts[-1] < 300:
        stream.position = cuts[-1]
        cuts.append(cuts[-1] + stream.pass_steps(128))
    assert cuts == [0, 32, 40, 70, 77, 160, 288, 416]  # the plain grid (32, then 128 each), cut at 40, 70 and 77
    stream.position = 50
    assert [iv.start for iv, _ in stream.acting()] == [40]
    stream.position = 75
    assert [iv.start for iv, _ in stream.acting()] == [40, 70]


def test_the_plain_pass_of_an_intervention_is_the_activations_bit_for_bit(client):
    body = {**INTERVENED, "topk": 5}
    answer = client.post("/api/interventions", json=body).json()
    plain = client.post("/api/activations", json={k: v for k, v in body.items() if k != "interventions"}).json()
    assert answer["base_values"] == plain["values"] and answer["base_predictions"] == plain["predictions"]
    assert answer["base_bits"] == plain["bits"]
    assert answer["values"][:40] == plain["values"][:40] and set(answer["kl"][:40]) == {0.0}  # before the first span


def test_a_steered_sample_is_the_same_alone_and_amid_other_requests(client):
    body = {"model": "b-lstm", "prime": random_text(50, seed=7), "length": 45, "seed": 2, "layer": 1,
            "state": "c", "units": [2], "interventions": [_clamp(1, "h", [0, 1, 2], 3.0, 10, 30)]}
    others = [{"model": "b-lstm", "prime": random_text(20 * k, seed=40 + k), "length": 20 + 3 * k, "seed": k,
               "interventions": [_clamp(0, "c", [k], 1.0, k, 5 + k)]} for k in range(4)]
    send = _activations(client, "/api/interventions/sample")
    alone = send(body)
    amid, waiting = _amid_others(client, send, body, others, streams=2 * (1 + len(others)))
    assert waiting == 2 * (1 + len(others)) and amid == alone
    answer = json.loads(alone)
    assert answer["steered"]["values"] != answer["plain"]["values"]


def test_a_steered_sample_is_the_engines(client):
    from app.engine.sampling import sample

    loaded = client.app.state.registry.models["b-gru"]
    iv = Intervention(0, "h", (4, 9), "clamp", 2.5, start=3, end=12)
    body = {"model": "b-gru", "prime": "ab", "length": 20, "seed": 9, "layer": 1, "state": "h", "units": [3],
            "interventions": [{"layer": 0, "state": "h", "units": [4, 9], "op": "clamp", "value": 2.5, "start": 3,
                               "end": 12}]}
    answer = client.post("/api/interventions/sample", json=body).json()
    engine = list(sample(loaded.model, loaded.vocab, "ab", 20, seed=9, names=["layers.1.h"], units=[3],
                         interventions=[iv]))
    assert answer["steered"]["chars"] == [step.char for step in engine]
    assert all(abs(a[0] - float(step.states["layers.1.h"][0])) <= 2e-4
               for a, step in zip(answer["steered"]["values"], engine))


def test_a_closed_steering_stream_frees_both_rows(client):
    from app.schemas import SteeringRequest
    from app.services.selection import resolve_selection
    from app.services.steering import open_steering

    batcher = client.app.state.batcher
    loaded = client.app.state.registry.models["b-lstm"]
    request = SteeringRequest(model="b-lstm", length=2000, interventions=[_clamp(0, "h", [1], 1.0)])
    items = [Intervention(**item.model_dump()) for item in request.interventions]

    async def read_a_little_then_leave():
        lines = open_steering(batcher, loaded, request, items, resolve_selection(loaded, request))
        streams = list(batcher._queued) + list(batcher._active)
        await _leave_after_the_first_line(batcher, lines)
        return streams

    streams = asyncio.run(read_a_little_then_leave())
    assert len(streams) == 2 and all(s.cancelled and len(s.drawn) < 1000 for s in streams)


def test_a_row_gives_the_same_bits_wherever_it_sits_and_whatever_the_others_read(models_dir):
    from app.engine.checkpoint import load_model_dir

    model = load_model_dir(models_dir / "b-gru").model
    torch.manual_seed(0)
    ids = torch.randint(1, model.config.vocab_size, (8, 20))
    want = Want("layers.1.gates.n", (1, 5, 9))
    alone, _ = read_rows(model, pad_ids([ids[0]], 8, 20, ids.device), stack_states(model, [None] * 8),
                         [want] + [None] * 7)
    mixed = torch.cat([ids[1:6], ids[:1], ids[6:8]])  # the row at position 5 amid seven other texts
    wants = [Want("layers.0.h")] * 5 + [want] + [Want("layers.1.h", (2,))] * 2
    amid, _ = read_rows(model, mixed, stack_states(model, [None] * 8), wants)
    assert torch.equal(amid[5].values, alone[0].values) and torch.equal(amid[5].logits, alone[0].logits)


async def _leave_after_the_first_line(batcher, lines) -> None:
    """Reads a response's metadata and first line, closes it as a client's disconnect does, and waits until
    the batcher has dropped its streams (at the next pass)."""
    await anext(lines)
    await anext(lines)
    await lines.aclose()
    while batcher.depth()["streams"]:
        await asyncio.sleep(0.01)


def test_a_closed_stream_stops_computing_and_frees_its_row(client):
    from app.services.activations import ndjson_lines, open_stream
    from app.services.selection import resolve_selection
    from app.schemas import ActivationsRequest

    batcher = client.app.state.batcher
    loaded = client.app.state.registry.models["b-lstm"]
    request = ActivationsRequest(model="b-lstm", text=random_text(20_000, seed=3))
    selection = resolve_selection(loaded, request)

    async def read_a_little_then_leave():
        encoded = loaded.vocab.encode(request.text)
        stream = open_stream(batcher, loaded, encoded, selection, 0, True)
        await _leave_after_the_first_line(batcher, ndjson_lines(stream, loaded, request.text, encoded, selection,
                                                                0, True))
        return stream

    stream = asyncio.run(read_a_little_then_leave())
    assert stream.cancelled and stream.position < len(request.text) // 2


def test_a_full_server_answers_503_with_retry_after_and_healthz_counts(models_dir):
    settings = Settings(models_dir=models_dir, max_streams=1, max_queue=1, retry_after_s=7)
    body = {"model": "b-lstm", "text": "abc"}
    with TestClient(create_app(settings)) as client:
        batcher = client.app.state.batcher
        gate = batcher.compute_slot = _Gate()
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = [pool.submit(client.post, "/api/activations", json=body) for _ in range(2)]
            try:
                _wait_for(lambda: sum(batcher.depth().values()) == 2)
                health = client.get("/healthz").json()
                full = [client.post("/api/activations", json=body),
                        client.post("/api/activations/stream", json=body),
                        client.post("/api/sample", json={"model": "b-lstm", "length": 3}),
                        client.post("/api/interventions", json={**body, "interventions": []}),
                        client.post("/api/interventions/sample", json={"model": "b-lstm", "length": 3,
                                                                       "interventions": []})]
            finally:
                gate.open.set()
            statuses = [f.result().status_code for f in first]
        after = client.get("/healthz").json()
    assert (health["streams"], health["queued"]) == (1, 1)
    assert [r.status_code for r in full] == [503] * 5 and {r.headers["retry-after"] for r in full} == {"7"}
    assert "busy" in full[0].json()["detail"]
    assert statuses == [200, 200] and (after["streams"], after["queued"]) == (0, 0)


def test_the_503_and_its_retry_after_are_documented(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/activations", "/api/activations/stream", "/api/sample", "/api/interventions",
                 "/api/interventions/sample", "/api/interventions/sample/stream"):
        response = paths[path]["post"]["responses"]["503"]
        assert "Retry-After" in response["headers"] and "full" in response["description"]


def test_streamed_lines_equal_the_json_answer(client):
    whole = client.post("/api/activations", json=BODY).json()
    lines = [json.loads(line) for line in client.post("/api/activations/stream", json=BODY).text.splitlines()]
    assert [line["values"] for line in lines[1:]] == whole["values"]
    assert [line["top"] for line in lines[1:]] == whole["predictions"]
    assert [line["bits"] for line in lines[1:]] == whole["bits"] and whole["bits"][-1] is None


def test_batch_shapes_are_powers_of_two_up_to_the_limit():
    from app.engine.streams import batch_shapes, fitting_shape

    assert batch_shapes(1) == (1,) and batch_shapes(8) == (2, 4, 8) and batch_shapes(12) == (2, 4, 8, 12)
    assert [fitting_shape(n, (4, 8, 12)) for n in (1, 4, 5, 9)] == [4, 4, 8, 12]


def test_agreeing_shapes_give_each_row_the_bits_of_the_largest(models_dir):
    from app.engine.checkpoint import load_model_dir
    from app.engine.streams import agreeing_shapes

    model = load_model_dir(models_dir / "b-lstm").model
    shapes = agreeing_shapes(model, (2, 4, 8), 5)
    assert shapes[-1] == 8 and set(shapes) <= {2, 4, 8}
    ids = torch.randint(1, model.config.vocab_size, (8, 5), generator=torch.Generator().manual_seed(1))
    want = [Want("layers.1.c", (0, 4))] * 8
    full, _ = read_rows(model, ids, stack_states(model, [None] * 8), want)
    small, _ = read_rows(model, ids[: shapes[0]], stack_states(model, [None] * shapes[0]), want[: shapes[0]])
    assert all(torch.equal(small[r].values, full[r].values) and torch.equal(small[r].logits, full[r].logits)
               for r in range(shapes[0]))


def test_agreeing_shapes_on_the_per_step_path_give_each_row_the_bits_of_the_largest(models_dir):
    from app.engine.checkpoint import load_model_dir
    from app.engine.interventions import row_edits
    from app.engine.streams import agreeing_shapes, intervene_rows

    model = load_model_dir(models_dir / "b-gru").model
    shapes = agreeing_shapes(model, (2, 4, 8), 6, "intervene")
    assert shapes[-1] == 8 and set(shapes) <= {2, 4, 8}
    ids = torch.randint(1, model.config.vocab_size, (8, 6), generator=torch.Generator().manual_seed(2))
    want = [Want("layers.1.gates.z", (0, 4))] * 8
    zero = Intervention(1, "h", (2,), "zero")
    edits = lambda rows: row_edits([[(zero, torch.zeros(1))]] + [[]] * (rows - 1))  # noqa: E731
    full, _ = intervene_rows(model, ids, stack_states(model, [None] * 8), want, edits(8))
    small, _ = intervene_rows(model, ids[: shapes[0]], stack_states(model, [None] * shapes[0]), want[: shapes[0]],
                              edits(shapes[0]))
    assert all(torch.equal(small[r].values, full[r].values) and torch.equal(small[r].logits, full[r].logits)
               for r in range(shapes[0]))


def _pass_sizes(client, monkeypatch, body):
    import app.services.batcher as batcher_module

    sizes, original = [], batcher_module.read_rows
    monkeypatch.setattr(batcher_module, "read_rows", lambda model, ids, *rest: sizes.append(ids.shape[0])
                        or original(model, ids, *rest))
    assert client.post("/api/activations", json=body).status_code == 200
    return sizes


def test_a_lone_request_runs_in_the_smallest_agreeing_shape(client, monkeypatch):
    batcher = client.app.state.batcher
    sizes = _pass_sizes(client, monkeypatch, {"model": "b-lstm", "text": random_text(100, seed=4)})
    model = client.app.state.registry.models["b-lstm"].model
    assert sizes and set(sizes) == {batcher._agreeing[model][32, "read"][0]} and max(sizes) < batcher.rows


def test_where_no_smaller_shape_agrees_every_pass_takes_all_rows(models_dir, monkeypatch):
    import app.services.batcher as batcher_module

    monkeypatch.setattr(batcher_module, "agreeing_shapes", lambda model, shapes, length, path: (max(shapes),))
    with TestClient(create_app(Settings(models_dir=models_dir, batch_chars=32, batch_streams=4))) as client:
        sizes = _pass_sizes(client, monkeypatch, {"model": "b-gru", "text": random_text(100, seed=5)})
    assert sizes and set(sizes) == {4}


def test_two_workers_never_run_one_stream_in_two_passes_at_once(models_dir, monkeypatch):
    import app.services.batcher as batcher_module

    running, overlaps, lock, original = set(), [], threading.Lock(), batcher_module.Batcher._pass

    def watched(self, group):
        with lock:
            overlaps.extend(id(s) for s in group if id(s) in running)
            running.update(id(s) for s in group)
        try:
            original(self, group)
        finally:
            with lock:
                running.difference_update(id(s) for s in group)

    monkeypatch.setattr(batcher_module.Batcher, "_pass", watched)
    settings = Settings(models_dir=models_dir, batch_chars=16, batch_streams=2, compute_slots=2)
    with TestClient(create_app(settings)) as client:
        assert client.app.state.batcher.workers == 2
        alone = client.post("/api/activations", json=BODY).content
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda body: client.post("/api/activations", json=body).content,
                                    [BODY, *OTHERS[:5]]))
    assert overlaps == [] and answers[0] == alone


def test_the_batch_sizes_are_checked_as_the_server_starts(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir, batch_chars=64))) as client:
        batcher = client.app.state.batcher
        models = [loaded.model for loaded in client.app.state.registry.models.values()]
        _wait_for(lambda: all(sorted(batcher._agreeing.get(model, {})) == [(length, path) for length in (1, 32, 64)
                                                                         for path in ("intervene", "read")]
                           for model in models))
