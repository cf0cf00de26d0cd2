"""Measurement helpers shared by every benchmark suite: statistics, cold imports, rotations."""

from __future__ import annotations

import logging
import os
import platform
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lambdas.rotation.telemetry import logger as function_logger
from local_rotation import RotationDriver, RotationReport

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Row:
    """One measured figure: what, how much, in which unit, measured how."""

    metric: str
    value: float | int | str
    unit: str = ""
    note: str = ""


@dataclass
class SuiteResult:
    """What a suite returns: its rows and anything worth keeping raw."""

    title: str
    rows: list[Row] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "rows": [asdict(row) for row in self.rows], "raw": self.raw}


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p95: fraction=0.95)."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return float(ordered[index])


def cold_import_ms(module: str, runs: int) -> list[float]:
    """Time ``import module`` in ``runs`` fresh interpreters (the part a Lambda cold start pays)."""
    code = f"import time; t = time.perf_counter(); import {module}; print((time.perf_counter() - t) * 1000)"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    timings = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
        )
        timings.append(float(result.stdout.strip().splitlines()[-1]))
    return timings


@dataclass
class RotationRun:
    """Many rotations of one secret: wall times and the calls of each."""

    wall_ms: list[float] = field(default_factory=list)
    reports: list[RotationReport] = field(default_factory=list)

    @property
    def secretsmanager_calls(self) -> Counter[int]:
        return Counter(report.secretsmanager_calls for report in self.reports)


def rotate_many(driver: RotationDriver, secret_id: str, count: int) -> RotationRun:
    """Rotate ``count`` times; every rotation must succeed (a failure aborts the benchmark)."""
    run = RotationRun()
    for _ in range(count):
        report = driver.rotate(secret_id)
        run.wall_ms.append(report.duration_s * 1000)
        run.reports.append(report)
    return run


def machine() -> dict[str, Any]:
    """Where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


@contextmanager
def expected_failures() -> Iterator[None]:
    """Keep the functions' error logs of failures a benchmark causes on purpose (a blackholed
    host) off the terminal; restored after the block."""
    previous = function_logger.log_level
    function_logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        function_logger.setLevel(previous)
