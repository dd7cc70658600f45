"""Turns at the CPU for model computations of concurrent requests.

Each torch call already spreads over the cores (torch_threads), so two requests computing at
once only split the same cores and thrash their caches; twenty at once oversubscribe them
twenty-fold. Requests therefore take turns, one chunk (or one sampled character) at a time,
which keeps the throughput of one request and shares it fairly.
"""
from __future__ import annotations

import threading

from fastapi import Request


def get_compute_slots(request: Request) -> threading.BoundedSemaphore:
    """Dependency: the running app's compute slots (held around every model computation of a request)."""
    return request.app.state.compute_slots
