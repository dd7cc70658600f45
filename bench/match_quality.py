"""Select and match on the shipped models, measured through the API (an in-process app on models/).

    flock /tmp/cellx-heavy.lock python bench/match_quality.py [--models models] [--spans 20] [--threads 1]

1. austen-lstm: select the inside of the quoted speech "My dear Mr. Bennet," in the page's default text
   (layer 1's c, then every layer's h and c): is the quote cell the stored ranking names for
   inside_double_quotes in the set, with which sign, and how many of the top 10 matches in the
   held-out sample lie inside double quotes (every character, by the built-in hypothesis)?
2. linux-lstm: the same for the inside of the /** ... */ comment of the default C text (its whole line, then
   "Probe whether NMI event is available") and inside_c_comment, and over --spans comments of the sample
   (their inside without the two-character delimiters).
3. Over --spans quoted speeches of 10-30 characters of austen-lstm's own sample (each selected in the 2,000
   characters around it, the match leaving the span itself out): how often the quote cell is selected and
   how many of the top 10 lie inside quotes (median, worst).
4. The README's example: the austen-rnn unit most like austen-lstm's quote cell (POST /api/compare) and CKA.
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
from app.cells.hypotheses import inside_c_comment, inside_double_quotes  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

AUSTEN = ('It is a truth universally acknowledged, that a single man in possession\n'
          'of a good fortune, must be in want of a wife.\n\n'
          '"My dear Mr. Bennet," said his lady to him one day, "have you heard that\n'
          'Netherfield Park is let at last?"\n')  # the start of static/lib/examples.js's Austen text
FRACTION = [1.0]  # --fraction, for every request
LINUX = ("/**\n * hardlockup_detector_perf_init - Probe whether NMI event is available at all\n */\n"
         "int __init hardlockup_detector_perf_init(void)\n{\n\tint ret = hardlockup_detector_event_create();\n")


def quote_cell(client, model: str, hypothesis: str) -> dict:
    """The stored ranking's best unit for the hypothesis among the states select and match searches (h, c)."""
    cells = client.get(f"/api/models/{model}/cells", params={"hypothesis": hypothesis, "limit": 100}).json()
    return next(c for c in cells if c["state"] in ("h", "c"))


def inside_count(matches: list[dict], inside: np.ndarray) -> int:
    return sum(bool(inside[m["start"] : m["end"]].all()) for m in matches if m["source"] == "sample")


def selection_run(client, model: str, text: str, start: int, end: int, cell: dict, inside: np.ndarray,
                  **options) -> tuple[bool, int, dict]:
    body = {"text": text, "start": start, "end": end, "fraction": FRACTION[0], **options}
    started = time.perf_counter()
    answer = client.post(f"/api/models/{model}/match", json=body)
    seconds = time.perf_counter() - started
    answer.raise_for_status()
    answer = answer.json()
    units = answer["units"]
    hit = next((u for u in units if (u["layer"], u["state"], u["unit"]) == (cell["layer"], cell["state"],
                                                                            cell["unit"])), None)
    return hit, inside_count(answer["matches"], inside), {**answer, "seconds": seconds}


def report(client, model: str, text: str, start: int, end: int, hypothesis: str, inside: np.ndarray) -> None:
    cell = quote_cell(client, model, hypothesis)
    print(f"{model}: selection {text[start:end]!r} (characters {start}-{end}); the ranking's {hypothesis} cell "
          f"layers.{cell['layer']}.{cell['state']} {cell['unit']} (sign {cell['sign']:+d})")
    for options in ({"layer": cell["layer"], "state": cell["state"]}, {"state": "all"}):
        hit, inside_n, answer = selection_run(client, model, text, start, end, cell, inside, **options)
        where = "all" if options["state"] == "all" else f"layers.{options['layer']}.{options['state']}"
        print(f"  {where:12s} threshold {answer['threshold']:g}: {len(answer['units'])} units, cell "
              f"{'selected, sign %+d' % hit['sign'] if hit else 'NOT selected'}; top {len(answer['matches'])} "
              f"matches inside: {inside_n}; best hypothesis {answer.get('best_hypothesis')} "
              f"({answer['hypotheses'][0]['score'] if answer['hypotheses'] else '-'}); {answer['seconds']:.2f} s")


