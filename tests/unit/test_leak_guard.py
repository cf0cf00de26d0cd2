"""The leak guard itself: it must catch a leaked value and never print it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugins.leak_guard import LeakGuard

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-v4lue-never-printed"


def test_guard_reports_leak_by_label_and_fingerprint_not_value() -> None:
    guard = LeakGuard()
    guard.register_secret_string(json.dumps({"username": "app", "password": SECRET}), "secret 'db'")

    leaks = guard.find_leaks(f"connecting with {SECRET}", "stdout")

    assert leaks == ["secret 'db' field 'password' (sha256 " + leaks[0].split("sha256 ")[1]]
    assert SECRET not in leaks[0]


def test_guard_ignores_where_and_who_fields() -> None:
    guard = LeakGuard()
    guard.register_secret_string(json.dumps({"host": "db.internal.example", "username": "application"}), "s")

    assert guard.find_leaks("connecting to db.internal.example as application", "stdout") == []


def test_guard_fails_a_test_that_prints_a_stored_secret_and_redacts_the_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makepyfile(
        test_leaky=f"""
        import json, boto3
        from moto import mock_aws

        def test_prints_secret():
            with mock_aws():
                client = boto3.client("secretsmanager", region_name="us-east-1")
                client.create_secret(Name="x", SecretString=json.dumps({{"password": "{SECRET}"}}))
                print("password is", "{SECRET}")
        """
    )

    result = pytester.runpytest_subprocess("-p", "tests.plugins.leak_guard", "-p", "no:cacheprovider")

    result.assert_outcomes(passed=0, failed=1, errors=1)
    output = result.stdout.str()
    assert "leak guard: secret values leaked" in output
    assert "field 'password'" in output
    assert SECRET not in output
    assert "[redacted sha256" in output


def test_session_scan_fails_the_run_when_a_watched_log_shows_a_value_after_its_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    log = pytester.path / "server.log"
    pytester.makepyfile(
        test_late=f"""
        from pathlib import Path

        def test_registers_and_watches(leak_guard):
            leak_guard.register("{SECRET}", "server password")
            leak_guard.watch_file(Path(r"{log}"))

        def test_server_logs_it_later():
            Path(r"{log}").write_text("LOG: statement: ALTER ROLE x PASSWORD '{SECRET}'")
        """
    )

    result = pytester.runpytest_subprocess("-p", "tests.plugins.leak_guard", "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "leak guard (session scan)" in output
    assert "server password" in output
    assert SECRET not in output


def test_a_log_deleted_when_its_server_fixture_stops_is_still_scanned(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    pytester.makepyfile(
        test_server=f"""
        import pytest

        @pytest.fixture
        def server(tmp_path, leak_guard):
            log = tmp_path / "server.log"
            log.write_text("")
            leak_guard.watch_file(log)
            yield log
            log.unlink()  # like a server that removes its directory on stop

        def test_server_logs_a_password(server, leak_guard):
            leak_guard.register("{SECRET}", "role password")
            server.write_text("LOG: statement: ALTER ROLE x PASSWORD '{SECRET}'")
        """
    )

    result = pytester.runpytest_subprocess("-p", "tests.plugins.leak_guard", "-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.TESTS_FAILED
    output = result.stdout.str()
    assert "role password" in output
    assert "server.log" in output
    assert SECRET not in output
