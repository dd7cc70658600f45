"""Sampling: generate text one character at a time, with the activations of each new one."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import torch

from app.engine.capture import capture
from app.engine.interventions import Intervention, intervene
from app.engine.model import CharRNN
from app.engine.vocab import UNKNOWN_INDEX, Vocabulary


@dataclass
class SampledChar:
    char: str
    p: float  # probability the model gave the character it drew
    states: dict[str, torch.Tensor]  # name -> (U,) activations while reading this character


@torch.no_grad()
def sample(
    model: CharRNN,
    vocab: Vocabulary,
    prime: str,
    length: int,
    temperature: float = 1.0,
    seed: int = 0,
    names: Sequence[str] = (),
    units: Sequence[int] | None = None,
    interventions: Sequence[Intervention] = (),
    means: Mapping[str, torch.Tensor] | None = None,
) -> Iterator[SampledChar]:
    """Yields `length` generated characters. Same seed and arguments, same text.

    The prime is read first (an empty prime starts from the zero state and a uniform first
    guess); each drawn character is then fed back in. The unknown symbol is never drawn.
    `interventions` (steering) act on the steps that read the generated characters, their spans
    counted in generated positions (0: the step reading the first one); the prime is read plainly,
    so the first character is drawn as without them. Without any, the plain capture runs.
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    generator = torch.Generator().manual_seed(seed)
    state = None
    if prime:
        ids = torch.from_numpy(vocab.encode(prime).ids)
        result = capture(model, ids, with_logits=True, with_final_state=True)
        logits, state = result.logits[0, -1], result.final_state
    else:
        logits = torch.zeros(vocab.size)
    for i in range(length):
        logits = logits.clone()
        logits[UNKNOWN_INDEX] = float("-inf")
        probs = torch.softmax(logits.double() / temperature, dim=-1)
        next_id = int(torch.multinomial(probs, 1, generator=generator))
        if interventions:
            step = intervene(model, torch.tensor([next_id]), interventions, names=names, units=units, means=means,
                             state=state, offset=i, with_logits=True, with_final_state=True)
        else:
            step = capture(model, torch.tensor([[next_id]]), names, units, state, with_logits=True,
                           with_final_state=True)
        yield SampledChar(char=vocab.decode_id(next_id), p=float(probs[next_id]),
                          states={name: value[0, 0] for name, value in step.states.items()})
        logits, state = step.logits[0, -1], step.final_state
