"""Bundle the rotation functions without Docker: copy ``lambdas/`` and pip-install its
runtime requirements for Lambda's platform (arm64, CPython 3.13) from wheels only."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = REPO_ROOT / "lambdas"
REQUIREMENTS = LAMBDAS / "requirements.txt"
CACHE = REPO_ROOT / ".cache" / "lambda-deps"
# Lambda's Python 3.13 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run on it,
# and psycopg2-binary 2.9.13 ships arm64 wheels only with that tag.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
PYTHON_VERSION = "3.13"


def _dependencies() -> Path:
    """Installed runtime deps, cached by the requirements file's hash (synths stay fast)."""
    digest = hashlib.sha256(
        REQUIREMENTS.read_bytes() + " ".join(PLATFORMS).encode() + PYTHON_VERSION.encode()
    ).hexdigest()[:16]
    target = CACHE / digest
    if not (target / ".complete").exists():
        shutil.rmtree(target, ignore_errors=True)
        platforms = [argument for platform in PLATFORMS for argument in ("--platform", platform)]
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS),
             *platforms, "--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp",
             "--target", str(target)],
            check=True, timeout=600,
        )  # fmt: skip
        (target / ".complete").touch()
    return target


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK calls ``try_bundle``; returning True means Docker is not needed."""

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        try:
            shutil.copytree(_dependencies(), output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
            shutil.copytree(
                LAMBDAS,
                Path(output_dir) / "lambdas",
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt"),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"local bundling failed ({exc}); CDK falls back to Docker", file=sys.stderr)
            return False
        return True


def bundling_options() -> BundlingOptions:
    """Local pip first; the Docker image is only the fallback CDK uses if local bundling fails."""
    return BundlingOptions(
        image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13"),
        local=LocalPipBundling(),
        command=[
            "bash",
            "-c",
            "pip install -r requirements.txt -t /asset-output && mkdir -p /asset-output/lambdas "
            "&& cp -r . /asset-output/lambdas",
        ],
    )
