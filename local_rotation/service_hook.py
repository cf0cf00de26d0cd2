"""Make the emulated ``RotateSecret`` API do what Secrets Manager does, for registered functions.

Register a rotation function's handler under its Lambda ARN or name
(``register_rotation_function``); then a ``rotate_secret`` call naming it (now, or earlier:
the secret remembers its RotationLambdaARN) from boto3, the operator CLI or
``aws secretsmanager rotate-secret --endpoint-url ...``:

- refuses while an earlier rotation is incomplete (AWSPENDING on a version that is not
  AWSCURRENT), as the service does;
- records RotationEnabled, RotationRules (``AutomaticallyAfterDays`` or
  ``ScheduleExpression``), RotationLambdaARN and the next rotation date;
- stages a new empty version AWSPENDING and answers ``{ARN, Name, VersionId}`` at once;
- runs ``RotationDriver`` with the handler in a background thread, like the service's
  asynchronous invocation. A failed rotation leaves AWSPENDING, and its errors are written to
  the CloudWatch Logs group ``/aws/lambda/<function name>`` (emulated by moto), where
  ``secret-rotation rotate --wait`` finds them just as it would on AWS;
- with ``RotateImmediately=false`` (CloudFormation's ``RotateImmediatelyOnUpdate: false``)
  rotates nothing: it answers ``{ARN, Name}`` and, in the background, tests the rotation
  configuration as the service does (``RotationDriver.test_configuration``: a temporary
  AWSPENDING holding a copy of AWSCURRENT, ``testSecret`` alone, the version removed);
- records the service's own CloudTrail events (``RotationStarted``, ``RotationSucceeded``,
  ``RotationFailed``, ``TestRotationStarted``, ``TestRotationSucceeded``,
  ``TestRotationFailed``), readable with ``service_events()``: what EventBridge rules match.

For a secret whose function is not registered, moto's own behaviour is unchanged
(docs/moto-differences.md, items 1-3 and 11).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any

import boto3

from .driver import AWSCURRENT, AWSPENDING, Handler, RotationDriver
from .moto_compat import stage_empty_pending_version

log = logging.getLogger(__name__)

_functions: dict[str, Handler] = {}
_threads: list[threading.Thread] = []
_events: list[dict[str, str]] = []
_lock = threading.Lock()
SECONDS_PER_DAY = 86400


def function_name(function_arn_or_name: str) -> str:
    """``arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`` or a bare name -> name."""
    parts = function_arn_or_name.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[5] == "function":
        return parts[6]
    return function_arn_or_name


def register_rotation_function(function_arn_or_name: str, handler: Handler) -> None:
    """Run ``handler`` when RotateSecret names this function (installs the hook on first use)."""
    install()
    with _lock:
        _functions[function_name(function_arn_or_name)] = handler


def unregister_rotation_function(function_arn_or_name: str) -> None:
    with _lock:
        _functions.pop(function_name(function_arn_or_name), None)


def registered_function(function_arn_or_name: str | None) -> Handler | None:
    if not function_arn_or_name:
        return None
    with _lock:
        return _functions.get(function_name(function_arn_or_name))


def wait_for_rotations(timeout: float = 60.0) -> bool:
    """Wait until every rotation started by the hook has finished; False if some still run."""
    deadline = time.monotonic() + timeout
    with _lock:
        running = list(_threads)
    for thread in running:
        thread.join(max(0.0, deadline - time.monotonic()))
    with _lock:
        _threads[:] = [thread for thread in _threads if thread.is_alive()]
        return not _threads


def service_events(secret_arn: str | None = None) -> list[dict[str, str]]:
    """The rotation events recorded so far (oldest first): ``{"eventName", "secretId", "token"}``."""
    with _lock:
        return [dict(event) for event in _events if secret_arn is None or event["secretId"] == secret_arn]


def clear_service_events() -> None:
    with _lock:
        _events.clear()


def _record_event(name: str, secret_arn: str, token: str) -> None:
    with _lock:
        _events.append({"eventName": name, "secretId": secret_arn, "token": token})


def _in_background(name: str, target: Any, *args: Any) -> None:
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    with _lock:
        _threads.append(thread)
    thread.start()


def _rules(secret: Any, rules: dict[str, Any] | None) -> None:
    from moto.secretsmanager.exceptions import InvalidParameterException

    if not rules:
        return
    days = rules.get("AutomaticallyAfterDays")
    if days is not None and (not isinstance(days, int) or not 1 <= days <= 1000):
        raise InvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
    secret.auto_rotate_after_days = int(days or 0)
    secret.hook_rotation_rules = dict(rules)


_RATE = re.compile(r"^rate\((\d+) (hour|hours|day|days)\)$")


def _next_rotation(secret: Any, now: int) -> None:
    """Days, or a ``rate(N hours|days)`` expression; cron expressions get no date locally."""
    days = getattr(secret, "auto_rotate_after_days", 0)
    rate = _RATE.match(str((getattr(secret, "hook_rotation_rules", None) or {}).get("ScheduleExpression", "")))
    if rate:
        unit = 3600 if rate.group(2).startswith("hour") else SECONDS_PER_DAY
        secret.next_rotation_date = now + int(rate.group(1)) * unit
    else:
        secret.next_rotation_date = now + int(days) * SECONDS_PER_DAY if days else None


def _hooked_rotate_secret(original: Any) -> Any:
    def rotate_secret(
        self: Any,
        secret_id: str,
        client_request_token: str | None = None,
        rotation_lambda_arn: str | None = None,
        rotation_rules: dict[str, Any] | None = None,
        rotate_immediately: bool = True,
    ) -> str:
        from moto.secretsmanager.models import ReplicaSecret

        secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
        # A replica is never rotated: moto refuses it (OperationNotPermittedOnReplica), as the service does.
        replica = isinstance(secret, ReplicaSecret)
        function_arn = rotation_lambda_arn or (
            secret.rotation_lambda_arn if secret is not None and not replica else None
        )
        handler = registered_function(function_arn)
        if secret is None or replica or handler is None or secret.is_deleted():
            return str(original(self, secret_id, client_request_token, rotation_lambda_arn, rotation_rules,
                                rotate_immediately))  # fmt: skip
        return _start(self, secret, str(function_arn), handler, client_request_token, rotation_rules,
                      rotate_immediately)  # fmt: skip

    rotate_secret.hooked = True  # type: ignore[attr-defined]
    return rotate_secret


def _start(
    backend: Any,
    secret: Any,
    function_arn: str,
    handler: Handler,
    token: str | None,
    rules: dict[str, Any] | None,
    rotate_immediately: bool,
) -> str:
    from moto.secretsmanager.exceptions import InvalidRequestException

    for version_id, version in secret.versions.items():
        stages = version["version_stages"]
        if AWSPENDING in stages and AWSCURRENT not in stages:
            raise InvalidRequestException(
                f"A previous rotation isn't complete (AWSPENDING is on version {version_id}). "
                "That rotation will be reattempted."
            )
    if token is not None:
        backend._client_request_token_validator(token)
    _rules(secret, rules)
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = function_arn
    now = int(time.time())
    _next_rotation(secret, now)
    version_id = token or str(uuid.uuid4())
    if not rotate_immediately:
        _in_background(f"test-rotation-{secret.name}", _test_configuration, secret, function_arn, handler, version_id)
        return json.dumps({"ARN": secret.arn, "Name": secret.name})
    stage_empty_pending_version(secret.arn, version_id)
    _in_background(f"rotate-{secret.name}", _rotate, secret, function_arn, handler, version_id)
    return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": version_id})


def _test_configuration(secret: Any, function_arn: str, handler: Handler, token: str) -> None:
    """The service's configuration test; its outcome is an event and, on failure, a log entry."""
    started = int(time.time() * 1000)
    _record_event("TestRotationStarted", secret.arn, token)
    try:
        report = RotationDriver(handler).test_configuration(secret.arn, token=token)
    except Exception as exc:  # the test could not even be staged: the service reports it failed
        errors = [f"{type(exc).__name__}: {exc}"]
    else:
        errors = [] if report.succeeded else report.errors
    if not errors:
        _record_event("TestRotationSucceeded", secret.arn, token)
        return
    _record_event("TestRotationFailed", secret.arn, token)
    _write_log(function_arn, token, started, [("ERROR", f"testSecret failed: {error}") for error in errors])
    log.error("the rotation configuration test of %s failed: %s", secret.name, errors[-1])


