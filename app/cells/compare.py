"""Comparing two models on one text: which units of one move with a unit of the other, and how alike two
whole states are (linear CKA, Kornblith et al. 2019)."""
from __future__ import annotations

import numpy as np


def correlations(x: np.ndarray, states: np.ndarray) -> np.ndarray:
    """Pearson r of x (n,) with every column of states (n, U): (U,) float64; 0 for a constant column."""
    x = x.astype(np.float64) - x.mean()
    y = states.astype(np.float64)
    y = y - y.mean(axis=0)  # (n, U)
    denominator = np.sqrt((x @ x) * (y * y).sum(axis=0))  # (U,)
    products = x @ y  # (U,)
    return np.where(denominator > 0, products / np.where(denominator > 0, denominator, 1.0), 0.0)


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """||B^T A||_F^2 / (||A^T A||_F ||B^T B||_F) of the centred (n, p) and (n, q) states: 1 when one is a
    rotation and scaling of the other, near 0 when unrelated. Computed from the small Gram matrices, so a
    100,000-character text costs two (p, p) products, not an (n, n) one."""
    a = a.astype(np.float64) - a.mean(axis=0)
    b = b.astype(np.float64) - b.mean(axis=0)
    cross = np.linalg.norm(b.T @ a) ** 2
    denominator = np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)
    return float(cross / denominator) if denominator > 0 else 0.0
