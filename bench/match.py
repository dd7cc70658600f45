"""Select-and-match speed on a shipped model: a match over the held-out sample through the stored codes,
against a plain NumPy scan of the same sample, in one run.

    flock /tmp/cellx-heavy.lock python bench/match.py [--model models/austen-lstm] [--state all] [--repeats 5]

The selection is the inside of "My dear Mr. Bennet," in the page's default text (for a linux model, the
inside of the default C text's comment; bench/match_quality.py).
  index:  app/cells/spans.match_spans on the sample's codes (one byte per unit and character, computed once
          per served model: its cost is printed first), the selected units' on/off rows compared with one
          threshold code each
  plain:  the same search written the plain way: the sample's float32 states held in memory, every
          selected unit's values compared with its threshold value at every character, the candidate
          runs, then every unit of the searched states compared over each candidate; the same answer
  service: the whole POST .../match computation (selection on the text included), index in memory
Both searches must return the same spans; the script says whether they do.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
import weakref
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.cells.match import STORES, codes, exact_states, level, load_match  # noqa: E402
from app.cells.spans import MIN_SHARE, RERANK, match_spans, select_units, threshold_counts  # noqa: E402
from app.engine.checkpoint import load_model_dir  # noqa: E402
from app.schemas import MatchRequest  # noqa: E402
from app.services.match import match, searched_states  # noqa: E402
from app.settings import Settings  # noqa: E402
from bench.match_quality import AUSTEN, LINUX  # noqa: E402
from bench.timing import best_time  # noqa: E402


def plain_scan(states: dict[str, np.ndarray], quantiles: dict[str, np.ndarray], units, threshold: float,
               length: int, top: int = 10) -> list[tuple[int, int]]:
    """match_spans (fraction 1, length weight 1) on float states: (N, U) each, thresholds as values."""
    hi = {name: q[level(threshold)] for name, q in quantiles.items()}  # (U,) the threshold's value per unit
    lo = {name: q[level(100 - threshold)] for name, q in quantiles.items()}

    def on(name, unit_index, sign, rows=slice(None)):
        values = states[name][rows, unit_index]
        return values >= hi[name][unit_index] if sign > 0 else values < lo[name][unit_index]

    rows = np.stack([on(u.name, u.unit, u.sign) for u in units])  # (k, N)
    together = rows.sum(axis=0) >= max(1, math.ceil(MIN_SHARE * len(units)))
    edges = np.diff(np.concatenate([[0], together.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    overlap = np.array([rows[:, s:e].all(axis=1).sum() for s, e in zip(starts, ends)]) / len(units)
    ratio = np.minimum(ends - starts, length) / np.maximum(ends - starts, length)
    wanted = {(u.name, u.unit, u.sign) for u in units}
    scored = []
    for r in np.argsort(-(overlap * ratio), kind="stable")[:RERANK]:
        s, e = int(starts[r]), int(ends[r])
        on_set = set()
        for name in quantiles:
            block = states[name][s:e]  # (e - s, U)
            on_set |= {(name, int(u), 1) for u in np.flatnonzero((block >= hi[name]).all(axis=0))}
            on_set |= {(name, int(u), -1) for u in np.flatnonzero((block < lo[name]).all(axis=0))}
        scored.append((len(on_set & wanted) / len(on_set | wanted) * ratio[r], s, e))
    scored.sort(key=lambda x: (-round(x[0], 4), x[1]))
    return [(s, e) for _, s, e in scored[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/austen-lstm"))
    parser.add_argument("--state", default="all", help='"all", or "h" / "c" of the last layer')
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--threshold", type=float, default=None, help="default: the model's suggested one")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded, store = load_model_dir(args.model), load_match(args.model)
    ids = loaded.vocab.encode(store.sample).ids
    names = searched_states(loaded, None, args.state)
    started = time.perf_counter()
    states = exact_states(loaded.model, ids, list(store.quantiles))
    capture_s = time.perf_counter() - started
    started = time.perf_counter()
    index = {name: codes(states[name], q) for name, q in store.quantiles.items()}
    codes_s = time.perf_counter() - started
    print(f"{loaded.name}: {len(store.sample):,} characters, {sum(c.shape[0] for c in index.values())} units "
          f"indexed; the first match computes the index: the sample's states {capture_s:.1f} s + codes "
          f"{codes_s:.1f} s ({sum(c.nbytes for c in index.values()) / 1e6:.0f} MB in memory); torch threads "
          f"{torch.get_num_threads()}")

    rng = np.random.default_rng(0)  # the suggested threshold: how many units a 10-30 character span keeps
    spans = [(int(s), int(s) + int(n)) for n in rng.integers(10, 31, 200)
             for s in [rng.integers(0, len(store.sample) - n)]]
    for t in (60, 65, 70, 75, 80, 90):
        kept = [threshold_counts(index, s, e, [t])[0] for s, e in spans]
        print(f"  threshold {t}: units on across 200 random 10-30 character spans of the sample (every state): "
              f"quartiles {np.percentile(kept, 25):g} / {np.median(kept):g} / {np.percentile(kept, 75):g}")
    if loaded.config.get("corpus", {}).get("name") == "linux":  # inside the comment of the default C text
        text, start = LINUX, LINUX.index(" * hard") + 1
        end = LINUX.index("at all") + 6
    else:
        text, start = AUSTEN, AUSTEN.index('"My dear') + 1
        end = AUSTEN.index(',"', start) + 1
    text_states = exact_states(loaded.model, loaded.vocab.encode(text).ids, names)
    text_codes = {n: codes(text_states[n], store.quantiles[n]) for n in names}
    threshold = store.threshold if args.threshold is None else args.threshold
    units = select_units(text_codes, start, end, threshold)
    searched = {n: index[n] for n in names}
    if not units:
        raise SystemExit("no unit is on across the selection at this threshold: nothing to match")
    print(f"selection {text[start:end]!r}, states {args.state}: {len(units)} units at threshold {threshold:g}")

    found = match_spans(searched, units, threshold, end - start)
    plain = plain_scan({n: states[n] for n in names}, {n: store.quantiles[n] for n in names}, units, threshold,
                       end - start)
    same = [(f.start, f.end) for f in found] == plain
    index_s = best_time(lambda: match_spans(searched, units, threshold, end - start), args.repeats)
    plain_s = best_time(lambda: plain_scan({n: states[n] for n in names}, {n: store.quantiles[n] for n in names},
                                           units, threshold, end - start), args.repeats)
    STORES.indexes[id(loaded)] = (weakref.ref(loaded), index)  # the service finds it in memory
    STORES.stores[id(loaded)] = (weakref.ref(loaded), store)
    request = MatchRequest(text=text, start=start, end=end, state=args.state, threshold=threshold)
    service_s = best_time(lambda: match(loaded, request, Settings()), args.repeats)
    print(f"match over the sample (best of {args.repeats}): index {index_s * 1000:.1f} ms, plain NumPy scan "
          f"{plain_s * 1000:.1f} ms: {plain_s / index_s:.1f}x; the whole service call {service_s * 1000:.0f} ms; "
          f"same top 10: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
