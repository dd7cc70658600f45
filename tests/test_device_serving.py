"""CELLX_DEVICE: where served models compute. CPU here; the GPU tests run where torch sees one."""
import subprocess
import sys

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.engine.capture import Stepwise, capture, linear_recurrence
from app.engine.interventions import Intervention, intervene
from app.main import create_app
from app.registry import ModelRegistry
from app.settings import PROJECT_ROOT, Settings
from tests.conftest import make_model

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="torch sees no GPU here")
ARCH_STATES = {"lstm": ["h", "c", "gates.i", "gates.f", "gates.g", "gates.o"], "gru": ["h", "gates.r", "gates.z",
                                                                                         "gates.n"], "rnn": ["h"]}


def test_device_defaults_to_the_cpu():
    assert Settings().device == "cpu"


def test_unknown_device_is_refused_with_the_choices():
    with pytest.raises(ValidationError, match="'cpu', 'auto' or 'cuda'"):
        Settings(device="tpu")


def test_unknown_log_level_is_refused_with_the_choices():
    with pytest.raises(ValidationError, match="'debug'"):
        Settings(log_level="loud")


def test_trace_log_level_starts_the_server(analysed_models_dir):
    with TestClient(create_app(Settings(models_dir=analysed_models_dir, log_level="trace"))) as client:
        assert client.get("/healthz").status_code == 200


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cli_with_cuda_and_no_gpu_exits_with_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "app", "--device", "cuda"], capture_output=True, text=True,
                          timeout=60, cwd=PROJECT_ROOT)
    assert done.returncode == 2 and "torch sees no GPU" in done.stderr and "Uvicorn running" not in done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_app_with_cuda_and_no_gpu_does_not_start(analysed_models_dir):
    with pytest.raises(ValueError, match="torch sees no GPU"):
        with TestClient(create_app(Settings(models_dir=analysed_models_dir, device="cuda"))):
            pass


def test_auto_serves_where_torch_computes(analysed_models_dir):
    app = create_app(Settings(models_dir=analysed_models_dir, device="auto"))
    with TestClient(app) as client:
        assert client.get("/api/models").status_code == 200
        expected = "cuda" if torch.cuda.is_available() else "cpu"
        assert {m.model.head.weight.device.type for m in app.state.registry.models.values()} == {expected}


def test_registry_puts_the_weights_on_the_device(analysed_models_dir):
    registry = ModelRegistry.load(analysed_models_dir, torch.device("cpu"))
    assert registry.models and all(p.device.type == "cpu" for m in registry.models.values()
                                   for p in m.model.parameters())


def test_linear_recurrence_of_numpy_matches_the_torch_loop():
    torch.manual_seed(0)
    a, b, x0 = torch.rand(2, 30, 5), torch.randn(2, 30, 5), torch.randn(2, 5)
    expected = torch.empty_like(b)
    prev = x0
    for t in range(30):
        prev = expected[:, t] = a[:, t] * prev + b[:, t]
    assert torch.allclose(linear_recurrence(a, b, x0), expected, atol=1e-6)


# --- on a GPU --------------------------------------------------------------------------------------------------

def _ids(vocab_size: int, n: int = 120) -> torch.Tensor:
    return torch.randint(1, vocab_size, (n,), generator=torch.Generator().manual_seed(1))


@needs_gpu
@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_capture_on_the_gpu_matches_the_cpu(arch):
    model = make_model(arch, 20)
    names = [f"layers.{layer}.{kind}" for layer in range(2) for kind in ARCH_STATES[arch]]
    on_cpu = capture(model, _ids(20), names, with_logits=True)
    on_gpu = capture(make_model(arch, 20).cuda(), _ids(20), names, with_logits=True)
    assert on_gpu.logits.device.type == "cpu"
    assert (on_gpu.logits - on_cpu.logits).abs().max() < 1e-4
    for name in names:
        assert (on_gpu.states[name] - on_cpu.states[name]).abs().max() < 1e-5, name


@needs_gpu
@pytest.mark.parametrize("arch", ["lstm", "gru", "rnn"])
def test_stepwise_on_the_gpu_writes_into_cpu_outputs(arch):
    model = make_model(arch, 20).cuda()
    outputs = {"layers.1.h": torch.empty(1, 120, 8)}
    capture(model, _ids(20), ["layers.1.h"], stepwise=Stepwise(outputs=outputs))
    expected = capture(make_model(arch, 20), _ids(20), ["layers.1.h"]).states["layers.1.h"]
    assert (outputs["layers.1.h"] - expected).abs().max() < 1e-5


@needs_gpu
def test_interventions_on_the_gpu_match_the_cpu():
    clamp = [Intervention(1, "c", [2, 5], "clamp", value=0.5, start=10, end=80)]
    on_cpu = intervene(make_model("lstm", 20), _ids(20), clamp, names=["layers.1.c"], with_logits=True)
    on_gpu = intervene(make_model("lstm", 20).cuda(), _ids(20), clamp, names=["layers.1.c"], with_logits=True)
    assert (on_gpu.states["layers.1.c"] - on_cpu.states["layers.1.c"]).abs().max() < 1e-5


@needs_gpu
def test_api_on_the_gpu_gives_the_cpu_values(analysed_models_dir):
    body = {"model": "tiny-lstm", "text": "She said, \"indeed\" and left.", "layer": 1, "state": "c", "topk": 3}
    answers = []
    for device in ("cpu", "cuda"):
        with TestClient(create_app(Settings(models_dir=analysed_models_dir, device=device))) as client:
            answers.append(client.post("/api/activations", json=body).json())
    cpu, gpu = answers
    assert cpu["chars"] == gpu["chars"]
    assert max(abs(x - y) for a, b in zip(cpu["values"], gpu["values"]) for x, y in zip(a, b)) < 1e-4
