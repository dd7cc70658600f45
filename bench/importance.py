"""Unit importance through the API (one run, in process): every unit of a state ranked for a target.

    python bench/importance.py [--model austen-lstm] [--regex '"'] [--layer 1] [--state c] [--confirm 10]

The defaults are austen-lstm's quote cell: target '"', layers.1.c, 10 confirmed.
"""
import argparse
import sys
import time
from pathlib import Path

import torch
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="austen-lstm")
    parser.add_argument("--regex", default='"', help="the target characters: those inside a match")
    parser.add_argument("--layer", type=int, default=1)
    parser.add_argument("--state", default="c")
    parser.add_argument("--confirm", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with TestClient(create_app(Settings(match_warm_up=False))) as client:  # nothing else on the cores
        started = time.perf_counter()
        r = client.post(f"/api/models/{args.model}/importance", json={
            "target": {"regex": args.regex}, "layer": args.layer, "state": args.state, "confirm": args.confirm})
        body = r.json()
        print(r.status_code, f"{time.perf_counter() - started:.1f} s",
              {k: body[k] for k in ("name", "chars", "target_chars", "spearman", "timing_s")})
        print("top 5 by estimate:", [(u["unit"], u["estimate"]) for u in body["units"][:5]])
        print("confirmed:", [(c["unit"], c["estimate"], c["effect"], c["target_change"], c["other_change"])
                             for c in body["confirmed"]])


if __name__ == "__main__":
    main()
