"""Every code block of the README runs, as written, so the front door cannot drift from the code.

The blocks are read from README.md itself and each is handled by one rule below; a block that
no rule recognises fails the test, so a new kind of example gets a rule of its own.
- curl commands run with the system's curl against a real server (`python -m app`) on a free
  loopback port, serving tiny models named like the shipped ones;
- Python blocks run in a fresh interpreter, in a folder whose models/ holds those tiny models;
- `python -m app.*` commands that train or build (minutes of CPU) are not run: every option
  they use must be one their module's --help lists;
- setup commands (make, docker, pip install) are not run: they install or build the project;
- the layout block: every folder it names exists.
Only the address changes: localhost:8000 becomes the test server's.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.settings import PROJECT_ROOT
from tests.api_fixtures import save_tiny_model

README = PROJECT_ROOT / "README.md"
SETUP = ("make ", "docker ", "pip install ")
ADDRESS = re.compile(r"\b(?:localhost|127\.0\.0\.1):8000\b")
BUILT_MODELS = {"austen-lstm": True, "linux-lstm": False}  # name -> with a stored cell analysis
# What tiny models must offer for the examples to run: units up to 17 (the library example).
HIDDEN = 24


@dataclass(frozen=True)
class Block:
    line: int  # where the block starts in README.md, for messages
    lang: str
    text: str


def readme_blocks() -> list[Block]:
    blocks, lines = [], README.read_text(encoding="utf-8").splitlines()
    start = lang = None
    for number, line in enumerate(lines, 1):
        if not line.startswith("```"):
            continue
        if start is None:
            start, lang = number, line[3:].strip()
        else:
            blocks.append(Block(start, lang, "\n".join(lines[start:number - 1])))
            start = None
    assert start is None, f"README.md line {start}: a code block is never closed"
    return blocks


def shell_commands(block: Block) -> list[str]:
    """The block's commands, continuation lines joined, comment-only lines dropped."""
    commands = []
    for line in block.text.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(line.strip())
    return commands


def kind(block: Block, command: str | None = None) -> str | None:
    if block.lang == "python":
        return "python"
    if block.lang == "sh":
        if command.startswith("curl "):
            return "curl"
        if command.startswith(SETUP):
            return "setup"
        if re.match(r"python -m app[\w.]* ", command):
            return "options"
        return None
    if block.lang == "" and all(re.match(r"[\w./-]+/\s", line) for line in block.text.splitlines()):
        return "layout"
    return None


BLOCKS = readme_blocks()
COMMANDS = [(block, command) for block in BLOCKS if block.lang == "sh" for command in shell_commands(block)]


def by_kind(wanted: str) -> list:
    found = [(block, command) for block, command in COMMANDS if kind(block, command) == wanted]
    found += [(block, None) for block in BLOCKS if block.lang != "sh" and kind(block) == wanted]
    return [pytest.param(block, command, id=f"line{block.line}-{i}") for i, (block, command) in enumerate(found)]


def test_every_block_and_command_has_a_rule():
    unknown = [f"line {block.line}: {command or block.lang or block.text[:40]!r}"
               for block, command in COMMANDS + [(b, None) for b in BLOCKS if b.lang != "sh"]
               if kind(block, command) is None]
    assert not unknown, f"README code without a rule in tests/test_readme.py: {unknown}"
    kinds = {kind(block, command) for block, command in COMMANDS + [(b, None) for b in BLOCKS if b.lang != "sh"]}
    assert {"curl", "python", "options", "setup", "layout"} <= kinds  # the extraction itself still works


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder whose models/ holds tiny models named like the shipped ones."""
    root = tmp_path_factory.mktemp("readme")
    for name, analysed in BUILT_MODELS.items():
        save_tiny_model(root / "models" / name, "lstm", hidden=HIDDEN, analysed=analysed)
    return root


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def server(workdir):
    port = _free_port()
    command = [sys.executable, "-m", "app", "--host", "127.0.0.1", "--port", str(port),
               "--models-dir", str(workdir / "models"), "--torch-threads", "1", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=workdir, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the server exited: {process.stdout.read().decode()}"
            try:
                if httpx.get(f"http://{address}/healthz", timeout=1).json()["models"] == sorted(BUILT_MODELS):
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not answer /healthz within 60 s"
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("block, command", by_kind("curl"))
def test_curl_command_answers(server, block, command):
    # --fail-with-body: an HTTP error becomes exit status 22, with the server's message kept for the assert
    line = ADDRESS.sub(server, command).replace("curl ", "curl --fail-with-body ", 1)
    done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"README line {block.line}: {line}\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
    answers = [json.loads(row) for row in done.stdout.splitlines()]
    assert answers and not any(isinstance(a, dict) and "error" in a for a in answers), done.stdout[-2000:]


@pytest.mark.parametrize("block, command", by_kind("python"))
def test_python_block_runs(server, workdir, block, command):
    code = ADDRESS.sub(server, block.text)
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"README line {block.line}:\n{done.stderr[-3000:]}"


_HELP: dict[str, str] = {}


def _help(module: str) -> str:
    if module not in _HELP:
        done = subprocess.run([sys.executable, "-m", module, "--help"], cwd=PROJECT_ROOT, env=_env(),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"python -m {module} --help: {done.stderr[-2000:]}"
        _HELP[module] = done.stdout
    return _HELP[module]


@pytest.mark.parametrize("block, command", by_kind("options"))
def test_command_uses_only_options_its_module_has(block, command):
    words = shlex.split(command, comments=True)
    module = words[2]
    listed = _help(module)
    flags = [word.split("=")[0] for word in words[3:] if word.startswith("--")]
    missing = [flag for flag in flags if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", listed)]
    assert not missing, f"README line {block.line}: python -m {module} has no {missing}"


@pytest.mark.parametrize("block, command", by_kind("setup"))
def test_setup_command_is_listed_not_run(block, command):
    pytest.skip(f"README line {block.line}: setup, not run: {command}")


@pytest.mark.parametrize("block, command", by_kind("layout"))
def test_layout_names_existing_folders(block, command):
    folders = [line.split()[0] for line in block.text.splitlines()]
    folders += re.findall(r"\b[\w]+/[\w/]*\b/", block.text)  # named in the descriptions, e.g. app/services/
    assert [f for f in folders if not (PROJECT_ROOT / f).is_dir()] == [], f"README line {block.line}"
