"""``rotate --wait``: follow a rotation through the secret's stage labels until the new version
is AWSCURRENT (success) or the rotation function logs an error (failure, with its reason).

The failure reason comes from the function's CloudWatch Logs group ``/aws/lambda/<name>``,
where Lambda (and the local emulation's RotateSecret hook) write it. On AWS the service may
retry a failed step later; the first logged error is reported, with that caveat.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

POLL_S = 0.25


@dataclass
class WaitResult:
    succeeded: bool
    reason: str | None = None
    progress: list[str] = field(default_factory=list)


def _phase(stages: dict[str, list[str]], version_id: str, has_value: bool) -> str:
    labels = stages.get(version_id, [])
    if "AWSCURRENT" in labels:
        return "finishSecret done: the new version is AWSCURRENT"
    if has_value:
        return "createSecret done: AWSPENDING holds the new value (setSecret/testSecret running)"
    return "rotation started: empty AWSPENDING version staged"


def function_errors(logs: Any, function_arn: str, since_ms: int, token: str) -> list[str]:
    """ERROR messages the rotation function logged since ``since_ms`` for THIS rotation.

    One function serves many secrets, so an error counts only if its record carries this
    rotation's ``ClientRequestToken`` (the functions log it as ``token``; the event's own key
    name is accepted too). An error of another secret's rotation is never reported here.
    """
    group = f"/aws/lambda/{function_arn.split(':')[6] if function_arn.startswith('arn:') else function_arn}"
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "startTime": since_ms}
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events.extend(page.get("events", []))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except ClientError:
        return []  # no log group (yet), or no permission to read it: no reason to show
    errors: list[str] = []
    for event in events:
        text = str(event.get("message", ""))
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            if str(record.get("level", "")).upper() != "ERROR":
                continue
            if token not in (record.get("token"), record.get("ClientRequestToken")):
                continue
            errors.append(_reason(record, text))
        elif "ERROR" in text and token in text:
            errors.append(text.strip())
    return errors


def _reason(record: dict[str, Any], text: str) -> str:
    """The function's own words: ``<step> failed: <error type>: <error>`` when it logged them."""
    error = record.get("error")
    if error:
        step = record.get("step") or "a step"
        kind = record.get("error_type")
        return f"{step} failed: {kind}: {error}" if kind else f"{step} failed: {error}"
    return str(record.get("message", text))


def wait_for_rotation(
    describe: Callable[[], dict[str, Any]],
    has_value: Callable[[], bool],
    errors: Callable[[], list[str]],
    version_id: str,
    timeout: float,
    on_progress: Callable[[str], None],
) -> WaitResult:
    """Poll until success, a logged error, or ``timeout`` seconds."""
    result = WaitResult(succeeded=False)
    deadline = time.monotonic() + timeout
    while True:
        stages = describe().get("VersionIdsToStages") or {}
        if version_id not in stages:
            result.reason = f"version {version_id} disappeared from the secret (removed by another operator?)"
            return result
        phase = _phase(stages, version_id, has_value())
        if not result.progress or result.progress[-1] != phase:
            result.progress.append(phase)
            on_progress(phase)
        if "AWSCURRENT" in stages[version_id]:
            pending_elsewhere = any("AWSPENDING" in labels for vid, labels in stages.items() if vid != version_id)
            if not pending_elsewhere:
                result.succeeded = True
                return result
        logged = errors()
        if logged:
            result.reason = logged[0]
            return result
        if time.monotonic() >= deadline:
            result.reason = f"still in progress after {timeout:g} s (AWSPENDING is on version {version_id})"
            return result
        time.sleep(POLL_S)  # the poll interval of a bounded wait on the service
