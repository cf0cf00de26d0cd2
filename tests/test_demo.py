"""`make demo` must keep working: run every section against the loopback emulation."""

from __future__ import annotations

import pytest

from demo.__main__ import main


def test_demo_runs_every_section_and_every_expectation_holds(capfd: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0

    output = capfd.readouterr().out
    assert "signed with AWSPREVIOUS: accepted" in output
    assert "signed two rotations back: REJECTED (expected: rejected)" in output


def test_demo_rejects_an_unknown_kind(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["mongodb"])

    assert "unknown kind(s) mongodb" in capfd.readouterr().err