def sample_spans(client, model: str, sample: str, inside: np.ndarray, n: int,
                 hypothesis: str = "inside_double_quotes", margin: int = 1) -> None:
    cell = quote_cell(client, model, hypothesis)
    edges = np.diff(np.r_[0, inside.astype(np.int8), 0])
    runs = [(int(s) + margin, int(e) - margin) for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
            if 10 + 2 * margin <= e - s <= 30 + 2 * margin]  # the inside of 10-30 characters, the marks excluded
    if not runs:
        return print(f"  no span of 10-30 characters inside {hypothesis} in the sample")
    picks = [runs[i] for i in np.linspace(0, len(runs) - 1, n).astype(int)]
    for options in ({"layer": cell["layer"], "state": cell["state"]}, {"state": "all"}):
        selected, counts, seconds = 0, [], []
        for s, e in picks:
            lo, hi = max(0, s - 1000), min(len(sample), e + 1000)
            hit, _, answer = selection_run(client, model, sample[lo:hi], s - lo, e - lo, cell, inside, **options,
                                           in_text=False)
            kept = [m for m in answer["matches"] if not (m["start"] < e and m["end"] > s)]  # not the span itself
            selected += hit is not None
            counts.append(inside_count(kept, inside))
            seconds.append(answer["seconds"])
        where = "all" if options["state"] == "all" else f"layers.{options['layer']}.{options['state']}"
        print(f"  {where:12s} over {n} spans of the sample inside {hypothesis}: its cell selected {selected}/{n}; "
              f"of the top 10, inside: median {np.median(counts):g}, worst {min(counts)}, all {counts}; median "
              f"{np.median(seconds):.2f} s a request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=Path, default=Path("models"))
    parser.add_argument("--spans", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fraction", type=float, default=1.0, help="share of the span a unit must be on at")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    FRACTION[0] = args.fraction
    settings = Settings(models_dir=args.models, torch_threads=args.threads)
    with TestClient(create_app(settings)) as client:
        sample = (args.models / "austen-lstm" / "sample.txt").read_text(encoding="utf-8")
        quotes = inside_double_quotes(sample)
        started = time.perf_counter()
        start = AUSTEN.index('"My dear') + 1
        report(client, "austen-lstm", AUSTEN, start, AUSTEN.index(',"', start) + 1, "inside_double_quotes", quotes)
        print(f"  (the first match computed austen-lstm's sample index: {time.perf_counter() - started:.0f} s "
              "for the whole first report)")
        sample_spans(client, "austen-lstm", sample, quotes, args.spans)
        linux = (args.models / "linux-lstm" / "sample.txt").read_text(encoding="utf-8")
        start = LINUX.index(" * hard") + 1
        report(client, "linux-lstm", LINUX, start, LINUX.index("at all") + 6, "inside_c_comment",
               inside_c_comment(linux))
        start = LINUX.index("Probe")
        report(client, "linux-lstm", LINUX, start, LINUX.index(" at all"), "inside_c_comment", inside_c_comment(linux))
        sample_spans(client, "linux-lstm", linux, inside_c_comment(linux), args.spans, "inside_c_comment", 2)
        cell = quote_cell(client, "austen-lstm", "inside_double_quotes")
        answer = client.post("/api/compare", json={"model_a": "austen-lstm", "model_b": "austen-rnn",
                                                   "layer": cell["layer"], "state": cell["state"],
                                                   "unit": cell["unit"], "top": 3}).json()
        best = answer["units"][0]
        print(f"compare: austen-lstm {answer['name']} {answer['unit']} vs austen-rnn over {answer['chars']:,} "
              f"characters: best {best['name']} {best['unit']} r {best['pearson']:+.3f} (then "
              + ", ".join(f"{u['name']} {u['unit']} {u['pearson']:+.3f}" for u in answer["units"][1:])
              + f"); CKA({answer['cka_a']}, {answer['cka_b']}) {answer['cka']:.3f}")


if __name__ == "__main__":
    main()
