"""State names, "layers.{layer}.{kind}": the one spelling the API, the stored analyses and the code share.

The kind is the state within its layer: "h", "c" (LSTM only), or a gate "gates.{g}" with g in
i, f, g, o (LSTM) or r, z, n (GRU), in PyTorch's block order. StateName builds and splits
them, so no caller formats or cuts the string by hand.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

GATES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
GATE_PREFIX = "gates."
_NAME = re.compile(r"layers\.(0|[1-9][0-9]*)\.(.+)", re.ASCII)  # one spelling per name: no "layers.01.h"


def state_kinds(arch: str) -> list[str]:
    """Every state kind of one layer of an `arch` model, in a stable order: h, then c, then the gates."""
    return ["h"] + (["c"] if arch == "lstm" else []) + [GATE_PREFIX + g for g in GATES[arch]]


_ANY_KIND = list(dict.fromkeys(kind for arch in GATES for kind in state_kinds(arch)))  # for a name without a model


@dataclass(frozen=True)
class StateName:
    layer: int
    kind: str  # "h", "c" or "gates.{g}"

    def __str__(self) -> str:
        return f"layers.{self.layer}.{self.kind}"

    @property
    def gate(self) -> str | None:
        """The gate's letter ("f" for gates.f); None for h and c."""
        return self.kind[len(GATE_PREFIX):] if self.kind.startswith(GATE_PREFIX) else None

    @classmethod
    def parse(cls, name: str, arch: str | None = None, n_layers: int | None = None) -> StateName:
        """'layers.1.gates.f' -> StateName(1, 'gates.f'); ValueError with the valid choices otherwise.

        With `arch` the kind must exist in that architecture, with `n_layers` the layer in a model
        that deep; without them any well-formed name of some architecture is accepted.
        """
        kinds = state_kinds(arch) if arch is not None else _ANY_KIND
        match = _NAME.fullmatch(name)
        if match and match[2] in kinds and (n_layers is None or int(match[1]) < n_layers):
            return cls(int(match[1]), match[2])
        layers = "layers.<n>" if n_layers is None else f"layers.0..{n_layers - 1}"
        raise ValueError(f"unknown state {name!r}; valid: {layers} with {kinds}")


def state_names(arch: str, n_layers: int, layer: int | None = None) -> list[StateName]:
    """Every state of a model (or of one of its layers), layer by layer in state_kinds order."""
    layers = range(n_layers) if layer is None else [layer]
    return [StateName(index, kind) for index in layers for kind in state_kinds(arch)]
