"""Does occlusion find the opener a closing mark depends on? Through the API, on the models' held-out samples.

    python bench/attribution_quotes.py [--models austen-lstm austen-rnn linux-lstm] [--limit 100] [--threads 1]

For every closing double quote of an Austen model's sample.txt (by the inside_double_quotes rule: marks
alternate, a blank line closes an open quote) whose opening quote lies within the 200 characters before
it, POST /api/attribution explains the prediction of the closing quote (position: the character before
it, target: '"', window 200; the text sent starts 1,000 characters before, so the state is the
sample's) with "occlusion" and with "gradient": a hit is the opening quote among the 3 characters whose
occlusion costs the prediction most. For linux-lstm the same for every `}` in code (its `{` found by
brace matching outside comments and literals) and every `*/` (the prediction of its '/', a hit when a
character of the matching `/*` is in the top 3). At most --limit marks of each kind, evenly spaced.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.cells.hypotheses import CODE, c_lexical_state  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import PROJECT_ROOT, Settings  # noqa: E402
from bench.interventions import quote_marks  # noqa: E402

WINDOW, CONTEXT, TOP = 200, 1000, 3


def quote_pairs(text: str) -> list[tuple[int, list[int]]]:
    """(closing quote, [its opening quote]) for every closing quote."""
    opening, closing = quote_marks(text)
    pairs = []
    for j in closing:
        before = opening[opening < j]
        if len(before):
            pairs.append((int(j), [int(before[-1])]))
    return pairs


def brace_pairs(text: str) -> list[tuple[int, list[int]]]:
    """(closing brace, [its opening brace]) for the braces in code."""
    code = c_lexical_state(text) == CODE
    stack, pairs = [], []
    for i, ch in enumerate(text):
        if not code[i]:
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs.append((i, [stack.pop()]))
    return pairs


def comment_pairs(text: str) -> list[tuple[int, list[int]]]:
    """(the '/' of each '*/', [the two characters of its '/*'])."""
    pairs, start = [], 0
    while (opener := text.find("/*", start)) >= 0:
        closer = text.find("*/", opener + 2)
        if closer < 0:
            break
        pairs.append((closer + 1, [opener, opener + 1]))
        start = closer + 2
    return pairs


def measure(client: TestClient, model: str, text: str, pairs, limit: int) -> dict:
    near = [(j, openers) for j, openers in pairs if j - min(openers) <= WINDOW - 1]  # the opener is in the window
    chosen = [near[i] for i in np.linspace(0, len(near) - 1, min(limit, len(near))).round().astype(int)] if near else []
    hits = {"occlusion": 0, "gradient": 0}
    cost, distance = [], []
    started = time.perf_counter()
    for j, openers in chosen:
        offset = max(0, j - CONTEXT)
        body = {"model": model, "text": text[offset : j + 1], "position": j - 1 - offset, "window": WINDOW}
        for method in hits:
            answer = client.post("/api/attribution", json={**body, "method": method}).json()
            effects = np.array(answer["effects"])
            top = set((np.argsort(-effects, kind="stable")[:TOP] + answer["start"] + offset).tolist())
            hits[method] += bool(top & set(openers))
            if method == "occlusion":
                cost.append(max(effects[o - offset - answer["start"]] for o in openers))
        distance.append(j - max(openers))
    n = len(chosen)
    return {"marks": len(pairs), "in_window": len(near), "measured": n, "seconds": time.perf_counter() - started,
            "occlusion": hits["occlusion"], "gradient": hits["gradient"],
            "mean_bits": float(np.mean(cost)) if n else float("nan"),
            "median_distance": float(np.median(distance)) if n else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["austen-lstm", "austen-rnn", "linux-lstm"])
    parser.add_argument("--limit", type=int, default=100, help="marks of each kind per model, evenly spaced")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with TestClient(create_app(Settings(models_dir=PROJECT_ROOT / "models", match_warm_up=False))) as client:
        for model in args.models:
            text = (PROJECT_ROOT / "models" / model / "sample.txt").read_text(encoding="utf-8")
            kinds = ({"closing }": brace_pairs(text), "closing */": comment_pairs(text)} if "linux" in model
                     else {'closing "': quote_pairs(text)})
            for kind, pairs in kinds.items():
                r = measure(client, model, text, pairs, args.limit)
                n = r["measured"]
                print(f"{model:12s} {kind:10s}: {r['marks']} marks, {r['in_window']} with the opener within {WINDOW}"
                      f", {n} measured (median {r['median_distance']:.0f} characters back); opener in the top {TOP}"
                      f": occlusion {r['occlusion']}/{n} = {r['occlusion'] / max(n, 1):.0%} (costing "
                      f"{r['mean_bits']:.2f} bits on average), gradient x input {r['gradient']}/{n} = "
                      f"{r['gradient'] / max(n, 1):.0%}  [{r['seconds']:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
