"""Select and match on unit codes (match.py): the units on across a span, and the other spans where they are.

Everything here works on codes, {state name: (U, n) uint8}, so that it is the same for a user's
text and for the sample's index, and testable on planted arrays without a model.

Select (LSTMVis's brush): a unit is selected with sign +1 when it is above its threshold at (at
least `fraction` of) the span's characters, -1 when below; with `before` / `after`, it must also be
off, with that sign, at every one of that many characters on each side.

Match: the selected units' on/off rows over the searched text; candidate spans are the maximal runs
where at least half of them are on together. A candidate's on-set is every unit of the searched
states on across it by the selection's rule; it is scored by the Jaccard overlap of that on-set with
the selected set times (shorter / longer length)^length_weight (LSTMVis's fuzzy length match).
The Jaccard over every unit is computed for the RERANK best candidates by overlap and length.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.cells.match import STEP, level

RERANK = 200  # candidates whose full on-set is computed
MIN_SHARE = 0.5  # of the selected units on together, for a character to be part of a candidate


@dataclass(frozen=True)
class Unit:
    name: str  # full state name, "layers.1.c"
    unit: int
    sign: int  # +1 on when high, -1 on when low


@dataclass(frozen=True)
class Selected(Unit):
    fraction: float  # of the span's characters where it is on
    strength: float  # its mean signed distance from the median over the span, in [0, 1] (1: always at the extreme)


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    score: float
    jaccard: float


def on_rows(codes: np.ndarray, threshold: float, sign: int) -> np.ndarray:
    """(U, n) codes -> (U, n) bool: above the threshold's percentile (sign +1) or below the mirrored one (-1)."""
    return codes >= level(threshold) if sign > 0 else codes < level(100 - threshold)


