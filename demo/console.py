"""Plain terminal output for the demo: headings, tables, check marks. Never a secret value."""

from __future__ import annotations

from collections.abc import Sequence

from local_rotation import RotationReport


def heading(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def step_durations(report: RotationReport) -> str:
    """``createSecret 12.3 ms | setSecret ...`` with retries shown."""
    parts = []
    for step in report.steps:
        retries = f" ({step.attempts} attempts)" if step.attempts > 1 else ""
        parts.append(f"{step.step} {step.duration_s * 1000:.1f} ms{retries}")
    return " | ".join(parts)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False)) for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def verdict(accepted: bool) -> str:
    return "accepted" if accepted else "REJECTED"
