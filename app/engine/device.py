"""Where tensors live: the `--device` of training and `CELLX_DEVICE` of serving."""
from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    """'auto' is a GPU when torch sees one, else the CPU; 'cuda' without one is a clear error."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but torch sees no GPU here; use --device cpu or auto")
    return torch.device(name)


def exact_float32() -> None:
    """float32 products on a GPU stay float32: TF32 (10-bit mantissas) is off for matmuls and cuDNN.

    Served values are promised exact float32; with TF32 they would drift by ~1e-3 from the CPU's.
    """
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