def signed_percentile(codes: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """(k, n) codes and (k,) signs -> (k, n) float in [-1, 1]: 1 at the unit's own extreme on its sign's side."""
    centred = codes.astype(np.float32) * (STEP / 50.0) - 1.0  # code 0 -> -1, 100 -> 0, 200 -> +1
    return centred * signs[:, None]


def _passing(codes: np.ndarray, start: int, end: int, threshold: float, fraction: float, before: int,
             after: int) -> dict[int, np.ndarray]:
    """{sign: (U,) bool} units on across codes[:, start:end] with that sign and off around it."""
    passing = {}
    for sign in (1, -1):
        on = on_rows(codes[:, max(0, start - before) : end + after], threshold, sign)  # (U, window)
        left = start - max(0, start - before)
        inside = on[:, left : left + end - start]
        ok = inside.mean(axis=1) >= fraction - 1e-9
        if before or after:
            ok &= ~on[:, :left].any(axis=1) & ~on[:, left + end - start :].any(axis=1)
        passing[sign] = ok
    if fraction <= 0.5:  # both signs can pass at a low fraction: the one on at more characters wins
        high = on_rows(codes[:, start:end], threshold, 1).mean(axis=1)
        low = on_rows(codes[:, start:end], threshold, -1).mean(axis=1)
        both = passing[1] & passing[-1]
        passing[1] &= ~both | (high >= low)
        passing[-1] &= ~both | (low > high)
    return passing


def select_units(codes: Mapping[str, np.ndarray], start: int, end: int, threshold: float, fraction: float = 1.0,
                 before: int = 0, after: int = 0) -> list[Selected]:
    """The units on across text[start:end], strongest first."""
    found: list[Selected] = []
    for name, block in codes.items():
        for sign, ok in _passing(block, start, end, threshold, fraction, before, after).items():
            units = np.flatnonzero(ok)
            if not len(units):
                continue
            span = block[units, start:end]
            on = on_rows(span, threshold, sign).mean(axis=1)
            strength = signed_percentile(span, np.full(len(units), sign)).mean(axis=1)
            found += [Selected(name, int(u), sign, round(float(f), 4), round(float(s), 4))
                      for u, f, s in zip(units, on, strength)]
    found.sort(key=lambda s: (-s.fraction, -s.strength, s.name, s.unit))
    return found


def threshold_counts(codes: Mapping[str, np.ndarray], start: int, end: int, thresholds: Sequence[float],
                     fraction: float = 1.0, before: int = 0, after: int = 0) -> list[int]:
    """How many units select_units would return at each threshold."""
    return [sum(int(ok.sum()) for block in codes.values()
                for ok in _passing(block, start, end, t, fraction, before, after).values()) for t in thresholds]


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (exclusive) of the maximal runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _full_on_set(codes: Mapping[str, np.ndarray], start: int, end: int, threshold: float,
                 fraction: float) -> set[tuple[str, int, int]]:
    """Every unit on across codes[:, start:end], as (name, unit, sign)."""
    if fraction < 1:
        return {(name, int(u), sign) for name, block in codes.items()
                for sign, ok in _passing(block, start, end, threshold, fraction, 0, 0).items()
                for u in np.flatnonzero(ok)}
    found = set()
    for name, block in codes.items():  # on at every character: its lowest code is high, or its highest low
        span = block[:, start:end]  # (U, n)
        found |= {(name, int(u), 1) for u in np.flatnonzero(span.min(axis=1) >= level(threshold))}
        found |= {(name, int(u), -1) for u in np.flatnonzero(span.max(axis=1) < level(100 - threshold))}
    return found


def match_spans(codes: Mapping[str, np.ndarray], units: Sequence[Unit], threshold: float, length: int,
                fraction: float = 1.0, top: int = 10, length_weight: float = 1.0,
                exclude: tuple[int, int] | None = None) -> list[Found]:
    """The `top` spans of the searched codes where the units are on together, best first.

    `length` is the selection's length (the length penalty's target); `exclude` a span to leave out
    (the selection itself, when the user's own text is searched).
    """
    if not units:
        return []
    rows = np.stack([on_rows(codes[u.name][u.unit], threshold, u.sign) for u in units])  # (k, n)
    together = rows.sum(axis=0)  # (n,)
    starts, ends = _runs(together >= max(1, math.ceil(MIN_SHARE * len(units))))
    if exclude is not None:
        keep = (ends <= exclude[0]) | (starts >= exclude[1])
        starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return []
    cumulative = np.concatenate([np.zeros((len(units), 1), np.int32), np.cumsum(rows, axis=1, dtype=np.int32)], axis=1)
    lengths = ends - starts
    on_share = (cumulative[:, ends] - cumulative[:, starts]) / lengths  # (k, R)
    overlap = (on_share >= fraction - 1e-9).sum(axis=0) / len(units)  # (R,)
    ratio = np.minimum(lengths, length) / np.maximum(lengths, length)
    first = np.argsort(-(overlap * ratio ** length_weight), kind="stable")[:RERANK]
    wanted = {(u.name, u.unit, u.sign) for u in units}
    found = []
    for r in first.tolist():
        s, e = int(starts[r]), int(ends[r])
        on_set = _full_on_set(codes, s, e, threshold, fraction)
        jaccard = len(on_set & wanted) / len(on_set | wanted)
        found.append(Found(s, e, round(float(jaccard * ratio[r] ** length_weight), 4), round(jaccard, 4)))
    found.sort(key=lambda f: (-f.score, f.start))
    return found[:top]


def mean_signal(codes: Mapping[str, np.ndarray], units: Sequence[Unit], start: int = 0, end: int | None = None
                ) -> np.ndarray:
    """(n,) the selected units' mean signed percentile over codes[:, start:end] (what the matches are coloured by)."""
    rows = np.stack([codes[u.name][u.unit, start:end] for u in units])  # (k, n)
    return signed_percentile(rows, np.array([u.sign for u in units], dtype=np.float32)).mean(axis=0)

