"""Select and match on planted unit codes (app/cells/spans.py) and the per-unit percentile codes (match.py)."""
import re

import numpy as np

from app.cells.match import DEFAULT_THRESHOLD, codes, level, percentiles
from app.cells.spans import Unit, match_spans, mean_signal, select_units, threshold_counts

TEXT = "ab [cde] fg hi [jk] lmnop [qrstu] vw x [yz] end of [it] and more text here"
NAME = "layers.0.h"


def _bracket_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start() + 1, m.end() - 1) for m in re.finditer(r"\[[^\]]*\]", text)]


def _planted(text: str = TEXT, noise_units: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    """Unit 0 at its top inside brackets, unit 1 at its bottom there, both at their median elsewhere;
    the others uniform noise."""
    rng = np.random.default_rng(seed)
    n = len(text)
    block = rng.integers(0, 201, size=(2 + noise_units, n)).astype(np.uint8)
    inside = np.zeros(n, dtype=bool)
    for start, end in _bracket_spans(text):
        inside[start:end] = True
    block[0] = np.where(inside, 200, 100)
    block[1] = np.where(inside, 0, 100)
    return {NAME: block}


def test_a_unit_on_exactly_inside_brackets_matches_exactly_the_bracketed_spans():
    found = match_spans(_planted(), [Unit(NAME, 0, 1)], threshold=70, length=3, top=20, length_weight=0)
    assert sorted((f.start, f.end) for f in found) == _bracket_spans(TEXT)


def test_selecting_inside_brackets_finds_both_planted_units_with_their_signs():
    start, end = _bracket_spans(TEXT)[2]
    selected = select_units(_planted(), start, end, threshold=70, before=1, after=1)
    signs = {(s.unit, s.sign) for s in selected}
    assert (0, 1) in signs and (1, -1) in signs
    assert all(s.fraction == 1.0 for s in selected)


def test_the_off_constraint_drops_units_on_around_the_span():
    planted = _planted()
    start, end = _bracket_spans(TEXT)[2]
    planted[NAME][2, start - 1 : end + 1] = 200  # on across the span and one character either side
    units = {s.unit for s in select_units(planted, start, end, threshold=70)}
    assert 2 in units
    assert 2 not in {s.unit for s in select_units(planted, start, end, threshold=70, before=1)}


def test_matches_of_both_planted_units_are_the_bracketed_spans():
    planted = _planted()
    found = match_spans(planted, [Unit(NAME, 0, 1), Unit(NAME, 1, -1)], threshold=70, length=3, top=20,
                        length_weight=0)
    assert sorted((f.start, f.end) for f in found) == _bracket_spans(TEXT)
    assert all(0 < f.jaccard <= 1 for f in found)


def test_the_length_penalty_prefers_spans_of_the_selection_length():
    found = match_spans(_planted(), [Unit(NAME, 0, 1)], threshold=70, length=5, top=1, length_weight=4)
    assert (found[0].end - found[0].start) == 5


def test_the_selection_itself_can_be_excluded():
    spans = _bracket_spans(TEXT)
    found = match_spans(_planted(), [Unit(NAME, 0, 1)], threshold=70, length=3, top=20, length_weight=0,
                        exclude=spans[0])
    assert sorted((f.start, f.end) for f in found) == spans[1:]


def test_mean_signal_is_one_where_every_selected_unit_is_at_its_extreme():
    planted = _planted()
    start, end = _bracket_spans(TEXT)[0]
    signal = mean_signal(planted, [Unit(NAME, 0, 1), Unit(NAME, 1, -1)])
    assert np.allclose(signal[start:end], 1.0) and np.allclose(signal[:start - 1], 0.0)


def test_codes_place_each_value_at_its_own_percentile():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(20_000, 3)) * np.array([0.01, 1.0, 50.0])  # three very different scales
    q = percentiles(values)
    c = codes(values, q)
    for unit in range(3):  # at threshold p about (100 - p)% of the characters are on with each sign
        high = (c[unit] >= level(DEFAULT_THRESHOLD)).mean()
        low = (c[unit] < level(100 - DEFAULT_THRESHOLD)).mean()
        assert abs(high - 0.3) < 0.01 and abs(low - 0.3) < 0.01


def test_tied_values_get_their_midrank_code():
    values = np.r_[np.full(70, -1.0), np.full(30, 1.0)][:, None]  # a tanh unit saturated both ways
    c = codes(values, percentiles(values))
    assert c[0, 0] < level(DEFAULT_THRESHOLD) and c[0, 0] >= level(100 - DEFAULT_THRESHOLD)  # -1: neither
    assert c[0, -1] >= level(DEFAULT_THRESHOLD)  # 1: high


def test_fewer_units_pass_at_a_higher_threshold():
    rng = np.random.default_rng(2)
    smooth = np.cumsum(rng.normal(size=(200, 2000)), axis=0)  # slowly varying units, like cell states
    c = {NAME: codes(smooth, percentiles(smooth))}
    counts = threshold_counts(c, 50, 70, [55, 70, 85, 99])
    assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
    assert counts[1] == len(select_units(c, 50, 70, threshold=70))
