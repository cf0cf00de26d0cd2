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
    """ERROR messages the rotation function logged since ``since_ms`` (this token's first)."""
    group = f"/aws/lambda/{function_arn.split(':')[6] if function_arn.startswith('arn:') else function_arn}"
    try:
        events = logs.filter_log_events(logGroupName=group, startTime=since_ms).get("events", [])
    except ClientError:
        return []  # no log group (yet), or no permission to read it: no reason to show
    errors: list[tuple[bool, str]] = []
    for event in events:
        text = str(event.get("message", ""))
        try:
            record = json.loads(text)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            if str(record.get("level", "")).upper() != "ERROR":
                continue
            message = str(record.get("message", text))
        elif "ERROR" in text:
            message = text.strip()
        else:
            continue
        errors.append((token in text, message))
    errors.sort(key=lambda item: not item[0])
    return [message for _, message in errors]


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
