import random
from pathlib import Path

import pytest
import torch

from app.engine.model import CharRNN, ModelConfig
from app.engine.vocab import Vocabulary

# The tests' tensors are tiny, so a second torch thread only adds synchronisation, and beside another
# busy process its spin-waits cost 10-20x (60 training steps of a 16-unit LSTM: 37 s on two threads, 2 s on one).
torch.set_num_threads(1)

TINY_TEXT = (
    'She said, "It is a truth universally acknowledged."\n'
    "He replied: 'indeed' and left.\n\n"
    "int main(void) { /* comment */ return (a + b) * 2; }\n"
)


@pytest.fixture(scope="session")
def vocab() -> Vocabulary:
    return Vocabulary.from_text(TINY_TEXT)


@pytest.fixture(scope="session")
def analysed_models_dir(tmp_path_factory) -> Path:
    """tiny-lstm and tiny-gru with a stored cell analysis, tiny-rnn without one (api_fixtures.build_models_dir).

    Built once for the whole run, so its users must only read it.
    """
    from tests.api_fixtures import build_models_dir  # not at the top: it imports this module, and the whole app

    return build_models_dir(tmp_path_factory.mktemp("analysed"))


def make_model(arch: str, vocab_size: int, layers: int = 2, hidden: int = 8, embedding: int | None = None,
               seed: int = 0) -> CharRNN:
    torch.manual_seed(seed)
    model = CharRNN(ModelConfig(vocab_size=vocab_size, arch=arch, n_layers=layers, hidden_size=hidden,
                                embedding_size=embedding))
    with torch.no_grad():  # larger weights than the default init, so saturation and state carrying matter
        for p in model.parameters():
            p.mul_(3.0)
    return model.eval()


def random_text(n: int, alphabet: str = TINY_TEXT, seed: int = 0) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def train_with_snapshots(root: Path, name: str = "tiny-trained") -> Path:
    """A 1x8 LSTM trained 24 steps on TINY_TEXT with 4 snapshots, its cell analysis and its timeline."""
    from app.cells.build import build
    from app.cells.timeline import build_timeline
    from app.engine.training import TrainConfig, Trainer

    corpus = root / "corpus.txt"
    corpus.write_text(TINY_TEXT * 40)
    cfg = TrainConfig(name=name, corpus=[str(corpus)], out_dir=str(root / "models"),
                      resume_dir=str(root / "checkpoints"), n_layers=1, hidden_size=8, batch_size=4, seq_len=16,
                      max_steps=24, eval_every=8, save_every=100, warmup_steps=2, snapshots=4, device="cpu", threads=1)
    trainer = Trainer(cfg)
    trainer.run()
    (trainer.out_dir / "sample.txt").write_text(TINY_TEXT * 6)
    build(trainer.out_dir, corpus_root=root, sample_chars=0, resample=False, top=3, k=4)
    build_timeline(trainer.out_dir)
    return trainer.out_dir


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """Read-only: tests that change a model copy it first."""
    return train_with_snapshots(tmp_path_factory.mktemp("trained"))
