"""The `cellx` command (python -m app): options that map onto the settings, and a --help that starts nothing."""
import subprocess
import sys
from pathlib import Path

import pytest

from app.__main__ import parse_settings
from app.settings import PROJECT_ROOT, Settings


def test_help_prints_usage_and_exits_0_without_starting_a_server():
    # a server would not exit: the timeout fails the test instead of hanging it
    done = subprocess.run([sys.executable, "-m", "app", "--help"], capture_output=True, text=True, timeout=60,
                          cwd=PROJECT_ROOT)
    assert done.returncode == 0 and done.stdout.startswith("usage: cellx")
    assert "--models-dir" in done.stdout and "CELLX_PORT" in done.stdout and "Uvicorn running" not in done.stderr


def test_help_does_not_import_the_server(monkeypatch, capsys):
    from app import __main__ as cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # importing it now raises ImportError
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0 and "--host" in capsys.readouterr().out


def test_options_map_onto_the_settings(tmp_path):
    settings = parse_settings(["--host", "0.0.0.0", "--port", "9123", "--models-dir", str(tmp_path),
                               "--log-level", "debug", "--torch-threads", "2", "--rank-wait-s", "2.5",
                               "--compute-slots", "3", "--max-text-length", "500"])
    assert (settings.host, settings.port, settings.models_dir) == ("0.0.0.0", 9123, tmp_path)
    assert settings.log_level == "debug"
    assert (settings.torch_threads, settings.rank_wait_s, settings.compute_slots, settings.max_text_length) == (
        2, 2.5, 3, 500)


def test_every_setting_has_an_option(capsys):
    with pytest.raises(SystemExit):
        parse_settings(["--help"])
    usage = capsys.readouterr().out
    assert all(f"--{name.replace('_', '-')} " in usage for name in Settings.model_fields)


def test_no_options_give_the_environment_and_an_option_wins_over_it(monkeypatch):
    monkeypatch.setenv("CELLX_PORT", "9001")
    monkeypatch.setenv("CELLX_MODELS_DIR", "/srv/models")
    assert (parse_settings([]).port, parse_settings([]).models_dir) == (9001, Path("/srv/models"))
    assert parse_settings(["--port", "9002"]).port == 9002
    assert parse_settings(["--port", "9002"]).models_dir == Path("/srv/models")


def test_defaults_without_options_or_environment(monkeypatch, tmp_path):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CELLX_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)  # away from a developer's .env
    settings = parse_settings([])
    assert (settings.host, settings.port, settings.models_dir) == ("127.0.0.1", 8000, PROJECT_ROOT / "models")


@pytest.mark.parametrize("argv, needle", [
    (["--port", "0"], "--port: Input should be greater than or equal to 1"),
    (["--port", "http"], "argument --port: invalid int value"),
    (["--log-level", "loud"], "argument --log-level: invalid choice"),
    (["--rank-slots", "0"], "--rank-slots: Input should be greater than or equal to 1"),
    (["--colour"], "unrecognized arguments: --colour"),
])
def test_bad_options_are_usage_errors(argv, needle, capsys):
    with pytest.raises(SystemExit) as exited:
        parse_settings(argv)
    assert exited.value.code == 2 and needle in capsys.readouterr().err
