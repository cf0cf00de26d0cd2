"""``pip install`` of the distribution, as a user would (issue 15, packaging): in a fresh virtual
environment the library imports with only its core dependency (boto3), says which extra a
driver-backed class needs, ships ``py.typed``; with ``[cli]`` the ``secret-rotation`` script runs.

The wheel is built from a copy of the sources (the repository stays clean), the way pip
builds it for a user (an isolated build environment with setuptools and wheel); pip resolves
every dependency from the configured package index."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE_CHECK = """
import importlib.util, pathlib, secret_rotation_kit as kit
from secret_rotation_kit import SecretCache, HmacKeyring, inject_secret, verify_webhook
absent = [name for name in ("psycopg2", "redis", "typer", "rich", "django") if importlib.util.find_spec(name)]
assert absent == [], absent
assert (pathlib.Path(kit.__file__).parent / "py.typed").exists()
try:
    kit.PostgresConnectionFactory
except ModuleNotFoundError as exc:
    print(exc)
"""


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=300, cwd=cwd, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def test_pip_install_gives_an_importable_library_and_with_cli_a_working_secret_rotation_script(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    (source / "docs").mkdir()
    shutil.copy(REPO / "docs" / "client.md", source / "docs")
    shutil.copytree(REPO / "secret_rotation_kit", source / "secret_rotation_kit",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("secret_rotation_kit-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    pip = (python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")

    run(*pip, wheel)
    core = run(python, "-c", CORE_CHECK, cwd=tmp_path)
    run(*pip, f"{wheel}[cli]")
    help_text = run(tmp_path / "venv" / "bin" / "secret-rotation", "--help", cwd=tmp_path).stdout
    version = run(tmp_path / "venv" / "bin" / "secret-rotation", "--version", cwd=tmp_path).stdout

    assert "PostgresConnectionFactory needs the 'psycopg2' package: pip install 'secret-rotation-kit[postgres]'" in (
        core.stdout
    )
    for command in ("status", "rotate", "verify", "history"):
        assert command in help_text
    assert version.strip() == "secret-rotation 0.1.0"
