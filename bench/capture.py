"""Capture speed: the engine's every-layer h and c against a bare fused forward and a naive loop.

    python bench/capture.py [--model models/austen-lstm] [--chars 10000] [--repeats 3]

In one process, on the same text and weights (B = 1, one stream, as the explorer runs):
  (a) bare fused nn.LSTM (all layers in one module) returning only the top layer's h
  (b) a naive per-step nn.LSTMCell Python loop collecting h and c of every layer
  (c) app.engine.capture: h and c of every layer
It prints characters per second for each and the ratios c/a and c/b (best of --repeats).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.engine.capture import capture  # noqa: E402
from bench.timing import best_time  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402


def bench_text(vocab, n: int) -> str:
    sample = Path(__file__).resolve().parent.parent / "models" / "austen-lstm" / "sample.txt"
    seed = sample.read_text() if sample.is_file() else "".join(vocab.chars) * 10
    return (seed * (n // len(seed) + 1))[:n]


@torch.no_grad()
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="models/austen-lstm")
    parser.add_argument("--chars", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    loaded = load_model_dir(Path(args.model))
    model, cfg = loaded.model, loaded.model.config
    if cfg.arch != "lstm":
        sys.exit(f"{args.model} is a {cfg.arch}; this benchmark compares LSTM implementations")
    ids = torch.from_numpy(loaded.vocab.encode(bench_text(loaded.vocab, args.chars)).ids).unsqueeze(0)  # (1, T)
    x = model.embed(ids)  # (1, T, in)
    L, H = cfg.n_layers, cfg.hidden_size

    fused = nn.LSTM(cfg.input_size, H, num_layers=L, batch_first=True)
    cells = [nn.LSTMCell(cfg.input_size if i == 0 else H, H) for i in range(L)]
    for i, layer in enumerate(model.layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(fused, f"{name}_l{i}").data.copy_(getattr(layer, f"{name}_l0"))
            getattr(cells[i], name).data.copy_(getattr(layer, f"{name}_l0"))

    def run_fused():
        return fused(x)[0]  # (1, T, H) top layer only

    def run_naive():
        h = [torch.zeros(1, H) for _ in range(L)]
        c = [torch.zeros(1, H) for _ in range(L)]
        hs, cs = [], []
        for t in range(x.shape[1]):
            inp = x[:, t]
            for i, cell in enumerate(cells):
                h[i], c[i] = cell(inp, (h[i], c[i]))
                inp = h[i]
            hs.append(torch.cat(h))
            cs.append(torch.cat(c))
        return torch.stack(hs), torch.stack(cs)  # (T, L, H)

    names = [f"layers.{i}.{s}" for i in range(L) for s in ("h", "c")]

    def run_capture():
        return capture(model, ids, names).states

    # correctness first: the three agree on what they share
    top_fused = run_fused()[0]
    hs, cs = run_naive()
    got = run_capture()
    assert (got[f"layers.{L - 1}.h"][0] - top_fused).abs().max() < 1e-4
    c_naive = cs[:, L - 1]  # the cell state is unbounded (a counter can reach tens), so compare relatively
    assert ((got[f"layers.{L - 1}.c"][0] - c_naive).abs() / (1 + c_naive.abs())).max() < 1e-4

    T = ids.shape[1]
    rates = {}
    for label, fn in (("(a) fused nn.LSTM, top h only", run_fused),
                      ("(b) naive nn.LSTMCell loop, all h and c", run_naive),
                      ("(c) engine capture, all h and c", run_capture)):
        rates[label] = T / best_time(fn, args.repeats)
    print(f"model {loaded.name}: {L} x {H} {cfg.arch}, {T:,} characters, torch threads {torch.get_num_threads()}")
    for label, rate in rates.items():
        print(f"  {label:42s} {rate:>10,.0f} chars/s")
    a, b, c = rates.values()
    print(f"  capture / fused = {c / a:.2f}  (target >= 0.60)")
    print(f"  capture / naive = {c / b:.2f}  (target >= 2.5)")


if __name__ == "__main__":
    main()
