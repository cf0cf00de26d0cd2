"""Logs and metrics of a step: the fields operators filter on, and never a value."""

from __future__ import annotations

import importlib
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.hmac_key.handler import lambda_handler
from lambdas.rotation.telemetry import record_step_outcome
from local_rotation import stage_empty_pending_version
from tests.conftest import SecretFactory


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_step_logs_carry_arn_step_token_and_kind(
    create_secret: SecretFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    arn = create_secret("app/dev/hmac/logs", {"key": "aa" * 32})
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)

    lambda_handler({"SecretId": arn, "ClientRequestToken": token, "Step": "createSecret"}, None)

    success = next(line for line in _json_lines(capfd.readouterr().out) if line.get("message") == "step succeeded")
    assert (success["secret_arn"], success["step"], success["token"], success["kind"]) == (
        arn,
        "createSecret",
        token,
        "hmac_key",
    )


def test_failed_step_emits_step_failed_metric_for_its_kind(
    create_secret: SecretFactory, capfd: pytest.CaptureFixture[str]
) -> None:
    arn = create_secret("app/dev/hmac/metrics", {"key": "aa" * 32})

    with pytest.raises(Exception, match="not staged AWSPENDING"):
        lambda_handler({"SecretId": arn, "ClientRequestToken": str(uuid.uuid4()), "Step": "setSecret"}, None)

    emf = next(line for line in _json_lines(capfd.readouterr().out) if "_aws" in line)
    assert emf["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "SecretRotation"
    assert emf["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["kind", "service"]]
    assert (emf["kind"], emf["step"], emf["StepFailed"], emf["StepSucceeded"]) == (
        "hmac_key",
        "setSecret",
        [1.0],
        [0.0],
    )


def test_steps_finishing_in_parallel_threads_each_emit_their_own_document(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The local driver and the emulated RotateSecret run rotations in threads that share the
    process's Metrics object: no thread may clear or flush another's data points."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    threads, per_thread = 8, 25
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def finish_steps(number: int) -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                record_step_outcome(kind=f"kind{number}", step="setSecret", succeeded=True, duration_ms=1.0)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=finish_steps, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    documents = [line for line in _json_lines(capfd.readouterr().out) if "_aws" in line]
    assert errors == []
    assert len(documents) == threads * per_thread
    assert all(document["StepSucceeded"] == [1.0] for document in documents)  # one data point each


def _lambdas_modules() -> dict[str, Any]:
    return {name: module for name, module in sys.modules.items() if name == "lambdas" or name.startswith("lambdas.")}


def _drop_lambdas_modules() -> None:
    for name in _lambdas_modules():
        del sys.modules[name]


@pytest.fixture
def restore_lambdas_modules() -> Iterator[None]:
    """Drops made by a test stay inside it: the rest of the session keeps its module objects."""
    before = _lambdas_modules()
    yield
    _drop_lambdas_modules()
    sys.modules.update(before)


def _rotate_with(handler: Any, arn: str) -> None:
    token = str(uuid.uuid4())
    stage_empty_pending_version(arn, token)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        handler({"SecretId": arn, "ClientRequestToken": token, "Step": step}, None)


def test_handlers_keep_working_and_logging_after_fresh_imports_beside_other_kinds(
    create_secret: SecretFactory,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    restore_lambdas_modules: None,
) -> None:
    """What suites written as moto's docs advise do: import the module under test inside the
    mock, per test. A second Powertools Logger for the service used to get a handler without a
    formatter, and every later step failed on ``clear_state``."""
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    first = importlib.import_module("lambdas.hmac_key.handler")
    importlib.import_module("lambdas.valkey_acl.handler")  # another kind loaded beside it
    _drop_lambdas_modules()
    second = importlib.import_module("lambdas.hmac_key.handler")
    third = importlib.reload(second)
    importlib.import_module("lambdas.postgres_single.handler")
    _drop_lambdas_modules()
    fourth = importlib.import_module("lambdas.hmac_key.handler")
    arn = create_secret("app/dev/hmac/reimported", {"key": "aa" * 32})
    capfd.readouterr()

    for module in (fourth, third, first):  # newest, reloaded and the very first module object
        _rotate_with(module.lambda_handler, arn)

    lines = _json_lines(capfd.readouterr().out)
    successes = [line for line in lines if line.get("message") == "step succeeded"]
    documents = [line for line in lines if "_aws" in line]
    assert len(successes) == 12
    assert all(line["kind"] == "hmac_key" and line["secret_arn"] == arn for line in successes)
    assert len(documents) == 12
    assert all(document["StepSucceeded"] == [1.0] for document in documents)  # one data point each