def _rotate(secret: Any, function_arn: str, handler: Handler, token: str) -> None:
    """The service's asynchronous part: run the four steps, record the outcome."""
    started = int(time.time() * 1000)
    _record_event("RotationStarted", secret.arn, token)
    try:
        report = RotationDriver(handler).rotate(secret.arn, token=token, raise_on_failure=False)
    except Exception as exc:  # the function could not even be started: the service logs and gives up
        _record_event("RotationFailed", secret.arn, token)
        _write_log(function_arn, token, started, [("ERROR", f"rotation of {secret.name} could not run: {exc}")])
        log.error("rotation of %s could not run: %s", secret.name, exc)
        return
    if report.succeeded:
        secret.last_rotation_date = int(time.time())
        _next_rotation(secret, secret.last_rotation_date)
        _record_event("RotationSucceeded", secret.arn, token)
        _write_log(function_arn, token, started, [("INFO", f"rotation of {secret.name} succeeded")])
        return
    _record_event("RotationFailed", secret.arn, token)
    errors = [(step.step, error) for step in report.steps for error in step.errors]
    _write_log(function_arn, token, started, [("ERROR", f"{step} failed: {error}") for step, error in errors])
    log.error("rotation of %s failed at %s", secret.name, report.error)


def _write_log(function_arn: str, token: str, started_ms: int, lines: Iterable[tuple[str, str]]) -> None:
    """Put the function's log lines where Lambda would: ``/aws/lambda/<name>`` (JSON, like Powertools)."""
    group = f"/aws/lambda/{function_name(function_arn)}"
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{token.replace('-', '')}"
    logs = boto3.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    now = max(started_ms, int(time.time() * 1000))
    events = [
        {"timestamp": now, "message": json.dumps({"level": level, "message": message, "ClientRequestToken": token})}
        for level, message in lines
    ]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _describe_with_schedule(original: Any) -> Any:
    """moto's DescribeSecret shows only ``AutomaticallyAfterDays``; the service shows the rules as set."""

    def to_dict(self: Any) -> dict[str, Any]:
        result = dict(original(self))
        rules = getattr(self, "hook_rotation_rules", None)
        if rules and "RotationRules" in result:
            result["RotationRules"] = dict(rules)
        return result

    to_dict.hooked = True  # type: ignore[attr-defined]
    return to_dict


def install() -> None:
    """Patch moto's backend once; harmless to call again."""
    from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

    with _lock:
        if not getattr(SecretsManagerBackend.rotate_secret, "hooked", False):
            SecretsManagerBackend.rotate_secret = _hooked_rotate_secret(  # type: ignore[method-assign]
                SecretsManagerBackend.rotate_secret
            )
        if not getattr(FakeSecret.to_dict, "hooked", False):
            FakeSecret.to_dict = _describe_with_schedule(FakeSecret.to_dict)  # type: ignore[method-assign]
