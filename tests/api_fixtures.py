"""Tiny models in a temporary models directory, and a client for an app serving them."""
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cells.build import build
from app.engine.checkpoint import save_model_dir
from app.main import create_app
from app.settings import Settings
from tests.conftest import TINY_TEXT, make_model
from app.engine.vocab import Vocabulary


SAMPLE = (TINY_TEXT * 12)[:1500]


def save_tiny_model(directory: Path, arch: str, hidden: int = 8, analysed: bool = False) -> Path:
    """A 2-layer model on TINY_TEXT's characters; an `analysed` one gets a stored cell analysis of SAMPLE."""
    vocab = Vocabulary.from_text(TINY_TEXT)
    extra = {"corpus": {"name": "tiny"}, "results": {"test_bpc": 3.5, "ngram": {"test_bpc": 3.9}}}
    save_model_dir(directory, make_model(arch, vocab.size, layers=2, hidden=hidden), vocab, extra,
                   card=f"# {directory.name}\n")
    if analysed:
        (directory / "sample.txt").write_text(SAMPLE)
        build(directory, corpus_root=directory.parent, sample_chars=0, resample=False, top=5, k=4)
    return directory


def build_models_dir(root: Path, analysed: tuple[str, ...] = ("lstm", "gru")) -> Path:
    """tiny-lstm, tiny-gru and tiny-rnn; the `analysed` ones get a stored cell analysis of SAMPLE."""
    for arch in ("lstm", "gru", "rnn"):
        save_tiny_model(root / f"tiny-{arch}", arch, analysed=arch in analysed)
    return root


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return build_models_dir(tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def client(models_dir):
    settings = Settings(models_dir=models_dir, max_text_length=60_000, max_values=300_000)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
