"""What the benchmark scripts share: the best of a few timed runs."""
from __future__ import annotations

import time


def best_time(fn, repeats: int) -> float:
    """The shortest of `repeats` runs of fn() in seconds: the least disturbed by other work on the machine."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
