"""Character-level recurrent language models: vanilla RNN, LSTM and GRU.

Each layer is its own single-layer fused PyTorch module (nn.RNN / nn.LSTM / nn.GRU), so
that the hidden state of every layer is available and the fast fused kernels are used.
The vanilla RNN is exactly h_t = tanh(W_xh x_t + W_hh h_{t-1} + b), y_t = W_hy h_t
(PyTorch's two biases b_ih + b_hh add up to b).

Recurrent state is a dict keyed by stable names (names.py), the same names the API uses:
"layers.0.h", "layers.0.c" (LSTM only), ... each of shape (B, H). Missing entries are zeros.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from app.engine.names import StateName, state_names
from app.engine.vocab import UNKNOWN_INDEX

ARCHS = ("rnn", "lstm", "gru")
_LAYER_CLASS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    arch: str = "lstm"
    n_layers: int = 2
    hidden_size: int = 512
    embedding_size: int | None = None  # None: one-hot input (as in Karpathy et al. 2015)
    dropout: float = 0.0  # between layers and before the output layer, training only

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {ARCHS}, got {self.arch!r}")
        if not 1 <= self.n_layers <= 3:
            raise ValueError(f"n_layers must be 1 to 3, got {self.n_layers}")
        if self.hidden_size < 1 or self.vocab_size < 2:
            raise ValueError("hidden_size must be >= 1 and vocab_size >= 2")
        if self.embedding_size is not None and self.embedding_size < 1:
            raise ValueError("embedding_size must be >= 1 or None for one-hot input")

    @property
    def input_size(self) -> int:
        return self.embedding_size or self.vocab_size

    def state_names(self, layer: int | None = None) -> list[str]:
        """Every capturable state (of one layer, or of all), in a stable order: h, then c, then the gates, per layer."""
        return [str(name) for name in state_names(self.arch, self.n_layers, layer)]

    def recurrent_state_names(self, layer: int | None = None) -> list[str]:
        """The states a layer (or every layer, in order) carries from one character to the next."""
        layers = range(self.n_layers) if layer is None else (layer,)
        return [str(StateName(n, kind)) for n in layers for kind in self.recurrent_kinds]

    @property
    def recurrent_kinds(self) -> tuple[str, ...]:
        """The states a layer carries from one character to the next."""
        return ("h", "c") if self.arch == "lstm" else ("h",)

    def to_json(self) -> dict:
        return asdict(self)


class CharRNN(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        V, H = config.vocab_size, config.hidden_size
        if config.embedding_size:
            self.embedding = nn.Embedding(V, config.embedding_size, padding_idx=UNKNOWN_INDEX)
        else:
            self.embedding = None
            one_hot = torch.eye(V)
            one_hot[UNKNOWN_INDEX] = 0.0  # an unknown character is no input at all
            self.register_buffer("one_hot", one_hot, persistent=False)
        layer_class = _LAYER_CLASS[config.arch]
        extra = {"nonlinearity": "tanh"} if config.arch == "rnn" else {}
        self.layers = nn.ModuleList(
            layer_class(config.input_size if i == 0 else H, H, batch_first=True, **extra)
            for i in range(config.n_layers)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(H, V)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, T) int64 -> (B, T, input_size)."""
        table = self.embedding.weight if self.embedding is not None else self.one_hot
        return F.embedding(ids, table)

    def layer_state_in(self, layer: int, state: State | None, batch: int, like: torch.Tensor):
        """The initial state a fused layer module expects: (1, B, H) tensors, zeros if absent."""
        def get(kind: str) -> torch.Tensor:
            value = (state or {}).get(str(StateName(layer, kind)))
            if value is None:
                return like.new_zeros(1, batch, self.config.hidden_size)
            return value.reshape(1, batch, self.config.hidden_size).to(like)  # like's dtype and device

        return (get("h"), get("c")) if self.config.arch == "lstm" else get("h")

    def layer_state_out(self, layer: int, final) -> State:
        """The fused module's final state ((h, c) for an LSTM, h otherwise, each (1, B, H)) by name: (B, H) each."""
        parts = final if self.config.arch == "lstm" else (final,)
        return {str(StateName(layer, kind)): value[0] for kind, value in zip(self.config.recurrent_kinds, parts)}

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids (B, T) -> logits (B, T, V) and the state after the last character."""
        B = ids.shape[0]
        x = self.embed(ids)  # (B, T, E)
        new_state: State = {}
        for layer, module in enumerate(self.layers):
            if layer > 0:
                x = self.dropout(x)
            x, final = module(x, self.layer_state_in(layer, state, B, x))  # (B, T, H)
            new_state.update(self.layer_state_out(layer, final))
        logits = self.head(self.dropout(x))  # (B, T, V)
        return logits, new_state


def detach_state(state: State) -> State:
    return {name: value.detach() for name, value in state.items()}
