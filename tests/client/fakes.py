"""A counted fake Secrets Manager for cache tests: holds versions and stage labels, counts
every call by API, can fail on demand, and can hold a read open until a condition is met."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/test/fake-AbCdEf"
NAME = "app/test/fake"
FIRST = json.dumps({"key": "a1" * 32})
SECOND = json.dumps({"key": "b2" * 32})


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} from the fake"}}, operation)


class FakeClock:
    """A monotonic clock the test moves by hand; counts how often it was read."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.reads = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.reads += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSecretsManager:
    """One secret named ``name`` (also reachable by ``ARN``)."""

    def __init__(self, name: str, first_value: str) -> None:
        self.name = name
        self.values: dict[str, str | None] = {}
        self.labels: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.failure: Exception | None = None
        self.hold_reads_until: Callable[[], bool] | None = None
        self.between_describe_and_read: Callable[[], object] | None = None
        self.gate: threading.Event | None = None  # when set, every call waits for it before answering
        self.call_started = threading.Event()
        self.answer_as: str | None = None  # answer with another secret's Name/ARN (a mixed-up connection)
        self.deleted = False  # scheduled for deletion: DescribeSecret shows DeletedDate
        self._lock = threading.Lock()
        self.put(first_value, "AWSCURRENT")

    # --- test controls ---------------------------------------------------------------------------
    def put(self, value: str | None, *stages: str) -> str:
        version = str(uuid.uuid4())
        with self._lock:
            self.values[version] = value
            for stage in stages:
                self.labels[stage] = version
        return version

    def rotate(self, new_value: str) -> str:
        """What a finished rotation leaves: new AWSCURRENT, old one AWSPREVIOUS, no AWSPENDING."""
        with self._lock:
            old = self.labels["AWSCURRENT"]
            self.labels.pop("AWSPENDING", None)
            self.labels["AWSPREVIOUS"] = old
        return self.put(new_value, "AWSCURRENT")

    # --- the two APIs the cache uses ------------------------------------------------------------------
    def _check(self, secret_id: str, operation: str) -> None:
        self.call_started.set()
        if self.gate is not None:
            assert self.gate.wait(timeout=30), "the test never opened the gate"
        if self.failure is not None:
            raise self.failure
        if secret_id not in (self.name, ARN):
            raise client_error("ResourceNotFoundException", operation)
        if self.deleted and operation == "GetSecretValue":
            raise ClientError(
                {"Error": {"Code": "InvalidRequestException", "Message": "You can't perform this operation on the "
                           "secret because it was marked for deletion."}}, operation)  # fmt: skip

    def _identity(self) -> dict[str, str]:
        name = self.answer_as or self.name
        return {"ARN": ARN.replace(self.name, name), "Name": name}

    def describe_secret(self, SecretId: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter names
        self.calls["DescribeSecret"] += 1
        self._check(SecretId, "DescribeSecret")
        with self._lock:
            by_version: dict[str, list[str]] = {}
            for stage, version in self.labels.items():
                by_version.setdefault(version, []).append(stage)
        if self.between_describe_and_read is not None:
            self.between_describe_and_read()
        described: dict[str, Any] = {**self._identity(), "VersionIdsToStages": by_version}
        if self.deleted:
            described["DeletedDate"] = time.time()
        return described

    def get_secret_value(
        self,
        SecretId: str,  # noqa: N803
        VersionStage: str | None = None,  # noqa: N803
        VersionId: str | None = None,  # noqa: N803
    ) -> dict[str, Any]:
        self.calls["GetSecretValue"] += 1
        self._check(SecretId, "GetSecretValue")
        if self.hold_reads_until is not None:
            deadline = time.monotonic() + 10
            while not self.hold_reads_until():
                assert time.monotonic() < deadline, "the condition holding the read never came true"
                time.sleep(0.001)
        with self._lock:
            version = VersionId or self.labels.get(VersionStage or "AWSCURRENT")
            value = self.values.get(version) if version else None
        if version is None or value is None:
            raise client_error("ResourceNotFoundException", "GetSecretValue")
        stages = [stage for stage, labelled in self.labels.items() if labelled == version]
        return {**self._identity(), "VersionId": version, "VersionStages": stages, "SecretString": value}
