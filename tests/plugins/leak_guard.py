"""Leak guard: fail any test whose captured output, logs, exception text or watched files
contain a secret value created during that test.

Values are recorded automatically whenever moto stores a secret version (create, put,
rotate), and explicitly with ``leak_guard.register(value, label)`` (e.g. a server's admin
password). Watched files (a PostgreSQL or Valkey log) are read at teardown. A leak is
reported by label and fingerprint, never by value. Active for every test (autouse).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

import pytest

# Fields that describe where and who, not a credential: they may appear in logs.
NOT_SECRET_FIELDS = frozenset(
    {
        "engine",
        "host",
        "port",
        "username",
        "dbname",
        "masterarn",
        "user_arn",
        "replication_group_id",
        "ssl",
        "ssl_ca",
        "ssl_mode",
        "nodes",
    }
)
MIN_SECRET_LENGTH = 8


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class LeakGuard:
    """The secret values of one test and where to look for them."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._files: list[Path] = []
        # Texts read while the servers still ran: a function-scoped server deletes its
        # directory, log included, when its fixture is torn down.
        self._file_texts: dict[Path, str] = {}

    @property
    def values(self) -> dict[str, str]:
        """value -> label, for tests that scan something themselves."""
        return dict(self._values)

    def register(self, value: str, label: str) -> None:
        """Remember ``value`` as secret; values shorter than 8 characters are too common to scan for."""
        if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH:
            self._values.setdefault(value, label)

    def register_secret_string(self, text: str | None, label: str) -> None:
        """Remember every credential-like field of a SecretString (and the whole string)."""
        if not text:
            return
        self.register(text, f"{label} (whole SecretString)")
        try:
            parsed = json.loads(text)
        except ValueError:
            self.register(text, label)
            return
        if isinstance(parsed, dict):
            for field, value in parsed.items():
                if field not in NOT_SECRET_FIELDS and isinstance(value, str):
                    self.register(value, f"{label} field {field!r}")

    def watch_file(self, path: str | Path) -> None:
        """Scan this file at teardown (server logs)."""
        self._files.append(Path(path))

    def find_leaks(self, text: str, where: str) -> list[str]:
        """Describe each secret found in ``text`` by label and fingerprint, never by value."""
        return [
            f"{label} (sha256 {_fingerprint(value)}) appears in {where}"
            for value, label in self._values.items()
            if value in text
        ]

    def scan(self, sections: Iterable[tuple[str, str]], *, include_files: bool = True) -> list[str]:
        """Scan named texts and, unless told otherwise, every watched file."""
        leaks: list[str] = []
        for where, text in sections:
            leaks.extend(self.find_leaks(text, where))
        if include_files:
            for path in self._files:
                text = path.read_text(errors="replace") if path.exists() else self._file_texts.get(path, "")
                leaks.extend(self.find_leaks(text, f"file {path}"))
        return leaks

    def capture_files(self) -> None:
        """Read every watched file now, so it is scanned even if it is deleted before the scan."""
        for path in self._files:
            if path.exists():
                self._file_texts[path] = path.read_text(errors="replace")

    def redact(self, text: str) -> str:
        """``text`` with every registered value replaced by its fingerprint."""
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, f"[redacted sha256 {_fingerprint(value)}]")
        return text


_active: LeakGuard | None = None
_guard_key = pytest.StashKey[LeakGuard]()
# Every value and watched file of the whole session: a server log shared by many tests may
# show a value of one test after that test ended, so the logs are scanned again at the end.
_session = LeakGuard()


def _install_moto_recorder() -> None:
    """Record every value moto stores, whichever API stored it."""
    from moto.secretsmanager.models import SecretsManagerBackend

    original: Callable[..., Any] = SecretsManagerBackend._add_secret
    if getattr(original, "_leak_guard", False):
        return

    def recording_add_secret(
        self: Any, secret_id: str, secret_string: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        if _active is not None:
            _active.register_secret_string(secret_string, f"secret {secret_id!r}")
        return original(self, secret_id, secret_string, *args, **kwargs)

    recording_add_secret._leak_guard = True  # type: ignore[attr-defined]
    SecretsManagerBackend._add_secret = recording_add_secret  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _install_moto_recorder()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _active
    _active = LeakGuard()
    item.stash[_guard_key] = _active


@pytest.fixture
def leak_guard(request: pytest.FixtureRequest) -> LeakGuard:
    """The running test's guard, to register values or watch files."""
    guard: LeakGuard = request.node.stash[_guard_key]
    return guard


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before any fixture is torn down (servers stop and delete their logs), read the logs."""
    guard = item.stash.get(_guard_key, None)
    if guard is not None:
        guard.capture_files()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """Scan each phase's captured sections and failure text; redact and fail on a leak."""
    report = yield
    guard = item.stash.get(_guard_key, None)
    if guard is None:
        return report
    texts = [(f"{key} ({report.when})", content) for key, content in report.sections]
    failure_text = report.longreprtext if report.failed else ""
    if failure_text:
        texts.append((f"failure text ({report.when})", failure_text))
    leaks = guard.scan(texts, include_files=report.when == "teardown")
    if leaks:
        # Fail the test, and keep the values out of pytest's own output of the failure.
        report.sections = [(key, guard.redact(content)) for key, content in report.sections]
        report.longrepr = "leak guard: secret values leaked:\n  " + "\n  ".join(sorted(set(leaks)))
        if failure_text:
            report.longrepr += "\n\noriginal failure (redacted):\n" + guard.redact(failure_text)
        report.outcome = "failed"
    if report.when == "teardown":
        global _active
        _session._values.update(guard._values)
        _session._files.extend(path for path in guard._files if path not in _session._files)
        _session._file_texts.update(guard._file_texts)
        _active = None
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Scan every watched server log once more, for every value of the session."""
    leaks = _session.scan([])
    if leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = "\n  ".join(sorted(set(leaks)))
        if reporter is not None:
            reporter.write_line(f"leak guard (session scan): secret values leaked:\n  {lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
