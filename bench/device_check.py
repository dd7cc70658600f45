"""The GPU check of issue 15, for a machine where torch sees a GPU: train there, compare with the CPU.

    python bench/device_check.py [--steps 200] [--corpus models/austen-lstm/sample.txt] [--hidden 512]

In one run:
  1. trains a 2 x --hidden LSTM for --steps steps on cuda (fp32 weights kept, a temporary directory);
  2. loads the checkpoint on the CPU and on the GPU and compares the plain forward's logits:
     GPU fp32 against CPU fp32 (limit 1e-5 times the logits' scale, TF32 off) and GPU bf16 autocast
     against CPU bf16 autocast (next-character probabilities, limit 1e-3);
  3. compares capture() of every state (h, c, every gate) of every layer: the CPU capture of the
     GPU-trained checkpoint against the GPU one (limit 1e-5);
  4. serves the checkpoint with CELLX_DEVICE=cuda and CELLX_DEVICE=cpu through the API and compares
     /api/activations (values rounded to 6 decimals by the API: limit 2e-6).
Prints one line per comparison and the training speed; exit status 0 when every limit holds, 1 when
one does not, 2 when torch sees no GPU.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engine.capture import capture  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402
from app.engine.device import exact_float32  # noqa: E402
from app.engine.training import TrainConfig, Trainer  # noqa: E402


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float().cpu() - b.float().cpu()).abs().max())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--corpus", default=str(ROOT / "models/austen-lstm/sample.txt"))
    parser.add_argument("--chars", type=int, default=2000, help="characters compared")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                        help="the side compared with the CPU (cpu: a dry run of this script, every difference 0)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch sees no GPU here: nothing to check")
        return 2
    exact_float32()
    out = Path(tempfile.mkdtemp(prefix="device-check-"))
    cfg = TrainConfig(name="check", corpus=[args.corpus], out_dir=str(out / "models"), resume_dir=str(out / "ckpt"),
                      n_layers=2, hidden_size=args.hidden, max_steps=args.steps, eval_every=args.steps,
                      save_every=args.steps, warmup_steps=min(200, args.steps // 4), device=args.device,
                      weights_dtype="float32")
    started = time.perf_counter()
    trainer = Trainer(cfg)
    trainer.run()
    seconds = time.perf_counter() - started
    where = torch.cuda.get_device_name() if args.device == "cuda" else "the CPU"
    print(f"trained {args.steps} steps of a 2x{args.hidden} LSTM on {where} in {seconds:.1f} s "
          f"({args.steps * cfg.batch_size * cfg.seq_len / seconds:,.0f} characters/s)")

    loaded = load_model_dir(trainer.out_dir)
    cpu_model = loaded.model
    gpu_model = load_model_dir(trainer.out_dir).model.to(args.device)
    text = Path(args.corpus).read_text(encoding="utf-8")[: args.chars]
    ids = torch.from_numpy(loaded.vocab.encode(text).ids)[None]  # (1, T)
    results = []
    with torch.no_grad():
        cpu_logits, _ = cpu_model(ids)
        gpu_logits, _ = gpu_model(ids.to(args.device))
        with torch.autocast(args.device, dtype=torch.bfloat16):
            bf16_gpu, _ = gpu_model(ids.to(args.device))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            bf16_cpu, _ = cpu_model(ids)
    scale = float(cpu_logits.abs().max())
    results.append(("forward fp32, GPU vs CPU (logits)", max_diff(gpu_logits, cpu_logits), 1e-5 * max(1.0, scale)))
    results.append(("forward bf16 autocast, GPU vs CPU (next-character probabilities)",
                    max_diff(bf16_gpu.float().softmax(-1), bf16_cpu.float().softmax(-1)), 1e-3))
    names = loaded.model.config.state_names()
    on_cpu = capture(cpu_model, ids, names, with_logits=True)
    on_gpu = capture(gpu_model, ids, names, with_logits=True)
    results.append(("capture, every state, CPU vs GPU", max(max_diff(on_cpu.states[n], on_gpu.states[n])
                                                             for n in names), 1e-5))
    results.append(("capture logits, CPU vs GPU", max_diff(on_cpu.logits, on_gpu.logits), 1e-5 * max(1.0, scale)))

    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings
    body = {"model": "check", "text": text, "layer": 1, "state": "c", "units": None, "topk": 5}
    answers = []
    for device in ("cpu", args.device):
        with TestClient(create_app(Settings(models_dir=out / "models", device=device, match_warm_up=False))) as client:
            answers.append(client.post("/api/activations", json=body).json())
    cpu, gpu = answers
    api_diff = max(abs(x - y) for a, b in zip(cpu["values"], gpu["values"]) for x, y in zip(a, b))
    results.append(("API /api/activations layers.1.c, CELLX_DEVICE cuda vs cpu", api_diff, 2e-6))

    failed = 0
    for what, diff, limit in results:
        ok = diff <= limit
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: max abs difference {diff:.2e} (limit {limit:.0e})")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
