"""The select-and-match index built in the background at start-up (CELLX_MATCH_WARM_UP)."""
from fastapi.testclient import TestClient

from app.cells.match import STORES, build_match
from app.main import create_app
from app.services import match as match_service
from app.settings import Settings
from tests.api_fixtures import save_tiny_model


def _models_dir(tmp_path):
    for arch in ("lstm", "gru", "rnn"):
        build_match(save_tiny_model(tmp_path / f"tiny-{arch}", arch, analysed=True))
    return tmp_path


def test_start_up_builds_the_first_models_indexes(tmp_path, monkeypatch):
    threads = []
    monkeypatch.setattr(match_service, "threading", _Recording(threads))
    app = create_app(Settings(models_dir=_models_dir(tmp_path)))
    with TestClient(app):
        threads[0].join(timeout=60)
        built = [m.name for m in app.state.registry.models.values() if STORES._get(STORES.indexes, m) is not None]
    assert built == ["tiny-gru", "tiny-lstm"]  # the index cache's two, in the registry's order


def test_warm_up_off_builds_nothing(tmp_path, monkeypatch):
    threads = []
    monkeypatch.setattr(match_service, "threading", _Recording(threads))
    with TestClient(create_app(Settings(models_dir=_models_dir(tmp_path), match_warm_up=False))):
        pass
    assert threads == []


class _Recording:
    """match_service's threading module, keeping the threads it starts."""

    def __init__(self, threads):
        import threading
        self._threading, self._threads = threading, threads

    def Thread(self, *args, **kwargs):  # noqa: N802 (threading's name)
        thread = self._threading.Thread(*args, **kwargs)
        self._threads.append(thread)
        return thread
