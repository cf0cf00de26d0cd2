"""Bundle the rotation functions without Docker: copy ``lambdas/`` (and any CA bundle the config
ships) and pip-install its runtime requirements for Lambda's platform (arm64, CPython 3.13)
from wheels only. Docker is only the fallback, and builds for the same arm64 platform."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.settings import ca_asset_path

REPO_ROOT = Path(__file__).resolve().parents[2]
LAMBDAS = REPO_ROOT / "lambdas"
REQUIREMENTS = LAMBDAS / "requirements.txt"
CACHE = REPO_ROOT / ".cache" / "lambda-deps"
STAGING = REPO_ROOT / ".cache" / "lambda-src"
# Lambda's Python 3.13 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run on it,
# and psycopg2-binary 2.9.13 ships arm64 wheels only with that tag.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
PYTHON_VERSION = "3.13"
DOCKER_PLATFORM = "linux/arm64"  # the functions' architecture; the fallback image must match it
DOCKER_IMAGE = "public.ecr.aws/sam/build-python3.13:latest-arm64"
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


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


def staged_source(ca_bundles: tuple[Path, ...] = ()) -> Path:
    """The asset's source: ``lambdas/`` and ``ca/<digest>.pem`` per CA bundle, in a directory
    named by a digest of all of it, so CDK's asset hash changes exactly when the code or a
    bundle does, and both bundlers see the same files."""
    sources = sorted(path for path in LAMBDAS.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(LAMBDAS)).encode() + b"\0" + path.read_bytes())
    for bundle in ca_bundles:
        digest.update(ca_asset_path(bundle).encode() + b"\0" + bundle.read_bytes())
    target = STAGING / digest.hexdigest()[:16]
    done = target.with_suffix(".complete")
    if not done.exists():
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(LAMBDAS, target / "lambdas", ignore=_IGNORED)
        for bundle in ca_bundles:
            destination = target / ca_asset_path(bundle)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle, destination)
        done.touch()
    return target


@jsii.implements(ILocalBundling)
class LocalPipBundling:
    """CDK calls ``try_bundle``; returning True means Docker is not needed."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_: object) -> bool:
        try:
            shutil.copytree(_dependencies(), output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))
            shutil.copytree(
                self.source,
                output_dir,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "requirements.txt"),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            print(f"local bundling failed ({exc}); CDK falls back to Docker", file=sys.stderr)
            return False
        return True


def bundling_options(source: Path) -> BundlingOptions:
    """Local pip first; the Docker image is only the fallback CDK uses if local bundling fails,
    and it runs as arm64 so pip picks the same wheels the functions need."""
    return BundlingOptions(
        image=DockerImage.from_registry(DOCKER_IMAGE),
        platform=DOCKER_PLATFORM,
        local=LocalPipBundling(source),
        command=[
            "bash",
            "-c",
            "pip install -r lambdas/requirements.txt -t /asset-output && cp -r . /asset-output/ "
            "&& rm -f /asset-output/lambdas/requirements.txt",
        ],
    )


def function_code(source: Path) -> lambda_.Code:
    """A fresh ``Code`` for one stack (an asset belongs to one stack; equal sources share one asset)."""
    return lambda_.Code.from_asset(str(source), bundling=bundling_options(source))
